package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/auth"
)

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newVerifier(t *testing.T, dev *auth.DevTokens, mutate func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}}
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyMapsClaims(t *testing.T) {
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, dev, nil)
	tok, err := dev.Mint("u1", auth.Claims{
		Orgs:          map[string]auth.Grant{"cz": {Person: "zhangsan", Roles: []string{"catalog-admin"}}},
		PlatformRoles: []string{"platform-admin"},
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "u1" || p.PersonName("cz") != "orgs/cz/people/zhangsan" || !p.HasRole("cz", "catalog-admin") ||
		p.HasRole("other", "catalog-admin") || !p.HasPlatformRole("platform-admin") {
		t.Fatalf("principal = %+v", p)
	}
	// Served from the cache the second time, same answer.
	p2, err := v.Verify(context.Background(), tok)
	if err != nil || p2 != p {
		t.Fatalf("second Verify = %v, %v", p2, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	dev, _ := auth.NewEphemeralDevTokens()
	other, _ := auth.NewEphemeralDevTokens()
	now := time.Now()
	v := newVerifier(t, dev, nil)
	good, _ := dev.Mint("u1", auth.Claims{}, time.Hour)
	parts := strings.Split(good, ".")

	// HMAC-signed with the public key as the secret (the classic confusion attack).
	pub, _ := json.Marshal(dev.Keys().(*auth.StaticKeys).Set)
	hs := b64(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + parts[1]
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(hs))
	hsTok := hs + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	forged, _ := other.Mint("u1", auth.Claims{}, time.Hour)
	expired := mintRaw(t, dev, map[string]any{"exp": now.Add(-time.Hour).Unix()})
	notYet := mintRaw(t, dev, map[string]any{"nbf": now.Add(time.Hour).Unix()})
	wrongAud := mintRaw(t, dev, map[string]any{"aud": "someone-else"})
	wrongIss := mintRaw(t, dev, map[string]any{"iss": "https://evil.example"})
	noExp := mintRaw(t, dev, map[string]any{"exp": nil})

	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"empty", "", auth.ErrNoToken},
		{"garbage", "abc", auth.ErrMalformed},
		{"alg none", b64(map[string]string{"alg": "none"}) + "." + parts[1] + ".", auth.ErrMalformed},
		{"alg none with signature", b64(map[string]string{"alg": "none"}) + "." + parts[1] + "." + parts[2], auth.ErrAlgorithm},
		{"hmac with public key", hsTok, auth.ErrAlgorithm},
		{"forged signature", forged, auth.ErrInvalid},
		{"payload swapped", parts[0] + "." + b64(map[string]any{"iss": auth.DevIssuer, "aud": "fenquan", "sub": "admin", "exp": now.Add(time.Hour).Unix()}) + "." + parts[2], auth.ErrInvalid},
		{"expired", expired, auth.ErrInvalid},
		{"not yet valid", notYet, auth.ErrInvalid},
		{"wrong audience", wrongAud, auth.ErrInvalid},
		{"wrong issuer", wrongIss, auth.ErrUnknownIssuer},
		{"no exp", noExp, auth.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", p, err, tc.want)
			}
		})
	}
}

