package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/protobuf/proto"
)

// Response header values.
const (
	// diagramCSP sandboxes raw bodies (SVG diagrams): no script, no external loads; inline
	// styles only, which the diagrams use.
	diagramCSP = "default-src 'none'; style-src 'unsafe-inline'"
	// apiCSP is sent with every other response: nothing a browser could render runs.
	apiCSP = "default-src 'none'; frame-ancestors 'none'"

	publicCacheControl = "public, max-age=60"
	corsAllowMethods   = "GET, POST, PUT, PATCH, DELETE"
	corsAllowHeaders   = "Authorization, Content-Type, Accept-Language, X-Request-Id, Idempotency-Key, Traceparent, Tracestate"
	corsExposeHeaders  = "X-Request-Id, Retry-After"
	corsMaxAge         = "600"
)

// rawBodyTypes are the media types a google.api.HttpBody response may have; anything else
// (text/html, say) is refused rather than served from the API's origin.
var rawBodyTypes = map[string]bool{
	"image/svg+xml":    true,
	"text/vnd.mermaid": true,
	"text/plain":       true,
	"text/csv":         true,
	"image/png":        true,
	"application/pdf":  true,
	xlsxType:           true,
	// JSON lines: the audit log's export.
	"application/x-ndjson": true,
}

// xlsxType is an Excel workbook (the risk register's 台账).
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// downloads are the raw body types a browser saves rather than shows.
var downloads = map[string]string{xlsxType: "register.xlsx", "text/csv": "register.csv", "application/x-ndjson": "audit.jsonl"}

// requestState follows one request through the handler, the mux and the error handlers.
type requestState struct {
	id      string
	client  netip.Addr
	route   *route // the matched API route, set by edge
	local   string // the gateway's own route ("/healthz"…), if that served the request
	limited bool   // the public rate limit was already applied
}

type stateKey struct{}

func stateOf(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// routeLabel names the route for logs and metrics: the path template, the gateway's own
// route, or "unrouted" (bounded cardinality either way).
func (s *requestState) routeLabel() string {
	switch {
	case s.route != nil:
		return s.route.template
	case s.local != "":
		return s.local
	}
	return "unrouted"
}

// ServeHTTP is the edge's entry point.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &requestState{id: requestID(r.Header.Get("X-Request-Id")), client: g.clientAddr(r)}
	rw := &responseWriter{ResponseWriter: w, state: st, status: http.StatusOK}
	g.metrics.inflight.Inc()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			g.log.Error("gateway: panic", "request_id", st.id, "route", st.routeLabel(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rw.wroteHeader {
				g.writeStatus(rw, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)), http.StatusInternalServerError, internalStatus())
			}
		}
		g.metrics.inflight.Dec()
		g.observe(r, st, rw.status, time.Since(start))
	}()

	h := rw.Header()
	h.Set("X-Request-Id", st.id)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", apiCSP)

	ctx := context.WithValue(r.Context(), stateKey{}, st)
	if g.cors(rw, r.WithContext(ctx)) {
		return
	}

	// The request the mux sees carries only what the edge vouches for: the checked
	// request id, the client address it determined, and no proxy or gRPC control headers.
	r2 := r.Clone(ctx)
	for _, k := range strippedHeaders {
		r2.Header.Del(k)
	}
	r2.Header.Set("X-Request-Id", st.id)
	r2.Host = ""
	r2.RemoteAddr = ""
	if st.client.IsValid() {
		r2.RemoteAddr = net.JoinHostPort(st.client.String(), "0")
	}

	switch r.URL.Path {
	case "/healthz", "/readyz", "/openapi.json":
		st.local = r.URL.Path
		g.serveLocal(rw, r2)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/public/") && !g.allowPublic(rw, r2, st) {
		return
	}
	g.mux.ServeHTTP(rw, r2)
}

