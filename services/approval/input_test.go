package approval

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"

	"github.com/fenquan/fenquan/policies"
)

// returnedCase is a case 韩冰 (han) reviewed at 主管责任人 (zgzr) before 分管处长 returned it
// to zgzr, where 曹阳 (cao) reviewed it again on the same payload version.
func returnedCase() *approvalv1.Case {
	return &approvalv1.Case{
		Name: "orgs/cz/cases/c-1", Applicant: pn("feng"),
		Payload: &approvalv1.Payload{Version: 1, Amount: 1000},
		Signatures: []*approvalv1.Signature{
			{Step: "zcjh", Person: pn("feng"), PayloadVersion: 1, RankLevel: 1},
			{Step: "zgzr", Person: pn("han"), PayloadVersion: 1, RankLevel: 2, Voided: true, VoidReason: "退回：请补充用款计划依据"},
			{Step: "zgzr", Person: pn("cao"), OnBehalfOf: pn("he"), PayloadVersion: 1, RankLevel: 2},
		},
	}
}

func pn(id string) string { return "orgs/cz/people/" + id }

// The decision input carries every signature of the case, the voided ones too, flagged
// and with the payload version they were made on: the separation rules count them.
func TestSignaturesInputKeepsVoided(t *testing.T) {
	got := signaturesInput(returnedCase())
	want := []any{
		map[string]any{"step": "zcjh", "person": "feng", "on_behalf_of": "", "payload_version": 1, "rank_level": 1, "voided": false},
		map[string]any{"step": "zgzr", "person": "han", "on_behalf_of": "", "payload_version": 1, "rank_level": 2, "voided": true},
		map[string]any{"step": "zgzr", "person": "cao", "on_behalf_of": "he", "payload_version": 1, "rank_level": 2, "voided": false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("signatures input\n got  %v\n want %v", got, want)
	}
	if b, err := json.Marshal(got); err != nil || !json.Valid(b) {
		t.Fatalf("signatures input JSON %s, %v", b, err)
	}
	if n := len(signaturesInput(&approvalv1.Case{})); n != 0 {
		t.Fatalf("%d signatures for a case without any", n)
	}
}

// On the embedded policies: 韩冰, whose 主管责任人 signature the return voided, may not sign
// 分管处长 (sod.separated_steps), while 刘 (liu), who never signed the case, is not refused
// by it; the voided signature completes no level of the chain (signoff.level_skipped).
func TestVoidedSignatureInDecision(t *testing.T) {
	p := pdp.New(pdp.Config{Service: "input-test"})
	set, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	jbshsp := map[string]any{"id": "jbshsp", "kind": "INCOMPATIBLE_DUTIES", "name": "经办、审核与审批分离", "steps": []any{"zcjh", "zgzr", "fgcz", "cz"}}
	rules := func(actor string, c *approvalv1.Case) []string {
		t.Helper()
		in := (*Service)(nil).baseInput("cz", "2026-11-16", actor, "")
		in["case"] = map[string]any{
			"id": "c-1", "power": "zjbf", "category": "POWER_CATEGORY_INTERNAL_FINANCE",
			"applicant": "feng", "a": "feng", "b": "cao", "amount": 1000.0, "fund": "", "indicator": "",
			"payee": payeeInput(&approvalv1.Payee{Name: "某某公司", Code: "91420100MA4K"}), "payload_version": 1,
			"emergency":        map[string]any{"active": false, "justification": "", "joint_review_passed": false},
			"indicator_set_by": []any{}, "signatures": signaturesInput(c),
			"path_rank_levels": []any{1, 2}, "collective": map[string]any{"passed": false, "payload_version": 0},
		}
		in["step"] = map[string]any{
			"id": "fgcz", "duty": "审批", "entry": false, "last": false, "post": "", "rank_level": 3, "unit": "sbc",
			"control": "MANAGE", "payment": false, "collective_decision": false,
			"separations": []any{jbshsp}, "added_signers": []any{},
		}
		in["power"] = map[string]any{"legal_basis": ""}
		d, err := p.Decide(context.Background(), "approval.sign", map[string]any(in))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range d.Violations {
			out = append(out, v.Rule)
		}
		return out
	}

	c := returnedCase()
	if got := rules("han", c); !slices.Contains(got, "sod.separated_steps") || slices.Contains(got, "signoff.level_skipped") {
		t.Errorf("han at fgcz after his zgzr signature was voided: %v, want sod.separated_steps and no signoff.level_skipped", got)
	}
	if got := rules("liu", c); slices.Contains(got, "sod.separated_steps") {
		t.Errorf("liu at fgcz: %v, want no sod.separated_steps", got)
	}
	// Nobody signed zgzr again: the voided signature leaves the level unsigned.
	c.Signatures = c.Signatures[:2]
	if got := rules("liu", c); !slices.Contains(got, "signoff.level_skipped") {
		t.Errorf("liu at fgcz with zgzr signed only by a voided signature: %v, want signoff.level_skipped", got)
	}
}
