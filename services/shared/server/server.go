// Package server is the bootstrap every Fenquan service shares: one gRPC server with the
// same interceptor chain (recovery, metrics, logging, authentication, request validation,
// access rules), health, reflection, an HTTP side port for /metrics and /healthz, and
// registration in etcd so the gateway and peers find the replica.
//
// A service builds a Config, registers its gRPC implementations on Server.GRPC, and
// calls Run. The chain is fixed here so no service can forget a step.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/validate"
)

// MaxMessageBytes bounds every request (4 MiB, gRPC's default, made explicit so the
// gateway and the services agree). Responses are bounded by discovery.MaxResponseBytes.
const MaxMessageBytes = 4 << 20

// bufferPool has power-of-two tiers up to the largest message. gRPC's default jumps from
// 32 KiB to 1 MiB and zeroes buffers on reuse, so every response just over 32 KiB (a list
// page of 50 resources) cleared a whole MiB: measured as an eighth of the CPU of a list
// benchmark. Finer tiers keep the zeroing and drop the waste.
var bufferPool = func() mem.BufferPool {
	p, err := mem.NewBinaryTieredBufferPool(8, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22)
	if err != nil {
		panic(err)
	}
	return p
}()

// Config configures one service process.
type Config struct {
	// Service is the short name: "registry", "approval", ...
	Service string
	// GRPCServices are the full names of the gRPC services this process serves; their
	// access rules are loaded from the protos.
	GRPCServices []string
	// GRPCAddr to listen on; default "127.0.0.1:0".
	GRPCAddr string
	// AdvertiseAddr is the address peers dial; default the listener's address.
	AdvertiseAddr string
	// HTTPAddr serves /metrics, /healthz and /readyz; empty disables it.
	HTTPAddr string
	// TLS for the gRPC port. Nil serves plaintext, which New allows on loopback only.
	// With a CA file, clients must present a certificate it signed (mTLS).
	TLS *TLSFiles
	// EdgePeers name the client certificates (subject CN, DNS or URI SAN) that call with
	// an end user's token alone (the gateway); over mTLS every other client is a service
	// and must carry its own identity, named by its certificate (auth.ServerOptions).
	EdgePeers []string
	// ServiceToken returns the service's own token, which the calls it makes on a user's
	// behalf carry beside the user's (auth.ForwardToken). Nil: they carry the user's alone.
	ServiceToken func() (string, error)

	Logger     *slog.Logger
	Verifier   *auth.Verifier
	Authorizer authz.Authorizer
	// Etcd and KeyRoot enable registration in discovery.
	Etcd    *clientv3.Client
	KeyRoot string
	// Registry receives the server's metrics; New creates one if nil.
	Registry *prometheus.Registry
}

// Server is a configured, listening gRPC server.
type Server struct {
	cfg      Config
	GRPC     *grpc.Server
	Health   *health.Server
	Registry *prometheus.Registry
	Rules    authz.Rules
	lis      net.Listener
	httpLis  net.Listener
	instance string
}

// New validates cfg, builds the server and opens its listeners.
func New(cfg Config) (*Server, error) {
	if cfg.Service == "" || cfg.Logger == nil || cfg.Verifier == nil || cfg.Authorizer == nil {
		return nil, errors.New("server: Service, Logger, Verifier and Authorizer are required")
	}
	rules, err := authz.RulesFor(cfg.GRPCServices...)
	if err != nil {
		return nil, err
	}
	rules.AllowPublic(
		"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	)
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.TLS == nil {
		if err := requireLoopback(cfg.GRPCAddr); err != nil {
			return nil, err
		}
	}
	if cfg.Registry == nil {
		cfg.Registry = obs.NewRegistry()
	}
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5})))
	if err := cfg.Registry.Register(metrics); err != nil {
		return nil, err
	}

	authn := auth.NewServerAuth(cfg.Verifier, rules.IsPublic, auth.ServerOptions{EdgePeers: cfg.EdgePeers, Self: cfg.ServiceToken})
	opts := []grpc.ServerOption{
		experimental.BufferPool(bufferPool),
		// Reuse a few goroutines for streams instead of one fresh goroutine (and stack
		// growth) per call.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		// Wider HTTP/2 windows than the 64 KiB default: list pages are tens of KiB and many
		// calls share a connection.
		grpc.InitialWindowSize(1 << 20),
		grpc.InitialConnWindowSize(8 << 20),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(discovery.MaxResponseBytes),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(
			recoverUnary(cfg.Logger),
			metrics.UnaryServerInterceptor(),
			logUnary(cfg.Logger),
			authn.Unary(),
			validate.UnaryServerInterceptor(),
			authz.UnaryServerInterceptor(rules, cfg.Authorizer),
		),
		grpc.ChainStreamInterceptor(
			recoverStream(cfg.Logger),
			metrics.StreamServerInterceptor(),
			authn.Stream(),
			validate.StreamServerInterceptor(),
			authz.StreamServerInterceptor(rules, cfg.Authorizer),
		),
	}
	if cfg.TLS != nil {
		tc, err := cfg.TLS.ServerConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	} else {
		opts = append(opts, grpc.Creds(insecure.NewCredentials()))
	}
	gs := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("server: listen %s: %w", cfg.GRPCAddr, err)
	}
	s := &Server{cfg: cfg, GRPC: gs, Health: hs, Registry: cfg.Registry, Rules: rules, lis: lis, instance: instanceID()}
	if cfg.HTTPAddr != "" {
		if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			lis.Close()
			return nil, fmt.Errorf("server: listen %s: %w", cfg.HTTPAddr, err)
		}
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	metrics.InitializeMetrics(gs)
	return s, nil
}

