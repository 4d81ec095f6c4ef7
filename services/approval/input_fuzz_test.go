package approval

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"

	"github.com/fenquan/fenquan/policies"
)

// FuzzPolicyInput: the approval service's input builders take whatever strings and
// amounts a case, a payee, a power's legal basis and 裁量基准, a meeting and a flow's
// separations hold — without a panic — and their input has a valid JSON form; the
// decision point decides it (denied or allowed, never an error) unless an amount is not
// finite, which it refuses.
func FuzzPolicyInput(f *testing.F) {
	f.Add("cz", "orgs/cz/people/zhangsan", "某某科技有限公司", "91420100MA4K", true, 12000.5, "item-1", "C01", "预算法", "第五十七条", "审批与支付分离", "s1", uint8(1))
	f.Add("", "", "", "", false, 0.0, "", "", "", "", "", "", uint8(0))
	f.Add("a/b", "orgs/x/people/", "\xff", "\x00", true, -1e308, "《", "》", "《法》", "\u2028", `"}{`, "/", uint8(3))
	f.Add("cz", "zhangsan", "名", "code", false, math.Inf(1), "i", "c", "l", "a", "s", "st", uint8(2))
	f.Add("cz", "zhangsan", "名", "code", false, math.NaN(), "i", "c", "l", "a", "s", "st", uint8(9))
	f.Add(strings.Repeat("界", 500), strings.Repeat("/", 100), "x", "y", true, 1e-300, "i", "c", "l", "a", "s", "st", uint8(4))

	p := pdp.New(pdp.Config{Service: "fuzz"})
	set, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		f.Fatal(err)
	}
	if err := p.Load(context.Background(), set); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, org, person, payeeName, payeeCode string, isPerson bool, amount float64,
		item, code, law, article, sepName, stepID string, vote uint8) {
		power := &registryv1.PowerRevision{Power: &registryv1.Power{
			LegalBasis: []*registryv1.LegalBasis{{Law: law, Article: article}},
			DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{Id: item, Tiers: []*registryv1.DiscretionTier{
				{Id: code, DisplayName: sepName, CircumstanceCodes: []string{code, law}, MinAmount: amount, MaxAmount: amount},
			}}}},
		}}
		flow := &registryv1.Flow{
			Separations: []*registryv1.Separation{{Id: stepID, DisplayName: sepName, Kind: registryv1.SeparationKind(vote)}},
			Steps:       []*registryv1.FlowStep{{Id: stepID, Separations: []string{stepID}}, {Id: sepName, Separations: []string{stepID, code}}},
		}
		r := &run{flow: flow, power: power}
		v := approvalv1.Vote(vote % 5)
		in := (*Service)(nil).baseInput(org, "2026-11-16", idOf(person), idOrEmpty(person))
		in["payee"] = payeeInput(&approvalv1.Payee{Name: payeeName, Code: payeeCode, IsPerson: isPerson})
		in["power"] = powerInput(r)
		in["penalty"] = penaltyInput(r, &approvalv1.Penalty{Item: item, CircumstanceCodes: []string{code}, Amount: amount})
		in["meeting"] = meetingInput(&approvalv1.Meeting{
			Members: []string{person, "orgs/" + org + "/people/" + person}, Attendees: []string{person}, Recused: []string{payeeName},
			Votes: map[string]approvalv1.Vote{person: v, payeeName: v}, ProposalVersion: int32(vote),
		}, voteName(v))
		in["separations"] = separationsInput(flow, flow.Steps[1])
		in["case"] = map[string]any{"id": idOf(person), "amount": amount, "payee": payeeInput(&approvalv1.Payee{Name: payeeName})}

		finite := !math.IsNaN(amount) && !math.IsInf(amount, 0)
		b, err := json.Marshal(map[string]any(in))
		if !finite {
			if err == nil {
				t.Fatalf("an input with amount %v has a JSON form: %s", amount, b)
			}
		} else {
			if err != nil || !json.Valid(b) {
				t.Fatalf("input JSON %q, %v", b, err)
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("input JSON %s does not read back: %v", b, err)
			}
		}
		for _, action := range []string{"approval.create", "approval.sign", "approval.penalty"} {
			d, err := p.Decide(context.Background(), action, map[string]any(in))
			if finite && err != nil {
				t.Fatalf("Decide(%s) = %v", action, err)
			}
			if !finite && err == nil {
				t.Fatalf("Decide(%s) with amount %v = %+v, want a refused input", action, amount, d)
			}
		}
	})
}
