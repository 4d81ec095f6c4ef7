// Package page implements AIP-158 pagination over key-ordered caches: a page token is
// the last key returned (relative to the listed prefix) plus a fingerprint of the
// query, so pages stay stable while writes happen (no item present throughout is skipped
// or repeated) and a token cannot be replayed against a different filter.
package page

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

const (
	// DefaultSize is the page size when the request leaves it 0.
	DefaultSize = 50
	// MaxSize caps every page.
	MaxSize = 1000
)

// Size returns the effective page size.
func Size(n int32) int {
	switch {
	case n <= 0:
		return DefaultSize
	case n > MaxSize:
		return MaxSize
	}
	return int(n)
}

func fingerprint(query string) string {
	h := sha256.Sum256([]byte(query))
	return hex.EncodeToString(h[:6])
}

// Encode makes the token for the page after lastKey, which lies under prefix.
func Encode(prefix, lastKey, query string) string {
	raw := fingerprint(query) + "\x00" + strings.TrimPrefix(lastKey, prefix)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode returns the key to continue after ("" for the first page), or INVALID_ARGUMENT
// when the token is malformed or was issued for another query.
func Decode(token, prefix, query string) (string, error) {
	if token == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", bad()
	}
	fp, rest, ok := strings.Cut(string(raw), "\x00")
	if !ok || fp != fingerprint(query) {
		return "", bad()
	}
	return prefix + rest, nil
}

func bad() error {
	return apierr.Field("page_token", "page token is malformed or belongs to a different query; start again without it",
		"分页令牌无效或与查询条件不符，请不带令牌重新查询")
}
