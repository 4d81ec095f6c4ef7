package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fenquan/fenquan/services/shared/auth"
)

// okConn answers every call with the empty reply: the fuzz targets test the edge, not an
// upstream.
type okConn struct{}

func (okConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return nil }

func (okConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, nil
}

// fuzzEdge is a gateway in front of okConn upstreams, called in process.
type fuzzEdge struct {
	h     http.Handler
	dev   *auth.DevTokens
	token string
}

func newFuzzEdge(f *testing.F) *fuzzEdge {
	f.Helper()
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		f.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := dev.Mint("alice", auth.Claims{Orgs: map[string]auth.Grant{"acme": {Person: "alice"}}}, 24*time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	h, err := New(context.Background(), Config{
		Upstreams: map[string]grpc.ClientConnInterface{"registry": okConn{}, "supervision": okConn{}, "approval": okConn{}},
		Verifier:  v, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(),
		MaxBodyBytes: 8 << 10, PublicRate: rate.Inf,
	})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzEdge{h: h, dev: dev, token: tok}
}

// serve answers one request; nil when the target is not a URL a client could send.
func (e *fuzzEdge) serve(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, "http://fenquan.example"+target, strings.NewReader(body))
	if err != nil {
		return nil
	}
	req.RemoteAddr = "192.0.2.1:4711"
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

// checkError asserts an error answer is the standard shape, with the code the HTTP
// status maps from, and gives nothing internal away.
func checkError(t *testing.T, w *httptest.ResponseRecorder, want int32) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with Content-Type %q: %s", w.Code, ct, w.Body)
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(w.Body.Bytes(), st); err != nil {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
	if st.GetCode() != want {
		t.Fatalf("status %d, code %d (want %d): %s", w.Code, st.GetCode(), want, w.Body)
	}
	for _, s := range internals {
		if strings.Contains(st.GetMessage(), s) {
			t.Fatalf("error gives away %q: %s", s, w.Body)
		}
	}
}

// bodyRoutes are routes with a body the fuzz targets post to: a message field (org), a
// whole request with nested lists, enums and numbers (power), and the public complaint
// intake (body "*", no token).
var bodyRoutes = []struct {
	target string
	public bool
}{
	{"/v1/orgs?orgId=acme", false},
	{"/v1/orgs/acme/powers?powerId=p1", false},
	{"/public/v1/orgs/acme/complaints", true},
	{"/v1/orgs/acme/cases", false},
}

// FuzzRequestBody: whatever the body of a REST request, the edge forwards it (valid JSON
// of the request message) or answers a clean 400 INVALID_ARGUMENT or 413 — never a
// panic, never a 500, never an internal detail.
func FuzzRequestBody(f *testing.F) {
	e := newFuzzEdge(f)
	for i := range bodyRoutes {
		r := uint8(i)
		for _, b := range []string{
			``, `{}`, `null`, `[]`, `"x"`, `1`,
			`{"displayName":"某市财政局","region":"湖北省武汉市"}`,
			`{"display_name":"x","createTime":"2026-01-02T03:04:05Z"}`,
			`{"displayName":"x","displayName":"y"}`,
			`{"displayName":"x","display_name":"y"}`,
			`{"text":"某科长收受供应商礼金，请核查。","about":"采购科"}`,
			`{"text":1e999}`, `{"text":12345678901234567890}`, `{"category":99}`, `{"category":"NOPE"}`,
			`{"legalBasis":[{"law":"预算法","article":"第一条"}],"category":"POWER_CATEGORY_INTERNAL_FINANCE"}`,
			`{"payload":{"amount":1e308}}`, `{"payload":{"amount":-0}}`, `{"payload":{"amount":"NaN"}}`, `{"payload":{"amount":"Infinity"}}`,
			`{"createTime":"not a time"}`, `{"createTime":"99999-01-01T00:00:00Z"}`,
			`{"text":"\ud800 0123456789"}`, "{\"text\":\"\xff\"}", `{"text":"\u0000"}`,
			strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70),
			strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70),
			`{"displayName":"x"} {}`, `{"displayName":"x"`, `{"[fenquan.ext]":1}`,
		} {
			f.Add(r, b)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		headers := []string{"Content-Type", "application/json"}
		if !rt.public {
			headers = append(headers, "Authorization", "Bearer "+e.token)
		}
		w := e.serve(http.MethodPost, rt.target, body, headers...)
		switch w.Code {
		case http.StatusOK:
			// Forwarded: it was a JSON document (or nothing) in valid UTF-8.
			if strings.TrimSpace(body) != "" && (!utf8.ValidString(body) || !json.Valid([]byte(body))) {
				t.Fatalf("forwarded a body that is not valid JSON: %q", body)
			}
		case http.StatusBadRequest:
			checkError(t, w, 3)
		case http.StatusRequestEntityTooLarge:
			if len(body) <= 8<<10 {
				t.Fatalf("413 for %d bytes", len(body))
			}
			checkError(t, w, 8)
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
	})
}

