package discovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"

	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/etcdx"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// waitFor polls cond until it holds, failing the test after a generous deadline. Only
// that it happens is asserted, never how fast.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// register runs discovery.Register until the returned stop is called (or the test ends).
func register(t *testing.T, cli *clientv3.Client, root, service, instance, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		discovery.Register(ctx, cli, root, service, instance, addr, nil)
		close(done)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func getKey(t *testing.T, cli *clientv3.Client, key string) *clientv3.GetResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return resp
}

// backend is a real gRPC server with the health service, counting the calls it serves.
type backend struct {
	addr  string
	calls atomic.Int64
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{addr: lis.Addr().String()}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		b.calls.Add(1)
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	served := make(chan struct{})
	go func() { _ = srv.Serve(lis); close(served) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	return b
}

func dial(t *testing.T, b *discovery.Builder, service string) healthpb.HealthClient {
	t.Helper()
	conn, err := discovery.Dial(b, service, insecure.NewCredentials())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// call makes one health check; errors are tolerated while the client converges.
func call(c healthpb.HealthClient) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	return err
}

// reaches waits until calls through c arrive at every backend in bs.
func reaches(t *testing.T, c healthpb.HealthClient, bs ...*backend) {
	t.Helper()
	start := make([]int64, len(bs))
	for i, b := range bs {
		start[i] = b.calls.Load()
	}
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.addr
	}
	waitFor(t, "calls to reach "+strings.Join(names, " and "), func() bool {
		_ = call(c)
		for i, b := range bs {
			if b.calls.Load() == start[i] {
				return false
			}
		}
		return true
	})
}

func TestPrefix(t *testing.T) {
	for _, tc := range []struct{ root, service, want string }{
		{"/fenquan", "registry", "/fenquan/_discovery/registry/"},
		{"/t/x-1", "approval", "/t/x-1/_discovery/approval/"},
		{"", "svc", "/_discovery/svc/"},
	} {
		t.Run(tc.root+"|"+tc.service, func(t *testing.T) {
			if got := discovery.Prefix(tc.root, tc.service); got != tc.want {
				t.Errorf("Prefix(%q, %q) = %q, want %q", tc.root, tc.service, got, tc.want)
			}
		})
	}
}

func TestRegisterPutsEndpointUnderLeaseAndWithdrawsIt(t *testing.T) {
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	key := discovery.Prefix(root, "registry") + "replica-1"
	before := time.Now().UTC()
	stop := register(t, cli, root, "registry", "replica-1", "127.0.0.1:7001")

	var kv *clientv3.GetResponse
	waitFor(t, "the endpoint key", func() bool {
		kv = getKey(t, cli, key)
		return len(kv.Kvs) == 1
	})
	var ep discovery.Endpoint
	if err := json.Unmarshal(kv.Kvs[0].Value, &ep); err != nil {
		t.Fatalf("endpoint value %q: %v", kv.Kvs[0].Value, err)
	}
	if ep.Addr != "127.0.0.1:7001" || ep.Instance != "replica-1" {
		t.Errorf("endpoint = %+v, want addr 127.0.0.1:7001 instance replica-1", ep)
	}
	if ep.Started.Before(before.Add(-time.Second)) || ep.Started.Location() != time.UTC {
		t.Errorf("endpoint started = %v, want a UTC time after %v", ep.Started, before)
	}
	lease := clientv3.LeaseID(kv.Kvs[0].Lease)
	if lease == clientv3.NoLease {
		t.Fatal("endpoint key has no lease: it would outlive a killed process")
	}
	ttl, err := cli.TimeToLive(ctxT(t), lease)
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != discovery.TTL {
		t.Errorf("lease granted TTL = %d, want %d", ttl.GrantedTTL, discovery.TTL)
	}

	// The lease is lost (revoked, as if it had expired): the key vanishes with it and
	// Register announces the endpoint again under a new lease.
	if _, err := cli.Revoke(ctxT(t), lease); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the endpoint to be registered again under a new lease", func() bool {
		kv = getKey(t, cli, key)
		return len(kv.Kvs) == 1 && clientv3.LeaseID(kv.Kvs[0].Lease) != lease
	})

	// The context ends: Register withdraws the endpoint before returning.
	stop()
	if kv := getKey(t, cli, key); len(kv.Kvs) != 0 {
		t.Errorf("endpoint still registered after Register returned: %q", kv.Kvs[0].Value)
	}
}

func TestBuildRefusesTargetWithoutService(t *testing.T) {
	b := &discovery.Builder{Client: etcdtest.Client(t), Root: etcdtest.Root(t)}
	if got := b.Scheme(); got != discovery.Scheme {
		t.Errorf("Scheme() = %q, want %q", got, discovery.Scheme)
	}
	for _, target := range []string{"fenquan:///", "fenquan://", "fenquan:////"} {
		t.Run(target, func(t *testing.T) {
			u, err := url.Parse(target)
			if err != nil {
				t.Fatal(err)
			}
			r, err := b.Build(resolver.Target{URL: *u}, nil, resolver.BuildOptions{})
			if err == nil {
				r.Close()
				t.Fatalf("Build(%s) succeeded, want an error", target)
			}
		})
	}
}

