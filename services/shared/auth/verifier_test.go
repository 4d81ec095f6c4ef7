package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

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
