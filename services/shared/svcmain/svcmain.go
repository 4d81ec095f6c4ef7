// Package svcmain is the main function of a Fenquan service that decides with the PDP and
// follows the registry's org facts: flags and FENQUAN_* variables (config.Common), the
// etcd client, the token verifier, the PDP following the published policy sets, the
// registry found through discovery (over mTLS when a CA is configured), the org facts
// followed with the service's own token, and the gRPC/HTTP server the service registers
// on. Each service's cmd is one call of Main.
package svcmain

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fenquan/fenquan/services/shared/audit"
	"github.com/fenquan/fenquan/services/shared/config"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

// Deps are what a service is built from.
type Deps struct {
	Etcd    *clientv3.Client
	KeyRoot string
	Log     *slog.Logger
	PDP     *pdp.PDP
	// Registry is a connection to the registry service (discovered through etcd).
	Registry grpc.ClientConnInterface
	// Dial connects to another service by name (discovered through etcd, over mTLS when a
	// CA is configured); the connection lives as long as the process.
	Dial func(service string) (grpc.ClientConnInterface, error)
	// CallCtx adds this service's own token to a call it makes on its own behalf (calls on
	// a user's behalf use auth.ForwardToken, which adds the user's token and this one).
	CallCtx func(context.Context) context.Context
}

// Spec describes the service.
type Spec struct {
	Name string
	// Default ports of the gRPC and HTTP (metrics, health) listeners.
	GRPCPort, HTTPPort int
	GRPCServices       []string
	// Policies is the embedded default policy set (policies.FS).
	Policies fs.FS
	Build    func(ctx context.Context, d Deps) (interface{ Register(grpc.ServiceRegistrar) }, error)
	// AuditSealer runs the audit log's sealer in the process: every replica competes for
	// its election and the leader seals (package audit).
	AuditSealer bool
}

// Main parses the flags, runs the service until SIGINT or SIGTERM and exits.
func Main(s Spec) {
	flags := flag.NewFlagSet(s.Name, flag.ExitOnError)
	var c config.Common
	c.Register(flags, s.GRPCPort, s.HTTPPort)
	if err := c.Parse(flags, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &c, s); err != nil {
		fmt.Fprintln(os.Stderr, s.Name+":", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c *config.Common, s Spec) error {
	log, err := c.Logger()
	if err != nil {
		return err
	}
	selfToken, err := c.ServiceToken()
	if err != nil {
		return err
	}
	callCtx, err := c.ServiceCallContext()
	if err != nil {
		return err
	}
	cli, err := c.EtcdClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	verifier, err := c.Verifier()
	if err != nil {
		return err
	}
	tls, err := c.TLS()
	if err != nil {
		return err
	}
	if s.AuditSealer {
		sealer := audit.NewSealer(cli, c.KeyRoot, audit.Options{Name: s.Name + "-" + instance(), Logger: log.With("component", "audit-sealer")})
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = sealer.Run(sctx) }()
		defer func() { cancel(); <-done }() // it resigns before the client closes
	}
	reg := obs.NewRegistry()
	p, err := pdp.Start(ctx, pdp.StartOptions{Service: s.Name, Instance: instance(), Etcd: cli, Root: c.KeyRoot,
		Default: s.Policies, Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	// The registry, wherever its instances run; mTLS when this service is configured with
	// a CA (a cluster with mTLS): the service's certificate is its client certificate, and
	// the files are read again on every new connection (rotation without a restart).
	creds := insecure.NewCredentials()
	if tls != nil && tls.CAFile != "" {
		if creds, err = tls.ClientCredentials(); err != nil {
			return err
		}
	}
	builder := &discovery.Builder{Client: cli, Root: c.KeyRoot, Log: log}
	conn, err := discovery.Dial(builder, "registry", creds)
	if err != nil {
		return err
	}
	defer conn.Close()
	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func(service string) (grpc.ClientConnInterface, error) {
		c, err := discovery.Dial(builder, service, creds)
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	if err := p.FollowFacts(ctx, conn, callCtx, log); err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Service: s.Name, GRPCServices: s.GRPCServices,
		GRPCAddr: c.GRPCAddr, AdvertiseAddr: c.AdvertiseAddr, HTTPAddr: c.HTTPAddr, TLS: tls,
		EdgePeers: c.EdgePeers(), ServiceToken: selfToken,
		Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p}, Etcd: cli, KeyRoot: c.KeyRoot, Registry: reg,
	})
	if err != nil {
		return err
	}
	svc, err := s.Build(ctx, Deps{Etcd: cli, KeyRoot: c.KeyRoot, Log: log, PDP: p, Registry: conn, Dial: dial, CallCtx: callCtx})
	if err != nil {
		return err
	}
	svc.Register(srv.GRPC)
	return srv.Run(ctx)
}

// instance names this process in status reports.
func instance() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