func TestResolverBalancesAndFollowsRegistrations(t *testing.T) {
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	a, b := startBackend(t), startBackend(t)
	stopA := register(t, cli, root, "echo", "a", a.addr)
	register(t, cli, root, "echo", "b", b.addr)

	c := dial(t, &discovery.Builder{Client: cli, Root: root}, "echo")
	// Round robin over both live replicas: both see calls.
	reaches(t, c, a, b)

	// Withdraw a: the client stops sending it calls (a keeps running, so only the
	// resolver can have taken it out).
	stopA()
	waitFor(t, "a run of calls that all reach b", func() bool {
		fromA := a.calls.Load()
		for range 20 {
			if err := call(c); err != nil {
				return false
			}
		}
		return a.calls.Load() == fromA
	})
	fromA, fromB := a.calls.Load(), b.calls.Load()
	for i := range 20 {
		if err := call(c); err != nil {
			t.Fatalf("call %d after a left: %v", i, err)
		}
	}
	if got := a.calls.Load() - fromA; got != 0 {
		t.Errorf("withdrawn replica a got %d more calls, want 0", got)
	}
	if got := b.calls.Load() - fromB; got != 20 {
		t.Errorf("replica b got %d calls, want 20", got)
	}

	// A replica registered later is picked up.
	c2 := startBackend(t)
	register(t, cli, root, "echo", "c", c2.addr)
	reaches(t, c, b, c2)
}

func TestResolverIgnoresOtherServicesAndBadValues(t *testing.T) {
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	good, other := startBackend(t), startBackend(t)
	register(t, cli, root, "echo", "good", good.addr)
	register(t, cli, root, "echo-other", "x", other.addr)
	// Values that are not endpoints are skipped, not dialled.
	for k, v := range map[string]string{"junk": "not json", "empty": `{"addr":""}`} {
		if _, err := cli.Put(ctxT(t), discovery.Prefix(root, "echo")+k, v); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, &discovery.Builder{Client: cli, Root: root}, "echo")
	reaches(t, c, good)
	fromOther := other.calls.Load()
	for i := range 10 {
		if err := call(c); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := other.calls.Load() - fromOther; got != 0 {
		t.Errorf("service echo-other got %d calls made to echo", got)
	}
}

// Revoking the lease of a replica (as when a process loses etcd for longer than the
// TTL) deletes its key; the client follows, and a replica registered afterwards is
// reached too.
func TestResolverAfterLeaseRevoked(t *testing.T) {
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	a := startBackend(t)
	register(t, cli, root, "echo", "a", a.addr)
	c := dial(t, &discovery.Builder{Client: cli, Root: root}, "echo")
	reaches(t, c, a)

	key := discovery.Prefix(root, "echo") + "a"
	kv := getKey(t, cli, key)
	if len(kv.Kvs) != 1 {
		t.Fatalf("a not registered")
	}
	if _, err := cli.Revoke(ctxT(t), clientv3.LeaseID(kv.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	b := startBackend(t)
	register(t, cli, root, "echo", "b", b.addr)
	reaches(t, c, b)
	// a's Register announced it again under a new lease; the client has both.
	reaches(t, c, a, b)
}

// proxy relays TCP connections to target until cut, when it drops every connection and
// refuses new ones until restored: the client's etcd connection fails, as in a network
// partition, while etcd itself goes on.
type proxy struct {
	lis    net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{lis: lis, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		_ = lis.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = in.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		relay := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			_ = dst.Close()
			_ = src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go relay(out, in)
		go relay(in, out)
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// The resolver's watch falls behind a compaction: its client is cut off from etcd while
// a replica registers and the history is compacted past the watch position. When the
// connection comes back, the etcd client resumes the watch at a compacted revision and
// the watch fails with ErrCompacted; the resolver must re-list and find the new replica
// (the stock etcd resolver stops there and keeps its stale list).
func TestResolverRecoversAfterCompaction(t *testing.T) {
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	eps := etcdtest.Server(t).Endpoints
	if len(eps) == 0 {
		t.Fatal("embedded etcd has no client endpoint")
	}
	p := startProxy(t, strings.TrimPrefix(eps[0], "http://"))
	viaProxy, err := etcdx.NewClient(etcdx.ClientConfig{Endpoints: []string{"http://" + p.lis.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = viaProxy.Close() })

	a := startBackend(t)
	register(t, cli, root, "echo", "a", a.addr)
	waitFor(t, "a to be registered", func() bool {
		return len(getKey(t, cli, discovery.Prefix(root, "echo")+"a").Kvs) == 1
	})
	logs := &captureHandler{}
	c := dial(t, &discovery.Builder{Client: viaProxy, Root: root, Log: slog.New(logs)}, "echo")
	reaches(t, c, a)

	p.cut()
	b := startBackend(t)
	register(t, cli, root, "echo", "b", b.addr)
	waitFor(t, "b to be registered", func() bool {
		return len(getKey(t, cli, discovery.Prefix(root, "echo")+"b").Kvs) == 1
	})
	var rev int64
	for i := range 5 {
		resp, err := cli.Put(ctxT(t), fmt.Sprintf("%s/filler/%d", root, i), "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if _, err := cli.Compact(ctxT(t), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact at %d: %v", rev, err)
	}
	p.restore()

	reaches(t, c, b)
	reaches(t, c, a, b)
	// The scenario under test did happen: the watch failed on the compaction.
	if errs := logs.errs(); !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, "compacted") }) {
		t.Errorf("the resolver's watch never failed with ErrCompacted (watch errors: %q); the test no longer covers compaction", errs)
	}
}

// captureHandler keeps the "err" attribute of every log record.
type captureHandler struct {
	mu   sync.Mutex
	list []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			h.mu.Lock()
			h.list = append(h.list, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *captureHandler) errs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.list)
}
