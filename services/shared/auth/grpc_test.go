package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/auth"
)

// tokens mints the identities the service-identity tests use.
type tokens struct {
	dev                              *auth.DevTokens
	v                                *auth.Verifier
	user, approval, supervision      string
	forgedService, spiffeService     string
	userInServiceKey, expiredService string
}

func newTokens(t *testing.T) *tokens {
	t.Helper()
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	mint := func(d *auth.DevTokens, sub string, c auth.Claims, ttl time.Duration) string {
		tok, err := d.Mint(sub, c, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	svc := auth.Claims{PlatformRoles: []string{auth.ServiceRole}}
	return &tokens{
		dev:              dev,
		v:                newVerifier(t, dev, nil),
		user:             mint(dev, "alice", auth.Claims{Orgs: map[string]auth.Grant{"cz": {Person: "zhangsan", Roles: []string{"staff"}}}}, time.Hour),
		approval:         mint(dev, "fenquan-approval", svc, time.Hour),
		supervision:      mint(dev, "fenquan-supervision", svc, time.Hour),
		forgedService:    mint(other, "fenquan-approval", svc, time.Hour),
		spiffeService:    mint(dev, "spiffe://fenquan.example/approval", svc, time.Hour),
		userInServiceKey: mint(dev, "fenquan-approval", auth.Claims{}, time.Hour),
		expiredService:   mint(dev, "fenquan-approval", svc, -time.Hour),
	}
}

// withPeerCert makes ctx look like a call over mTLS from a client certificate with these
// names (as the TLS handshake leaves it: a verified chain).
func withPeerCert(ctx context.Context, cn string, dns []string, uris ...string) context.Context {
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, u := range uris {
		pu, _ := url.Parse(u)
		leaf.URIs = append(leaf.URIs, pu)
	}
	return peer.NewContext(ctx, &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{
		VerifiedChains: [][]*x509.Certificate{{leaf}},
	}}})
}

func TestServiceIdentity(t *testing.T) {
	tk := newTokens(t)
	a := auth.NewServerAuth(tk.v, func(m string) bool { return m == "/t.T/Public" }, auth.ServerOptions{EdgePeers: []string{"fenquan-gateway"}})
	call := func(ctx context.Context, method string, md ...string) (*auth.Principal, error) {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
		var got *auth.Principal
		_, err := a.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			got = auth.FromContext(ctx)
			return nil, nil
		})
		return got, err
	}
	bg := context.Background()
	approvalCert := withPeerCert(bg, "fenquan-approval", []string{"approval.fenquan.svc"})
	gatewayCert := withPeerCert(bg, "fenquan-gateway", nil)
	spiffeCert := withPeerCert(bg, "", []string{"approval.fenquan.svc"}, "spiffe://fenquan.example/approval")
	const key = auth.ServiceMetadataKey
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		md       []string
		sub, via string // "" sub: refused
	}{
		// Plaintext (no client certificate): identities are checked, not bound.
		{"user alone", bg, []string{"authorization", "Bearer " + tk.user}, "alice", ""},
		{"user through a service", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.approval}, "alice", "fenquan-approval"},
		{"service on its own behalf", bg, []string{"authorization", "Bearer " + tk.supervision}, "fenquan-supervision", "fenquan-supervision"},
		{"forged service identity", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.forgedService}, "", ""},
		{"expired service identity", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.expiredService}, "", ""},
		{"a user's token as service identity", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.userInServiceKey}, "", ""},
		{"service identity not a bearer", bg, []string{"authorization", "Bearer " + tk.user, key, "Basic " + tk.approval}, "", ""},
		{"empty service identity", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer "}, "", ""},
		{"two service identities", bg, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.approval, key, "Bearer " + tk.approval}, "", ""},
		{"service identity without a user", bg, []string{key, "Bearer " + tk.approval}, "", ""},

		// mTLS from a service's certificate: the identity must be the certificate's.
		{"mTLS: user through the certificate's service", approvalCert, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.approval}, "alice", "fenquan-approval"},
		{"mTLS: own call of the certificate's service", approvalCert, []string{"authorization", "Bearer " + tk.approval}, "fenquan-approval", "fenquan-approval"},
		{"mTLS: another service's identity", approvalCert, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.supervision}, "", ""},
		{"mTLS: another service's own token", approvalCert, []string{"authorization", "Bearer " + tk.supervision}, "", ""},
		{"mTLS: service identity missing", approvalCert, []string{"authorization", "Bearer " + tk.user}, "", ""},
		{"mTLS: forwarded service token, own identity beside it", approvalCert, []string{"authorization", "Bearer " + tk.supervision, key, "Bearer " + tk.approval}, "fenquan-supervision", "fenquan-approval"},
		{"mTLS: identity named by a URI SAN", spiffeCert, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.spiffeService}, "alice", "spiffe://fenquan.example/approval"},

		// mTLS from the gateway: users alone; never a service identity.
		{"mTLS gateway: user alone", gatewayCert, []string{"authorization", "Bearer " + tk.user}, "alice", ""},
		{"mTLS gateway: a service token passed through", gatewayCert, []string{"authorization", "Bearer " + tk.approval}, "", ""},
		{"mTLS gateway: a service identity passed through", gatewayCert, []string{"authorization", "Bearer " + tk.user, key, "Bearer " + tk.approval}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := call(tc.ctx, "/t.T/Private", tc.md...)
			if tc.sub == "" {
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("call = %+v, %v; want UNAUTHENTICATED", p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if p.Subject != tc.sub || p.Via != tc.via {
				t.Fatalf("principal %q via %q, want %q via %q", p.Subject, p.Via, tc.sub, tc.via)
			}
		})
	}

	// The verifier's cached principal is shared between calls: a Via never sticks to it.
	if p, err := call(bg, "/t.T/Private", "authorization", "Bearer "+tk.user); err != nil || p.Via != "" {
		t.Fatalf("user alone after a call through a service: %+v, %v", p, err)
	}
	// Public methods ignore every identity, even a forged one, even from a service's peer.
	if p, err := call(approvalCert, "/t.T/Public", key, "Bearer "+tk.forgedService); err != nil || p != nil {
		t.Fatalf("public call = %+v, %v", p, err)
	}
	// Refusals say why without the verifier's internals.
	_, err := call(bg, "/t.T/Private", "authorization", "Bearer "+tk.user, key, "Bearer "+tk.forgedService)
	if msg := status.Convert(err).Message(); msg != "invalid service identity: token invalid: signature not verified" {
		t.Fatalf("message %q", msg)
	}
}

