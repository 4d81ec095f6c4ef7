// Command registry serves Fenquan's power registry (职权目录 · 流程图 · organisation) over
// gRPC. Configure it with flags or FENQUAN_* environment variables (see -help).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/shared/config"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

func main() {
	fs := flag.NewFlagSet("registry", flag.ExitOnError)
	var c config.Common
	c.Register(fs, 7101, 7201)
	if err := c.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &c); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c *config.Common) error {
	log, err := c.Logger()
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
	reg := obs.NewRegistry()
	p, err := pdp.Start(ctx, pdp.StartOptions{Service: "registry", Instance: instance(), Etcd: cli, Root: c.KeyRoot,
		Default: policies.FS, Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		return err
	}
	tls, err := c.TLS()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Service: "registry", GRPCServices: registry.GRPCServices,
		GRPCAddr: c.GRPCAddr, AdvertiseAddr: c.AdvertiseAddr, HTTPAddr: c.HTTPAddr, TLS: tls, EdgePeers: c.EdgePeers(),
		Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p}, Etcd: cli, KeyRoot: c.KeyRoot, Registry: reg,
	})
	if err != nil {
		return err
	}
	svc, err := registry.New(ctx, registry.Config{Etcd: cli, KeyRoot: c.KeyRoot, Logger: log, PDP: p, DefaultPolicy: def})
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
