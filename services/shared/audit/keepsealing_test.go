package audit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func opPut(k string, v []byte) clientv3.Op { return clientv3.OpPut(k, string(v)) }

// Tampering does not stop the sealer: after an entry is deleted, and after two are
// swapped in one transaction, later entries are still sealed.
func TestSealerKeepsSealingAfterTampering(t *testing.T) {
	e, ids := sealedLog(t)
	e.deleteKey(e.entryKey("a", ids[2]))
	e.put("a", "after-delete", "v", 0)
	e.flush(e.sealer)
	k1, k2 := e.entryKey("a", ids[3]), e.entryKey("a", ids[4])
	v1, v2 := e.get(k1), e.get(k2)
	if _, err := e.cli.Txn(e.ctx).Then(opPut(k1, v2), opPut(k2, v1)).Commit(); err != nil {
		t.Fatal(err)
	}
	rev := e.put("a", "after-swap", "v", 0)
	e.flush(e.sealer)
	r := e.verify("a")
	if r.LastSealedRev < rev {
		t.Fatalf("sealed through %d, the last entry is at %d: the sealer stopped (%v)", r.LastSealedRev, rev, r.Problems)
	}
	if r.OK() {
		t.Fatal("the tampered log verifies")
	}
}

// The same with the sealer running on its own clock (as in a service), not flushed by hand.
func TestRunningSealerKeepsSealingAfterSwap(t *testing.T) {
	e := newEnv(t)
	s, _ := e.startSealer("run", Options{Interval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}, true)
	_ = s
	var ids []string
	for i := range 6 {
		e.put("a", fmt.Sprint("x", i), fmt.Sprint("value ", i), 0)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	head, _ := e.cli.Get(ctx, "/head")
	if err := WaitSealed(ctx, e.cli, e.root, head.Header.Revision); err != nil {
		t.Fatalf("not sealed: %v", err)
	}
	ids = e.entryIDs("a", "e")
	// As the attack suite does: an edit that breaks the JSON, a delete, then a swap.
	e.setKey(e.entryKey("a", ids[0]), []byte(`{" "broken`))
	e.put("a", "z0", "v", 0)
	head, _ = e.cli.Get(ctx, "/head")
	if err := WaitSealed(ctx, e.cli, e.root, head.Header.Revision); err != nil {
		t.Fatalf("the running sealer stopped after an edit: %v", err)
	}
	e.deleteKey(e.entryKey("a", ids[1]))
	e.put("a", "z1", "v", 0)
	head, _ = e.cli.Get(ctx, "/head")
	if err := WaitSealed(ctx, e.cli, e.root, head.Header.Revision); err != nil {
		t.Fatalf("the running sealer stopped after a delete: %v", err)
	}
	k1, k2 := e.entryKey("a", ids[2]), e.entryKey("a", ids[3])
	v1, v2 := e.get(k1), e.get(k2)
	if _, err := e.cli.Txn(e.ctx).Then(opPut(k1, v2), opPut(k2, v1)).Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.put("a", fmt.Sprint("y", i), "v", 0)
	}
	head, _ = e.cli.Get(ctx, "/head")
	if err := WaitSealed(ctx, e.cli, e.root, head.Header.Revision); err != nil {
		t.Fatalf("the running sealer stopped after a swap: %v", err)
	}
}
