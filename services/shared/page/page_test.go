package page_test

import (
	"encoding/base64"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/page"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   int32
		want int
	}{
		{0, page.DefaultSize},
		{-1, page.DefaultSize},
		{math.MinInt32, page.DefaultSize},
		{1, 1},
		{50, 50},
		{999, 999},
		{page.MaxSize, page.MaxSize},
		{page.MaxSize + 1, page.MaxSize},
		{math.MaxInt32, page.MaxSize},
	} {
		if got := page.Size(tc.in); got != tc.want {
			t.Errorf("Size(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
	if page.DefaultSize != 50 || page.MaxSize != 1000 {
		t.Errorf("DefaultSize, MaxSize = %d, %d; want 50, 1000", page.DefaultSize, page.MaxSize)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	const prefix = "/fenquan/registry/cz/posts/"
	for _, tc := range []struct {
		name    string
		lastKey string
		query   string
	}{
		{"simple key", prefix + "p1", "parent=orgs/cz"},
		{"nested key", prefix + "p1/revisions/7", "parent=orgs/cz"},
		{"empty query", prefix + "p2", ""},
		{"non-ASCII query and key", prefix + "国库处", "filter=display_name:\"国库\""},
		{"key with separator byte", prefix + "a\x00b", "q"},
		{"key equal to prefix", prefix, "q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := page.Encode(prefix, tc.lastKey, tc.query)
			if tok == "" {
				t.Fatal("Encode returned an empty token, which means first page")
			}
			if strings.ContainsAny(tok, "+/=") {
				t.Errorf("token %q is not URL-safe unpadded base64", tok)
			}
			got, err := page.Decode(tok, prefix, tc.query)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got != tc.lastKey {
				t.Errorf("Decode = %q, want %q", got, tc.lastKey)
			}
		})
	}
}

// The token holds the key relative to the listed prefix: it neither reveals the key root
// nor depends on it.
func TestTokenIsRelativeToPrefix(t *testing.T) {
	const query = "parent=orgs/cz"
	tok := page.Encode("/fenquan/registry/cz/posts/", "/fenquan/registry/cz/posts/p1", query)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token %q is not base64url: %v", tok, err)
	}
	if strings.Contains(string(raw), "/fenquan/") {
		t.Errorf("token reveals the key root: %q", raw)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"/fenquan/registry/cz/posts/", "/fenquan/registry/cz/posts/p1"},
		{"/t/other-root/registry/cz/posts/", "/t/other-root/registry/cz/posts/p1"},
	} {
		got, err := page.Decode(tok, tc.prefix, query)
		if err != nil {
			t.Fatalf("Decode(prefix %q): %v", tc.prefix, err)
		}
		if got != tc.want {
			t.Errorf("Decode(prefix %q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func TestDecodeEmptyTokenIsFirstPage(t *testing.T) {
	got, err := page.Decode("", "/p/", "q")
	if err != nil || got != "" {
		t.Errorf("Decode(\"\") = %q, %v; want \"\", nil", got, err)
	}
}

func TestDecodeRefusesForeignAndMalformedTokens(t *testing.T) {
	const prefix = "/fenquan/registry/cz/posts/"
	valid := page.Encode(prefix, prefix+"p1", "parent=orgs/cz")
	for _, tc := range []struct {
		name  string
		token string
		query string
	}{
		{"token of another query", valid, "parent=orgs/other"},
		{"token of the same query with a filter added", valid, "parent=orgs/cz;filter=x"},
		{"not base64", "!!!not-a-token!!!", "parent=orgs/cz"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte("abc")), "parent=orgs/cz"},
		{"standard base64 alphabet", "+/+/", "parent=orgs/cz"},
		{"no separator", base64.RawURLEncoding.EncodeToString([]byte("p1")), "parent=orgs/cz"},
		{"forged fingerprint", base64.RawURLEncoding.EncodeToString([]byte("000000000000\x00p1")), "parent=orgs/cz"},
		{"truncated token", valid[:len(valid)/2], "parent=orgs/cz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := page.Decode(tc.token, prefix, tc.query)
			if err == nil {
				t.Fatalf("Decode(%q) = %q, want INVALID_ARGUMENT", tc.token, got)
			}
			if got != "" {
				t.Errorf("Decode returned key %q with the error", got)
			}
			if code := status.Code(err); code != codes.InvalidArgument {
				t.Fatalf("code = %v (%v), want InvalidArgument", code, err)
			}
			vs, ok := apierr.ViolationsOf(err)
			if !ok || len(vs) != 1 {
				t.Fatalf("violations = %v, want one", vs)
			}
			if vs[0].Field != "page_token" {
				t.Errorf("violation field = %q, want page_token", vs[0].Field)
			}
			if vs[0].Description == "" || vs[0].GetLocalizedMessage().GetLocale() != "zh-CN" || vs[0].GetLocalizedMessage().GetMessage() == "" {
				t.Errorf("violation = %v, want an English description and a zh-CN message", vs[0])
			}
		})
	}
}
