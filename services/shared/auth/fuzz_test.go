package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/auth"
)

// fuzzTokens are the tokens the fuzz targets start from: the valid ones, and the classic
// refusals.
func fuzzTokens(f *testing.F) (v *auth.Verifier, user, service string, seeds []string) {
	f.Helper()
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		f.Fatal(err)
	}
	v, err = auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		f.Fatal(err)
	}
	user, _ = dev.Mint("alice", auth.Claims{Orgs: map[string]auth.Grant{"cz": {Person: "zhangsan", Roles: []string{"staff"}}}}, 24*time.Hour)
	service, _ = dev.Mint("fenquan-approval", auth.Claims{PlatformRoles: []string{auth.ServiceRole}}, 24*time.Hour)
	parts := strings.Split(user, ".")
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	pub, _ := json.Marshal(dev.Keys().(*auth.StaticKeys).Set)
	hs := enc(map[string]string{"alg": "HS256"}) + "." + parts[1]
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(hs))
	seeds = []string{
		user, service, "", "abc", "a.b.c", "..", "...",
		enc(map[string]string{"alg": "none"}) + "." + parts[1] + ".",
		enc(map[string]string{"alg": "none"}) + "." + parts[1] + "." + parts[2],
		hs + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		enc(map[string]any{"alg": "ES256", "crit": []string{"b64"}}) + "." + parts[1] + "." + parts[2],
		enc(map[string]any{"alg": "ES256", "kid": strings.Repeat("k", 1000)}) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + enc(map[string]any{"iss": auth.DevIssuer, "aud": "fenquan", "sub": "admin", "exp": 1e300}) + "." + parts[2],
		parts[0] + "." + enc(map[string]any{"iss": auth.DevIssuer, "fenquan": map[string]any{"orgs": []int{1}}}) + "." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "x",
		"\xff\xfe." + parts[1] + "." + parts[2],
	}
	return v, user, service, seeds
}

// FuzzVerify: any string as a token is refused with one of the verifier's errors, never a
// panic, and never accepted unless it is, byte for byte, a token the issuer minted.
func FuzzVerify(f *testing.F) {
	v, user, service, seeds := fuzzTokens(f)
	for _, s := range seeds {
		f.Add(s)
	}
	valid := map[string]bool{user: true, service: true}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err == nil {
			if !valid[token] || p == nil {
				t.Fatalf("token %q accepted as %+v", token, p)
			}
			return
		}
		if p != nil {
			t.Fatalf("a principal with an error: %+v, %v", p, err)
		}
		if !errors.Is(err, auth.ErrNoToken) && !errors.Is(err, auth.ErrMalformed) && !errors.Is(err, auth.ErrAlgorithm) &&
			!errors.Is(err, auth.ErrUnknownIssuer) && !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("error of no known kind: %v", err)
		}
	})
}

// FuzzServerAuth: whatever a caller puts in "authorization" and the service identity
// key, the interceptor answers UNAUTHENTICATED (never a panic) unless both are tokens the
// issuer minted, the second a service's. Public methods always pass, anonymously.
func FuzzServerAuth(f *testing.F) {
	v, user, service, seeds := fuzzTokens(f)
	for _, s := range seeds {
		f.Add("Bearer "+s, "", false)
		f.Add("Bearer "+user, "Bearer "+s, false)
	}
	f.Add("bearer  "+user+" ", "Bearer "+service, false)
	f.Add("Basic "+user, "", true)
	f.Add("Bearer", "Bearer", false)
	valid := map[string]bool{user: true, service: true}
	a := auth.NewServerAuth(v, func(m string) bool { return m == "/t.T/Public" }, auth.ServerOptions{})
	f.Fuzz(func(t *testing.T, authorization, serviceID string, public bool) {
		md := metadata.MD{}
		if authorization != "" {
			md.Append("authorization", authorization)
		}
		if serviceID != "" {
			md.Append(auth.ServiceMetadataKey, serviceID)
		}
		method := "/t.T/Private"
		if public {
			method = "/t.T/Public"
		}
		var got *auth.Principal
		_, err := a.Unary()(metadata.NewIncomingContext(context.Background(), md), nil, &grpc.UnaryServerInfo{FullMethod: method},
			func(ctx context.Context, _ any) (any, error) {
				got = auth.FromContext(ctx)
				return nil, nil
			})
		if public {
			if err != nil || got != nil {
				t.Fatalf("public call = %+v, %v", got, err)
			}
			return
		}
		if err != nil {
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("refusal with code %v: %v", status.Code(err), err)
			}
			if msg := status.Convert(err).Message(); strings.Contains(msg, "jws.") || strings.Contains(msg, "jwk.") || strings.Contains(msg, "json:") {
				t.Fatalf("refusal tells a library's error: %q", msg)
			}
			return
		}
		tok, _ := strings.CutPrefix(strings.TrimPrefix(authorization, "bearer "), "Bearer ")
		if !valid[strings.TrimSpace(tok)] {
			t.Fatalf("authorization %q accepted as %+v", authorization, got)
		}
		if serviceID != "" {
			st, _ := strings.CutPrefix(strings.TrimPrefix(serviceID, "bearer "), "Bearer ")
			if strings.TrimSpace(st) != service || got.Via != "fenquan-approval" {
				t.Fatalf("service identity %q accepted as %q", serviceID, got.Via)
			}
		}
	})
}
