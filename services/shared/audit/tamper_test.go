package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/store"
)

// sealedLog writes six entries of org "a" sealed in three seals of two, and returns the
// entry ids in order.
func sealedLog(t *testing.T) (*env, []string) {
	e := newEnv(t)
	s, _ := e.startSealer("s1", Options{}, true)
	e.sealer = s
	for i := range 6 {
		e.put("a", fmt.Sprint("x", i), fmt.Sprint("value ", i), 0)
		if i%2 == 1 {
			e.flush(s)
		}
	}
	e.mustVerify("a", 6, 0)
	if n := len(e.seals("a")); n != 3 {
		t.Fatalf("%d seals, want 3", n)
	}
	return e, e.entryIDs("a", "e")
}

func (e *env) get(key string) []byte {
	e.t.Helper()
	resp, err := e.cli.Get(e.ctx, key)
	if err != nil || len(resp.Kvs) == 0 {
		e.t.Fatalf("get %s: %v", key, err)
	}
	return resp.Kvs[0].Value
}

func (e *env) setKey(key string, value []byte) {
	e.t.Helper()
	if _, err := e.cli.Put(e.ctx, key, string(value)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deleteKey(key string) {
	e.t.Helper()
	if _, err := e.cli.Delete(e.ctx, key); err != nil {
		e.t.Fatal(err)
	}
}

// expect verifies org "a" and requires the first problem to be kind at entry (if any) and
// seal, with a reason containing reason.
func (e *env) expect(kind, entry string, seal int64, reason string) {
	e.t.Helper()
	r := e.verify("a")
	p := r.First()
	if p == nil {
		e.t.Fatalf("the tampered log verifies")
	}
	if p.Kind != kind || p.Entry != entry || p.Seal != seal || !strings.Contains(p.Reason, reason) {
		e.t.Fatalf("first problem: %v\nwant %s of %q in seal %d (%q); all: %v", p, kind, entry, seal, reason, r.Problems)
	}
}

// TestVerifyNamesTheFirstProblem: every way of changing the log behind the services' back
// is reported, at the first entry or seal it touches.
func TestVerifyNamesTheFirstProblem(t *testing.T) {
	t.Run("edited", func(t *testing.T) {
		e, ids := sealedLog(t)
		k := e.entryKey("a", ids[2])
		e.setKey(k, []byte(strings.Replace(string(e.get(k)), `"feng"`, `"someone-else"`, 1)))
		e.expect(KindAltered, ids[2], 1, "edited")
	})
	t.Run("rewritten with the same bytes", func(t *testing.T) {
		e, ids := sealedLog(t)
		k := e.entryKey("a", ids[3])
		e.setKey(k, e.get(k))
		e.expect(KindAltered, ids[3], 1, "rewritten")
	})
	t.Run("deleted", func(t *testing.T) {
		e, ids := sealedLog(t)
		e.deleteKey(e.entryKey("a", ids[4]))
		e.expect(KindRemoved, ids[4], 2, "no longer stored")
	})
	t.Run("swapped", func(t *testing.T) {
		e, ids := sealedLog(t)
		k1, k2 := e.entryKey("a", ids[1]), e.entryKey("a", ids[3])
		v1, v2 := e.get(k1), e.get(k2)
		e.setKey(k1, v2)
		e.setKey(k2, v1)
		e.expect(KindAltered, ids[1], 0, "edited")
	})
	t.Run("resealed after an edit", func(t *testing.T) {
		// The sealer seals the edited version too; the first seal still tells.
		e, ids := sealedLog(t)
		k := e.entryKey("a", ids[0])
		e.setKey(k, []byte(`{"writes":[]}`))
		e.flush(e.sealer)
		e.expect(KindAltered, ids[0], 0, "edited")
	})
	t.Run("inserted behind the sealer", func(t *testing.T) {
		e, _ := sealedLog(t)
		fake := "e/" + store.NewAuditID(time.Now())
		e.setKey(e.entryKey("a", fake), []byte(`{"service":"svc","writes":[]}`))
		// The sealer missed it (a restored snapshot, a sealer bypassed): the next seal covers
		// its revision without it.
		term := e.takeOver()
		rev := e.put("a", "after", "v", 0)
		term.pending = map[string][]SealedEntry{}
		last := e.entryIDs("a", "e")
		id := last[len(last)-1]
		term.pending["a"] = []SealedEntry{{ID: id, Rev: rev, D: EntryDigest([]byte(e.entryKey("a", id)), e.get(e.entryKey("a", id)))}}
		term.seen = rev
		if err := term.sealAll(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.expect(KindInserted, fake, -1, "in no seal")
	})
	t.Run("seal edited", func(t *testing.T) {
		e, _ := sealedLog(t)
		k := SealKey(e.root, "a", 1)
		var s Seal
		if err := json.Unmarshal(e.get(k), &s); err != nil {
			t.Fatal(err)
		}
		s.Entries = s.Entries[1:]
		b, _ := json.Marshal(s)
		e.setKey(k, b)
		e.expect(KindSealAltered, "", 1, "hash does not match")
	})
	t.Run("seal edited, hash recomputed", func(t *testing.T) {
		e, ids := sealedLog(t)
		k := SealKey(e.root, "a", 1)
		var s Seal
		if err := json.Unmarshal(e.get(k), &s); err != nil {
			t.Fatal(err)
		}
		s.Entries = s.Entries[1:]
		s.Hash = s.ComputeHash()
		b, _ := json.Marshal(s)
		e.setKey(k, b)
		r := e.verify("a")
		if p := r.First(); p == nil || p.Kind != KindSealAltered || p.Seal != 1 {
			t.Fatalf("first problem: %v", p)
		}
		found := false
		for _, p := range r.Problems {
			found = found || (p.Kind == KindInserted && p.Entry == ids[2])
		}
		if !found {
			t.Fatalf("the entry the seal dropped is not reported: %v", r.Problems)
		}
	})
	t.Run("seal rewritten with the same bytes", func(t *testing.T) {
		e, _ := sealedLog(t)
		k := SealKey(e.root, "a", 0)
		e.setKey(k, e.get(k))
		e.expect(KindSealAltered, "", 0, "rewritten")
	})
	t.Run("seal deleted", func(t *testing.T) {
		e, _ := sealedLog(t)
		e.deleteKey(SealKey(e.root, "a", 1))
		e.expect(KindSealRemoved, "", 1, "missing")
	})
	t.Run("last seal deleted", func(t *testing.T) {
		e, _ := sealedLog(t)
		e.deleteKey(SealKey(e.root, "a", 2))
		e.expect(KindSealRemoved, "", 2, "the head names seal 2")
	})
	t.Run("last seal and head deleted", func(t *testing.T) {
		e, ids := sealedLog(t)
		e.deleteKey(SealKey(e.root, "a", 2))
		e.deleteKey(HeadKey(e.root, "a"))
		e.expect(KindSealRemoved, "", 2, "head is missing")
		r := e.verify("a")
		found := false
		for _, p := range r.Problems {
			found = found || (p.Kind == KindInserted && p.Entry == ids[4])
		}
		if !found {
			t.Fatalf("the entries of the removed seal are not reported: %v", r.Problems)
		}
	})
	t.Run("data written behind the service", func(t *testing.T) {
		e, _ := sealedLog(t)
		k := e.st.Keys.Key("a", "things", "x0")
		resp, err := e.cli.Put(e.ctx, k, "forged")
		if err != nil {
			t.Fatal(err)
		}
		e.put("a", "x0", "next", resp.Header.Revision)
		last := e.entryIDs("a", "e")
		e.expect(KindUnaudited, last[len(last)-1], -1, "its last audited write is at")
	})
}

// takeOver ends the test's sealers and returns a term of the test's own, leading.
func (e *env) takeOver() *term {
	e.t.Helper()
	s := NewSealer(e.cli, e.root, Options{})
	// Sealers started by the test end with it; the election waits for them, so end them.
	resp, err := e.cli.Get(e.ctx, LeaderPrefix(e.root), clientv3.WithPrefix())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if _, err := e.cli.Revoke(e.ctx, clientv3.LeaseID(kv.Lease)); err != nil {
			e.t.Fatal(err)
		}
	}
	t, end, err := s.campaign(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(end)
	if err := t.loadProgress(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	return t
}
