package approval

import (
	"slices"
	"strings"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
)

// The policy input (docs/POLICY.md, "Approval actions"): ids, not resource names; the
// case as it stands (or, for a payload change, as it would be), the step acted on from
// the pinned flow revision, and the action's own fields.

// policyInput is the input of one decision.
type policyInput map[string]any

func (s *Service) baseInput(org, today, actor, onBehalfOf string) policyInput {
	return policyInput{
		"org":   org,
		"today": today,
		"actor": map[string]any{"person": actor, "on_behalf_of": onBehalfOf},
	}
}

// caseInput is input.case.
func (s *Service) caseInput(org string, r *run, c *approvalv1.Case, step string) map[string]any {
	p := c.GetPayload()
	collective := map[string]any{"passed": false, "payload_version": 0}
	for _, m := range c.Meetings {
		if m.Closed && m.Passed && !m.Voided {
			collective = map[string]any{"passed": true, "payload_version": int(m.ProposalVersion)}
		}
	}
	_, caseID, _ := caseName(c.Name)
	levels := s.pathRankLevels(org, r, c, step)
	lv := make([]any, len(levels))
	for i, l := range levels {
		lv[i] = l
	}
	em := c.GetEmergency()
	return map[string]any{
		"id": caseID, "power": idOf(c.Power), "category": r.power.GetPower().GetCategory().String(),
		"applicant": idOf(c.Applicant), "a": idOf(c.A), "b": idOf(c.B),
		"amount": p.GetAmount(), "fund": p.GetFund(), "indicator": p.GetIndicator(),
		"payee":           payeeInput(p.GetPayee()),
		"payload_version": int(p.GetVersion()),
		"emergency": map[string]any{
			"active": em.GetActive(), "justification": em.GetJustification(),
			"joint_review_passed": r.jointReviewDone(c),
		},
		"indicator_set_by": s.indicatorSetBy(org, c.Name, p.GetIndicator()),
		"signatures":       signaturesInput(c),
		"path_rank_levels": lv,
		"collective":       collective,
	}
}

// signaturesInput is input.case.signatures: every signature of the case, in order, the
// voided ones (by a return or a payload change) too, flagged "voided" with the payload
// version they were made on. The separation rules (sod) count every signature — who once
// signed a step stays its signer for separation purposes, or a return or a one-character
// payload change would launder a reviewer into the approver — while the chain's progress
// (signoff) counts only the signatures not voided.
func signaturesInput(c *approvalv1.Case) []any {
	sigs := make([]any, 0, len(c.Signatures))
	for _, sg := range c.Signatures {
		sigs = append(sigs, map[string]any{
			"step": sg.Step, "person": idOf(sg.Person), "on_behalf_of": idOrEmpty(sg.OnBehalfOf),
			"payload_version": int(sg.PayloadVersion), "rank_level": int(sg.RankLevel),
			"voided": sg.Voided,
		})
	}
	return sigs
}

func payeeInput(p *approvalv1.Payee) map[string]any {
	return map[string]any{"name": p.GetName(), "code": p.GetCode(), "is_person": p.GetIsPerson()}
}

