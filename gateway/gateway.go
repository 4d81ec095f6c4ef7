// Package gateway is Fenquan's REST edge: a grpc-gateway v2 reverse proxy that turns the
// web front ends' JSON-over-HTTP calls into gRPC calls on the services.
//
// The edge is a second line of defence, not the only one: every service verifies the
// token and authorises the call again. What the edge adds:
//
//   - Only an allowlist of request headers reaches a service (Authorization on non-public
//     routes, Accept-Language, X-Request-Id, Idempotency-Key, Traceparent, Tracestate, plus
//     the client address the edge itself determined as x-forwarded-for). In particular the
//     grpc-gateway default of forwarding Grpc-Metadata-* headers is switched off, and no
//     gRPC response metadata or trailer leaks back out as an HTTP header.
//   - Non-public routes need a bearer token, verified here before anything is forwarded;
//     public routes never forward one (a public answer must not depend on who asks). A
//     service's own token (platform role "service") is refused, and the service identity
//     key (x-fenquan-service-authorization) is never forwarded: service identities are
//     for service-to-service calls, never from a client. A
//     route is public when its RPC declares `(fenquan.api.v1.access).public`: the gateway
//     maps every matched route pattern to its RPC through the google.api.http options of
//     the registered services, and checks the mapping again on the outgoing call.
//   - Bodies are size-limited and checked (valid UTF-8, bounded JSON nesting, no unknown
//     fields) before anything is forwarded; /public/** is rate-limited per client address.
//   - Errors have one JSON shape, google.rpc.Status in protojson form:
//     {"code": <gRPC code>, "message": "...", "details": [...]}, with the standard
//     grpc-gateway mapping of codes to HTTP statuses. Internal failures are logged and
//     answered with "internal error".
package gateway

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	auditv1 "github.com/fenquan/fenquan/proto/fenquan/audit/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxBodyBytes int64      = 4 << 20
	DefaultMaxJSONDepth            = 64
	DefaultPublicRate   rate.Limit = 10
	DefaultPublicBurst             = 20
)

// publicClients bounds the number of client addresses whose public rate limiter is kept;
// the least recently seen are forgotten first.
const publicClients = 65536

//go:embed openapi/fenquan.swagger.json
var openAPIDoc []byte

// Config configures the edge.
type Config struct {
	// Upstreams are the client connections by service short name (see Services). Only the
	// routes of the services present are served; a name the gateway does not know is an
	// error.
	Upstreams map[string]grpc.ClientConnInterface
	// Verifier checks bearer tokens at the edge (each service verifies them again).
	Verifier *auth.Verifier
	// Logger receives one record per request (debug; failures at info or error). Default:
	// discard.
	Logger *slog.Logger
	// Registry receives the HTTP metrics (never the global registry). Default: a private
	// registry nobody reads.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds request bodies. Default DefaultMaxBodyBytes (4 MiB).
	MaxBodyBytes int64
	// MaxJSONDepth bounds the nesting of JSON bodies. Default DefaultMaxJSONDepth (64).
	MaxJSONDepth int
	// PublicRate and PublicBurst limit requests to public routes per client address.
	// Defaults DefaultPublicRate (10/s) and DefaultPublicBurst (20); rate.Inf disables.
	PublicRate  rate.Limit
	PublicBurst int
	// TrustedProxies may set X-Forwarded-For; for any other peer the peer address is the
	// client address.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are the exact origins ("https://fenquan.example.gov.cn") whose web
	// front ends may call the API cross-origin. Empty: no CORS headers.
	AllowedOrigins []string
}

// registration binds one gRPC service to the upstream that serves it.
type registration struct {
	service  string // full gRPC service name
	register func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error
}

// bind makes a registration from a generated service description, client constructor
// and *HandlerClient registration function (never *HandlerServer: that would bypass the
// services' interceptors).
func bind[C any](sd *grpc.ServiceDesc, newClient func(grpc.ClientConnInterface) C,
	register func(context.Context, *runtime.ServeMux, C) error) registration {
	return registration{
		service: sd.ServiceName,
		register: func(ctx context.Context, mux *runtime.ServeMux, cc grpc.ClientConnInterface) error {
			return register(ctx, mux, newClient(cc))
		},
	}
}

// registrations are the services served, by upstream short name. Adding a service is one
// line here.
var registrations = map[string][]registration{
	"registry": {
		bind(&registryv1.OrgService_ServiceDesc, registryv1.NewOrgServiceClient, registryv1.RegisterOrgServiceHandlerClient),
		bind(&registryv1.CatalogService_ServiceDesc, registryv1.NewCatalogServiceClient, registryv1.RegisterCatalogServiceHandlerClient),
		bind(&registryv1.PublicCatalogService_ServiceDesc, registryv1.NewPublicCatalogServiceClient, registryv1.RegisterPublicCatalogServiceHandlerClient),
		// The policy and audit services are served by the registry binary.
		bind(&policyv1.PolicyService_ServiceDesc, policyv1.NewPolicyServiceClient, policyv1.RegisterPolicyServiceHandlerClient),
		bind(&auditv1.AuditService_ServiceDesc, auditv1.NewAuditServiceClient, auditv1.RegisterAuditServiceHandlerClient),
	},
	"approval": {
		bind(&approvalv1.CaseService_ServiceDesc, approvalv1.NewCaseServiceClient, approvalv1.RegisterCaseServiceHandlerClient),
		bind(&approvalv1.CalendarService_ServiceDesc, approvalv1.NewCalendarServiceClient, approvalv1.RegisterCalendarServiceHandlerClient),
	},
	"risk": {
		bind(&riskv1.RiskService_ServiceDesc, riskv1.NewRiskServiceClient, riskv1.RegisterRiskServiceHandlerClient),
	},
	"supervision": {
		bind(&supervisionv1.SupervisionService_ServiceDesc, supervisionv1.NewSupervisionServiceClient, supervisionv1.RegisterSupervisionServiceHandlerClient),
		bind(&supervisionv1.ComplaintService_ServiceDesc, supervisionv1.NewComplaintServiceClient, supervisionv1.RegisterComplaintServiceHandlerClient),
	},
}

