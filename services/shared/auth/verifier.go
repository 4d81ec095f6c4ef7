package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// DevIssuer is the issuer of development tokens. A production verifier refuses it.
const DevIssuer = "urn:fenquan:dev-issuer"

// DefaultAudience is the audience Fenquan tokens are minted for.
const DefaultAudience = "fenquan"

// DefaultAlgorithms are the signature algorithms accepted unless configured otherwise:
// asymmetric only, so a public key can never be used as an HMAC secret.
var DefaultAlgorithms = []string{"ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// ClaimMap says where the principal's facts are in the token.
type ClaimMap struct {
	// Structured is a claim holding {"orgs": {"<org>": {"person": "...", "roles": [...]}},
	// "platform_roles": [...]}. Default "fenquan". Used when present in the token.
	Structured string
	// For identity providers that only emit flat claims: the claim holding the person id
	// (e.g. "preferred_username"), the org id (a string or a list), the roles (a list,
	// applied to every listed org), and the platform roles.
	PersonClaim, OrgClaim, RolesClaim, PlatformRolesClaim string
}

// IssuerConfig trusts one token issuer.
type IssuerConfig struct {
	// Issuer must equal the token's "iss".
	Issuer string
	// Audience must be among the token's "aud". Default DefaultAudience.
	Audience string
	// Keys verifies the signatures.
	Keys KeySource
}

// Config configures a Verifier.
type Config struct {
	Issuers []IssuerConfig
	// Algorithms allowed in the token header. Default DefaultAlgorithms. "none" and HMAC
	// algorithms are refused even if listed.
	Algorithms []string
	// Skew tolerated on exp/nbf/iat. Default 30s.
	Skew   time.Duration
	Claims ClaimMap
	// Production refuses the development issuer outright.
	Production bool
	// CacheSize bounds the verified-token cache. Default 50000.
	CacheSize int
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

// Errors returned by Verify. All of them mean UNAUTHENTICATED.
var (
	ErrNoToken       = errors.New("no bearer token")
	ErrMalformed     = errors.New("malformed token")
	ErrAlgorithm     = errors.New("token algorithm not allowed")
	ErrUnknownIssuer = errors.New("token issuer not trusted")
	ErrInvalid       = errors.New("token invalid")
)

// refusal is a refused token whose detail (a library's error: key types, URLs, network
// errors) is for the logs; the caller is told the kind and a short reason (publicReason).
type refusal struct {
	kind   error
	reason string
	detail error
}

func (r *refusal) Error() string {
	s := r.kind.Error() + ": " + r.reason
	if r.detail != nil {
		s += " (" + r.detail.Error() + ")"
	}
	return s
}

func (r *refusal) Unwrap() error { return r.kind }

// publicReason is what a caller is told of a refused token: the verifier's reason without
// the details of a library's or a key fetch's error.
func publicReason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.kind.Error() + ": " + r.reason
	}
	return err.Error()
}

// jwtReason names why jwx refused a token, in the caller's terms.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "not valid yet"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "not issued for this audience"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "issuer mismatch"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "issued in the future"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "a required claim (exp, sub) is missing"
	case errors.Is(err, jws.VerifyError()), errors.Is(err, jws.VerificationError()):
		return "signature not verified"
	}
	return "not a valid signed token"
}

// jwsSegment decodes a segment of a compact JWS. Strict: the unused bits of the last character
// must be zero, so one token has one spelling (no variants of an accepted token).
var jwsSegment = base64.RawURLEncoding.Strict()

// Verifier checks tokens and maps them to principals. Safe for concurrent use.
type Verifier struct {
	cfg     Config
	algs    map[string]bool
	issuers map[string]*IssuerConfig

	mu    sync.RWMutex
	cache map[[32]byte]*Principal
}