// requestID keeps a client's X-Request-Id when it is short and plain, else makes one.
func requestID(given string) string {
	if n := len(given); n > 0 && n <= 128 {
		ok := true
		for _, c := range []byte(given) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return given
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clientAddr is the peer address, or, when the peer is a trusted proxy, the nearest
// untrusted address of X-Forwarded-For (read right to left).
func (g *gateway) clientAddr(r *http.Request) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !g.trustedProxy(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseAddr(hops[i])
		if !a.IsValid() {
			break // garbage: trust nothing further left
		}
		client = a
		if !g.trustedProxy(a) {
			break
		}
	}
	return client
}

func (g *gateway) trustedProxy(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr accepts "ip", "ip:port" and "[ip6]:port".
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// cors sets the CORS headers for allowed origins and answers preflight requests; it
// returns true when it answered.
func (g *gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	if len(g.origins) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !g.origins[origin] {
		if preflight {
			g.writeStatus(w, r, http.StatusForbidden, gatewayStatus(codes.PermissionDenied, ReasonOriginNotAllowed,
				"origin not allowed", "不允许该来源跨域访问"))
			return true
		}
		return false // no CORS headers: the browser keeps the answer from the page
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if preflight {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// forwardResponse runs on every successful API response before it is written: raw
// bodies get a restrictive CSP, and only known media types are served raw.
func (g *gateway) forwardResponse(ctx context.Context, w http.ResponseWriter, m proto.Message) error {
	hb, ok := m.(*httpbody.HttpBody)
	if !ok {
		return nil
	}
	mt, _, err := mime.ParseMediaType(hb.GetContentType())
	if err != nil || !rawBodyTypes[mt] {
		g.log.Error("gateway: refusing a raw body media type", "request_id", stateOf(ctx).id,
			"route", stateOf(ctx).routeLabel(), "content_type", hb.GetContentType())
		return internalError()
	}
	w.Header().Set("Content-Security-Policy", diagramCSP)
	if name, ok := downloads[mt]; ok {
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	return nil
}

// serveLocal answers the gateway's own routes.
func (g *gateway) serveLocal(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		g.handleRoutingError(r.Context(), g.mux, nil, w, r, http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/openapi.json":
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openAPIDoc)
	case "/healthz":
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	case "/readyz":
		h.Set("Cache-Control", "no-store")
		ready, states := g.readiness()
		body, _ := json.Marshal(map[string]any{"status": map[bool]string{true: "ready", false: "not ready"}[ready], "upstreams": states})
		if ready {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write(body)
	}
}

// readiness is true when every upstream *grpc.ClientConn is READY or IDLE (an IDLE one is
// asked to connect). Other connection types are taken as ready.
func (g *gateway) readiness() (bool, map[string]string) {
	ready, states := true, map[string]string{}
	for name, cc := range g.upstreams {
		c, ok := cc.(*grpc.ClientConn)
		if !ok {
			states[name] = "UNKNOWN"
			continue
		}
		s := c.GetState()
		switch s {
		case connectivity.Idle:
			c.Connect()
		case connectivity.Ready:
		default:
			ready = false
		}
		states[name] = s.String()
	}
	return ready, states
}

// observe records the request's metrics and log line (never its headers).
func (g *gateway) observe(r *http.Request, st *requestState, status int, d time.Duration) {
	route, method := st.routeLabel(), metricMethod(r.Method)
	g.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	g.metrics.duration.WithLabelValues(method, route).Observe(d.Seconds())
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelInfo
	}
	if !g.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", st.id),
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("client", st.client.String()),
	}
	if st.route != nil {
		attrs = append(attrs, slog.String("rpc", st.route.method))
	}
	g.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// responseWriter records the status and sets Cache-Control when the header is written:
// successful public API answers may be cached for a minute, nothing else.
type responseWriter struct {
	http.ResponseWriter
	state       *requestState
	status      int
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader, w.status = true, code
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		if rt := w.state.route; rt != nil && rt.public && code < 400 {
			h.Set("Cache-Control", publicCacheControl)
		} else {
			h.Set("Cache-Control", "no-store")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
