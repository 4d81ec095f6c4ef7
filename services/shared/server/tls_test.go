package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
	"github.com/fenquan/fenquan/services/shared/server"
)

// ca is a test certificate authority.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64

func nextSerial() *big.Int { serial++; return big.NewInt(serial) }

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns the PEM certificate and key of a leaf named cn, usable by servers (on
// 127.0.0.1 and localhost) and clients.
func (c *ca) issue(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// writeFile replaces a file the way a secret rotation does (write aside, rename).
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// identity is a set of TLS files on disk: a certificate, its key and the CA it trusts.
type identity struct{ cert, key, ca string }

func newIdentity(t *testing.T, dir, name string, c *ca, trust *ca) identity {
	t.Helper()
	id := identity{filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, name+"-ca.pem")}
	id.rotate(t, c, name, trust)
	return id
}

func (id identity) rotate(t *testing.T, c *ca, cn string, trust *ca) {
	t.Helper()
	cert, key := c.issue(t, cn)
	writeFile(t, id.key, key)
	writeFile(t, id.cert, cert)
	writeFile(t, id.ca, trust.pem)
}

const check = 50 * time.Millisecond

func (id identity) files() *server.TLSFiles {
	return &server.TLSFiles{CertFile: id.cert, KeyFile: id.key, CAFile: id.ca, CheckInterval: check}
}

type allowAll struct{}

func (allowAll) Authorize(ctx context.Context, _ authz.Request) (context.Context, error) {
	return ctx, nil
}

// orgServer answers ListOrgs with who called ("subject|via"); GetOrg asks next (if set),
// on the caller's behalf, and answers what it said.
type orgServer struct {
	registryv1.UnimplementedOrgServiceServer
	next registryv1.OrgServiceClient
}

func (orgServer) ListOrgs(ctx context.Context, _ *registryv1.ListOrgsRequest) (*registryv1.ListOrgsResponse, error) {
	p := auth.FromContext(ctx)
	return &registryv1.ListOrgsResponse{Orgs: []*registryv1.Org{{Name: "orgs/x", DisplayName: p.Subject + "|" + p.Via}}}, nil
}

func (s orgServer) GetOrg(ctx context.Context, req *registryv1.GetOrgRequest) (*registryv1.Org, error) {
	r, err := s.next.ListOrgs(auth.ForwardToken(ctx), &registryv1.ListOrgsRequest{})
	if err != nil {
		return nil, err
	}
	return r.Orgs[0], nil
}

// serve starts a server on loopback with these TLS files.
func serve(t *testing.T, v *auth.Verifier, files *server.TLSFiles, self func() (string, error), next registryv1.OrgServiceClient) string {
	t.Helper()
	srv, err := server.New(server.Config{
		Service: "test", GRPCServices: []string{"fenquan.registry.v1.OrgService"}, TLS: files,
		EdgePeers: []string{"fenquan-gateway"}, ServiceToken: self,
		Logger: slog.New(slog.DiscardHandler), Verifier: v, Authorizer: allowAll{},
	})
	if err != nil {
		t.Fatal(err)
	}
	registryv1.RegisterOrgServiceServer(srv.GRPC, orgServer{next: next})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr()
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func creds(t *testing.T, files *server.TLSFiles) credentials.TransportCredentials {
	t.Helper()
	c, err := files.ClientCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listOrgs calls ListOrgs with the md pairs and returns "subject|via" and the server
// certificate's CN.
func listOrgs(t *testing.T, cc *grpc.ClientConn, md ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), metadata.Pairs(md...)), 10*time.Second)
	defer cancel()
	var p peer.Peer
	r, err := registryv1.NewOrgServiceClient(cc).ListOrgs(ctx, &registryv1.ListOrgsRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", "", err
	}
	cn := ""
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
		cn = ti.State.PeerCertificates[0].Subject.CommonName
	}
	return r.Orgs[0].DisplayName, cn, nil
}

type devTokens struct {
	v                           *auth.Verifier
	user, approval, supervision string
}