// mintRaw signs custom claims with the dev key by minting a normal token and rebuilding
// its payload: it reuses the dev key through a file round trip.
func mintRaw(t *testing.T, dev *auth.DevTokens, override map[string]any) string {
	t.Helper()
	claims := map[string]any{
		"iss": auth.DevIssuer, "aud": "fenquan", "sub": "u1",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}
	for k, v := range override {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	tok, err := dev.SignClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestProductionRefusesDevIssuer(t *testing.T) {
	dev, _ := auth.NewEphemeralDevTokens()
	if _, err := auth.NewVerifier(auth.Config{Production: true, Issuers: []auth.IssuerConfig{dev.IssuerConfig()}}); err == nil {
		t.Fatal("a production verifier accepted the development issuer")
	}
	// Even with the dev key trusted under another issuer name, a dev token is refused.
	ic := dev.IssuerConfig()
	ic.Issuer = "https://idp.example"
	v, err := auth.NewVerifier(auth.Config{Production: true, Issuers: []auth.IssuerConfig{ic}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := dev.Mint("u1", auth.Claims{}, time.Hour)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, auth.ErrUnknownIssuer) {
		t.Fatalf("Verify(dev token) in production = %v", err)
	}
}

func TestFileKeysRotation(t *testing.T) {
	dir := t.TempDir()
	a, err := auth.OpenDevTokens(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := auth.OpenDevTokens(filepath.Join(dir, "b"))
	jwks := filepath.Join(dir, "jwks.json")
	copyFile(t, a.JWKSPath(), jwks)
	keys, err := auth.NewFileKeys(jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{{Issuer: auth.DevIssuer, Keys: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	ta, _ := a.Mint("u1", auth.Claims{}, time.Hour)
	tb, _ := b.Mint("u1", auth.Claims{}, time.Hour)
	if _, err := v.Verify(context.Background(), ta); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tb); err == nil {
		t.Fatal("token of an untrusted key accepted")
	}
	// Rotate: the file now holds only b's key. Within a few seconds a's token is refused
	// (cache flushed) and b's accepted, without a restart.
	copyFile(t, b.JWKSPath(), jwks)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errA := v.Verify(context.Background(), ta)
		_, errB := v.Verify(context.Background(), tb)
		if errA != nil && errB == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after rotation: a=%v b=%v", errA, errB)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Reopening the same folder keeps the same key.
	a2, _ := auth.OpenDevTokens(filepath.Join(dir, "a"))
	ta2, _ := a2.Mint("u1", auth.Claims{}, time.Hour)
	va, _ := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{a.IssuerConfig()}})
	if _, err := va.Verify(context.Background(), ta2); err != nil {
		t.Fatalf("reopened dev key differs: %v", err)
	}
}

func TestFlatClaimMapping(t *testing.T) {
	dev, _ := auth.NewEphemeralDevTokens()
	v := newVerifier(t, dev, func(c *auth.Config) {
		c.Claims = auth.ClaimMap{PersonClaim: "preferred_username", OrgClaim: "org", RolesClaim: "roles"}
	})
	tok, _ := dev.SignClaims(map[string]any{
		"iss": auth.DevIssuer, "aud": "fenquan", "sub": "idp-123", "exp": time.Now().Add(time.Hour).Unix(),
		"preferred_username": "lisi", "org": "cz", "roles": []string{"auditor"},
	})
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.PersonName("cz") != "orgs/cz/people/lisi" || !p.HasRole("cz", "auditor") {
		t.Fatalf("principal = %+v", p)
	}
}

func TestRejectsSymmetricKeysInJWKS(t *testing.T) {
	k, err := jwk.Import([]byte("secret-secret-secret-secret-1234"))
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(k)
	b, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewFileKeys(path); err == nil {
		t.Fatal("a JWKS with a symmetric key was accepted")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".tmp", to); err != nil {
		t.Fatal(err)
	}
}

// jwksServer serves an OIDC discovery document and a JWKS that the test replaces, and
// counts the JWKS fetches.
type jwksServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	jwks    []byte
	fetches int
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	j := &jwksServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": j.srv.URL, "jwks_uri": j.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.fetches++
		_, _ = w.Write(j.jwks)
	})
	j.srv = httptest.NewServer(mux)
	t.Cleanup(j.srv.Close)
	return j
}

// publish serves the public keys of these token minters.
func (j *jwksServer) publish(t *testing.T, devs ...*auth.DevTokens) {
	t.Helper()
	set := jwk.NewSet()
	for _, d := range devs {
		s, err := d.Keys().KeySet(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k, _ := s.Key(0)
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	j.mu.Lock()
	j.jwks = b
	j.mu.Unlock()
}

func (j *jwksServer) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetches
}

// TestOIDCKeyRotation: a key the issuer adds is accepted as soon as a token names it,
// without a restart and without waiting for the periodic fetch; tokens naming unknown
// keys make the verifier fetch at most once per minimum refresh interval.
func TestOIDCKeyRotation(t *testing.T) {
	j := newJWKSServer(t)
	a, _ := auth.NewEphemeralDevTokens()
	b, _ := auth.NewEphemeralDevTokens()
	c, _ := auth.NewEphemeralDevTokens()
	j.publish(t, a)
	const minRefresh = 300 * time.Millisecond
	keys := auth.NewOIDCKeys(j.srv.URL).WithIntervals(time.Hour, minRefresh)
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{{Issuer: j.srv.URL, Keys: keys}}})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(d *auth.DevTokens) string {
		tok, err := d.SignClaims(map[string]any{"iss": j.srv.URL, "aud": auth.DefaultAudience, "sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(a)); err != nil {
		t.Fatal(err)
	}
	if n := j.count(); n != 1 {
		t.Fatalf("%d fetches after the first token, want 1", n)
	}

	// The issuer adds b's key. Right after a fetch, a token naming it does not fetch again.
	j.publish(t, a, b)
	if _, err := v.Verify(ctx, mint(b)); err == nil {
		t.Fatal("a key fetched nowhere was accepted")
	}
	if n := j.count(); n != 1 {
		t.Fatalf("%d fetches, want 1 (refresh within the minimum interval)", n)
	}
	// Once the minimum interval has passed, the unknown kid fetches the keys: accepted.
	time.Sleep(minRefresh + 50*time.Millisecond)
	if _, err := v.Verify(ctx, mint(b)); err != nil {
		t.Fatalf("rotated-in key refused: %v", err)
	}
	if n := j.count(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	// A flood of tokens naming a key the issuer never published: one fetch per interval.
	for range 20 {
		if _, err := v.Verify(ctx, mint(c)); err == nil {
			t.Fatal("token of an unpublished key accepted")
		}
	}
	if n := j.count(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids right after a fetch, want 2", n)
	}
	time.Sleep(minRefresh + 50*time.Millisecond)
	for range 20 {
		_, _ = v.Verify(ctx, mint(c))
	}
	if n := j.count(); n != 3 {
		t.Fatalf("%d fetches after a flood of unknown kids, want 3 (one per interval)", n)
	}
	// a's tokens still pass: the set still has its key.
	if _, err := v.Verify(ctx, mint(a)); err != nil {
		t.Fatal(err)
	}
}

// TestFileKeysNewKidWithoutWaiting: a key added to the JWKS file is accepted when a token
// names it, without waiting for the periodic look at the file.
func TestFileKeysNewKidWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	a, _ := auth.OpenDevTokens(filepath.Join(dir, "a"))
	b, _ := auth.OpenDevTokens(filepath.Join(dir, "b"))
	jwks := filepath.Join(dir, "jwks.json")
	copyFile(t, a.JWKSPath(), jwks)
	keys, err := auth.NewFileKeys(jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{{Issuer: auth.DevIssuer, Keys: keys}}})
	tb, _ := b.Mint("u1", auth.Claims{}, time.Hour)
	// Both keys in the file.
	var both struct {
		Keys []json.RawMessage `json:"keys"`
	}
	for _, p := range []string{a.JWKSPath(), b.JWKSPath()} {
		var one struct {
			Keys []json.RawMessage `json:"keys"`
		}
		raw, _ := os.ReadFile(p)
		if err := json.Unmarshal(raw, &one); err != nil {
			t.Fatal(err)
		}
		both.Keys = append(both.Keys, one.Keys...)
	}
	raw, _ := json.Marshal(both)
	if err := os.WriteFile(jwks+".tmp", raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(jwks+".tmp", jwks); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the refresh bound, short of the 2s period
	if _, err := v.Verify(context.Background(), tb); err != nil {
		t.Fatalf("new key in the file refused: %v", err)
	}
}

// TestVerifyRefusesNonCanonicalEncoding: a token has one spelling. Changing the unused
// low bits of a segment's last character decodes to the same bytes; it is refused
// rather than accepted as the same token.
func TestVerifyRefusesNonCanonicalEncoding(t *testing.T) {
	dev, _ := auth.NewEphemeralDevTokens()
	v := newVerifier(t, dev, nil)
	tok, _ := dev.Mint("u1", auth.Claims{}, time.Hour)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// An ES256 signature is 64 bytes: 86 characters, the last carrying 2 unused bits.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	variant := tok[:len(tok)-1] + string(alphabet[last^1])
	if _, err := v.Verify(context.Background(), variant); !errors.Is(err, auth.ErrMalformed) {
		t.Fatalf("Verify(non-canonical spelling) = %v, want ErrMalformed", err)
	}
}

// TestKeyFetchFailureIsNotTold: the reason given to a caller names no URL or network
// error of the key fetch.
func TestKeyFetchFailureIsNotTold(t *testing.T) {
	dev, _ := auth.NewEphemeralDevTokens()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{{Issuer: "https://idp.example", Keys: auth.NewURLKeys(srv.URL + "/jwks")}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := dev.SignClaims(map[string]any{"iss": "https://idp.example", "aud": auth.DefaultAudience, "sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
	_, verr := v.Verify(context.Background(), tok)
	if !errors.Is(verr, auth.ErrInvalid) {
		t.Fatalf("Verify = %v", verr)
	}
	a := auth.NewServerAuth(v, func(string) bool { return false }, auth.ServerOptions{})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	_, err = a.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/t.T/M"}, func(context.Context, any) (any, error) { return nil, nil })
	msg := status.Convert(err).Message()
	if status.Code(err) != codes.Unauthenticated || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "/jwks") || strings.Contains(msg, "refused") {
		t.Fatalf("refusal %q", msg)
	}
}
