package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// gRPC's own metadata on a received call, besides what the gateway forwards.
var grpcOwnMetadata = []string{":authority", "content-type", "user-agent", "grpc-accept-encoding", "grpc-timeout"}

// forwardable is everything a service may receive from the gateway.
var forwardable = []string{"authorization", "accept-language", "x-request-id", "idempotency-key", "traceparent", "tracestate", "x-forwarded-for"}

func TestHeaderAllowlist(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v1/orgs/acme", append(e.authed(),
		"Accept-Language", "zh-CN",
		"X-Request-Id", "req-42",
		"Idempotency-Key", "idem-1",
		"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"Tracestate", "fq=1",
		// Everything below must stay at the edge.
		"Grpc-Metadata-X-User", "orgs/acme/people/admin",
		"Grpc-Metadata-Authorization", "Bearer forged",
		"Grpc-Metadata-Grpcgateway-Host", "forged",
		"X-User", "admin",
		"X-Fenquan-Person", "orgs/acme/people/admin",
		"X-Fenquan-Service-Authorization", "Bearer forged",
		"Grpc-Metadata-X-Fenquan-Service-Authorization", "Bearer forged",
		"X-Forwarded-For", "6.6.6.6",
		"X-Forwarded-Host", "evil.example",
		"Forwarded", "for=6.6.6.6",
		"Grpc-Timeout", "1n",
		"Cookie", "session=1",
		"User-Agent", "evil-agent",
		"Te", "trailers",
	)...)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	c := e.rec.last(t)
	if c.method != "/fenquan.registry.v1.OrgService/GetOrg" {
		t.Fatalf("method %s", c.method)
	}
	for k := range c.md {
		if !slices.Contains(forwardable, k) && !slices.Contains(grpcOwnMetadata, k) {
			t.Errorf("metadata %q = %q reached the service", k, c.md[k])
		}
	}
	want := map[string]string{
		"authorization":   "Bearer " + e.token,
		"accept-language": "zh-CN",
		"x-request-id":    "req-42",
		"idempotency-key": "idem-1",
		"traceparent":     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":      "fq=1",
		"x-forwarded-for": "127.0.0.1", // the peer, not the client's claim
	}
	for k, v := range want {
		if got := c.md.Get(k); len(got) != 1 || got[0] != v {
			t.Errorf("metadata %s = %q, want exactly [%q]", k, got, v)
		}
	}
	if ua := strings.Join(c.md.Get("user-agent"), ","); strings.Contains(ua, "evil") {
		t.Errorf("client User-Agent forwarded: %q", ua)
	}
	if dl := c.md.Get("grpc-timeout"); len(dl) > 0 {
		t.Errorf("client Grpc-Timeout forwarded: %q", dl)
	}
	// Nothing of the upstream's response metadata comes back as a header.
	for k, vs := range r.header {
		if strings.HasPrefix(k, "Grpc-") || strings.Contains(strings.Join(vs, ","), "internal") {
			t.Errorf("response header %s: %q leaks upstream metadata", k, vs)
		}
	}
}

