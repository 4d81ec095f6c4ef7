package risk_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
)

const (
	advance = riskv1.ReviewAction_REVIEW_ACTION_ADVANCE
	convene = riskv1.ReviewAction_REVIEW_ACTION_CONVENE
	attend  = riskv1.ReviewAction_REVIEW_ACTION_ATTEND
	vote    = riskv1.ReviewAction_REVIEW_ACTION_VOTE
	closeM  = riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING
)

// inForce takes a campaign with its risk points through the whole cycle and returns it
// in force (no objections).
func (e *env) inForce(c *riskv1.Campaign) *riskv1.Campaign {
	e.t.Helper()
	c = e.mustAdvance("zhao", c) // → COMMENTING
	c = e.mustAdvance("zhao", c) // → LEADER_REVIEW
	c = e.mustAdvance("zhao", c) // → COLLECTIVE
	c = e.meeting(c)
	e.clock.add(time.Duration(c.PublicityDays+1) * 24 * time.Hour)
	return e.mustAdvance("zhao", c) // → IN_FORCE
}

// meeting holds the 集体定 meeting: convened by zhao, all four leaders present, three
// vote yes; closing it starts the publicity.
func (e *env) meeting(c *riskv1.Campaign) *riskv1.Campaign {
	e.t.Helper()
	c = e.mustReview("zhao", c, convene)
	m := c.Meetings[len(c.Meetings)-1].Id
	c = e.mustReview("zhao", c, attend, func(r *riskv1.ReviewCampaignRequest) {
		r.Meeting, r.Attendees = m, []string{pn("zhao"), pn("qian"), pn("sun"), pn("li")}
	})
	for _, p := range []string{"zhao", "qian", "sun"} {
		c = e.mustReview(p, c, vote, func(r *riskv1.ReviewCampaignRequest) { r.Meeting, r.Vote = m, "yes" })
	}
	return e.mustReview("zhao", c, closeM, func(r *riskv1.ReviewCampaignRequest) { r.Meeting, r.Text = m, "审定通过" })
}

