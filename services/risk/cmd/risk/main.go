// Command risk serves Fenquan's 廉政风险 register (risk points, campaigns, evidence
// feedback) over gRPC. Configure it with flags or FENQUAN_* environment variables (see
// -help). It follows the registry's org facts with its own service token
// (--service-token-file, a token with the platform role "service"), and reads the
// registry's posts, assignments and flows from etcd to mark risk points for review.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/risk"
	"github.com/fenquan/fenquan/services/shared/config"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

func main() {
	fs := flag.NewFlagSet("risk", flag.ExitOnError)
	var c config.Common
	c.Register(fs, 7103, 7203)
	if err := c.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, &c); err != nil {
		fmt.Fprintln(os.Stderr, "risk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c *config.Common) error {
	log, err := c.Logger()
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
	reg := obs.NewRegistry()
	p, err := pdp.Start(ctx, pdp.StartOptions{Service: "risk", Instance: instance(), Etcd: cli, Root: c.KeyRoot,
		Default: policies.FS, Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	// The registry serves the org facts, wherever its instances run; TLS when this
	// service is configured with a CA (a cluster with mTLS).
	creds := insecure.NewCredentials()
	tls, err := c.TLS()
	if err != nil {
		return err
	}
	if tls != nil && tls.CAFile != "" {
		tc, err := tls.ClientConfig()
		if err != nil {
			return err
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := discovery.Dial(&discovery.Builder{Client: cli, Root: c.KeyRoot, Log: log}, "registry", creds)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := p.FollowFacts(ctx, conn, callCtx, log); err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Service: "risk", GRPCServices: risk.GRPCServices,
		GRPCAddr: c.GRPCAddr, AdvertiseAddr: c.AdvertiseAddr, HTTPAddr: c.HTTPAddr, TLS: tls,
		Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p}, Etcd: cli, KeyRoot: c.KeyRoot, Registry: reg,
	})
	if err != nil {
		return err
	}
	svc, err := risk.New(ctx, risk.Config{Etcd: cli, KeyRoot: c.KeyRoot, Logger: log, PDP: p})
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