func TestGrpcMetadataAuthorizationIsNotAToken(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v1/orgs/acme", "Grpc-Metadata-Authorization", "Bearer "+e.token)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", r.status, r.body)
	}
	if e.rec.count() != 0 {
		t.Fatal("the upstream was called")
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	expired, err := e.dev.Mint("alice", auth.Claims{}, -10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Mint("alice", auth.Claims{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		headers []string
		invalid bool
	}{
		{"missing", nil, false},
		{"empty bearer", []string{"Authorization", "Bearer "}, false},
		{"garbage", []string{"Authorization", "Bearer not.a.jwt"}, true},
		{"expired", []string{"Authorization", "Bearer " + expired}, true},
		{"wrong key", []string{"Authorization", "Bearer " + foreign}, true},
		{"basic scheme", []string{"Authorization", "Basic " + e.token}, true},
		{"two headers", []string{"Authorization", "Bearer " + e.token, "Authorization", "Bearer " + e.token}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get("/v1/orgs/acme", tc.headers...)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.status, r.body)
			}
			eb := parseError(t, r)
			if eb.st.GetCode() != 16 || eb.info.GetReason() != "UNAUTHENTICATED" || eb.localized.GetMessage() == "" {
				t.Fatalf("error %s", r.body)
			}
			challenge := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") || strings.Contains(challenge, "invalid_token") != tc.invalid {
				t.Errorf("WWW-Authenticate %q", challenge)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}
	if n := e.rec.count(); n != 0 {
		t.Fatalf("the upstream received %d calls for refused tokens", n)
	}
	if strings.Contains(e.logs.String(), expired) || strings.Contains(e.logs.String(), foreign) {
		t.Fatal("a token was logged")
	}

	t.Run("valid token forwarded exactly", func(t *testing.T) {
		for _, scheme := range []string{"Bearer ", "bearer "} {
			r := e.get("/v1/orgs/acme", "Authorization", scheme+e.token)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := e.rec.last(t).md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+e.token {
				t.Fatalf("forwarded authorization %q", got)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		}
	})
}

func TestPublicRoute(t *testing.T) {
	e := newEnv(t)
	for _, headers := range [][]string{
		nil,
		e.authed(),
		{"Authorization", "Bearer not.a.jwt"},
		{"Grpc-Metadata-Authorization", "Bearer " + e.token},
	} {
		r := e.get("/public/v1/orgs/acme/powers/p1", headers...)
		if r.status != http.StatusOK {
			t.Fatalf("headers %q: status %d: %s", headers, r.status, r.body)
		}
		c := e.rec.last(t)
		if c.method != "/fenquan.registry.v1.PublicCatalogService/GetPublicPower" {
			t.Fatalf("method %s", c.method)
		}
		if got := c.md.Get("authorization"); len(got) != 0 {
			t.Fatalf("public call forwarded authorization %q", got)
		}
		if cc := r.header.Get("Cache-Control"); cc != "public, max-age=60" {
			t.Errorf("Cache-Control %q", cc)
		}
		var got map[string]any
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		// lowerCamel names, enum names, default values emitted.
		if got["displayName"] != "财政资金拨付" || got["category"] != "POWER_CATEGORY_INTERNAL_FINANCE" || got["revisionId"] != float64(0) {
			t.Fatalf("body %s", r.body)
		}
		if _, ok := got["flows"]; !ok {
			t.Fatalf("empty list not emitted: %s", r.body)
		}
	}
	// A failed public answer is not cacheable.
	r := e.get("/public/v1/orgs/acme/powers/missing")
	if r.status != http.StatusNotFound || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
}

// TestEveryRoute derives every HTTP binding from the proto descriptors, independently of
// the gateway's table, and checks each reaches its own RPC, public ones without a token
// and the others only with one.
func TestEveryRoute(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicRate = rate.Inf })
	var services []string
	for _, reg := range registrations["registry"] {
		services = append(services, reg.service)
	}
	rules, err := authz.RulesFor(services...)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatal(err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			full := "/" + name + "/" + string(md.Name())
			rule := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			verb, tmpl := httpBinding(t, rule)
			path := samplePath(tmpl)
			var body func() *strings.Reader
			if rule.GetBody() != "" {
				body = func() *strings.Reader { return strings.NewReader("{}") }
			}
			send := func(headers ...string) response {
				if body != nil {
					return e.do(verb, path, body(), headers...)
				}
				return e.do(verb, path, nil, headers...)
			}
			n++
			before := e.rec.count()
			r := send()
			if rules.IsPublic(full) {
				if r.status == http.StatusUnauthorized || e.rec.count() != before+1 || e.rec.last(t).method != full {
					t.Errorf("%s %s (public %s): status %d, did not reach the RPC: %s", verb, path, full, r.status, r.body)
				}
				continue
			}
			if r.status != http.StatusUnauthorized || e.rec.count() != before {
				t.Errorf("%s %s (%s) without a token: status %d: %s", verb, path, full, r.status, r.body)
			}
			r = send(e.authed()...)
			if e.rec.count() != before+1 || e.rec.last(t).method != full {
				t.Errorf("%s %s with a token: status %d, did not reach %s: %s", verb, path, r.status, full, r.body)
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d routes checked", n)
	}
}

func httpBinding(t *testing.T, rule *annotations.HttpRule) (string, string) {
	t.Helper()
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	}
	t.Fatalf("unsupported rule %v", rule)
	return "", ""
}

var templateVar = regexp.MustCompile(`\{[^=}]+(=([^}]*))?\}`)