// TestReviewCycle runs drafting → commenting → leader review → collective meeting →
// publicity (an objection answered and upheld, the risk point amended) → in force, with
// each refused transition on the way.
func TestReviewCycle(t *testing.T) {
	e := newEnv(t)
	_, err := e.openCampaign("feng", "no")
	wantDenied(t, err, "risk.not_leader")
	c := e.mustCampaign("zhao", "2026-cz")
	if c.Stage != riskv1.Stage_STAGE_DRAFTING || c.PublicityDays != 5 || c.OpenedBy != pn("zhao") {
		t.Fatalf("opened: %v", c)
	}

	// 自己找: feng drafts on his post; li (a leader) drafts the leadership's.
	r := e.mustDraft("feng", newRisk(c.Name, 3, 4))
	lr := newRisk(c.Name, 2, 2)
	lr.Level, lr.Scope = riskv1.Level_LEVEL_LEADERSHIP, unit("ldbz")
	lr.Measures = nil
	e.mustDraft("li", lr)
	// Not in scope: he holds no post of gkc.
	other := newRisk(c.Name, 1, 1)
	other.Scope = post("gkc-zfsh")
	_, err = e.draft("he", other)
	wantDenied(t, err, "risk.not_in_scope")
	// Wrong stage: no comments while drafting.
	_, err = e.risks.CommentRisk(e.person("he"), &riskv1.CommentRiskRequest{Name: r.Name, Text: "早"})
	wantDenied(t, err, "risk.stage")
	// A drafter who is no leader does not advance.
	_, err = e.advance("feng", c)
	wantDenied(t, err, "risk.not_leader")
	// Skipping a stage is refused.
	_, err = e.review("zhao", c, advance, func(r *riskv1.ReviewCampaignRequest) { r.ToStage = riskv1.Stage_STAGE_COLLECTIVE })
	wantDenied(t, err, "risk.stage_order")

	// 群众帮.
	c = e.mustAdvance("zhao", c)
	_, err = e.draft("feng", newRisk(c.Name, 1, 1))
	wantDenied(t, err, "risk.stage")
	r, err = e.risks.CommentRisk(e.person("he"), &riskv1.CommentRiskRequest{Name: r.Name, Text: "建议增加复核", Anonymous: true, RequestId: e.rid()})
	if err != nil {
		t.Fatalf("comment: %s", describe(err))
	}
	if cm := r.Comments[0]; cm.Person != "" || !cm.Anonymous || cm.Text != "建议增加复核" {
		t.Fatalf("anonymous comment stored %v", cm)
	}

	// 领导提: a leader amends (a new version, regraded); the drafter may not.
	c = e.mustAdvance("zhao", c)
	up := func(x *riskv1.RiskPoint) { x.Likelihood, x.Impact, x.ChangeNote = 5, 5, "领导提：提高等级" }
	_, err = e.update("feng", r.Name, up, "likelihood", "impact")
	wantDenied(t, err, "risk.not_leader")
	r2, err := e.update("qian", r.Name, up, "likelihood", "impact", "change_note")
	if err != nil {
		t.Fatalf("amend: %s", describe(err))
	}
	if r2.Version != r.Version+1 || r2.Grading.Grade != riskv1.Grade_GRADE_HIGH || r2.ChangedBy != pn("qian") || r2.ChangeNote != "领导提：提高等级" || r2.DraftedBy != pn("feng") {
		t.Fatalf("amended: v%d %v by %s (%s), drafted by %s", r2.Version, r2.Grading.Grade, r2.ChangedBy, r2.ChangeNote, r2.DraftedBy)
	}
	// li drafted a risk point of the campaign: from here on li does not advance it.
	_, err = e.advance("li", c)
	wantDenied(t, err, "risk.self_review")

	// 集体定: only a closed meeting leaves COLLECTIVE.
	c = e.mustAdvance("zhao", c)
	_, err = e.advance("zhao", c)
	wantDenied(t, err, "risk.stage_order")
	_, err = e.review("feng", c, convene)
	wantDenied(t, err, "collective.convener")
	c = e.meeting(c)
	end := time.Date(2026, 11, 21, 0, 0, 0, 0, cst)
	if c.Stage != riskv1.Stage_STAGE_PUBLICITY || !c.PublicityEnd.AsTime().Equal(end) || !c.Meetings[0].Passed {
		t.Fatalf("after the meeting: stage %s, publicity end %s", c.Stage, c.PublicityEnd.AsTime().In(cst))
	}

	// 公示: an objection; no force before the publicity is over nor with it open.
	r3, err := e.risks.FileObjection(e.person("he"), &riskv1.FileObjectionRequest{Name: r.Name, Text: "等级偏高", RequestId: e.rid()})
	if err != nil {
		t.Fatalf("object: %s", describe(err))
	}
	_, err = e.advance("zhao", c)
	wantDenied(t, err, "risk.publicity_open")
	wantDenied(t, err, "risk.objections_open")
	// Amending without an upheld objection is refused.
	_, err = e.update("qian", r.Name, func(x *riskv1.RiskPoint) { x.Impact = 4 }, "impact")
	wantDenied(t, err, "risk.stage")
	r4, err := e.risks.AnswerObjection(e.person("qian"), &riskv1.AnswerObjectionRequest{Name: r.Name, Objection: r3.Objections[0].Id, Answer: "意见采纳", Upheld: true, RequestId: e.rid()})
	if err != nil {
		t.Fatalf("answer: %s", describe(err))
	}
	if o := r4.Objections[0]; o.AnsweredBy != pn("qian") || !o.Upheld || o.AnswerTime == nil || o.Person != pn("he") {
		t.Fatalf("answered objection %v", o)
	}
	_, err = e.risks.AnswerObjection(e.person("qian"), &riskv1.AnswerObjectionRequest{Name: r.Name, Objection: r3.Objections[0].Id, Answer: "again"})
	wantCode(t, err, codes.FailedPrecondition)
	r5, err := e.update("qian", r.Name, func(x *riskv1.RiskPoint) { x.Impact, x.ChangeNote = 2, "异议成立" }, "impact", "change_note")
	if err != nil {
		t.Fatalf("amend after an upheld objection: %s", describe(err))
	}
	_, err = e.advance("zhao", c)
	wantDenied(t, err, "risk.publicity_open")

	// After the publicity: no objections, and in force.
	e.clock.add(6 * 24 * time.Hour)
	_, err = e.risks.FileObjection(e.person("he"), &riskv1.FileObjectionRequest{Name: r.Name, Text: "迟到"})
	wantDenied(t, err, "risk.publicity_over")
	c = e.mustAdvance("zhao", c)
	if c.Stage != riskv1.Stage_STAGE_IN_FORCE || len(c.History) != 6 {
		t.Fatalf("in force: %s, history %d", c.Stage, len(c.History))
	}
	cur := e.get(r.Name, 0)
	if !cur.InForce || cur.Version != r5.Version+1 {
		t.Fatalf("current after force: in force %v v%d (amended v%d)", cur.InForce, cur.Version, r5.Version)
	}
	_, err = e.advance("zhao", c)
	wantCode(t, err, codes.FailedPrecondition)

	// Every version stays readable.
	vs, err := e.risks.ListRiskVersions(e.person("he"), &riskv1.ListRiskVersionsRequest{Name: r.Name})
	if err != nil {
		t.Fatal(describe(err))
	}
	var nums []int32
	for _, v := range vs.Versions {
		nums = append(nums, v.Version)
	}
	if want := []int32{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(nums, want) {
		t.Fatalf("versions %v, want %v", nums, want)
	}
	if v1 := e.get(r.Name, 1); v1.Likelihood != 3 || v1.Impact != 4 || v1.InForce || len(v1.Comments) != 0 {
		t.Fatalf("version 1: %v", v1)
	}
	if v3 := e.get(r.Name, 3); v3.Likelihood != 5 || v3.ChangedBy != pn("qian") {
		t.Fatalf("version 3: %v", v3)
	}
	_, err = e.risks.GetRisk(e.person("he"), &riskv1.GetRiskRequest{Name: r.Name, Version: 99})
	wantCode(t, err, codes.NotFound)
}

// TestCarryForward opens next year's campaign from one in force: its risk points become
// drafts of the new campaign (new versions, not in force), in one transaction, and the
// version in force stays readable.
func TestCarryForward(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	a := e.mustDraft("feng", newRisk(c.Name, 3, 4))
	b := e.mustDraft("wu", newRisk(c.Name, 2, 2))
	c = e.inForce(c)
	n := e.mustCampaign("zhao", "2027-cz", func(x *riskv1.Campaign) { x.Year, x.CarryFrom = 2027, c.Name })
	if n.RiskCount != 2 || n.Stage != riskv1.Stage_STAGE_DRAFTING {
		t.Fatalf("new campaign: %d risk points, stage %s", n.RiskCount, n.Stage)
	}
	for _, r := range []*riskv1.RiskPoint{a, b} {
		cur := e.get(r.Name, 0)
		if cur.Campaign != n.Name || cur.InForce || cur.Version != 3 || cur.ChangedBy != pn("zhao") {
			t.Fatalf("carried %s: campaign %s in force %v v%d by %s", r.Name, cur.Campaign, cur.InForce, cur.Version, cur.ChangedBy)
		}
		if old := e.get(r.Name, 2); !old.InForce || old.Campaign != c.Name {
			t.Fatalf("version in force of %s: %v", r.Name, old)
		}
	}
	got, err := e.risks.GetCampaign(e.person("he"), &riskv1.GetCampaignRequest{Name: c.Name})
	if err != nil || got.RiskCount != 0 {
		t.Fatalf("old campaign: %v %s", got, describe(err))
	}
	list, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", Campaign: n.Name})
	if err != nil || list.TotalSize != 2 {
		t.Fatalf("list of the new campaign: %v %s", list, describe(err))
	}
	// While the new campaign revises them, the register in force is still last year's:
	// its list, stats and export read each point's version in force, not the draft.
	if _, err := e.update("feng", a.Name, func(r *riskv1.RiskPoint) { r.Title = "修订中的标题" }); err != nil {
		t.Fatalf("revising a carried risk point: %s", describe(err))
	}
	inForce, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", InForce: true})
	if err != nil || inForce.TotalSize != 2 {
		t.Fatalf("register in force while revised: %v %s", inForce, describe(err))
	}
	for _, r := range inForce.Risks {
		if !r.InForce || r.Campaign != c.Name || r.Version != 2 || r.Title == "修订中的标题" || r.Etag != "" {
			t.Fatalf("register in force lists %s v%d of %s (in force %v, title %q, etag %q)", r.Name, r.Version, r.Campaign, r.InForce, r.Title, r.Etag)
		}
	}
	st, err := e.risks.GetRiskStats(e.person("he"), &riskv1.GetRiskStatsRequest{Parent: "orgs/cz"})
	if err != nil || st.Total != 2 {
		t.Fatalf("stats of the register in force: %v %s", st, describe(err))
	}
	csv, err := e.risks.ExportRegister(e.person("he"), &riskv1.ExportRegisterRequest{Parent: "orgs/cz", Form: riskv1.Form_FORM_DEPARTMENT, Format: riskv1.ExportFormat_EXPORT_FORMAT_CSV})
	if err != nil || !strings.Contains(string(csv.Data), a.Title) || strings.Contains(string(csv.Data), "修订中的标题") {
		t.Fatalf("export of the register in force while revised: %s %s", csv.GetData(), describe(err))
	}
	// Once the new campaign is in force, its versions replace last year's.
	n = e.inForce(n)
	inForce, err = e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", InForce: true})
	if err != nil || inForce.TotalSize != 2 {
		t.Fatalf("register in force after the new campaign: %v %s", inForce, describe(err))
	}
	for _, r := range inForce.Risks {
		if r.Campaign != n.Name || (r.Name == a.Name && r.Title != "修订中的标题") {
			t.Fatalf("register in force after the new campaign lists %s of %s titled %q", r.Name, r.Campaign, r.Title)
		}
	}
	// Carrying from a campaign that does not exist is a field violation.
	_, err = e.openCampaign("zhao", "2028-cz", func(x *riskv1.Campaign) { x.Year, x.CarryFrom = 2028, "orgs/cz/campaigns/none" })
	wantCode(t, err, codes.InvalidArgument)
}
