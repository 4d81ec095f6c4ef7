package supervision_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/metadata"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/services/supervision"
)

// Two replicas on one store: one leads; the warnings are raised once; when the leader
// stops the other takes over and goes on from the checkpoint.
func TestLeaderElection(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	svcTok := e.token("supervision", "platform:service")
	second, err := supervision.New(ctx, supervision.Config{
		Etcd: e.cli, KeyRoot: e.root, Logger: e.log, PDP: e.p, Approval: e.apConn, Now: e.clock.now, Tick: -1, Batch: 3,
		Instance: "second", LeaseTTL: 2,
		CallCtx: func(ctx context.Context) context.Context {
			return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+svcTok)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	replicas := []*supervision.Service{e.svc, second}
	leaders := func() (n int, which *supervision.Service) {
		for _, r := range replicas {
			if r.Leader() {
				n, which = n+1, r
			}
		}
		return n, which
	}
	waitLeader := func() *supervision.Service {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if n, l := leaders(); n == 1 {
				return l
			} else if n > 1 {
				t.Fatal("two replicas lead at once")
			}
			if time.Now().After(deadline) {
				t.Fatal("no replica leads")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := waitLeader()
	// The other never leads while the first does.
	for range 20 {
		if n, _ := leaders(); n != 1 {
			t.Fatalf("%d leaders", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := e.open("feng", 600000)
	e.sign("feng", c, "zcjh")
	waitWarnings(t, e, "fast_sign", 1)

	// The leader stops: the other takes over and raises the next case's warning once.
	if first == e.svc {
		e.stopSvc()
	} else {
		cancel()
	}
	var survivor *supervision.Service
	for _, r := range replicas {
		if r != first {
			survivor = r
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !survivor.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("the other replica did not take over")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2 := e.open("feng", 700000)
	e.sign("feng", c2, "zcjh")
	waitWarnings(t, e, "fast_sign", 2)
	time.Sleep(300 * time.Millisecond)
	if got := storedWarnings(t, e, "fast_sign"); got != 2 {
		t.Fatalf("%d fast_sign warnings, want 2 (one per case)", got)
	}
}

// A replica whose lease is gone cannot write under its old leadership.
func TestFencedWriteAfterLeaseLoss(t *testing.T) {
	e := newEnv(t)
	sess, err := concurrency.NewSession(e.cli, concurrency.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	// Campaign beside the service's own replica: wait for the service to resign first so
	// this session becomes the leader, as a replica would.
	e.stopSvc()
	el := concurrency.NewElection(sess, e.svc.ElectionPrefix())
	cctx, ccancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer ccancel()
	if err := el.Campaign(cctx, "stale"); err != nil {
		t.Fatal(err)
	}
	key, rev := el.Key(), el.Rev()
	k := e.root + "/supervision/cz/warnings/fence-test"
	if _, err := e.svc.CommitFenced(e.ctx, key, rev, store.NewTxn().Put(k, []byte("x"))); err != nil {
		t.Fatalf("the leader's fenced write: %v", err)
	}
	// The lease is lost (revoked: as if it expired while the replica was paused).
	if _, err := e.cli.Revoke(e.ctx, sess.Lease()); err != nil {
		t.Fatal(err)
	}
	k2 := e.root + "/supervision/cz/warnings/fence-test-2"
	_, err = e.svc.CommitFenced(e.ctx, key, rev, store.NewTxn().Put(k2, []byte("y")))
	if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a write under a lost leadership: %v, want a failed guard", err)
	}
	r, err := e.cli.Get(e.ctx, k2)
	if err != nil || len(r.Kvs) != 0 {
		t.Fatalf("written anyway: %v %v", r, err)
	}
}

// waitWarnings waits until the store holds n warnings of rule (read from etcd: a stopped
// replica's cache no longer follows).
func waitWarnings(t *testing.T, e *env, rule string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for storedWarnings(t, e, rule) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s warnings, want %d", storedWarnings(t, e, rule), rule, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// storedWarnings counts the org's warnings of rule in etcd.
func storedWarnings(t *testing.T, e *env, rule string) int {
	t.Helper()
	r, err := e.cli.Get(e.ctx, e.root+"/supervision/cz/warnings/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kv := range r.Kvs {
		w := &supervisionv1.Warning{}
		if store.Unmarshal(kv.Value, w) == nil && w.Rule == rule {
			n++
		}
	}
	return n
}
