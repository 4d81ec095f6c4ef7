package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/fenquan/fenquan/services/shared/auth"
)

// env is a gateway in front of recording upstreams, served by httptest.
type env struct {
	t     *testing.T
	url   string
	rec   *recorder
	conn  *grpc.ClientConn
	dev   *auth.DevTokens
	token string
	reg   *prometheus.Registry
	logs  *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func newVerifier(t *testing.T) (*auth.DevTokens, *auth.Verifier) {
	t.Helper()
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	return dev, v
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	conn, rec := startUpstream(t)
	dev, verifier := newVerifier(t)
	token, err := dev.Mint("alice", auth.Claims{Orgs: map[string]auth.Grant{"acme": {Person: "alice", Roles: []string{"staff"}}}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := Config{
		Upstreams: map[string]grpc.ClientConnInterface{"registry": conn},
		Verifier:  verifier,
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:  prometheus.NewRegistry(),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, rec: rec, conn: conn, dev: dev, token: token, reg: cfg.Registry, logs: logs}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; headers is a list of name, value pairs (a name may repeat).
func (e *env) do(method, path string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) get(path string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, headers...)
}

// authed returns the Authorization header pair for the env's valid token.
func (e *env) authed() []string { return []string{"Authorization", "Bearer " + e.token} }

func (e *env) postJSON(path, body string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodPost, path, strings.NewReader(body), append(append([]string{"Content-Type", "application/json"}, e.authed()...), headers...)...)
}

// errorBody parses the standard error shape strictly (protojson with Any details).
type errorBody struct {
	st         *spb.Status
	info       *errdetails.ErrorInfo
	badRequest *errdetails.BadRequest
	localized  *errdetails.LocalizedMessage
	request    *errdetails.RequestInfo
}

func parseError(t *testing.T, r response) errorBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q, want application/json; body %s", ct, r.body)
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(r.body, st); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	out := errorBody{st: st}
	for _, a := range st.GetDetails() {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatalf("detail %s: %v", a.GetTypeUrl(), err)
		}
		switch d := m.(type) {
		case *errdetails.ErrorInfo:
			out.info = d
		case *errdetails.BadRequest:
			out.badRequest = d
		case *errdetails.LocalizedMessage:
			out.localized = d
		case *errdetails.RequestInfo:
			out.request = d
		}
	}
	return out
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}
