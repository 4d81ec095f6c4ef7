package ctl

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func numbered(n int, change map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if c, ok := change[i]; ok {
			if c != "" {
				b.WriteString(c + "\n")
			}
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// The expectations are what GNU diff -u prints for the same files.
func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		want string
	}{{
		name: "one change in the middle",
		a:    numbered(20, nil),
		b:    numbered(20, map[int]string{10: "line ten"}),
		want: "@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+line ten\n line 11\n line 12\n line 13\n",
	}, {
		name: "near changes share a hunk, far ones do not",
		a:    numbered(30, nil),
		b:    numbered(30, map[int]string{3: "", 8: "line eight", 25: "line 25\nline 25b"}),
		want: "@@ -1,11 +1,10 @@\n line 1\n line 2\n-line 3\n line 4\n line 5\n line 6\n line 7\n-line 8\n+line eight\n line 9\n line 10\n line 11\n" +
			"@@ -23,6 +22,7 @@\n line 23\n line 24\n line 25\n+line 25b\n line 26\n line 27\n line 28\n",
	}, {
		name: "into an empty file",
		a:    "",
		b:    "x\ny\n",
		want: "@@ -0,0 +1,2 @@\n+x\n+y\n",
	}, {
		name: "the final newline",
		a:    "a\nb",
		b:    "a\nb\n",
		want: "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			unifiedDiff(&out, "a", "b", []byte(tc.a), []byte(tc.b))
			want := "--- a\n+++ b\n" + tc.want
			if out.String() != want {
				t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}

func TestSetName(t *testing.T) {
	for in, want := range map[string]string{"7": "policySets/00000007", "00000007": "policySets/00000007", "policySets/00000007": "policySets/00000007", "12345678": "policySets/12345678"} {
		if got, err := setName(in); err != nil || got != want {
			t.Fatalf("setName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "x", "-1", "123456789", "policySets/", "sets/7", "7 "} {
		if got, err := setName(in); err == nil {
			t.Fatalf("setName(%q) = %q, want an error", in, got)
		}
	}
}
