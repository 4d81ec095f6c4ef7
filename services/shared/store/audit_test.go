package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/store"
)

// entries reads the audit entries of org, oldest first.
func entries(t *testing.T, s *store.Store, org string) []store.AuditEntry {
	t.Helper()
	resp, err := s.Client.Get(context.Background(), store.AuditOrgPrefix(s.Keys.Root, org)+"e/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.AuditEntry, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		if kv.Version != 1 {
			t.Fatalf("entry %s was written %d times", kv.Key, kv.Version)
		}
		if err := json.Unmarshal(kv.Value, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestCommitAppendsAuditEntries: every commit appends one entry per org it writes, in the
// same transaction, naming who, why and what; a commit whose guard fails writes none.
func TestCommitAppendsAuditEntries(t *testing.T) {
	s := newStore(t)
	ctx := store.WithActor(store.WithDecision(context.Background(), store.Decision{ID: "d1", PolicyRevision: "r1"}),
		store.Actor{Subject: "feng", Person: "orgs/a/people/feng"})
	ka, kb := s.Keys.Key("a", "things", "x"), s.Keys.Key("b", "things", "y")
	rev, err := s.Commit(ctx, store.NewTxn().ExpectRevision(ka, 0, "x").Put(ka, []byte("1")).Put(kb, []byte("2")))
	if err != nil {
		t.Fatal(err)
	}
	ea, eb := entries(t, s, "a"), entries(t, s, "b")
	if len(ea) != 1 || len(eb) != 1 {
		t.Fatalf("entries: a %d, b %d; want one each", len(ea), len(eb))
	}
	e := ea[0]
	if e.Service != "svc" || e.Actor == nil || e.Actor.Person != "orgs/a/people/feng" || len(e.Decisions) != 1 ||
		e.Decisions[0] != (store.Decision{ID: "d1", PolicyRevision: "r1"}) || e.System != "" || e.Time.IsZero() {
		t.Fatalf("entry: %+v", e)
	}
	if len(e.Writes) != 1 || e.Writes[0].Key != ka || e.Writes[0].Op != "put" || e.Writes[0].After != store.ValueDigest([]byte("1")) ||
		e.Writes[0].PrevRev == nil || *e.Writes[0].PrevRev != 0 {
		t.Fatalf("writes of a: %+v", e.Writes)
	}
	if w := eb[0].Writes; len(w) != 1 || w[0].Key != kb || w[0].PrevRev != nil {
		t.Fatalf("writes of b (no guard): %+v", w)
	}

	// An update names the revision it replaced; a delete has no digest.
	sys := store.SystemWrite(context.Background(), "test: bookkeeping")
	if _, err := s.Commit(sys, store.NewTxn().ExpectRevision(ka, rev, "x").Delete(ka)); err != nil {
		t.Fatal(err)
	}
	ea = entries(t, s, "a")
	if len(ea) != 2 || ea[1].System != "test: bookkeeping" || ea[1].Decisions != nil || ea[1].Actor != nil {
		t.Fatalf("system entry: %+v", ea)
	}
	if w := ea[1].Writes; len(w) != 1 || w[0].Op != "delete" || w[0].After != "" || w[0].PrevRev == nil || *w[0].PrevRev != rev {
		t.Fatalf("delete: %+v", w)
	}

	// A failed guard writes nothing, entry included.
	_, err = s.Commit(sys, store.NewTxn().ExpectRevision(kb, 1, "y").Put(kb, []byte("3")))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if n := len(entries(t, s, "b")); n != 1 {
		t.Fatalf("the failed commit left an entry: %d entries", n)
	}

	// Keys of no org, and the policy keyspace, are the platform's.
	for key, want := range map[string]string{
		s.Keys.Root + "/policy/sets/00000001":  store.PlatformOrg,
		s.Keys.Root + "/policy/active":         store.PlatformOrg,
		s.Keys.Root + "/risk-versions/cz/r1/3": "cz",
		s.Keys.Root + "/svc-requests/cz/abc":   "cz",
		s.Keys.Root + "/svc/_/orgs/cz":         store.PlatformOrg,
		"/elsewhere/x":                         store.PlatformOrg,
	} {
		if got := store.AuditOrg(s.Keys.Root, key); got != want {
			t.Errorf("AuditOrg(%s) = %q, want %q", key, got, want)
		}
	}
}

// BenchmarkCommit measures what the audit entry costs a commit: a create of a 300-byte
// value guarded by its absence, with and without the entry. The two alternate, so load
// from elsewhere on the machine weighs on both alike; the metrics are each one's mean and
// their ratio.
func BenchmarkCommit(b *testing.B) {
	cli, root := etcdtest.Client(b), etcdtest.Root(b)
	plain := store.New(cli, store.Keyspace{Root: root, Service: "svc"})
	store.SetAudit(plain, false)
	audited := store.New(cli, store.Keyspace{Root: root, Service: "svc"})
	ctx := store.WithDecision(context.Background(), store.Decision{ID: "0000000000000000abcdef01", PolicyRevision: "embedded@0123456789ab"})
	val := make([]byte, 300)
	var spent [2]time.Duration
	n := 0
	for ; b.Loop(); n++ {
		for j := range 2 {
			which := (n + j) % 2 // alternate which goes first
			s := []*store.Store{plain, audited}[which]
			k := s.Keys.Key("cz", "things", fmt.Sprintf("%d-%08d", which, n))
			start := time.Now()
			if _, err := s.Commit(ctx, store.NewTxn().ExpectRevision(k, 0, "thing").Put(k, val)); err != nil {
				b.Fatal(err)
			}
			spent[which] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(n), "ns/plain")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(n), "ns/audited")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "audited/plain")
}