// NewVerifier validates the configuration and returns a Verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("auth: no trusted issuer configured")
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	if cfg.Skew == 0 {
		cfg.Skew = 30 * time.Second
	}
	if cfg.Claims.Structured == "" {
		cfg.Claims.Structured = "fenquan"
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 50000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, algs: map[string]bool{}, issuers: map[string]*IssuerConfig{}, cache: map[[32]byte]*Principal{}}
	for _, a := range cfg.Algorithms {
		if a == "none" || strings.HasPrefix(a, "HS") {
			return nil, fmt.Errorf("auth: algorithm %q is not allowed (asymmetric algorithms only)", a)
		}
		v.algs[a] = true
	}
	for i := range cfg.Issuers {
		ic := cfg.Issuers[i]
		if ic.Issuer == "" || ic.Keys == nil {
			return nil, fmt.Errorf("auth: issuer %d needs an issuer and a key source", i)
		}
		if cfg.Production && ic.Issuer == DevIssuer {
			return nil, errors.New("auth: the development issuer cannot be trusted in production")
		}
		if ic.Audience == "" {
			ic.Audience = DefaultAudience
		}
		v.issuers[ic.Issuer] = &ic
		ic.Keys.OnChange(v.flush)
	}
	return v, nil
}

// flush forgets every verified token: a key set changed (rotation or revocation).
func (v *Verifier) flush() {
	v.mu.Lock()
	v.cache = map[[32]byte]*Principal{}
	v.mu.Unlock()
}

// Verify checks a compact JWS token and returns its principal.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	now := v.cfg.Now()
	sum := sha256.Sum256([]byte(token))
	v.mu.RLock()
	p, ok := v.cache[sum]
	v.mu.RUnlock()
	if ok {
		if now.Before(p.Expiry.Add(v.cfg.Skew)) {
			return p, nil
		}
		v.mu.Lock()
		delete(v.cache, sum)
		v.mu.Unlock()
		return nil, fmt.Errorf("%w: expired", ErrInvalid)
	}

	p, err := v.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.cache) >= v.cfg.CacheSize {
		// Drop about a tenth, arbitrary entries (map order): cheap and bounded.
		n := v.cfg.CacheSize / 10
		for k := range v.cache {
			delete(v.cache, k)
			if n--; n <= 0 {
				break
			}
		}
	}
	v.cache[sum] = p
	v.mu.Unlock()
	return p, nil
}

type header struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*Principal, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] == "" {
		return nil, fmt.Errorf("%w: not a signed compact JWT", ErrMalformed)
	}
	hb, err := jwsSegment.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header", ErrMalformed)
	}
	if _, err := jwsSegment.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header", ErrMalformed)
	}
	if !v.algs[h.Alg] {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	if len(h.Crit) > 0 {
		return nil, fmt.Errorf("%w: unsupported critical headers", ErrMalformed)
	}
	pb, err := jwsSegment.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload", ErrMalformed)
	}
	var unverified struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(pb, &unverified); err != nil {
		return nil, fmt.Errorf("%w: payload", ErrMalformed)
	}
	if v.cfg.Production && unverified.Iss == DevIssuer {
		return nil, fmt.Errorf("%w: development tokens are refused in production", ErrUnknownIssuer)
	}
	ic, ok := v.issuers[unverified.Iss]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownIssuer, unverified.Iss)
	}
	set, err := ic.Keys.KeySet(ctx)
	if err != nil {
		return nil, &refusal{ErrInvalid, "the issuer's keys are unavailable", fmt.Errorf("%s: %w", ic.Issuer, err)}
	}
	if h.Kid != "" {
		if _, ok := set.LookupKeyID(h.Kid); !ok {
			// A key the set does not hold: the issuer may have rotated. The source fetches
			// again at most at its own bounded rate, so unknown kids cannot make it hammer
			// the issuer.
			if r, ok := ic.Keys.(Refresher); ok {
				r.Refresh(ctx)
				if set, err = ic.Keys.KeySet(ctx); err != nil {
					return nil, &refusal{ErrInvalid, "the issuer's keys are unavailable", fmt.Errorf("%s: %w", ic.Issuer, err)}
				}
			}
		}
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeySet(set, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(true)),
		jwt.WithValidate(true),
		jwt.WithIssuer(ic.Issuer),
		jwt.WithAudience(ic.Audience),
		jwt.WithAcceptableSkew(v.cfg.Skew),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("sub"),
	)
	if err != nil {
		return nil, &refusal{ErrInvalid, jwtReason(err), err}
	}
	// jwx picked a key by kid and checked its algorithm; make sure it is the one the
	// header named and that it is still on our list.
	if alg, ok := keyAlg(set, h.Kid); ok && alg != h.Alg {
		return nil, fmt.Errorf("%w: header says %s, key is %s", ErrAlgorithm, h.Alg, alg)
	}
	return v.principal(tok, token, pb)
}

