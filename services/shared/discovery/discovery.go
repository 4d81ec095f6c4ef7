// Package discovery lets Fenquan processes find each other through etcd: each server
// registers its address under a lease (the key vanishes with the process), and clients
// resolve "fenquan:///<service>" to the live addresses with round-robin balancing.
//
// The resolver re-lists after any watch failure, including compaction (the stock etcd
// naming resolver stops silently after ErrCompacted and the client keeps a stale list).
package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/resolver"
)

// Scheme is the resolver scheme: "fenquan:///approval".
const Scheme = "fenquan"

// TTL of a registration lease: a killed process disappears from clients within it.
const TTL = 10

// Endpoint is the registered value.
type Endpoint struct {
	Addr     string    `json:"addr"`
	Instance string    `json:"instance"`
	Started  time.Time `json:"started"`
}

// Prefix of one service's endpoints.
func Prefix(root, service string) string {
	return root + "/_discovery/" + service + "/"
}

// Register announces addr for service until ctx ends, then withdraws it. It re-registers
// if the lease is lost (e.g. etcd was unreachable for longer than the TTL).
func Register(ctx context.Context, cli *clientv3.Client, root, service, instance, addr string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := Prefix(root, service) + instance
	val, _ := json.Marshal(Endpoint{Addr: addr, Instance: instance, Started: time.Now().UTC()})
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		lease, err := cli.Grant(ctx, TTL)
		if err == nil {
			_, err = cli.Put(ctx, key, string(val), clientv3.WithLease(lease.ID))
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			log.Warn("discovery: register failed; retrying", "service", service, "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		ka, err := cli.KeepAlive(ctx, lease.ID)
		if err != nil {
			continue
		}
		for range ka {
		}
		if ctx.Err() == nil {
			log.Warn("discovery: lease lost; registering again", "service", service)
		}
	}
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = cli.Delete(dctx, key)
}

// Builder resolves "fenquan:///<service>" through etcd.
type Builder struct {
	Client *clientv3.Client
	Root   string
	Log    *slog.Logger
}

// Scheme implements resolver.Builder.
func (b *Builder) Scheme() string { return Scheme }

// Build implements resolver.Builder.
func (b *Builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	service := strings.Trim(target.Endpoint(), "/")
	if service == "" {
		return nil, fmt.Errorf("discovery: target %q names no service", target.URL.String())
	}
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &etcdResolver{cli: b.Client, prefix: Prefix(b.Root, service), cc: cc, cancel: cancel, log: log.With("service", service), poke: make(chan struct{}, 1)}
	r.wg.Add(1)
	go r.run(ctx)
	return r, nil
}

type etcdResolver struct {
	cli    *clientv3.Client
	prefix string
	cc     resolver.ClientConn
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup
	poke   chan struct{}
}

func (r *etcdResolver) ResolveNow(resolver.ResolveNowOptions) {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

func (r *etcdResolver) Close() {
	r.cancel()
	r.wg.Wait()
}

func (r *etcdResolver) run(ctx context.Context) {
	defer r.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		eps, rev, err := r.list(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.cc.ReportError(err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		r.push(eps)
		// Follow changes until the watch fails for any reason, then re-list.
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := r.cli.Watch(wctx, r.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	watch:
		for {
			select {
			case resp, ok := <-wch:
				if !ok || resp.Err() != nil {
					if ok {
						r.log.Info("discovery: watch ended; re-listing", "err", resp.Err())
					}
					break watch
				}
				for _, ev := range resp.Events {
					k := string(ev.Kv.Key)
					if ev.Type == mvccpb.DELETE {
						delete(eps, k)
						continue
					}
					var e Endpoint
					if json.Unmarshal(ev.Kv.Value, &e) == nil && e.Addr != "" {
						eps[k] = e.Addr
					}
				}
				r.push(eps)
			case <-r.poke:
				// grpc asks after a connection failure: a re-list is cheap and heals
				// any divergence.
				break watch
			case <-ctx.Done():
				break watch
			}
		}
		wcancel()
		sleep(ctx, 50*time.Millisecond)
	}
}

func (r *etcdResolver) list(ctx context.Context) (map[string]string, int64, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := r.cli.Get(lctx, r.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, err
	}
	eps := map[string]string{}
	for _, kv := range resp.Kvs {
		var e Endpoint
		if json.Unmarshal(kv.Value, &e) == nil && e.Addr != "" {
			eps[string(kv.Key)] = e.Addr
		}
	}
	return eps, resp.Header.Revision, nil
}

func (r *etcdResolver) push(eps map[string]string) {
	addrs := make([]string, 0, len(eps))
	seen := map[string]bool{}
	for _, a := range eps {
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	sort.Strings(addrs)
	state := resolver.State{}
	for _, a := range addrs {
		state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
	}
	if err := r.cc.UpdateState(state); err != nil && len(addrs) > 0 {
		r.log.Warn("discovery: update state", "err", err)
	}
}

// Dial returns a round-robin client connection to every live replica of service.
func Dial(b *Builder, service string, creds credentials.TransportCredentials, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithResolvers(b),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxResponseBytes)),
	}, opts...)
	return grpc.NewClient(Scheme+":///"+service, opts...)
}

// MaxResponseBytes bounds a response: the services send (and their clients dialled here
// take) up to 64 MiB, for exports such as a register of 10,000 risk points as CSV
// (11 MiB). Requests stay bounded by server.MaxMessageBytes.
const MaxResponseBytes = 64 << 20

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
