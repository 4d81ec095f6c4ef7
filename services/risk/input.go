package risk

import (
	"slices"
	"strings"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
)

// The policy input (docs/RISK.md, "The policy contract"): ids, not resource names.

// policyInput is the input of one decision.
type policyInput map[string]any

func baseInput(org, day, actor string) policyInput {
	return policyInput{
		"org":   org,
		"today": day,
		"actor": map[string]any{"person": actor, "on_behalf_of": ""},
	}
}

// Factor and forcing keys the grading reads (policies/grading/data.json).
var (
	factorKeys = []string{"importance", "discretion", "frequency"}
	forcedKeys = []string{"major_impact", "unlimited_discretion", "past_case"}
)

// riskInput is input.risk.
func riskInput(r *riskv1.RiskPoint) map[string]any {
	factors := map[string]any{}
	for k, v := range r.Factors {
		factors[k] = int(v)
	}
	forced := map[string]any{}
	for _, k := range forcedKeys {
		forced[k] = false
	}
	for k, v := range r.Forced {
		forced[k] = v
	}
	return map[string]any{
		"id": idOrEmpty(r.Name), "level": levelName(r.Level), "scope": idOrEmpty(r.Scope), "unit": idOrEmpty(r.Unit),
		"kind": r.Kind, "drafted_by": idOrEmpty(r.DraftedBy),
		"likelihood": int(r.Likelihood), "impact": int(r.Impact),
		"factors": factors, "forced": forced,
	}
}

func levelName(l riskv1.Level) string { return strings.TrimPrefix(l.String(), "LEVEL_") }
func stageName(st riskv1.Stage) string {
	if st == riskv1.Stage_STAGE_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(st.String(), "STAGE_")
}

// campaignInput is input.campaign: the drafters and open objections come from the
// campaign's risk points (the cache; the write guards their revisions).
func (s *Service) campaignInput(org string, c *riskv1.Campaign, to riskv1.Stage) map[string]any {
	drafters := []any{}
	seen := map[string]bool{}
	open := 0
	if c.Name != "" {
		for _, it := range s.campaignRisks(org, c.Name) {
			r := it.Obj.(*riskv1.RiskPoint)
			if d := idOrEmpty(r.DraftedBy); d != "" && !seen[d] {
				seen[d] = true
				drafters = append(drafters, d)
			}
			open += openObjections(r)
		}
	}
	slices.SortFunc(drafters, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	end := ""
	if c.PublicityEnd != nil {
		end = today(c.PublicityEnd.AsTime())
	}
	return map[string]any{
		"id": idOrEmpty(c.Name), "stage": stageName(c.Stage), "to_stage": stageName(to), "unit": idOrEmpty(c.Unit),
		"drafters": drafters, "publicity_end": end, "open_objections": open,
	}
}

func openObjections(r *riskv1.RiskPoint) int {
	n := 0
	for _, o := range r.Objections {
		if o.AnswerTime == nil {
			n++
		}
	}
	return n
}

// meetingInput is input.meeting; vote is the actor's vote for risk.meeting.vote.
func meetingInput(m *riskv1.CampaignMeeting, vote string) map[string]any {
	ids := func(names []string) []any {
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = idOf(n)
		}
		return out
	}
	votes := map[string]any{}
	for p, v := range m.Votes {
		votes[idOf(p)] = v
	}
	in := map[string]any{
		"members": ids(m.Members), "attendees": ids(m.Attendees), "recused": ids(m.Recused),
		"votes": votes, "proposal_version": 0,
	}
	if vote != "" {
		in["vote"] = vote
	}
	return in
}