// keyAlg returns the algorithm the key set pins for kid, if it pins one.
func keyAlg(set jwk.Set, kid string) (string, bool) {
	if kid == "" {
		return "", false
	}
	k, ok := set.LookupKeyID(kid)
	if !ok {
		return "", false
	}
	a, ok := k.Algorithm()
	if !ok {
		return "", false
	}
	return a.String(), true
}

func (v *Verifier) principal(tok jwt.Token, raw string, payload []byte) (*Principal, error) {
	sub, _ := tok.Subject()
	iss, _ := tok.Issuer()
	exp, _ := tok.Expiration()
	p := &Principal{Subject: sub, Issuer: iss, Expiry: exp, Token: raw, Orgs: map[string]OrgGrant{}}

	var claims map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims", ErrMalformed)
	}
	cm := v.cfg.Claims
	if rawS, ok := claims[cm.Structured]; ok {
		var s struct {
			Orgs map[string]struct {
				Person string   `json:"person"`
				Roles  []string `json:"roles"`
			} `json:"orgs"`
			PlatformRoles []string `json:"platform_roles"`
		}
		if err := json.Unmarshal(rawS, &s); err != nil {
			return nil, &refusal{ErrMalformed, fmt.Sprintf("claim %q is not {\"orgs\": {org: {\"person\", \"roles\"}}, \"platform_roles\": [...]}", cm.Structured), err}
		}
		for org, g := range s.Orgs {
			p.Orgs[org] = OrgGrant{Person: g.Person, Roles: slices.Clone(g.Roles)}
		}
		p.PlatformRoles = s.PlatformRoles
		return p, nil
	}
	if cm.OrgClaim == "" {
		return p, nil // authenticated, granted nothing
	}
	person := sub
	if cm.PersonClaim != "" {
		if err := stringClaim(claims, cm.PersonClaim, &person); err != nil {
			return nil, err
		}
	}
	orgs, err := listClaim(claims, cm.OrgClaim)
	if err != nil {
		return nil, err
	}
	var roles []string
	if cm.RolesClaim != "" {
		if roles, err = listClaim(claims, cm.RolesClaim); err != nil {
			return nil, err
		}
	}
	for _, org := range orgs {
		p.Orgs[org] = OrgGrant{Person: person, Roles: slices.Clone(roles)}
	}
	if cm.PlatformRolesClaim != "" {
		if p.PlatformRoles, err = listClaim(claims, cm.PlatformRolesClaim); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func stringClaim(claims map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := claims[name]
	if !ok {
		return fmt.Errorf("%w: claim %q missing", ErrMalformed, name)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: claim %q is not a string", ErrMalformed, name)
	}
	return nil
}

// listClaim reads a claim that is a string or a list of strings.
func listClaim(claims map[string]json.RawMessage, name string) ([]string, error) {
	raw, ok := claims[name]
	if !ok {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("%w: claim %q is not a string or a list of strings", ErrMalformed, name)
	}
	return many, nil
}