// Addr is the gRPC listen address.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// HTTPAddr is the metrics/health listen address ("" if disabled).
func (s *Server) HTTPAddr() string {
	if s.httpLis == nil {
		return ""
	}
	return s.httpLis.Addr().String()
}

// Run serves until ctx ends, then withdraws from discovery, reports NOT_SERVING and stops
// gracefully (in-flight calls get up to 10s).
func (s *Server) Run(ctx context.Context) error {
	for _, name := range s.cfg.GRPCServices {
		s.Health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	errc := make(chan error, 2)
	go func() { errc <- s.GRPC.Serve(s.lis) }()

	var hsrv *http.Server
	if s.httpLis != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
			resp, err := s.Health.Check(r.Context(), &healthpb.HealthCheckRequest{})
			if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
				http.Error(w, "not serving", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("ok\n"))
		})
		hsrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := hsrv.Serve(s.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}

	regCtx, stopReg := context.WithCancel(context.Background())
	regDone := make(chan struct{})
	if s.cfg.Etcd != nil {
		addr := s.cfg.AdvertiseAddr
		if addr == "" {
			addr = s.Addr()
		}
		go func() {
			defer close(regDone)
			discovery.Register(regCtx, s.cfg.Etcd, s.cfg.KeyRoot, s.cfg.Service, s.instance, addr, s.cfg.Logger)
		}()
	} else {
		close(regDone)
	}
	s.cfg.Logger.Info("serving", "service", s.cfg.Service, "grpc", s.Addr(), "http", s.HTTPAddr(), "instance", s.instance)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopReg()
	<-regDone
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.GRPC.Stop()
	}
	if hsrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = hsrv.Shutdown(sctx)
		cancel()
	}
	return err
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("server: refusing to serve plaintext gRPC on %q: configure TLS, or listen on loopback", addr)
}

func instanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = apierr.New(codes.Internal, apierr.ReasonInternal, "internal error", nil)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in stream handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = apierr.New(codes.Internal, apierr.ReasonInternal, "internal error", nil)
			}
		}()
		return handler(srv, ss)
	}
}

// logUnary logs failed calls (server errors at error level, client errors at info) and,
// at debug level, every call.
func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		var lvl slog.Level
		switch code {
		case codes.OK:
			lvl = slog.LevelDebug
		case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
			lvl = slog.LevelError
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
			lvl = slog.LevelWarn
		default:
			lvl = slog.LevelInfo
		}
		if log.Enabled(ctx, lvl) {
			attrs := []any{"method", info.FullMethod, "code", code.String(), "ms", float64(time.Since(start).Microseconds()) / 1000}
			if p := auth.FromContext(ctx); p != nil {
				attrs = append(attrs, "sub", p.Subject)
				if p.Via != "" && p.Via != p.Subject {
					attrs = append(attrs, "via", p.Via)
				}
			}
			if err != nil {
				attrs = append(attrs, "err", status.Convert(err).Message())
			}
			log.Log(ctx, lvl, "call", attrs...)
		}
		return resp, err
	}
}
