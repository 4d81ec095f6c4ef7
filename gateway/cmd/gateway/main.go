// Command gateway serves Fenquan's REST API and its OpenAPI document, in front of the gRPC
// services it finds through etcd. Tokens are verified here and again in every service.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fenquan/fenquan/gateway"
	"github.com/fenquan/fenquan/services/shared/config"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/server"
)

func main() {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	var c config.Common
	c.Register(fs, 0, 7200)
	listen := fs.String("listen", envOr("FENQUAN_LISTEN", "127.0.0.1:8080"), "REST listen address (env FENQUAN_LISTEN)")
	tlsCert := fs.String("https-cert", os.Getenv("FENQUAN_HTTPS_CERT"), "certificate for HTTPS on --listen (env FENQUAN_HTTPS_CERT)")
	tlsKey := fs.String("https-key", os.Getenv("FENQUAN_HTTPS_KEY"), "key for HTTPS (env FENQUAN_HTTPS_KEY)")
	upstreamCA := fs.String("upstream-ca", os.Getenv("FENQUAN_UPSTREAM_CA"), "CA of the services' certificates: dial them over mTLS with --tls-cert/--tls-key (env FENQUAN_UPSTREAM_CA)")
	origins := fs.String("allowed-origins", os.Getenv("FENQUAN_ALLOWED_ORIGINS"), "comma-separated origins allowed by CORS (env FENQUAN_ALLOWED_ORIGINS)")
	proxies := fs.String("trusted-proxies", os.Getenv("FENQUAN_TRUSTED_PROXIES"), "comma-separated CIDRs allowed to set X-Forwarded-For (env FENQUAN_TRUSTED_PROXIES)")
	publicRate := fs.Float64("public-rate", 10, "requests per second per client on /public")
	if err := c.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, &c, *listen, *tlsCert, *tlsKey, *upstreamCA, *origins, *proxies, rate.Limit(*publicRate))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func run(ctx context.Context, c *config.Common, listen, cert, key, upstreamCA, origins, proxies string, publicRate rate.Limit) error {
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
	if err := c.CheckListen("listen", listen, cert != ""); err != nil {
		return err
	}
	creds := insecure.NewCredentials()
	if upstreamCA != "" {
		if c.TLSCert == "" || c.TLSKey == "" {
			return errors.New("--upstream-ca needs --tls-cert and --tls-key (the gateway's client certificate, named in the services' --tls-edge-peers)")
		}
		// Read again on every new connection: the CA, certificate and key rotate without a
		// restart.
		tf := &server.TLSFiles{CertFile: c.TLSCert, KeyFile: c.TLSKey, CAFile: upstreamCA}
		if creds, err = tf.ClientCredentials(); err != nil {
			return err
		}
	} else if c.Production {
		return errors.New("production needs --upstream-ca: services are dialled over mTLS")
	}
	resolver := &discovery.Builder{Client: cli, Root: c.KeyRoot, Log: log}
	upstreams := map[string]grpc.ClientConnInterface{}
	for _, svc := range gateway.Services() {
		conn, err := discovery.Dial(resolver, svc, creds)
		if err != nil {
			return err
		}
		defer conn.Close()
		upstreams[svc] = conn
	}
	var trusted []netip.Prefix
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				return fmt.Errorf("--trusted-proxies: %w", err)
			}
			trusted = append(trusted, pfx)
		}
	}
	var allowed []string
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			allowed = append(allowed, o)
		}
	}
	reg := obs.NewRegistry()
	h, err := gateway.New(ctx, gateway.Config{
		Upstreams: upstreams, Verifier: verifier, Logger: log, Registry: reg,
		TrustedProxies: trusted, AllowedOrigins: allowed, PublicRate: publicRate,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	if cert != "" {
		// The HTTPS certificate is read again when its files change (no restart).
		https := &server.TLSFiles{CertFile: cert, KeyFile: key}
		if _, err := https.Certificate(); err != nil {
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return https.Certificate()
		}}
	}
	if c.HTTPAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		msrv := &http.Server{Addr: c.HTTPAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = msrv.ListenAndServe() }()
		defer msrv.Close()
	}
	errc := make(chan error, 1)
	go func() {
		log.Info("serving", "service", "gateway", "listen", listen, "metrics", c.HTTPAddr)
		if cert != "" {
			errc <- srv.ListenAndServeTLS("", "")
		} else {
			errc <- srv.ListenAndServe()
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
