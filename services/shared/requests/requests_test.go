package requests

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A request id is the caller's own: two callers using one id get two records.
func TestKeyIsTheCallers(t *testing.T) {
	l := New(nil, "/root", "approval")
	a, b := l.Key("czj", "alice", "r1"), l.Key("czj", "bob", "r1")
	if a == b {
		t.Fatalf("alice and bob share the record %s", a)
	}
	if !strings.HasPrefix(a, "/root/approval-requests/czj/") || a != l.Key("czj", "alice", "r1") {
		t.Fatalf("key %s", a)
	}
}

func TestDigestIsOfTheRequest(t *testing.T) {
	if Digest(wrapperspb.String("a")) != Digest(wrapperspb.String("a")) {
		t.Fatal("the same request digests differently")
	}
	if Digest(wrapperspb.String("a")) == Digest(wrapperspb.String("b")) {
		t.Fatal("two requests share a digest")
	}
}
