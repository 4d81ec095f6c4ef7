package attack

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// Publishing a policy set takes four eyes: one policy officer proposes, another
// approves. The proposer alone — approving, rolling back to the proposal, or with a
// second token of theirs — is refused and nothing is activated; a staff member can do
// neither. The control: a second officer approves and the set becomes active.
func TestPolicyFourEyes(t *testing.T) {
	set, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	// The proposal: the embedded set's rules and data, unchanged, with one Rego test of
	// its own in place of the set's 400 (a set must have tests; theirs take minutes under
	// the race detector, twice — on approval and when the decision point loads it — and
	// the publishing rules under attack do not depend on them). Its decisions are the
	// embedded set's, so the suite's other cases decide alike before and after the
	// control activates it.
	files := map[string][]byte{}
	for n, b := range set.Files {
		if !strings.HasSuffix(n, "_test.rego") {
			files[n] = b
		}
	}
	files["attack/attack_test.rego"] = []byte("# " + uniq("attack-suite") + ": the attack suite's proposal\n" +
		"package fenquan.attack_test\n\ntest_proposal if {\n\tdata.fenquan.main.decision\n}\n")
	proposal := map[string]any{"files": files, "note": "攻击测试：提议人单独发布"}

	// What publishing would write: any set, the sequence, the active pointer.
	watchPolicy := func(t *testing.T) *writes {
		return (&writes{}).key(pdp.ActiveKey(up.KeyRoot), up.KeyRoot+"/policy/seq").prefix(pdp.SetsPrefix(up.KeyRoot)).watch(t)
	}

	t.Run("a staff member proposes a set", func(t *testing.T) {
		w := watchPolicy(t)
		refused(t, rest(t, http.MethodPost, "/v1/policySets", staff(t, "feng-yu", "catalog-admin", "auditor"), proposal),
			http.StatusForbidden, "POLICY_DENIED", "api.permission")
		w.check(t)
	})

	// The administrator (a policy officer) proposes.
	proposer := admin(t)
	r := rest(t, http.MethodPost, "/v1/policySets", proposer, proposal)
	ps := ok(t, r)
	name, _ := ps["name"].(string)
	etag, _ := ps["etag"].(string)
	if ps["state"] != "STATE_PROPOSED" || ps["proposedBy"] != "sub:"+up.AdminSub {
		t.Fatalf("the proposal: %s", r)
	}
	mustExist(t, pdp.SetsPrefix(up.KeyRoot)+name[len("policySets/"):])

	t.Run("the proposer approves their own proposal", func(t *testing.T) {
		w := watchPolicy(t)
		e := refused(t, rest(t, http.MethodPost, "/v1/"+name+":approve", proposer, map[string]any{"etag": etag}),
			http.StatusBadRequest, "FOUR_EYES")
		t.Logf("%s", e.Message)
		w.check(t)
	})
	t.Run("the proposer approves with a second token of theirs (another session, only the policy-officer role)", func(t *testing.T) {
		w := watchPolicy(t)
		second := mint(t, up.AdminSub, auth.Claims{PlatformRoles: []string{"policy-officer"}})
		refused(t, rest(t, http.MethodPost, "/v1/"+name+":approve", second, map[string]any{"etag": etag}),
			http.StatusBadRequest, "FOUR_EYES")
		w.check(t)
	})
	t.Run("the proposer rolls back to their own proposal", func(t *testing.T) {
		w := watchPolicy(t)
		refused(t, rest(t, http.MethodPost, "/v1/"+name+":rollback", proposer, map[string]any{"reason": "回滚到我的提议"}),
			http.StatusBadRequest, "POLICY_SET_STATE")
		w.check(t)
	})
	t.Run("a staff member approves the proposal", func(t *testing.T) {
		w := watchPolicy(t)
		refused(t, rest(t, http.MethodPost, "/v1/"+name+":approve", staff(t, "feng-yu", "catalog-admin", "auditor", "discipline-officer"), map[string]any{"etag": etag}),
			http.StatusForbidden, "POLICY_DENIED", "api.permission")
		w.check(t)
	})
	t.Run("control: a second policy officer approves and the set becomes active", func(t *testing.T) {
		before := revision(t, pdp.ActiveKey(up.KeyRoot))
		w := watchPolicy(t)
		out := ok(t, rest(t, http.MethodPost, "/v1/"+name+":approve", officer(t), map[string]any{"etag": etag}))
		if d := w.diff(t); len(d) < 2 {
			t.Fatalf("the guard saw only %v of the approval", d)
		}
		if out["state"] != "STATE_ACTIVE" || out["approvedBy"] != "sub:officer-2" {
			t.Fatalf("approved: %v", out)
		}
		resp, err := sys.etcd.Get(t.Context(), pdp.ActiveKey(up.KeyRoot))
		if err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].ModRevision == before {
			t.Fatalf("the active pointer did not move: %v", err)
		}
		var a pdp.Activation
		if err := json.Unmarshal(resp.Kvs[0].Value, &a); err != nil || a.Set != name {
			t.Fatalf("the active pointer names %q: %v", a.Set, err)
		}
		// Every decision point swaps the set in within a second; the rest of the suite
		// decides with it (the same rules, one comment more).
		deadline := time.Now().Add(time.Minute)
		for sys.stack.PDP.Revision() != name {
			if time.Now().After(deadline) {
				t.Fatalf("the decision point still decides with %q (refused: %v)", sys.stack.PDP.Revision(), sys.stack.PDP.Refused())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
