package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/store"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	return store.New(etcdtest.Client(t), store.Keyspace{Root: etcdtest.Root(t), Service: "svc"})
}

func TestKeyspace(t *testing.T) {
	k := store.Keyspace{Root: "/fenquan", Service: "registry"}
	key := k.Key("cz", "flows", "p1", "f1")
	if key != "/fenquan/registry/cz/flows/p1/f1" {
		t.Fatalf("Key = %q", key)
	}
	org, coll, ids, ok := k.Parse(key)
	if !ok || org != "cz" || coll != "flows" || len(ids) != 2 || ids[0] != "p1" || ids[1] != "f1" {
		t.Fatalf("Parse = %q %q %q %v", org, coll, ids, ok)
	}
	if _, _, _, ok := k.Parse("/fenquan/other/cz/flows/x"); ok {
		t.Fatal("Parse accepted a key of another service")
	}
	if got := store.PrefixEnd("/a/"); got != "/a0" {
		t.Fatalf("PrefixEnd = %q", got)
	}
}

func TestCommitNeedsADecision(t *testing.T) {
	s := newStore(t)
	k := s.Keys.Key("o", "things", "a")
	if _, err := s.Commit(context.Background(), store.NewTxn().Put(k, []byte("1"))); !errors.Is(err, store.ErrNoDecision) {
		t.Fatalf("write without a decision: %v", err)
	}
	if _, err := s.Get(context.Background(), k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused write happened: %v", err)
	}
	ctx := store.WithDecision(context.Background(), store.Decision{ID: "d1", PolicyRevision: "r1"})
	if _, err := s.Commit(ctx, store.NewTxn().Put(k, []byte("1"))); err != nil {
		t.Fatal(err)
	}
	if ds := store.Decisions(store.WithDecision(ctx, store.Decision{ID: "d2"})); len(ds) != 2 || ds[1].ID != "d2" {
		t.Fatalf("Decisions = %v", ds)
	}
}

func TestCommitGuards(t *testing.T) {
	ctx := store.SystemWrite(context.Background(), "test")
	s := newStore(t)
	a := s.Keys.Key("o", "things", "a")
	b := s.Keys.Key("o", "things", "b")

	// Create a; creating it again is ErrAlreadyExists.
	rev, err := s.Commit(ctx, store.NewTxn().ExpectRevision(a, 0, "things/a").Put(a, []byte("1")))
	if err != nil {
		t.Fatal(err)
	}
	if s.LastWrite() != rev {
		t.Fatalf("LastWrite = %d, want %d", s.LastWrite(), rev)
	}
	_, err = s.Commit(ctx, store.NewTxn().ExpectRevision(a, 0, "things/a").Put(a, []byte("2")))
	if !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("second create: got %v, want ErrAlreadyExists", err)
	}

	// Update with the right revision works; with the old one it is ErrConflict.
	rev2, err := s.Commit(ctx, store.NewTxn().ExpectRevision(a, rev, "things/a").Put(a, []byte("2")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Commit(ctx, store.NewTxn().ExpectRevision(a, rev, "things/a").Put(a, []byte("3")))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: got %v, want ErrConflict", err)
	}
	var ge *store.GuardError
	if !errors.As(err, &ge) || ge.Guard.What != "things/a" {
		t.Fatalf("stale update: got %#v, want a GuardError on things/a", err)
	}

	// A missing reference names the field; nothing is written.
	_, err = s.Commit(ctx, store.NewTxn().
		ExpectRevision(b, 0, "things/b").
		ExpectExists(s.Keys.Key("o", "units", "nope"), "units/nope", "thing.unit").
		Put(b, []byte("x")))
	if !errors.Is(err, store.ErrMissingReference) || !errors.As(err, &ge) || ge.Guard.Field != "thing.unit" {
		t.Fatalf("missing reference: got %v", err)
	}
	if _, err := s.Get(ctx, b); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b was written despite the failed guard: %v", err)
	}

	// ExpectNone fails while something is under the prefix, naming it.
	refs := s.Keys.CollectionPrefix("o", "refs") + "things/a/"
	if _, err := s.Commit(ctx, store.NewTxn().Put(refs+"others/x", nil)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Commit(ctx, store.NewTxn().ExpectRevision(a, rev2, "things/a").ExpectNone(refs, "things/a").Delete(a))
	if !errors.Is(err, store.ErrReferenced) || err.Error() != "things/a: still referenced by others/x" {
		t.Fatalf("delete while referenced: got %v", err)
	}
}

// TestNoChangeSince: a guard on a prefix holds while nothing under it is written after
// the revision, and fails (retryably, naming the key) once a key is added or changed.
func TestNoChangeSince(t *testing.T) {
	ctx := store.SystemWrite(context.Background(), "test")
	s := newStore(t)
	coll := s.Keys.CollectionPrefix("o", "items")
	mark := s.Keys.Key("o", "marks", "m")
	rev, err := s.Commit(ctx, store.NewTxn().Put(coll+"a", []byte("1")).Put(coll+"b", []byte("1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, store.NewTxn().ExpectNoChangeSince(coll, rev, "items").Put(mark, []byte("1"))); err != nil {
		t.Fatalf("nothing changed since %d: %v", rev, err)
	}
	// A write elsewhere does not matter; a key added under the prefix does.
	if _, err := s.Commit(ctx, store.NewTxn().Put(coll+"c", []byte("1"))); err != nil {
		t.Fatal(err)
	}
	_, err = s.Commit(ctx, store.NewTxn().ExpectNoChangeSince(coll, rev, "items").Put(mark, []byte("2")))
	if _, ok := store.Retryable(err); !ok || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a key added since %d: got %v, want a retryable conflict", rev, err)
	}
	var ge *store.GuardError
	if !errors.As(err, &ge) || ge.Error() != "items: changed concurrently: c changed since revision "+strconv.FormatInt(rev, 10)+": retry" {
		t.Fatalf("the failure does not name the key: %v", err)
	}
	if kv, err := s.Get(ctx, mark); err != nil || string(kv.Value) != "1" {
		t.Fatalf("the guarded write happened: %v %v", kv, err)
	}
}

func TestEtags(t *testing.T) {
	if _, err := store.ParseEtag("abc"); !errors.Is(err, store.ErrInvalidEtag) {
		t.Fatalf("ParseEtag(abc) = %v", err)
	}
	if rev, err := store.ParseEtag(""); err != nil || rev != 0 {
		t.Fatalf("ParseEtag('') = %d, %v", rev, err)
	}
	if err := store.CheckEtag("5", 6, "x"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CheckEtag stale = %v", err)
	}
	if err := store.CheckEtag("", 6, "x"); err != nil {
		t.Fatalf("CheckEtag empty = %v", err)
	}
}
