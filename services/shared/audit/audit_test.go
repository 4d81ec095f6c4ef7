package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

type env struct {
	t    *testing.T
	ctx  context.Context
	cli  *clientv3.Client
	root string
	st   *store.Store
	// sealer is the one sealedLog started.
	sealer *Sealer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	return &env{t: t, ctx: ctx, cli: cli, root: root, st: store.New(cli, store.Keyspace{Root: root, Service: "svc"})}
}

// put commits value at thing id of org for a caller, guarded by the revision it expects
// (-1: no guard), and returns the commit's revision.
func (e *env) put(org, id, value string, expect int64) int64 {
	e.t.Helper()
	ctx := store.WithActor(store.WithDecision(e.ctx, store.Decision{ID: "d-" + id, PolicyRevision: "r1"}), store.Actor{Subject: "feng"})
	k := e.st.Keys.Key(org, "things", id)
	txn := store.NewTxn()
	if expect >= 0 {
		txn.ExpectRevision(k, expect, id)
	}
	rev, err := e.st.Commit(ctx, txn.Put(k, []byte(value)))
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// startSealer runs a sealer until the test ends (or stop) and waits for it to lead when
// lead is set.
func (e *env) startSealer(name string, o Options, lead bool) (s *Sealer, stop func()) {
	e.t.Helper()
	if o.Interval == 0 {
		o.Interval = time.Hour // tests seal with Flush
	}
	o.Name = name
	s = NewSealer(e.cli, e.root, o)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("sealer %s: %v", name, err)
			}
		})
	}
	e.t.Cleanup(stop)
	if lead {
		e.waitFor(name+" leads", s.Leading)
	}
	return s, stop
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) flush(s *Sealer) {
	e.t.Helper()
	if err := s.Flush(e.ctx); err != nil {
		e.t.Fatalf("flush: %v", err)
	}
}

func (e *env) verify(org string) *Report {
	e.t.Helper()
	r, err := Verify(e.ctx, e.cli, e.root, org)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) mustVerify(org string, sealed, pending int) *Report {
	e.t.Helper()
	r := e.verify(org)
	if !r.OK() {
		e.t.Fatalf("org %s does not verify: %v (of %d problems)", org, r.First(), len(r.Problems))
	}
	if r.Sealed != sealed || r.Pending != pending {
		e.t.Fatalf("org %s: %d sealed and %d pending, want %d and %d", org, r.Sealed, r.Pending, sealed, pending)
	}
	return r
}

