package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// DevTokens mints development tokens (issuer DevIssuer) with a key kept in a data folder.
// It exists for `fenquan up` and tests; a production verifier refuses its tokens.
type DevTokens struct {
	key      jwk.Key
	public   jwk.Set
	jwksPath string
	Audience string
}

// Grant is what a minted token grants in one org.
type Grant struct {
	Person string   `json:"person"`
	Roles  []string `json:"roles,omitempty"`
}

// Claims are the Fenquan claims of a minted token.
type Claims struct {
	Orgs          map[string]Grant `json:"orgs,omitempty"`
	PlatformRoles []string         `json:"platform_roles,omitempty"`
}

// OpenDevTokens loads the development signing key from dir, creating it (ES256) on first
// use, and writes the public key set to dir/dev-jwks.json for other processes to trust.
func OpenDevTokens(dir string) (*DevTokens, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, "dev-signing-key.json")
	var key jwk.Key
	raw, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		if key, err = jwk.ParseKey(raw); err != nil {
			return nil, fmt.Errorf("auth: dev key %s: %w", keyPath, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if key, err = newDevKey(); err != nil {
			return nil, err
		}
		b, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(keyPath, b, 0o600); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	return newDevTokens(key, filepath.Join(dir, "dev-jwks.json"))
}

// NewEphemeralDevTokens mints with a fresh key held in memory only (tests).
func NewEphemeralDevTokens() (*DevTokens, error) {
	key, err := newDevKey()
	if err != nil {
		return nil, err
	}
	return newDevTokens(key, "")
}

func newDevKey() (jwk.Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := jwk.Import(priv)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 8)
	_, _ = rand.Read(kid)
	_ = key.Set(jwk.KeyIDKey, "dev-"+hex.EncodeToString(kid))
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256())
	_ = key.Set(jwk.KeyUsageKey, "sig")
	return key, nil
}

func newDevTokens(key jwk.Key, jwksPath string) (*DevTokens, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	d := &DevTokens{key: key, public: set, jwksPath: jwksPath, Audience: DefaultAudience}
	if jwksPath != "" {
		b, err := json.MarshalIndent(set, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(jwksPath, b, 0o644); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// JWKSPath is the public key set file (empty for ephemeral keys).
func (d *DevTokens) JWKSPath() string { return d.jwksPath }

// Keys is a key source trusting these tokens.
func (d *DevTokens) Keys() KeySource { return &StaticKeys{Set: d.public} }

// IssuerConfig trusts these tokens.
func (d *DevTokens) IssuerConfig() IssuerConfig {
	return IssuerConfig{Issuer: DevIssuer, Audience: d.Audience, Keys: d.Keys()}
}

// Mint signs a token for subject with the given claims, valid for ttl.
func (d *DevTokens) Mint(subject string, c Claims, ttl time.Duration) (string, error) {
	now := time.Now()
	tok, err := jwt.NewBuilder().
		Issuer(DevIssuer).
		Audience([]string{d.Audience}).
		Subject(subject).
		IssuedAt(now).
		NotBefore(now.Add(-time.Minute)).
		Expiration(now.Add(ttl)).
		Claim("fenquan", c).
		Build()
	if err != nil {
		return "", err
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), d.key))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// SignClaims signs an arbitrary claim set with the development key (tests of the
// verifier's refusals need tokens that Mint would never produce).
func (d *DevTokens) SignClaims(claims map[string]any) (string, error) {
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", err
		}
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), d.key))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// IsDevelopmentToken reports whether tok claims the development issuer. It verifies
// nothing: it lets a production configuration refuse, at start, a development token
// given as the service's own.
func IsDevelopmentToken(tok string) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	return json.Unmarshal(pb, &c) == nil && c.Iss == DevIssuer
}