func newDevTokens(t *testing.T) devTokens {
	t.Helper()
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, c auth.Claims) string {
		tok, err := dev.Mint(sub, c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	svc := auth.Claims{PlatformRoles: []string{auth.ServiceRole}}
	return devTokens{
		v:           v,
		user:        mint("alice", auth.Claims{Orgs: map[string]auth.Grant{"cz": {Person: "zhangsan"}}}),
		approval:    mint("fenquan-approval", svc),
		supervision: mint("fenquan-supervision", svc),
	}
}

// TestMTLS: the server requires a client certificate of its CA, binds service identities
// to client certificates, and rotates certificates, keys and CAs from its files without a
// restart; clients do the same.
func TestMTLS(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := newCA(t, "ca-1"), newCA(t, "ca-2")
	tk := newDevTokens(t)
	srvID := newIdentity(t, dir, "server", ca1, ca1) // its CA file verifies clients
	addr := serve(t, tk.v, srvID.files(), nil, nil)

	approvalID := newIdentity(t, dir, "fenquan-approval", ca1, ca1) // its CA file verifies servers
	gatewayID := newIdentity(t, dir, "fenquan-gateway", ca1, ca1)
	approvalCreds := creds(t, approvalID.files())
	approval := dial(t, addr, approvalCreds)
	gateway := dial(t, addr, creds(t, gatewayID.files()))
	svcKey := auth.ServiceMetadataKey

	t.Run("service identity named by the certificate", func(t *testing.T) {
		got, cn, err := listOrgs(t, approval, "authorization", "Bearer "+tk.user, svcKey, "Bearer "+tk.approval)
		if err != nil || got != "alice|fenquan-approval" || cn != "server" {
			t.Fatalf("ListOrgs = %q from %q, %v", got, cn, err)
		}
	})
	for _, tc := range []struct {
		name string
		cc   *grpc.ClientConn
		md   []string
		want string // "" refused
	}{
		{"service's own call", approval, []string{"authorization", "Bearer " + tk.approval}, "fenquan-approval|fenquan-approval"},
		{"service identity missing", approval, []string{"authorization", "Bearer " + tk.user}, ""},
		{"another service's identity", approval, []string{"authorization", "Bearer " + tk.user, svcKey, "Bearer " + tk.supervision}, ""},
		{"another service's own token", approval, []string{"authorization", "Bearer " + tk.supervision}, ""},
		{"gateway: a user", gateway, []string{"authorization", "Bearer " + tk.user}, "alice|"},
		{"gateway: a service token", gateway, []string{"authorization", "Bearer " + tk.approval}, ""},
		{"gateway: a service identity", gateway, []string{"authorization", "Bearer " + tk.user, svcKey, "Bearer " + tk.approval}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := listOrgs(t, tc.cc, tc.md...)
			if tc.want == "" {
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("ListOrgs = %q, %v; want UNAUTHENTICATED", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ListOrgs = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	t.Run("a client without a certificate is refused", func(t *testing.T) {
		anon := dial(t, addr, creds(t, &server.TLSFiles{CAFile: approvalID.ca}))
		if _, _, err := listOrgs(t, anon, "authorization", "Bearer "+tk.user); status.Code(err) != codes.Unavailable {
			t.Fatalf("ListOrgs without a client certificate: %v", err)
		}
	})
	t.Run("a client certificate of another CA is refused", func(t *testing.T) {
		other := newIdentity(t, dir, "other", ca2, ca1)
		cc := dial(t, addr, creds(t, other.files()))
		if _, _, err := listOrgs(t, cc, "authorization", "Bearer "+tk.approval); status.Code(err) != codes.Unavailable {
			t.Fatalf("ListOrgs with a foreign client certificate: %v", err)
		}
	})
	t.Run("plaintext is refused", func(t *testing.T) {
		cc := dial(t, addr, insecure.NewCredentials())
		if _, _, err := listOrgs(t, cc, "authorization", "Bearer "+tk.user); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext ListOrgs: %v", err)
		}
	})

	t.Run("rotation without restart", func(t *testing.T) {
		// The server's certificate: new connections see the new one.
		srvID.rotate(t, ca1, "server-rotated", ca1)
		time.Sleep(2 * check)
		if _, cn, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); err != nil || cn != "server-rotated" {
			t.Fatalf("after the server certificate's rotation: %q, %v", cn, err)
		}

		// The server now trusts clients of ca2 only. New connections of ca1 clients are
		// refused; the one already established keeps working.
		srvID.rotate(t, ca1, "server-rotated", ca2)
		time.Sleep(2 * check)
		if _, _, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); status.Code(err) != codes.Unavailable {
			t.Fatalf("a client of the old CA after the CA's rotation: %v", err)
		}
		if got, _, err := listOrgs(t, approval, "authorization", "Bearer "+tk.approval); err != nil || got != "fenquan-approval|fenquan-approval" {
			t.Fatalf("established connection after the CA's rotation: %q, %v", got, err)
		}

		// The client's certificate rotates to one of ca2: the same credentials, a new
		// connection, accepted.
		approvalID.rotate(t, ca2, "fenquan-approval", ca1)
		time.Sleep(2 * check)
		if got, _, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); err != nil || got != "fenquan-approval|fenquan-approval" {
			t.Fatalf("rotated client certificate: %q, %v", got, err)
		}

		// The server's certificate moves to ca2: the client trusts ca2 once its CA file
		// says so, without a restart.
		srvID.rotate(t, ca2, "server-ca2", ca2)
		time.Sleep(2 * check)
		if _, _, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); status.Code(err) != codes.Unavailable {
			t.Fatalf("a server certificate of a CA the client does not trust yet: %v", err)
		}
		approvalID.rotate(t, ca2, "fenquan-approval", ca2)
		time.Sleep(2 * check)
		if _, cn, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); err != nil || cn != "server-ca2" {
			t.Fatalf("after the client's CA rotation: %q, %v", cn, err)
		}
	})

	t.Run("a half-done rotation keeps the last good files", func(t *testing.T) {
		// A certificate whose key has not been written yet.
		cert, _ := ca2.issue(t, "server-half")
		writeFile(t, srvID.cert, cert)
		time.Sleep(2 * check)
		if _, cn, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); err != nil || cn != "server-ca2" {
			t.Fatalf("during a half-done rotation: %q, %v", cn, err)
		}
		srvID.rotate(t, ca2, "server-done", ca2)
		time.Sleep(2 * check)
		if _, cn, err := listOrgs(t, dial(t, addr, approvalCreds), "authorization", "Bearer "+tk.approval); err != nil || cn != "server-done" {
			t.Fatalf("after the rotation completed: %q, %v", cn, err)
		}
	})
}