// samplePath fills a path template: "{name=orgs/*/powers/*}" → "orgs/s/powers/s".
func samplePath(tmpl string) string {
	return templateVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		sub := "*"
		if m := templateVar.FindStringSubmatch(v); m[2] != "" {
			sub = m[2]
		}
		sub = strings.ReplaceAll(sub, "**", "s/s")
		return strings.ReplaceAll(sub, "*", "s")
	})
}

func TestUnknownJSONField(t *testing.T) {
	e := newEnv(t)
	r := e.postJSON("/v1/orgs?orgId=acme", `{"displayName":"某市财政局","bogus":1}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	eb := parseError(t, r)
	if eb.st.GetCode() != 3 || !strings.Contains(eb.st.GetMessage(), `"bogus"`) {
		t.Fatalf("error %s", r.body)
	}
	if v := eb.badRequest.GetFieldViolations(); len(v) != 1 || v[0].GetField() != "org.bogus" || !strings.Contains(v[0].GetLocalizedMessage().GetMessage(), "未知字段") {
		t.Fatalf("violations %v", v)
	}
	// Deep inside a list of messages, with proto names accepted alongside JSON names.
	r = e.postJSON("/v1/orgs/acme/powers", `{"display_name":"拨付","legalBasis":[{"law":"预算法"},{"law":"x","clauseTxt":"y"}]}`)
	eb = parseError(t, r)
	if r.status != http.StatusBadRequest || len(eb.badRequest.GetFieldViolations()) != 1 || eb.badRequest.GetFieldViolations()[0].GetField() != "power.legal_basis[1].clauseTxt" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if e.rec.count() != 0 {
		t.Fatal("the upstream was called")
	}
	// Known fields by either name pass.
	r = e.postJSON("/v1/orgs?orgId=acme", `{"display_name":"某市财政局","region":"湖北省武汉市","createTime":"2026-01-02T03:04:05Z"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got := e.rec.last(t).req.(*registryv1.CreateOrgRequest)
	if got.GetOrgId() != "acme" || got.GetOrg().GetDisplayName() != "某市财政局" || got.GetOrg().GetRegion() != "湖北省武汉市" {
		t.Fatalf("request %v", got)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	big := `{"displayName":"` + strings.Repeat("a", 4<<20) + `"}`
	cases := []struct {
		name   string
		body   func() (string, bool) // body, send chunked
		status int
		code   int32
		msg    string
	}{
		{"too large", func() (string, bool) { return big, false }, 413, 8, "exceeds"},
		{"too large chunked", func() (string, bool) { return big, true }, 413, 8, "exceeds"},
		{"too deep", func() (string, bool) {
			return strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), false
		}, 400, 3, "deeper than 64"},
		{"too deep arrays", func() (string, bool) {
			return `{"displayName":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", false
		}, 400, 3, "deeper than 64"},
		{"invalid utf-8", func() (string, bool) { return "{\"displayName\":\"\xff\xfe\"}", false }, 400, 3, "UTF-8"},
		{"invalid json", func() (string, bool) { return `{"displayName":`, false }, 400, 3, "not valid JSON"},
		{"trailing data", func() (string, bool) { return `{"displayName":"x"} {"region":"y"}`, false }, 400, 3, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, chunked := tc.body()
			var rd io.Reader = strings.NewReader(body)
			if chunked {
				rd = struct{ io.Reader }{rd} // hides the length: sent chunked
			}
			r := e.do(http.MethodPost, "/v1/orgs?orgId=acme", rd, append([]string{"Content-Type", "application/json"}, e.authed()...)...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tc.status, r.body)
			}
			eb := parseError(t, r)
			if eb.st.GetCode() != tc.code || !strings.Contains(eb.st.GetMessage(), tc.msg) || eb.localized == nil {
				t.Fatalf("error %s", r.body)
			}
		})
	}
	if e.rec.count() != 0 {
		t.Fatal("the upstream was called")
	}
	// Just under the limit passes the edge.
	ok := `{"displayName":"` + strings.Repeat("a", 4<<20-40) + `"}`
	if r := e.postJSON("/v1/orgs?orgId=acme", ok); r.status != http.StatusOK || e.rec.count() != 1 {
		t.Fatalf("status %d: %.300s", r.status, r.body)
	}
	// A body on a route that takes none is size-limited too, and not forwarded.
	if r := e.do(http.MethodGet, "/v1/orgs/acme", strings.NewReader(big), e.authed()...); r.status != 413 {
		t.Fatalf("GET with a large body: status %d", r.status)
	}
}

func TestErrorMapping(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		id     string
		status int
		code   int32
		reason string
	}{
		{"invalid", 400, 3, "INVALID_ARGUMENT"},
		{"missing", 404, 5, "NOT_FOUND"},
		{"stale", 400, 9, "STALE_ETAG"},
		{"denied", 403, 7, "PERMISSION_DENIED"},
		{"exists", 409, 6, "ALREADY_EXISTS"},
		{"down", 503, 14, "STORE_UNAVAILABLE"},
		{"busy", 429, 8, "QUOTA"},
		{"crash", 500, 13, "INTERNAL"},
		{"unknown", 500, 13, "INTERNAL"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			r := e.get("/v1/orgs/"+tc.id, append(e.authed(), "X-Request-Id", "req-"+tc.id)...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			eb := parseError(t, r)
			if eb.st.GetCode() != tc.code || eb.info.GetReason() != tc.reason || eb.request.GetRequestId() != "req-"+tc.id {
				t.Fatalf("error %s", r.body)
			}
			if tc.code == 13 && (eb.st.GetMessage() != "internal error" || strings.Contains(string(r.body), "password") || strings.Contains(string(r.body), "10.20.30.40")) {
				t.Fatalf("internal error exposed: %s", r.body)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}
	r := e.get("/v1/orgs/invalid", e.authed()...)
	v := parseError(t, r).badRequest.GetFieldViolations()
	if len(v) != 2 || v[0].GetField() != "org.display_name" || v[0].GetDescription() != "must not be empty" ||
		v[0].GetLocalizedMessage().GetLocale() != "zh-CN" || v[0].GetLocalizedMessage().GetMessage() != "单位名称不能为空" {
		t.Fatalf("violations %s", r.body)
	}
	// The JSON itself uses lowerCamel names for the details.
	for _, key := range []string{`"fieldViolations"`, `"localizedMessage"`, `"@type":"type.googleapis.com/google.rpc.BadRequest"`} {
		if !strings.Contains(string(r.body), key) {
			t.Errorf("body lacks %s: %s", key, r.body)
		}
	}
	if !strings.Contains(e.logs.String(), secret) {
		t.Error("the internal error was not logged")
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Upstreams = map[string]grpc.ClientConnInterface{"registry": dial(t, closedAddr(t))} })
	r := e.get("/public/v1/orgs/acme/powers/p1")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	eb := parseError(t, r)
	if eb.st.GetCode() != 14 || strings.Contains(string(r.body), "127.0.0.1") || strings.Contains(string(r.body), "refused") {
		t.Fatalf("error %s", r.body)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v2/nothing/here", e.authed()...)
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if eb := parseError(t, r); eb.st.GetCode() != 5 || eb.info.GetReason() != ReasonRouteNotFound {
		t.Fatalf("error %s", r.body)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPut, "/v1/orgs/acme"},
		{http.MethodDelete, "/public/v1/orgs/acme/powers/p1"},
		{http.MethodPost, "/openapi.json"},
	} {
		r := e.do(tc.method, tc.path, nil, e.authed()...)
		if r.status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: status %d: %s", tc.method, tc.path, r.status, r.body)
		}
		if eb := parseError(t, r); eb.st.GetCode() != 12 || eb.info.GetReason() != ReasonMethodNotAllowed {
			t.Fatalf("error %s", r.body)
		}
	}
	if e.rec.count() != 0 {
		t.Fatal("the upstream was called")
	}
}

func TestDiagrams(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v1/orgs/acme/powers/p1/flows/f1:diagram", e.authed()...)
	if r.status != http.StatusOK || string(r.body) != testSVG {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := r.header.Get("Content-Security-Policy"); csp != "default-src 'none'; style-src 'unsafe-inline'" {
		t.Errorf("CSP %q", csp)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", r.header)
	}

	r = e.get("/v1/orgs/acme/powers/p1/flows/f1:diagram?format=DIAGRAM_FORMAT_MERMAID", e.authed()...)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/vnd.mermaid; charset=utf-8" || !strings.HasPrefix(string(r.body), "flowchart") {
		t.Fatalf("mermaid: status %d %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}

	r = e.get("/public/v1/orgs/acme/powers/p1/flows/f1:diagram")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/svg+xml" || r.header.Get("Cache-Control") != "public, max-age=60" ||
		r.header.Get("Content-Security-Policy") != diagramCSP {
		t.Fatalf("public diagram: status %d %v", r.status, r.header)
	}

	// A raw body of a type the edge does not serve (HTML) is refused.
	r = e.get("/v1/orgs/acme/powers/p1/flows/html:diagram", e.authed()...)
	if r.status != http.StatusInternalServerError || strings.Contains(string(r.body), "script") {
		t.Fatalf("html body: status %d: %s", r.status, r.body)
	}
	if eb := parseError(t, r); eb.st.GetMessage() != "internal error" {
		t.Fatalf("error %s", r.body)
	}
}

func TestPublicRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicRate, c.PublicBurst = 0.5, 3 })
	for i := range 3 {
		if r := e.get("/public/v1/orgs/acme/powers"); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	r := e.get("/public/v1/orgs/acme/powers")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q", ra)
	}
	if eb := parseError(t, r); eb.st.GetCode() != 8 || eb.info.GetReason() != ReasonRateLimited {
		t.Fatalf("error %s", r.body)
	}
	// Unknown paths under /public/ count too; authenticated routes are not limited.
	if r := e.get("/public/nothing"); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown public path: status %d", r.status)
	}
	if r := e.get("/v1/orgs/acme", e.authed()...); r.status != http.StatusOK {
		t.Fatalf("private route: status %d", r.status)
	}
}

func TestTrustedProxies(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.PublicRate, c.PublicBurst = 0.1, 2
	})
	from := func(xff string) response { return e.get("/public/v1/orgs/acme/powers", "X-Forwarded-For", xff) }
	if r := from("198.51.100.1, 127.0.0.2"); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if got := e.rec.last(t).md.Get("x-forwarded-for"); len(got) != 1 || got[0] != "198.51.100.1" {
		t.Fatalf("x-forwarded-for %q", got)
	}
	if r := from("198.51.100.1"); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if r := from("198.51.100.1"); r.status != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d", r.status)
	}
	// Another client behind the same proxy has its own budget; a forged hop left of an
	// untrusted one is ignored.
	if r := from("198.51.100.1, 198.51.100.2"); r.status != http.StatusOK {
		t.Fatalf("other client: status %d", r.status)
	}
	if got := e.rec.last(t).md.Get("x-forwarded-for"); got[0] != "198.51.100.2" {
		t.Fatalf("x-forwarded-for %q", got)
	}
}

func TestLimiterSetIsBounded(t *testing.T) {
	s := newLimiterSet(1, 1, 3)
	now := time.Now()
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
	if s.reserve(addr(1), now) != 0 || s.reserve(addr(1), now) == 0 {
		t.Fatal("burst of 1 not enforced")
	}
	for i := 2; i <= 10; i++ {
		s.reserve(addr(i), now)
	}
	if s.len() != 3 {
		t.Fatalf("%d limiters kept, want 3", s.len())
	}
	// addr(1) was evicted: it starts afresh.
	if s.reserve(addr(1), now) != 0 {
		t.Fatal("evicted limiter kept its state")
	}
	// IPv6 clients are limited per /64.
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if clientKey(a) != clientKey(b) || clientKey(a) == clientKey(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Fatal("IPv6 keys are not per /64")
	}
}

func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	r := e.get("/openapi.json")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q", r.status, r.header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["swagger"] != "2.0" {
		t.Fatalf("swagger = %v", doc["swagger"])
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.get("/healthz"); r.status != http.StatusOK {
		t.Fatalf("healthz %d", r.status)
	}
	// A fresh connection is IDLE: ready (and asked to connect).
	if r := e.get("/readyz"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"registry"`) {
		t.Fatalf("readyz %d: %s", r.status, r.body)
	}
	waitFor(t, func() bool {
		return e.get("/readyz").status == http.StatusOK && strings.Contains(string(e.get("/readyz").body), "READY")
	})

	down := newEnv(t, func(c *Config) { c.Upstreams = map[string]grpc.ClientConnInterface{"registry": dial(t, closedAddr(t))} })
	waitFor(t, func() bool { return down.get("/readyz").status == http.StatusServiceUnavailable })
	if r := down.get("/healthz"); r.status != http.StatusOK {
		t.Fatalf("healthz of a gateway with no upstream: %d", r.status)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	r := e.get("/v1/orgs/acme", e.authed()...)
	id := r.header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("generated request id %q", id)
	}
	if got := e.rec.last(t).md.Get("x-request-id"); len(got) != 1 || got[0] != id {
		t.Fatalf("forwarded request id %q, want %q", got, id)
	}
	r = e.get("/v1/orgs/acme", append(e.authed(), "X-Request-Id", "web-7f3a")...)
	if r.header.Get("X-Request-Id") != "web-7f3a" {
		t.Fatalf("request id %q", r.header.Get("X-Request-Id"))
	}
	r = e.get("/v1/orgs/acme", append(e.authed(), "X-Request-Id", "<script>")...)
	if got := r.header.Get("X-Request-Id"); got == "<script>" || len(got) != 32 {
		t.Fatalf("unsafe request id kept: %q", got)
	}
	if got := e.rec.last(t).md.Get("x-request-id"); got[0] != r.header.Get("X-Request-Id") {
		t.Fatalf("forwarded %q", got)
	}
}

func TestCORS(t *testing.T) {
	const origin = "https://app.fenquan.example.gov.cn"
	e := newEnv(t, func(c *Config) { c.AllowedOrigins = []string{origin} })
	r := e.do(http.MethodOptions, "/v1/orgs/acme", nil, "Origin", origin,
		"Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "authorization, content-type")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != origin ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = e.do(http.MethodOptions, "/v1/orgs/acme", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", r.status, r.header)
	}
	r = e.get("/v1/orgs/acme", append(e.authed(), "Origin", origin)...)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != origin ||
		!slices.Contains(r.header.Values("Vary"), "Origin") || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("simple request: %d %v", r.status, r.header)
	}
	r = e.get("/v1/orgs/acme", append(e.authed(), "Origin", "https://evil.example")...)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", r.header)
	}
	// Without a configured origin there are no CORS headers at all.
	plain := newEnv(t)
	r = plain.get("/v1/orgs/acme", append(plain.authed(), "Origin", origin)...)
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Fatalf("CORS headers without configuration: %v", r.header)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	e := newEnv(t)
	e.get("/v1/orgs/acme", append(e.authed(), "X-Request-Id", "trace-me")...)
	e.get("/v1/orgs/acme")
	e.get("/nowhere")
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var histogram bool
	for _, f := range families {
		switch f.GetName() {
		case "fenquan_gateway_http_requests_total":
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				counts[labels["method"]+" "+labels["route"]+" "+labels["code"]] += m.GetCounter().GetValue()
			}
		case "fenquan_gateway_http_request_duration_seconds":
			histogram = len(f.GetMetric()) > 0
		}
	}
	for _, k := range []string{"GET /v1/{name=orgs/*} 200", "GET /v1/{name=orgs/*} 401", "GET unrouted 404"} {
		if counts[k] != 1 {
			t.Errorf("requests %q = %v (all: %v)", k, counts[k], counts)
		}
	}
	if !histogram {
		t.Error("no latency histogram")
	}
	logs := e.logs.String()
	if strings.Contains(logs, e.token) || strings.Contains(strings.ToLower(logs), "bearer") {
		t.Fatalf("the token was logged: %s", logs)
	}
	for _, want := range []string{`"request_id":"trace-me"`, `"route":"/v1/{name=orgs/*}"`, `"status":200`, `"duration"`, `"level":"INFO"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	// A second gateway on the same registry shares the series.
	if _, err := New(context.Background(), Config{Upstreams: map[string]grpc.ClientConnInterface{"registry": e.conn},
		Verifier: mustVerifier(t), Registry: e.reg}); err != nil {
		t.Fatal(err)
	}
}

func mustVerifier(t *testing.T) *auth.Verifier {
	_, v := newVerifier(t)
	return v
}

func TestConfigErrors(t *testing.T) {
	conn := dial(t, closedAddr(t))
	v := mustVerifier(t)
	for name, cfg := range map[string]Config{
		"no upstream":      {Verifier: v},
		"unknown upstream": {Upstreams: map[string]grpc.ClientConnInterface{"registry": conn, "nope": conn}, Verifier: v},
		"nil conn":         {Upstreams: map[string]grpc.ClientConnInterface{"registry": nil}, Verifier: v},
		"no verifier":      {Upstreams: map[string]grpc.ClientConnInterface{"registry": conn}},
		"wildcard origin":  {Upstreams: map[string]grpc.ClientConnInterface{"registry": conn}, Verifier: v, AllowedOrigins: []string{"*"}},
		"origin with path": {Upstreams: map[string]grpc.ClientConnInterface{"registry": conn}, Verifier: v, AllowedOrigins: []string{"https://a.example/app"}},
	} {
		if _, err := New(context.Background(), cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if got := fmt.Sprint(Services()); got != "[approval registry risk supervision]" {
		t.Errorf("Services() = %s", got)
	}
}

func TestParameterErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ path, field string }{
		{"/v1/orgs/acme/units?pageSize=abc", "page_size"},
		{"/v1/orgs/acme/units?kind=NOPE", "kind"},
	} {
		r := e.get(tc.path, e.authed()...)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%s: status %d: %s", tc.path, r.status, r.body)
		}
		eb := parseError(t, r)
		v := eb.badRequest.GetFieldViolations()
		if eb.st.GetCode() != 3 || len(v) != 1 || v[0].GetField() != tc.field || v[0].GetLocalizedMessage().GetMessage() == "" ||
			strings.Contains(eb.st.GetMessage(), "strconv") {
			t.Fatalf("%s: error %s", tc.path, r.body)
		}
	}
	// A wrongly typed body value is refused by protojson, with its message cleaned.
	r := e.postJSON("/v1/orgs?orgId=acme", `{"displayName":5}`)
	eb := parseError(t, r)
	if r.status != http.StatusBadRequest || !strings.HasPrefix(eb.st.GetMessage(), "invalid request: ") || strings.Contains(eb.st.GetMessage(), "proto:") {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if e.rec.count() != 0 {
		t.Fatal("the upstream was called")
	}
}

// fakeConn records the outgoing metadata of calls.
type fakeConn struct{ md metadata.MD }

func (f *fakeConn) Invoke(ctx context.Context, _ string, _, _ any, _ ...grpc.CallOption) error {
	f.md, _ = metadata.FromOutgoingContext(ctx)
	return nil
}

func (f *fakeConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}

func TestEdgeConnChecksTheDecision(t *testing.T) {
	rules, err := authz.RulesFor("fenquan.registry.v1.OrgService", "fenquan.registry.v1.PublicCatalogService")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeConn{}
	c := &edgeConn{cc: fc, rules: rules, g: &gateway{log: slog.New(slog.DiscardHandler)}}
	const getOrg, getPublic = "/fenquan.registry.v1.OrgService/GetOrg", "/fenquan.registry.v1.PublicCatalogService/GetPublicPower"
	with := func(call *edgeCall, auth ...string) context.Context {
		ctx := context.Background()
		if call != nil {
			ctx = context.WithValue(ctx, edgeCallKey{}, call)
		}
		if len(auth) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", auth[0])
		}
		return ctx
	}
	refused := []struct {
		name   string
		ctx    context.Context
		method string
	}{
		{"no edge decision", with(nil, "Bearer t"), getOrg},
		{"other method", with(&edgeCall{method: getPublic, public: true}), getOrg},
		{"public flag wrong", with(&edgeCall{method: getOrg, public: true}), getOrg},
		{"token not the verified one", with(&edgeCall{method: getOrg, bearer: "Bearer t"}, "Bearer u"), getOrg},
		{"no token", with(&edgeCall{method: getOrg, bearer: "Bearer t"}), getOrg},
		{"unknown method", with(&edgeCall{method: "/x.Y/Z"}), "/x.Y/Z"},
	}
	for _, tc := range refused {
		fc.md = nil
		if err := c.Invoke(tc.ctx, tc.method, nil, nil); status.Code(err) != codes.Internal || fc.md != nil {
			t.Errorf("%s: err %v, upstream md %v", tc.name, err, fc.md)
		}
	}
	if err := c.Invoke(with(&edgeCall{method: getPublic, public: true}, "Bearer t"), getPublic, nil, nil); err != nil || len(fc.md.Get("authorization")) != 0 {
		t.Fatalf("public call: err %v, md %v", err, fc.md)
	}
	if err := c.Invoke(with(&edgeCall{method: getOrg, bearer: "Bearer t"}, "Bearer t"), getOrg, nil, nil); err != nil || fc.md.Get("authorization")[0] != "Bearer t" {
		t.Fatalf("private call: err %v, md %v", err, fc.md)
	}
}
