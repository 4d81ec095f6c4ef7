package attack

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/audit"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// An operator with etcd access edits, deletes or swaps audit entries behind the service's
// back: `fenquanctl audit verify` (audit.Verify) must name each. The cases run in order on
// the demo org's log: first the control (the untouched log verifies), then each tampering,
// each on entries the sealer has sealed, each asserted to be reported at the entry it hit.
// They damage the log for good; nothing else in the suite verifies it.
func TestAuditTampering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Some audited actions of our own, and the log sealed through them.
	openCase(t, "feng-yu", caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031"))
	sealed := func() *audit.Report {
		t.Helper()
		// Wait for the sealer to pass the org's newest entry (an edited or swapped entry is
		// a new one at its new revision). Not the store's head revision: the sealer's own
		// writes move that, and an idle system gives it nothing more to seal past them.
		last, err := sys.etcd.Get(ctx, store.AuditOrgPrefix(up.KeyRoot, org), clientv3.WithPrefix(), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(1))
		if err != nil || len(last.Kvs) == 0 {
			t.Fatalf("no audit entries: %v", err)
		}
		rev := last.Kvs[0].ModRevision
		t0 := time.Now()
		if err := audit.WaitSealed(ctx, sys.etcd, up.KeyRoot, rev); err != nil {
			t.Fatalf("the log was not sealed through %d: %v", rev, err)
		}
		t.Logf("sealed through %d in %s", rev, time.Since(t0).Round(time.Millisecond))
		rep, err := audit.Verify(ctx, sys.etcd, up.KeyRoot, org)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := sealed()
	if !rep.OK() {
		t.Fatalf("control: the untouched log does not verify: %v", rep.First())
	}
	if rep.Sealed < 10 {
		t.Fatalf("control: only %d entries sealed", rep.Sealed)
	}
	// Auditors verify over REST (the api policy decides: audit.read); staff may not.
	auditor := staff(t, "he-wen", "auditor")
	if r := ok(t, rest(t, http.MethodGet, "/v1/orgs/"+org+"/audit:verify", auditor, nil)); r["ok"] != true {
		t.Fatalf("control: verify over REST: %v", r)
	}
	refused(t, rest(t, http.MethodGet, "/v1/orgs/"+org+"/audit:verify", staff(t, "feng-yu"), nil), http.StatusForbidden, "POLICY_DENIED", "api.permission")
	entries := sealedEntries(t, ctx, rep.LastSealedRev)
	if len(entries) < 6 {
		t.Fatalf("only %d sealed change entries", len(entries))
	}
	id := func(kv *mvccpb.KeyValue) string {
		return strings.TrimPrefix(string(kv.Key), store.AuditOrgPrefix(up.KeyRoot, org))
	}
	reported := func(t *testing.T, kind, entry string) {
		t.Helper()
		rep := sealed()
		for _, p := range rep.Problems {
			if p.Entry == entry && (kind == "" || p.Kind == kind) {
				return
			}
		}
		t.Fatalf("verify did not report %s at %s; it reported %v", kind, entry, rep.Problems)
	}

	t.Run("an audit entry edited in etcd behind the service's back, detected by verify", func(t *testing.T) {
		kv := entries[len(entries)/3]
		edited := strings.Replace(string(kv.Value), `"`, `" `, 1) // any change of the bytes
		if _, err := sys.etcd.Put(ctx, string(kv.Key), edited); err != nil {
			t.Fatal(err)
		}
		reported(t, "altered", id(kv))
		// The auditor sees it over REST too, and the export still reads the whole log.
		r := ok(t, rest(t, http.MethodGet, "/v1/orgs/"+org+"/audit:verify", auditor, nil))
		if r["ok"] == true {
			t.Fatalf("verify over REST passes a tampered log: %v", r)
		}
		ex := rest(t, http.MethodGet, "/v1/orgs/"+org+"/audit:export", auditor, nil)
		if ex.status != http.StatusOK || !strings.Contains(string(ex.body), `"writes"`) {
			t.Fatalf("export over REST: %s", ex)
		}
	})
	t.Run("an audit entry deleted in etcd behind the service's back, detected by verify", func(t *testing.T) {
		kv := entries[len(entries)/2]
		if _, err := sys.etcd.Delete(ctx, string(kv.Key)); err != nil {
			t.Fatal(err)
		}
		reported(t, "removed", id(kv))
	})
	t.Run("two audit entries swapped in etcd behind the service's back, detected by verify", func(t *testing.T) {
		a, b := entries[2*len(entries)/3], entries[2*len(entries)/3+1]
		if _, err := sys.etcd.Txn(ctx).Then(
			clientv3.OpPut(string(a.Key), string(b.Value)), clientv3.OpPut(string(b.Key), string(a.Value)),
		).Commit(); err != nil {
			t.Fatal(err)
		}
		reported(t, "", id(a))
		reported(t, "", id(b))
	})
}

// sealedEntries are the org's change entries sealed (mod revision ≤ through), in log order.
func sealedEntries(t *testing.T, ctx context.Context, through int64) []*mvccpb.KeyValue {
	t.Helper()
	r, err := sys.etcd.Get(ctx, store.AuditOrgPrefix(up.KeyRoot, org)+"e/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var out []*mvccpb.KeyValue
	for _, kv := range r.Kvs {
		if kv.ModRevision <= through {
			out = append(out, kv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ModRevision < out[j].ModRevision })
	return out
}
