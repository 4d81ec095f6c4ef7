package attack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// ---- crafting tokens by hand (an attacker's tools) ----------------------------------

type jose map[string]any

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b64(b)
}

// compact is header.payload.signature; signer nil leaves the signature empty.
func compact(header, payload jose, signer func([]byte) []byte) string {
	in := segment(header) + "." + segment(payload)
	if signer == nil {
		return in + "."
	}
	return in + "." + b64(signer([]byte(in)))
}

// es256 signs as JWS ES256 does: r || s, 32 bytes each.
func es256(key *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
		if err != nil {
			panic(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func hmacWith(h func() hash.Hash, secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(h, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// published is the development issuer's public key as the stack publishes it
// (dev-jwks.json), in every form an HMAC-confusion attacker would try as the secret.
type published struct {
	jwks, jwk, point, der, pem []byte
	kid                        string
}

func publishedKey(t *testing.T) published {
	t.Helper()
	raw, err := os.ReadFile(sys.stack.Dev.JWKSPath())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("the published JWKS: %v: %s", err, raw)
	}
	var k struct{ Kid, Kty, Crv, X, Y string }
	if err := json.Unmarshal(set.Keys[0], &k); err != nil || k.Kty != "EC" || k.Crv != "P-256" {
		t.Fatalf("the published key: %v: %s", err, set.Keys[0])
	}
	x, err1 := base64.RawURLEncoding.DecodeString(k.X)
	y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
	if err1 != nil || err2 != nil {
		t.Fatal("the published key's coordinates")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return published{
		jwks: raw, jwk: set.Keys[0], point: point, der: der, kid: k.Kid,
		pem: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	}
}

// claims is a claim set the development issuer would mint for subject with c, changed by
// edit (a key set to nil is removed).
func claims(subject string, c auth.Claims, edit jose) jose {
	now := time.Now()
	j := jose{
		"iss": auth.DevIssuer, "aud": []string{auth.DefaultAudience}, "sub": subject,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"fenquan": c,
	}
	for k, v := range edit {
		if v == nil {
			delete(j, k)
		} else {
			j[k] = v
		}
	}
	return j
}

// devSigned signs claims with the development issuer's own key (SignClaims): the
// signature is genuine, the claims are what is wrong.
func devSigned(t *testing.T, c jose) string {
	t.Helper()
	m := map[string]any{}
	for k, v := range c {
		switch k {
		case "iat", "nbf", "exp":
			v = time.Unix(v.(int64), 0)
		}
		m[k] = v
	}
	tok, err := sys.stack.Dev.SignClaims(m)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// attackerKey is a P-256 key of the attacker's own.
func attackerKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ---- the attacks ------------------------------------------------------------------

// The token attacks aim at the administrator: each token claims the admin's grants
// (platform-admin, policy-officer; 王静 in czj). The request is one the admin's real
// token is allowed (the positive control): open a case.
func TestTokenAttacks(t *testing.T) {
	dev := publishedKey(t)
	attacker := attackerKey(t)
	attackerPoint, err := attacker.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := jose{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "attacker",
		"x": b64(attackerPoint[1:33]), "y": b64(attackerPoint[33:])}
	// A key set the attacker serves, to be named by a jku header: nobody may fetch it.
	var fetched atomic.Int64
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		_ = json.NewEncoder(w).Encode(jose{"keys": []jose{attackerJWK}})
	}))
	defer jku.Close()

	adminClaims := claims(up.AdminSub, up.AdminClaims(), nil)
	es := jose{"alg": "ES256", "typ": "JWT", "kid": dev.kid}
	hs := func(alg string) jose { return jose{"alg": alg, "typ": "JWT", "kid": dev.kid} }

	// tampered: a staff member's genuine token with the payload swapped for the admin's.
	genuine := staff(t, "feng-yu")
	parts := strings.Split(genuine, ".")
	tampered := parts[0] + "." + segment(adminClaims) + "." + parts[2]

	attacks := []struct {
		name string
		// auth are the Authorization header values sent (and, over gRPC, the
		// authorization metadata); query is added to the REST path.
		auth  []string
		query string
		// subject is who the token claims to be (where the request record would go).
		subject string
		// anonymous: the gateway answers "authentication required" (no token at all).
		anonymous bool
	}{
		{name: "no token", anonymous: true},
		{name: "empty bearer", auth: []string{"Bearer "}, anonymous: true},
		{name: "forged signature: admin claims signed with the attacker's key under the issuer's kid",
			auth: []string{"Bearer " + compact(es, adminClaims, es256(attacker))}},
		{name: "tampered claims: a staff token's payload swapped for the admin's, signature kept",
			auth: []string{"Bearer " + tampered}},
		{name: "signature stripped: header.payload. of a genuine token",
			auth: []string{"Bearer " + parts[0] + "." + parts[1] + "."}},
		{name: "alg none without a signature",
			auth: []string{"Bearer " + compact(jose{"alg": "none", "typ": "JWT"}, adminClaims, nil)}},
		{name: "alg none with a signature",
			auth: []string{"Bearer " + compact(jose{"alg": "none", "typ": "JWT"}, adminClaims, func([]byte) []byte { return []byte("x") })}},
		{name: "alg None (case variant) with the issuer's kid",
			auth: []string{"Bearer " + compact(jose{"alg": "None", "kid": dev.kid}, adminClaims, func([]byte) []byte { return []byte("x") })}},
		{name: "alg NONE (case variant) without a signature",
			auth: []string{"Bearer " + compact(jose{"alg": "NONE"}, adminClaims, nil)}},
		{name: "HS256 with the published JWKS file as the secret",
			auth: []string{"Bearer " + compact(hs("HS256"), adminClaims, hmacWith(sha256.New, dev.jwks))}},
		{name: "HS256 with the public key's JWK as the secret",
			auth: []string{"Bearer " + compact(hs("HS256"), adminClaims, hmacWith(sha256.New, dev.jwk))}},
		{name: "HS256 with the public key's PEM as the secret",
			auth: []string{"Bearer " + compact(hs("HS256"), adminClaims, hmacWith(sha256.New, dev.pem))}},
		{name: "HS256 with the public key's DER as the secret",
			auth: []string{"Bearer " + compact(hs("HS256"), adminClaims, hmacWith(sha256.New, dev.der))}},
		{name: "HS256 with the public key's EC point as the secret",
			auth: []string{"Bearer " + compact(hs("HS256"), adminClaims, hmacWith(sha256.New, dev.point))}},
		{name: "HS512 with the public key's PEM as the secret",
			auth: []string{"Bearer " + compact(hs("HS512"), adminClaims, hmacWith(sha512.New, dev.pem))}},
		{name: "embedded jwk header: the attacker's own key carried in the token",
			auth: []string{"Bearer " + compact(jose{"alg": "ES256", "typ": "JWT", "jwk": attackerJWK}, adminClaims, es256(attacker))}},
		{name: "jku header: the attacker's key set named by URL",
			auth: []string{"Bearer " + compact(jose{"alg": "ES256", "typ": "JWT", "kid": "attacker", "jku": jku.URL}, adminClaims, es256(attacker))}},
		{name: "expired an hour ago (the issuer's own signature)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{
				"iat": time.Now().Add(-3 * time.Hour).Unix(), "nbf": time.Now().Add(-3 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()}))}},
		{name: "not valid for another hour (nbf, the issuer's own signature)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{
				"nbf": time.Now().Add(time.Hour).Unix(), "exp": time.Now().Add(2 * time.Hour).Unix()}))}},
		{name: "wrong audience (the issuer's own signature)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{"aud": []string{"some-other-app"}}))}},
		{name: "no audience (the issuer's own signature)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{"aud": nil}))}},
		{name: "wrong issuer (the issuer's own key, another iss)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{"iss": "https://idp.attacker.example"}))}},
		{name: "no expiry (the issuer's own signature)",
			auth: []string{"Bearer " + devSigned(t, claims(up.AdminSub, up.AdminClaims(), jose{"exp": nil}))}},
		{name: "a genuine admin token in the query string (?access_token=), none in the header", anonymous: true,
			query: "&access_token=" + admin(t)},
		{name: "two Authorization headers: a forged admin token first, a genuine staff token second",
			auth: []string{"Bearer " + compact(es, adminClaims, es256(attacker)), "Bearer " + genuine}},
		{name: "Basic scheme carrying a genuine admin token", auth: []string{"Basic " + admin(t)}},
	}

	t.Run("control: the admin's genuine token opens a case over REST and gRPC", func(t *testing.T) {
		tok := admin(t)
		id := uniq("tok")
		ok(t, rest(t, http.MethodPost, createPath(org, id, id), tok, caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031")))
		mustExist(t, caseKey(org, id))
		mustExist(t, requestKey(org, up.AdminSub, id))
		id = uniq("tok")
		ctx, cancel := asToken(tok)
		defer cancel()
		if _, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).CreateCase(ctx, grpcCase(id)); err != nil {
			t.Fatalf("over gRPC: %v", err)
		}
		mustExist(t, caseKey(org, id))
	})

	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			id := uniq("tok")
			w := onCreate(t, org, id, up.AdminSub, id)
			var header []string
			for _, v := range a.auth {
				header = append(header, "Authorization", v)
			}
			r := rest(t, http.MethodPost, createPath(org, id, id)+a.query, "", caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031"), header...)
			tokenRefusal(t, r, a.anonymous)

			// The service verifies again: the same token straight at its gRPC port.
			var md []string
			for _, v := range a.auth {
				md = append(md, "authorization", v)
			}
			ctx, cancel := asToken("", md...)
			defer cancel()
			_, err := approvalv1.NewCaseServiceClient(sys.conns["approval"]).CreateCase(ctx, grpcCase(id))
			if status.Code(err) != codes.Unauthenticated {
				t.Fatalf("over gRPC: want Unauthenticated, got %v", err)
			}
			// The service may say which check refused (expired, signature not verified…),
			// never the library's internals, the keys it tried, or the token.
			msg := status.Convert(err).Message()
			for _, leak := range []string{"jwt.", "jws.", "jwk", "key(s)", "ecdsa", "failed to"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("over gRPC the refusal says %q", msg)
				}
			}
			for _, v := range a.auth {
				if tok := strings.TrimSpace(v[strings.IndexByte(v, ' ')+1:]); len(tok) > 20 && strings.Contains(msg, tok) {
					t.Fatalf("over gRPC the refusal echoes the token")
				}
			}
			t.Logf("gRPC answer: %s", msg)
			w.check(t)
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the attacker's jku key set was fetched %d times", n)
	}
}

// tokenRefusal asserts the gateway's 401 tells the attacker nothing: one of two fixed
// messages, an ErrorInfo without metadata, the Chinese message and the request id.
func tokenRefusal(t *testing.T, r reply, anonymous bool) {
	t.Helper()
	e := refused(t, r, http.StatusUnauthorized, "UNAUTHENTICATED")
	want := "invalid token: send a valid, unexpired bearer token"
	if anonymous {
		want = "authentication required: send a valid bearer token"
	}
	if e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
	var types []string
	for _, d := range e.details() {
		types = append(types, d.Type)
		if d.Type == "google.rpc.ErrorInfo" && len(d.Metadata) > 0 {
			t.Fatalf("the 401 carries metadata %v", d.Metadata)
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"google.rpc.ErrorInfo", "google.rpc.LocalizedMessage", "google.rpc.RequestInfo"}) {
		t.Fatalf("the 401 carries details %v: %s", types, r)
	}
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="fenquan"`) {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
}

// grpcCase is the control's case as a CreateCase request.
func grpcCase(id string) *approvalv1.CreateCaseRequest {
	return &approvalv1.CreateCaseRequest{
		Parent: "orgs/" + org, CaseId: id, RequestId: id,
		Case: &approvalv1.Case{
			Title: "攻击测试：养老服务补贴拨付", Flow: "orgs/" + org + "/powers/zjbf/flows/internal",
			A: person("feng-yu"), B: person("cao-yang"),
			Payload: &approvalv1.Payload{Amount: 120000, Fund: "ZX-SHBZ-2026", Indicator: "ZB-2026-SB-0031",
				Payee: &approvalv1.Payee{Name: mzj.name, Code: mzj.code}, Purpose: "攻击测试用例"},
		},
	}
}