func (e *env) seals(org string) []Seal {
	e.t.Helper()
	kvs, _, err := readPrefix(e.ctx, e.cli, SealPrefix(e.root, org), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []Seal
	for _, kv := range kvs {
		if strings.HasSuffix(string(kv.Key), "/head") {
			continue
		}
		var s Seal
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// entryIDs lists the ids of org's entries of kind ("e" or "d"), oldest first.
func (e *env) entryIDs(org, kind string) []string {
	e.t.Helper()
	resp, err := e.cli.Get(e.ctx, store.AuditOrgPrefix(e.root, org)+kind+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend))
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, kv := range resp.Kvs {
		ids = append(ids, kind+"/"+strings.TrimPrefix(string(kv.Key), store.AuditOrgPrefix(e.root, org)+kind+"/"))
	}
	return ids
}

func (e *env) entryKey(org, id string) string { return store.AuditOrgPrefix(e.root, org) + id }

// TestSealsInRevisionOrder: entries of two orgs written interleaved are sealed per org in
// revision order, in batches that never split a revision, and verify.
func TestSealsInRevisionOrder(t *testing.T) {
	e := newEnv(t)
	s, _ := e.startSealer("s1", Options{Batch: 3}, true)
	for i := range 5 {
		e.put("a", fmt.Sprint("x", i), "v", 0)
		e.put("b", fmt.Sprint("y", i), "v", 0)
	}
	// One transaction writing both orgs: one entry each, at one revision.
	k1, k2 := e.st.Keys.Key("a", "things", "both"), e.st.Keys.Key("b", "things", "both")
	both, err := e.st.Commit(store.SystemWrite(e.ctx, "test"), store.NewTxn().Put(k1, nil).Put(k2, nil))
	if err != nil {
		t.Fatal(err)
	}
	e.flush(s)
	for _, org := range []string{"a", "b"} {
		seals := e.seals(org)
		if len(seals) < 2 {
			t.Fatalf("org %s: %d seals, want batches of at most 3", org, len(seals))
		}
		var got []string
		var last int64
		for i, sl := range seals {
			if sl.Seq != int64(i) || (i > 0 && sl.FromRev != seals[i-1].ToRev) || len(sl.Entries) > 3 || len(sl.Entries) == 0 {
				t.Fatalf("org %s seal %d: %+v", org, i, sl)
			}
			for _, se := range sl.Entries {
				if se.Rev <= last {
					t.Fatalf("org %s: entries out of revision order in seal %d", org, sl.Seq)
				}
				last = se.Rev
				got = append(got, se.ID)
			}
		}
		if want := e.entryIDs(org, "e"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("org %s sealed %v, want %v", org, got, want)
		}
		if last != both {
			t.Fatalf("org %s: last sealed entry at %d, want the shared commit's %d", org, last, both)
		}
		r := e.mustVerify(org, 6, 0)
		if r.Seals != len(seals) || r.LastSealedRev < both || r.LastSealedTime.IsZero() {
			t.Fatalf("report: %+v", r)
		}
	}
	// New entries are pending until the next seal.
	e.put("a", "late", "v", 0)
	e.mustVerify("a", 6, 1)
	e.flush(s)
	e.mustVerify("a", 7, 0)
}

// TestDecisionsAreSealed: policy decision records are in their org's log, sealed with its
// changes; a batch written again (a retried flush) rewrites nothing.
func TestDecisionsAreSealed(t *testing.T) {
	e := newEnv(t)
	s, _ := e.startSealer("s1", Options{}, true)
	lctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	l := pdp.NewEtcdLog(lctx, e.cli, e.root, nil)
	if got, want := l.Prefix("a"), store.AuditOrgPrefix(e.root, "a")+"d/"; got != want {
		t.Fatalf("decision prefix %s, want %s", got, want)
	}
	rec := pdp.Record{ID: "0000000000000001aa", Time: time.Now(), Service: "svc", Action: "thing.put", Org: "a", Allowed: true}
	l.Record(e.ctx, rec)
	l.Record(e.ctx, pdp.Record{ID: "0000000000000002bb", Time: time.Now(), Service: "svc", Action: "orgs.list"})
	if err := l.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.put("a", "x", "v", 0)
	l.Record(e.ctx, rec) // the same record again
	if err := l.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	if ids := e.entryIDs("a", "d"); len(ids) != 1 || ids[0] != "d/"+rec.ID {
		t.Fatalf("decisions of a: %v", ids)
	}
	if ids := e.entryIDs(store.PlatformOrg, "d"); len(ids) != 1 {
		t.Fatalf("platform decisions: %v", ids)
	}
	e.flush(s)
	e.mustVerify("a", 2, 0)
	e.mustVerify(store.PlatformOrg, 1, 0)
	var buf bytes.Buffer
	if _, err := Export(e.ctx, e.cli, e.root, "a", Range{}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"kind":"decision"`) || !strings.Contains(lines[0], `"action":"thing.put"`) {
		t.Fatalf("export:\n%s", buf.String())
	}
}

// TestTwoSealers: two sealers run at once while entries are written and the leader stops
// halfway: one chain per org, every entry sealed once.
func TestTwoSealers(t *testing.T) {
	e := newEnv(t)
	s1, stop1 := e.startSealer("s1", Options{Interval: 20 * time.Millisecond, Batch: 5}, false)
	s2, stop2 := e.startSealer("s2", Options{Interval: 20 * time.Millisecond, Batch: 5}, false)
	e.waitFor("one of them leads", func() bool { return s1.Leading() || s2.Leading() })
	if s1.Leading() && s2.Leading() {
		t.Fatal("both sealers lead")
	}
	var wg sync.WaitGroup
	for _, org := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				e.put(org, fmt.Sprint("x", i), "v", 0)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	next := s2
	if s2.Leading() {
		stop2()
		next = s1
	} else {
		stop1()
	}
	wg.Wait()
	e.waitFor("the other leads", next.Leading)
	e.flush(next)
	for _, org := range []string{"a", "b"} {
		e.mustVerify(org, 40, 0)
		seen := map[string]bool{}
		for _, sl := range e.seals(org) {
			for _, se := range sl.Entries {
				if seen[se.ID] {
					t.Fatalf("org %s: %s sealed twice", org, se.ID)
				}
				seen[se.ID] = true
			}
		}
	}
}

// TestFencing: a sealer whose leadership ended (its session's lease revoked) cannot seal,
// and one that read a head another moved cannot fork the chain.
func TestFencing(t *testing.T) {
	e := newEnv(t)
	s := NewSealer(e.cli, e.root, Options{})
	tm, end, err := s.campaign(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	e.put("a", "x", "v", 0)
	if _, err := e.cli.Revoke(e.ctx, tm.sess.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := tm.catchUp(e.ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("seal after the lease was revoked: %v, want ErrFenced", err)
	}
	if seals := e.seals("a"); len(seals) != 0 {
		t.Fatalf("the fenced sealer wrote %d seals", len(seals))
	}

	// Another term leads and seals; the first, brought back to life with its stale head,
	// is refused.
	s2 := NewSealer(e.cli, e.root, Options{})
	t2, end2, err := s2.campaign(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end2()
	if err := t2.catchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.put("a", "y", "v", 0)
	stale := &term{s: s2, sess: t2.sess, key: t2.key, rev: t2.rev, heads: map[string]*headState{"a": {}}, pending: map[string][]SealedEntry{}}
	if err := stale.catchUp(e.ctx); err != nil {
		t.Fatal(err) // a refused seal stays pending, the head to be read again
	}
	if seals := e.seals("a"); len(seals) != 1 || len(stale.pending["a"]) == 0 || stale.heads["a"] != nil {
		t.Fatalf("sealing from a stale head was not refused: %d seals", len(seals))
	}
	if err := t2.catchUp(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.mustVerify("a", 2, 0)
}

// TestRestartResumes: a new sealer resumes where the last stopped; entries it sees again
// (its progress behind the heads, as after a crash between seal and progress) are not
// sealed again.
func TestRestartResumes(t *testing.T) {
	e := newEnv(t)
	s, stop := e.startSealer("s1", Options{}, true)
	for i := range 3 {
		e.put("a", fmt.Sprint("x", i), "v", 0)
	}
	e.flush(s)
	stop()
	if _, err := e.cli.Put(e.ctx, ProgressKey(e.root), "0"); err != nil {
		t.Fatal(err)
	}
	e.put("b", "y", "v", 0)
	s2, _ := e.startSealer("s2", Options{}, true)
	e.flush(s2)
	if n := len(e.seals("a")); n != 1 {
		t.Fatalf("org a has %d seals after the restart, want 1", n)
	}
	e.mustVerify("a", 3, 0)
	e.mustVerify("b", 1, 0)
	e.put("a", "z", "v", 0)
	e.flush(s2)
	if seals := e.seals("a"); len(seals) != 2 || len(seals[1].Entries) != 1 {
		t.Fatalf("org a: %+v", seals)
	}
	e.mustVerify("a", 4, 0)
}

// TestCompactedHistory: a sealer whose history was compacted away reads the log instead.
func TestCompactedHistory(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.put("a", fmt.Sprint("x", i), "v", 0)
	}
	rev := e.put("a", "last", "v", 0)
	if _, err := e.cli.Compact(e.ctx, rev); err != nil {
		t.Fatal(err)
	}
	s, _ := e.startSealer("s1", Options{}, true)
	e.put("a", "after", "v", 0)
	e.flush(s)
	e.mustVerify("a", 5, 0)
}

// TestExport: entries in revision order with their seal, the before digests derived from
// the key's previous write, and ranges.
func TestExport(t *testing.T) {
	e := newEnv(t)
	s, _ := e.startSealer("s1", Options{}, true)
	r1 := e.put("a", "x", "one", 0)
	e.put("a", "x", "two", r1)
	e.flush(s)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	e.put("a", "y", "three", -1)

	export := func(rng Range) []Line {
		t.Helper()
		var buf bytes.Buffer
		n, err := Export(e.ctx, e.cli, e.root, "a", rng, &buf)
		if err != nil {
			t.Fatal(err)
		}
		var out []Line
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var l Line
			if err := dec.Decode(&l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		if n != len(out) {
			t.Fatalf("Export said %d lines, wrote %d", n, len(out))
		}
		return out
	}
	ls := export(Range{})
	if len(ls) != 3 {
		t.Fatalf("%d lines, want 3", len(ls))
	}
	one, two := store.ValueDigest([]byte("one")), store.ValueDigest([]byte("two"))
	w0, w1 := ls[0].Writes[0], ls[1].Writes[0]
	if w0.Before != "" || w0.After != one || *w0.PrevRev != 0 || w1.Before != one || w1.After != two || *w1.PrevRev != r1 {
		t.Fatalf("writes: %+v %+v", w0, w1)
	}
	if ls[0].Seal == nil || *ls[0].Seal != 0 || ls[1].Seal == nil || ls[2].Seal != nil {
		t.Fatalf("seals: %v %v %v", ls[0].Seal, ls[1].Seal, ls[2].Seal)
	}
	if ls[0].Kind != "change" || ls[0].Service != "svc" || ls[0].Actor.Subject != "feng" || ls[0].Decisions[0].ID != "d-x" || ls[0].Rev != r1 {
		t.Fatalf("line: %+v", ls[0])
	}
	if got := export(Range{From: mid}); len(got) != 1 || got[0].ID != ls[2].ID {
		t.Fatalf("from %s: %+v", mid, got)
	}
	if got := export(Range{To: mid}); len(got) != 2 {
		t.Fatalf("to %s: %d lines", mid, len(got))
	}
	if got := export(Range{FromRev: ls[1].Rev, ToRev: ls[1].Rev}); len(got) != 1 || got[0].Writes[0].Before != one {
		t.Fatalf("revision range: %+v", got)
	}
}

// TestWaitSealed: with the sealer on its own schedule, a deletion behind its back is
// verified as soon as WaitSealed returns.
func TestWaitSealed(t *testing.T) {
	e := newEnv(t)
	e.startSealer("s1", Options{Interval: 20 * time.Millisecond}, true)
	rev := e.put("a", "x", "v", 0)
	e.put("a", "y", "v", 0)
	if err := WaitSealed(e.ctx, e.cli, e.root, rev); err != nil {
		t.Fatal(err)
	}
	e.waitFor("both sealed", func() bool { return e.verify("a").Sealed == 2 })
	ids := e.entryIDs("a", "e")
	resp, err := e.cli.Delete(e.ctx, e.entryKey("a", ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitSealed(e.ctx, e.cli, e.root, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if p := e.verify("a").First(); p == nil || p.Kind != KindRemoved || p.Entry != ids[0] {
		t.Fatalf("first problem: %v", p)
	}
}
