package audit

import (
	"testing"

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