// TestForwardingOverMTLS: a service calling another on a user's behalf sends the user's
// token and its own identity; the callee sees the user, through the service. Without its
// own identity the callee refuses the call.
func TestForwardingOverMTLS(t *testing.T) {
	dir := t.TempDir()
	c := newCA(t, "ca")
	tk := newDevTokens(t)
	// The callee ("registry"), then the caller ("approval"), which dials the callee with
	// its own certificate and forwards with its own token.
	regAddr := serve(t, tk.v, newIdentity(t, dir, "registry", c, c).files(), nil, nil)
	approvalID := newIdentity(t, dir, "fenquan-approval", c, c)
	toRegistry := registryv1.NewOrgServiceClient(dial(t, regAddr, creds(t, approvalID.files())))
	self := tk.approval
	apAddr := serve(t, tk.v, approvalID.files(), func() (string, error) { return self, nil }, toRegistry)

	gw := dial(t, apAddr, creds(t, newIdentity(t, dir, "fenquan-gateway", c, c).files()))
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tk.user), 10*time.Second)
	defer cancel()
	o, err := registryv1.NewOrgServiceClient(gw).GetOrg(ctx, &registryv1.GetOrgRequest{Name: "orgs/cz"})
	if err != nil || o.DisplayName != "alice|fenquan-approval" {
		t.Fatalf("forwarded call = %v, %v", o, err)
	}
	// The caller's own token is missing (its file could not be read): refused downstream.
	self = ""
	if _, err := registryv1.NewOrgServiceClient(gw).GetOrg(ctx, &registryv1.GetOrgRequest{Name: "orgs/cz"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forwarded call without the service's identity: %v", err)
	}
}

func TestPlaintextOnlyOnLoopback(t *testing.T) {
	tk := newDevTokens(t)
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "localhost:0": true, "0.0.0.0:0": false, ":0": false} {
		srv, err := server.New(server.Config{Service: "test", GRPCServices: []string{"fenquan.registry.v1.OrgService"}, GRPCAddr: addr,
			Logger: slog.New(slog.DiscardHandler), Verifier: tk.v, Authorizer: allowAll{}})
		if ok != (err == nil) {
			t.Errorf("plaintext on %s: %v", addr, err)
		}
		if err == nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = srv.Run(ctx) // closes the listener
		}
	}
}