// Services lists the upstream short names the gateway knows, sorted.
func Services() []string {
	out := make([]string, 0, len(registrations))
	for name := range registrations {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// gateway is the handler New returns.
type gateway struct {
	cfg       Config
	log       *slog.Logger
	mux       *runtime.ServeMux
	routes    map[string]*route // by routeKey
	upstreams map[string]grpc.ClientConnInterface
	origins   map[string]bool
	limiter   *limiterSet
	metrics   *metrics
	json      protojson.MarshalOptions
}

// New builds the edge handler. It fails when an upstream is unknown or missing, when a
// method of a served service declares no access rule, or when two RPCs claim the same
// route.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	if len(cfg.Upstreams) == 0 {
		return nil, errors.New("gateway: no upstream configured")
	}
	if cfg.Verifier == nil {
		return nil, errors.New("gateway: a token verifier is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxJSONDepth <= 0 {
		cfg.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if cfg.PublicRate <= 0 {
		cfg.PublicRate = DefaultPublicRate
	}
	if cfg.PublicBurst <= 0 {
		cfg.PublicBurst = DefaultPublicBurst
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	if !json.Valid(openAPIDoc) {
		return nil, errors.New("gateway: the embedded OpenAPI document is not valid JSON")
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	g := &gateway{
		cfg:       cfg,
		log:       cfg.Logger,
		routes:    map[string]*route{},
		upstreams: map[string]grpc.ClientConnInterface{},
		origins:   origins,
		limiter:   newLimiterSet(cfg.PublicRate, cfg.PublicBurst, publicClients),
		metrics:   m,
		json:      protojson.MarshalOptions{EmitDefaultValues: true},
	}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitDefaultValues: true, UseProtoNames: false, UseEnumNumbers: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(dropMetadata),
		runtime.WithOutgoingTrailerMatcher(dropMetadata),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		runtime.WithForwardResponseOption(g.forwardResponse),
		runtime.WithMiddlewares(g.edge),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)

	names := make([]string, 0, len(cfg.Upstreams))
	for name := range cfg.Upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cc := cfg.Upstreams[name]
		regs, ok := registrations[name]
		if !ok {
			return nil, fmt.Errorf("gateway: unknown upstream %q (known: %s)", name, strings.Join(Services(), ", "))
		}
		if cc == nil {
			return nil, fmt.Errorf("gateway: upstream %q has no connection", name)
		}
		services := make([]string, 0, len(regs))
		for _, r := range regs {
			services = append(services, r.service)
		}
		rules, err := authz.RulesFor(services...)
		if err != nil {
			return nil, fmt.Errorf("gateway: upstream %q: %w", name, err)
		}
		if err := g.addRoutes(services, rules); err != nil {
			return nil, fmt.Errorf("gateway: upstream %q: %w", name, err)
		}
		conn := &edgeConn{cc: cc, rules: rules, g: g}
		for _, r := range regs {
			if err := r.register(ctx, g.mux, conn); err != nil {
				return nil, fmt.Errorf("gateway: register %s: %w", r.service, err)
			}
		}
		g.upstreams[name] = cc
	}
	g.log.Info("gateway ready", "upstreams", names, "routes", len(g.routes))
	return g, nil
}

// parseOrigins validates the CORS allowlist: exact "scheme://host[:port]" origins only.
func parseOrigins(list []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, o := range list {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
			return nil, fmt.Errorf("gateway: allowed origin %q is not an exact scheme://host[:port] origin", o)
		}
		out[o] = true
	}
	return out, nil
}

// incomingHeader is the allowlist of request headers forwarded as gRPC metadata; it
// replaces grpc-gateway's default, which forwards Grpc-Metadata-* (an identity-spoofing
// path). Authorization is not listed: grpc-gateway always forwards it by itself, so the
// edge sets or removes it before the call (see edge).
func incomingHeader(key string) (string, bool) {
	switch http.CanonicalHeaderKey(key) {
	case "Accept-Language", "X-Request-Id", "Idempotency-Key", "Traceparent", "Tracestate":
		return strings.ToLower(key), true
	}
	return "", false
}

// dropMetadata keeps gRPC response headers and trailers out of HTTP responses.
func dropMetadata(string) (string, bool) { return "", false }

// strippedHeaders never reach the runtime mux: they would set metadata or change how it
// routes (grpc-gateway reads X-Forwarded-* and Grpc-Timeout outside the header matcher).
var strippedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip", "Grpc-Timeout", "X-Http-Method-Override", "Te"}