// FuzzQuery: path and query parameters are decoded into the request too (numbers, enums,
// repeated fields, field masks); the same clean answers hold.
func FuzzQuery(f *testing.F) {
	e := newFuzzEdge(f)
	for _, q := range []string{
		"", "pageSize=10", "pageSize=99999999999999999999", "pageSize=1e999", "pageSize=-1", "pageSize=x",
		"pageToken=%ff", "view=POWER_VIEW_FULL", "view=99", "view=NOPE", "filter=a&filter=b", "updateMask=a,b",
		"orgId=acme&org.displayName=x", "%zz", "a[b]=c", strings.Repeat("x=1&", 200),
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, target := range []string{"/v1/orgs/acme/powers?", "/v1/orgs?", "/public/v1/orgs/acme/powers?"} {
			w := e.serve(http.MethodGet, target+q, "", "Authorization", "Bearer "+e.token)
			if w == nil {
				return // not a URL a client can send
			}
			switch w.Code {
			case http.StatusOK:
			case http.StatusBadRequest:
				checkError(t, w, 3)
			default:
				t.Fatalf("GET %s%s: status %d: %s", target, q, w.Code, w.Body)
			}
		}
	})
}

// FuzzAuthorizationHeader: whatever the Authorization header, the edge forwards the call
// only for "Bearer <a token the issuer minted>"; anything else is a clean 401 (never a
// panic, never another status).
func FuzzAuthorizationHeader(f *testing.F) {
	e := newFuzzEdge(f)
	svc, _ := e.dev.Mint("fenquan-approval", auth.Claims{PlatformRoles: []string{auth.ServiceRole}}, 24*time.Hour)
	for _, h := range []string{
		"Bearer " + e.token, "bearer " + e.token, "BEARER  " + e.token + " ", "Bearer " + svc, "Basic " + e.token,
		"", "Bearer", "Bearer ", "Bearer a.b.c", "Bearer " + e.token + "x", "Bearer\t" + e.token, "Bearer " + e.token + " " + e.token,
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		var headers []string
		if h != "" {
			headers = []string{"Authorization", h}
		}
		w := e.serve(http.MethodGet, "/v1/orgs/acme", "", headers...)
		tok, ok := "", false
		if scheme, rest, cut := strings.Cut(strings.TrimSpace(h), " "); cut && strings.EqualFold(scheme, "Bearer") {
			tok, ok = strings.TrimSpace(rest), true
		}
		switch w.Code {
		case http.StatusOK:
			if !ok || tok != e.token {
				t.Fatalf("Authorization %q accepted", h)
			}
		case http.StatusUnauthorized:
			checkError(t, w, 16)
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		default:
			t.Fatalf("Authorization %q: status %d: %s", h, w.Code, w.Body)
		}
		// The parser alone: a token it returns is trimmed and non-empty.
		if tok, err := bearerToken([]string{h}); err == nil && (tok == "" || strings.TrimSpace(tok) != tok) {
			t.Fatalf("bearerToken(%q) = %q", h, tok)
		}
	})
}