// indicatorSetBy lists who signed, in another case, the setting of the budget indicator
// (预算指标) the case spends.
func (s *Service) indicatorSetBy(org, self, indicator string) []any {
	out := []any{}
	if indicator == "" {
		return out
	}
	seen := map[string]bool{}
	s.cache.AscendIndex(idxIndicator, org+"|"+indicator, s.keys.data.CollectionPrefix(org, "cases"), "", func(it *informer.Item) bool {
		sm := it.Obj.(*summary)
		if sm.name == self || sm.state == approvalv1.Case_STATE_REJECTED || sm.state == approvalv1.Case_STATE_WITHDRAWN {
			return true
		}
		for _, p := range sm.signers {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		return true
	})
	return out
}

// stepInput is input.step for a step of the case's flow.
func (s *Service) stepInput(org string, r *run, c *approvalv1.Case, step string, as *approvalv1.ActiveStep) map[string]any {
	fs := r.graph.Step(step)
	entry := false
	if n, err := r.entryNode(c); err == nil {
		entry = r.graph.NodeOf(step) == n
	}
	rank := int(fs.GetRank())
	unit := ""
	if as != nil {
		unit = idOrEmpty(as.Unit)
	} else {
		unit = idOrEmpty(s.unitOf(org, r, fs))
	}
	added := []any{}
	if as != nil {
		// Only who was added and has not signed yet may act without holding the step.
		for _, p := range as.AddedSigners {
			if !slices.Contains(as.AddedSigned, p) {
				added = append(added, idOf(p))
			}
		}
	}
	return map[string]any{
		"id": step, "duty": fs.GetDuty(), "entry": entry, "last": r.isLast(c, step),
		"post": idOrEmpty(fs.GetPost()), "rank_level": rank, "unit": unit,
		"control":             strings.TrimPrefix(fs.GetControl().String(), "STEP_CONTROL_"),
		"payment":             fs.GetPayment(),
		"collective_decision": fs.GetCollectiveDecision(),
		"separations":         separationsInput(r.flow, fs),
		"added_signers":       added,
	}
}

func separationsInput(f *registryv1.Flow, fs *registryv1.FlowStep) []any {
	out := []any{}
	for _, id := range fs.GetSeparations() {
		for _, sep := range f.GetSeparations() {
			if sep.GetId() != id {
				continue
			}
			steps := []any{}
			for _, st := range f.GetSteps() {
				for _, x := range st.GetSeparations() {
					if x == id {
						steps = append(steps, st.GetId())
					}
				}
			}
			out = append(out, map[string]any{
				"id": id, "kind": strings.TrimPrefix(sep.GetKind().String(), "SEPARATION_KIND_"),
				"name": sep.GetDisplayName(), "steps": steps,
			})
		}
	}
	return out
}

// powerInput is input.power: the legal basis of the power, for the violations' messages.
func powerInput(r *run) map[string]any {
	var parts []string
	for _, lb := range r.power.GetPower().GetLegalBasis() {
		law := lb.GetLaw()
		if !strings.HasPrefix(law, "《") {
			law = "《" + law + "》"
		}
		parts = append(parts, law+lb.GetArticle())
	}
	return map[string]any{"legal_basis": strings.Join(parts, "；")}
}

// penaltyInput is input.penalty: the proposed penalty and the 裁量基准 item it falls
// under (no tiers when the power has no such item).
func penaltyInput(r *run, p *approvalv1.Penalty) map[string]any {
	tiers := []any{}
	for _, it := range r.power.GetPower().GetDiscretionBenchmark().GetItems() {
		if it.GetId() != p.GetItem() {
			continue
		}
		for _, t := range it.GetTiers() {
			codes := make([]any, len(t.GetCircumstanceCodes()))
			for i, c := range t.GetCircumstanceCodes() {
				codes[i] = c
			}
			tiers = append(tiers, map[string]any{
				"id": t.GetId(), "display_name": t.GetDisplayName(), "circumstance_codes": codes,
				"min_amount": t.GetMinAmount(), "max_amount": t.GetMaxAmount(),
			})
		}
	}
	codes := make([]any, len(p.GetCircumstanceCodes()))
	for i, c := range p.GetCircumstanceCodes() {
		codes[i] = c
	}
	return map[string]any{
		"item": p.GetItem(), "circumstance_codes": codes, "amount": p.GetAmount(),
		"benchmark": map[string]any{"tiers": tiers},
	}
}

// meetingInput is input.meeting; vote is the actor's vote for approval.meeting.vote.
func meetingInput(m *approvalv1.Meeting, vote string) map[string]any {
	ids := func(names []string) []any {
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = idOf(n)
		}
		return out
	}
	votes := map[string]any{}
	for p, v := range m.Votes {
		votes[idOf(p)] = voteName(v)
	}
	in := map[string]any{
		"members": ids(m.Members), "attendees": ids(m.Attendees), "recused": ids(m.Recused),
		"votes": votes, "proposal_version": int(m.ProposalVersion),
	}
	if vote != "" {
		in["vote"] = vote
	}
	return in
}

func voteName(v approvalv1.Vote) string {
	switch v {
	case approvalv1.Vote_VOTE_YES:
		return "yes"
	case approvalv1.Vote_VOTE_NO:
		return "no"
	case approvalv1.Vote_VOTE_ABSTAIN:
		return "abstain"
	}
	return ""
}

func idOrEmpty(name string) string {
	if name == "" {
		return ""
	}
	return idOf(name)
}