func TestServiceIdentityWithoutEdgePeers(t *testing.T) {
	// No edge peer configured: over mTLS every client must be a service.
	tk := newTokens(t)
	a := auth.NewServerAuth(tk.v, func(string) bool { return false }, auth.ServerOptions{})
	ctx := metadata.NewIncomingContext(withPeerCert(context.Background(), "fenquan-gateway", nil), metadata.Pairs("authorization", "Bearer "+tk.user))
	_, err := a.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/t.T/M"}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("err = %v", err)
	}
}

func TestForwardToken(t *testing.T) {
	tk := newTokens(t)
	var self string
	a := auth.NewServerAuth(tk.v, func(string) bool { return false }, auth.ServerOptions{Self: func() (string, error) { return self, nil }})
	// The incoming call of a user; the handler forwards.
	in := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tk.user))
	var out metadata.MD
	handler := func(ctx context.Context, _ any) (any, error) {
		// Something already set on the outgoing context survives; a stale service identity
		// does not; forwarding twice does not repeat.
		ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "r1", auth.ServiceMetadataKey, "Bearer stale")
		ctx = auth.ForwardToken(auth.ForwardToken(ctx))
		out, _ = metadata.FromOutgoingContext(ctx)
		return nil, nil
	}
	run := func() {
		t.Helper()
		if _, err := a.Unary()(in, nil, &grpc.UnaryServerInfo{FullMethod: "/t.T/M"}, handler); err != nil {
			t.Fatal(err)
		}
	}
	self = tk.approval
	run()
	if got := out.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+tk.user {
		t.Fatalf("authorization %q", got)
	}
	if got := out.Get(auth.ServiceMetadataKey); len(got) != 1 || got[0] != "Bearer "+tk.approval {
		t.Fatalf("service identity %q", got)
	}
	if got := out.Get("x-request-id"); len(got) != 1 {
		t.Fatalf("x-request-id %q", got)
	}
	// Without an own token, the user's alone (a callee over mTLS refuses it: fail closed).
	self = ""
	run()
	if got := out.Get(auth.ServiceMetadataKey); len(got) != 0 {
		t.Fatalf("service identity %q", got)
	}
	// Nothing to forward without a caller.
	if ctx := auth.ForwardToken(context.Background()); ctx != context.Background() {
		t.Fatal("ForwardToken changed an anonymous context")
	}
}

func TestIsDevelopmentToken(t *testing.T) {
	tk := newTokens(t)
	other, _ := tk.dev.SignClaims(map[string]any{"iss": "https://idp.example", "sub": "x"})
	for tok, want := range map[string]bool{tk.user: true, other: false, "": false, "a.b.c": false, "x": false} {
		if got := auth.IsDevelopmentToken(tok); got != want {
			t.Errorf("IsDevelopmentToken(%.20q) = %v", tok, got)
		}
	}
}
