package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeySource provides the public keys of one issuer and says when they change, so verified
// tokens are forgotten on rotation or revocation — without a restart.
type KeySource interface {
	KeySet(ctx context.Context) (jwk.Set, error)
	OnChange(fn func())
}

// Refresher is a KeySource that can look for new keys now. The verifier asks when a
// token names a key id the set does not hold (the issuer may have rotated); the source
// bounds how often it actually reloads, so tokens with made-up key ids cost nothing.
type Refresher interface {
	Refresh(ctx context.Context)
}

type changeHooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *changeHooks) OnChange(fn func()) {
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

func (h *changeHooks) fire() {
	h.mu.Lock()
	fns := h.fns
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// StaticKeys is a fixed key set.
type StaticKeys struct {
	changeHooks
	Set jwk.Set
}

// KeySet returns the set.
func (s *StaticKeys) KeySet(context.Context) (jwk.Set, error) { return s.Set, nil }

// FileKeys reads a JWKS file and re-reads it when it changes (checked at most every
// couple of seconds), so keys rotate by replacing the file.
type FileKeys struct {
	changeHooks
	path string

	mu      sync.Mutex
	set     jwk.Set
	raw     []byte
	checked time.Time
}

// NewFileKeys loads a JWKS file.
func NewFileKeys(path string) (*FileKeys, error) {
	f := &FileKeys{path: path}
	if _, err := f.KeySet(context.Background()); err != nil {
		return nil, err
	}
	return f, nil
}

// fileCheckInterval is how often FileKeys looks at its file; fileRefreshInterval bounds
// the extra looks asked by Refresh.
const (
	fileCheckInterval   = 2 * time.Second
	fileRefreshInterval = time.Second
)

// Refresh makes the next KeySet read the file again, unless it was read in the last
// second.
func (f *FileKeys) Refresh(context.Context) {
	f.mu.Lock()
	if time.Since(f.checked) >= fileRefreshInterval {
		f.checked = time.Time{}
	}
	f.mu.Unlock()
}

// KeySet returns the current keys, reloading the file if it changed.
func (f *FileKeys) KeySet(context.Context) (jwk.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set != nil && time.Since(f.checked) < fileCheckInterval {
		return f.set, nil
	}
	f.checked = time.Now()
	raw, err := os.ReadFile(f.path)
	if err != nil {
		if f.set != nil {
			return f.set, nil // keep the last good keys while the file is being replaced
		}
		return nil, fmt.Errorf("auth: read JWKS %s: %w", f.path, err)
	}
	if f.set != nil && bytes.Equal(raw, f.raw) {
		return f.set, nil
	}
	set, err := parsePublicSet(raw)
	if err != nil {
		if f.set != nil {
			return f.set, nil
		}
		return nil, fmt.Errorf("auth: JWKS %s: %w", f.path, err)
	}
	changed := f.set != nil
	f.set, f.raw = set, raw
	if changed {
		go f.fire()
	}
	return set, nil
}

// URLKeys fetches a JWKS from a URL (or an OIDC issuer's discovery document), caches
// it, refreshes it periodically and when a token names a key it does not have.
type URLKeys struct {
	changeHooks
	url        string
	issuer     string
	client     *http.Client
	interval   time.Duration
	minRefresh time.Duration

	mu      sync.Mutex
	set     jwk.Set
	raw     []byte
	fetched time.Time
}

// Default intervals of URLKeys: the keys are fetched again every 5 minutes, and a token
// naming an unknown key fetches them at most every 30 seconds.
const (
	DefaultJWKSInterval   = 5 * time.Minute
	DefaultJWKSMinRefresh = 30 * time.Second
)

// NewURLKeys uses the JWKS at url.
func NewURLKeys(url string) *URLKeys {
	return &URLKeys{url: url, client: &http.Client{Timeout: 10 * time.Second},
		interval: DefaultJWKSInterval, minRefresh: DefaultJWKSMinRefresh}
}

// WithIntervals sets how often the keys are fetched again (interval) and the least time
// between two fetches asked by tokens naming unknown keys (minRefresh); zero keeps the
// default. Call it before the first use.
func (u *URLKeys) WithIntervals(interval, minRefresh time.Duration) *URLKeys {
	if interval > 0 {
		u.interval = interval
	}
	if minRefresh > 0 {
		u.minRefresh = minRefresh
	}
	return u
}

// NewOIDCKeys discovers the JWKS of an OIDC issuer from its
// /.well-known/openid-configuration.
func NewOIDCKeys(issuer string) *URLKeys {
	k := NewURLKeys("")
	k.issuer = strings.TrimSuffix(issuer, "/")
	return k
}

// KeySet returns the cached keys, fetching them when stale.
func (u *URLKeys) KeySet(ctx context.Context) (jwk.Set, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.set != nil && time.Since(u.fetched) < u.interval {
		return u.set, nil
	}
	if err := u.fetchLocked(ctx); err != nil {
		if u.set != nil {
			return u.set, nil
		}
		return nil, err
	}
	return u.set, nil
}

// Refresh fetches the keys now unless they were fetched less than the minimum refresh
// interval ago (30s by default): a token named an unknown key, the issuer may have
// rotated.
func (u *URLKeys) Refresh(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if time.Since(u.fetched) >= u.minRefresh {
		_ = u.fetchLocked(ctx)
	}
}

func (u *URLKeys) fetchLocked(ctx context.Context) error {
	u.fetched = time.Now()
	if u.url == "" && u.issuer != "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := u.getJSON(ctx, u.issuer+"/.well-known/openid-configuration", &doc); err != nil {
			return err
		}
		if strings.TrimSuffix(doc.Issuer, "/") != u.issuer || doc.JWKSURI == "" {
			return fmt.Errorf("auth: discovery of %s names issuer %q and jwks_uri %q", u.issuer, doc.Issuer, doc.JWKSURI)
		}
		u.url = doc.JWKSURI
	}
	raw, err := u.get(ctx, u.url)
	if err != nil {
		return err
	}
	if u.set != nil && bytes.Equal(raw, u.raw) {
		return nil
	}
	set, err := parsePublicSet(raw)
	if err != nil {
		return fmt.Errorf("auth: JWKS %s: %w", u.url, err)
	}
	changed := u.set != nil
	u.set, u.raw = set, raw
	if changed {
		go u.fire()
	}
	return nil
}

func (u *URLKeys) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: fetch %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

func (u *URLKeys) getJSON(ctx context.Context, url string, dst any) error {
	raw, err := u.get(ctx, url)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

// parsePublicSet parses a JWKS and refuses private or symmetric keys: a verifier needs
// public keys only, and a symmetric key in the set would open the HMAC confusion attack.
func parsePublicSet(raw []byte) (jwk.Set, error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, err
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("no keys")
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		switch k.(type) {
		case jwk.RSAPublicKey, jwk.ECDSAPublicKey, jwk.OKPPublicKey:
		default:
			return nil, fmt.Errorf("key %d is %s: only public RSA, EC and OKP keys are accepted", i, k.KeyType())
		}
	}
	return set, nil
}
