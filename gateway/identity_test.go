package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/metadata"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// withSupervision also serves the supervision upstream (the complaint intake) from the
// test upstream.
func withSupervision(c *Config) { c.Upstreams["supervision"] = c.Upstreams["registry"] }

// internals are strings no client-facing error may contain: Go errors and panics, gRPC
// transport errors, store keys, internal addresses and the upstream's secret.
var internals = []string{"goroutine", ".go:", "panic", "runtime error", "strconv.", "proto:", "json:", "rpc error",
	"transport:", "grpc:", "/fenquan/", "10.20.30.40", "password", "127.0.0.1", "nil pointer"}

func noInternals(t *testing.T, r response) {
	t.Helper()
	for _, s := range internals {
		if strings.Contains(string(r.body), s) {
			t.Errorf("status %d body gives away %q: %s", r.status, s, r.body)
		}
	}
	for k, vs := range r.header {
		for _, v := range vs {
			if strings.Contains(v, "internal") || strings.HasPrefix(k, "Grpc-") {
				t.Errorf("header %s: %q", k, v)
			}
		}
	}
}

func TestServiceIdentityNeverComesThroughTheEdge(t *testing.T) {
	e := newEnv(t)
	svc, err := e.dev.Mint("fenquan-approval", auth.Claims{PlatformRoles: []string{auth.ServiceRole}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A client's service identity header, in every spelling, stays at the edge.
	r := e.get("/v1/orgs/acme", append(e.authed(),
		"X-Fenquan-Service-Authorization", "Bearer "+svc,
		"Grpc-Metadata-X-Fenquan-Service-Authorization", "Bearer "+svc,
	)...)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := e.rec.last(t).md.Get(auth.ServiceMetadataKey); len(got) != 0 {
		t.Fatalf("service identity forwarded: %q", got)
	}
	// A service's own token is not a bearer token the edge accepts.
	n := e.rec.count()
	r = e.get("/v1/orgs/acme", "Authorization", "Bearer "+svc)
	if r.status != http.StatusUnauthorized || e.rec.count() != n {
		t.Fatalf("service token at the edge: status %d, %d upstream calls: %s", r.status, e.rec.count()-n, r.body)
	}
	if eb := parseError(t, r); eb.st.GetCode() != 16 || strings.Contains(string(r.body), "service") {
		t.Fatalf("error %s", r.body)
	}
	if strings.Contains(e.logs.String(), svc) {
		t.Fatal("the service token was logged")
	}

	// Whatever put a service identity on the outgoing call, the edge's connection drops it.
	rules, err := authz.RulesFor("fenquan.registry.v1.OrgService")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeConn{}
	c := &edgeConn{cc: fc, rules: rules, g: &gateway{log: slog.New(slog.DiscardHandler)}}
	const getOrg = "/fenquan.registry.v1.OrgService/GetOrg"
	ctx := context.WithValue(context.Background(), edgeCallKey{}, &edgeCall{method: getOrg, bearer: "Bearer t"})
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer t", auth.ServiceMetadataKey, "Bearer "+svc)
	if err := c.Invoke(ctx, getOrg, nil, nil); err != nil || len(fc.md.Get(auth.ServiceMetadataKey)) != 0 {
		t.Fatalf("err %v, md %v", err, fc.md)
	}
}

// TestPublicComplaintIntake: the unauthenticated complaint intake is anonymous,
// rate-limited per client address, size-limited, and its errors give nothing internal
// away.
func TestPublicComplaintIntake(t *testing.T) {
	const path = "/public/v1/orgs/acme/complaints"
	body := `{"text":"某科长收受供应商礼金，请核查。","about":"采购科","contact":""}`

	t.Run("anonymous", func(t *testing.T) {
		e := newEnv(t, withSupervision)
		r := e.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json",
			"Authorization", "Bearer "+e.token, "X-Fenquan-Service-Authorization", "Bearer "+e.token, "X-Forwarded-For", "6.6.6.6")
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "ABCDEFGHIJKLMNOPQRST") {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		c := e.rec.last(t)
		if c.method != "/fenquan.supervision.v1.ComplaintService/SubmitComplaint" {
			t.Fatalf("method %s", c.method)
		}
		if len(c.md.Get("authorization")) != 0 || len(c.md.Get(auth.ServiceMetadataKey)) != 0 {
			t.Fatalf("public call forwarded an identity: %v", c.md)
		}
		if got := c.md.Get("x-forwarded-for"); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Fatalf("x-forwarded-for %q", got)
		}
	})

	t.Run("rate-limited per client address", func(t *testing.T) {
		e := newEnv(t, withSupervision, func(c *Config) {
			c.PublicRate, c.PublicBurst = 0.1, 2
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		from := func(client string) response {
			return e.do(http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json", "X-Forwarded-For", client)
		}
		for i := range 2 {
			if r := from("198.51.100.7"); r.status != http.StatusOK {
				t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
			}
		}
		r := from("198.51.100.7")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("third request: status %d %v", r.status, r.header)
		}
		if eb := parseError(t, r); eb.info.GetReason() != ReasonRateLimited {
			t.Fatalf("error %s", r.body)
		}
		noInternals(t, r)
		// Every public path counts against the same budget, known or not, any method.
		if r := e.get("/public/v1/orgs/acme/powers", "X-Forwarded-For", "198.51.100.7"); r.status != http.StatusTooManyRequests {
			t.Fatalf("another public route: status %d", r.status)
		}
		// Another address has its own budget.
		if r := from("198.51.100.8"); r.status != http.StatusOK {
			t.Fatalf("another client: status %d", r.status)
		}
		if n := e.rec.count(); n != 3 {
			t.Fatalf("%d calls reached the upstream, want 3", n)
		}
	})

	t.Run("size-limited", func(t *testing.T) {
		e := newEnv(t, withSupervision, func(c *Config) { c.MaxBodyBytes, c.PublicRate = 1024, rate.Inf })
		big := `{"text":"` + strings.Repeat("举", 400) + `"}`
		for _, chunked := range []bool{false, true} {
			var rd io.Reader = strings.NewReader(big)
			if chunked {
				rd = struct{ io.Reader }{rd} // hides the length: sent chunked
			}
			r := e.do(http.MethodPost, path, rd, "Content-Type", "application/json")
			if r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("chunked=%v: status %d: %s", chunked, r.status, r.body)
			}
			if eb := parseError(t, r); eb.st.GetCode() != 8 || !strings.Contains(eb.st.GetMessage(), "1024") {
				t.Fatalf("error %s", r.body)
			}
			noInternals(t, r)
		}
		if e.rec.count() != 0 {
			t.Fatal("the upstream was called")
		}
	})

	t.Run("errors give nothing internal away", func(t *testing.T) {
		e := newEnv(t, withSupervision, func(c *Config) { c.PublicRate = rate.Inf })
		post := func(p, b string) response {
			return e.do(http.MethodPost, p, strings.NewReader(b), "Content-Type", "application/json")
		}
		for _, tc := range []struct {
			name, path, body string
			status           int
		}{
			{"upstream crash", "/public/v1/orgs/crash/complaints", body, http.StatusInternalServerError},
			{"upstream unknown error", "/public/v1/orgs/unknown/complaints", body, http.StatusInternalServerError},
			{"upstream not found", "/public/v1/orgs/missing/complaints", body, http.StatusNotFound},
			{"not JSON", path, `{"text":`, http.StatusBadRequest},
			{"not UTF-8", path, "{\"text\":\"\xff\"}", http.StatusBadRequest},
			{"too deep", path, strings.Repeat("[", 200) + strings.Repeat("]", 200), http.StatusBadRequest},
			{"unknown field", path, `{"text":"0123456789","secret":1}`, http.StatusBadRequest},
			{"wrong type", path, `{"text":12345678901234567890}`, http.StatusBadRequest},
			{"huge number", path, `{"text":1e999}`, http.StatusBadRequest},
			{"lone surrogate", path, `{"text":"\ud800 0123456789"}`, http.StatusBadRequest},
			{"a list for a message", path, `[]`, http.StatusBadRequest},
			{"duplicate field", path, `{"text":"0123456789","text":"9876543210"}`, http.StatusBadRequest},
			{"no such public route", "/public/v1/nothing", body, http.StatusNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := post(tc.path, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				eb := parseError(t, r)
				if eb.request.GetRequestId() == "" || eb.info == nil {
					t.Fatalf("error %s", r.body)
				}
				if r.status == http.StatusInternalServerError && eb.st.GetMessage() != "internal error" {
					t.Fatalf("error %s", r.body)
				}
				noInternals(t, r)
			})
		}
		if !strings.Contains(e.logs.String(), secret) {
			t.Error("the internal failure was not logged for the operators")
		}
	})
}
