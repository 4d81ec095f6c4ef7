package approval_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// 500万 and over: after the 处长, the leadership decides (集体决策). A leader convenes
// the meeting, attendance and recusals are recorded, members vote, and closing a meeting
// that passes signs the step; a payload change voids the meeting.
func TestCollectiveDecision(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 6000000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"cz", "wu"})
	if !slices.Equal(activeSteps(c), []string{"jtjc"}) || !c.Active[0].CollectiveDecision {
		t.Fatalf("active = %v, want the collective step", activeSteps(c))
	}
	_, err := e.sign("zhao", c, "jtjc")
	wantCode(t, err, codes.FailedPrecondition) // decided by a meeting, not signed
	_, err = e.act("wu", c, approvalv1.Action_ACTION_CONVENE, step("jtjc"))
	wantDenied(t, err, "collective.convener")
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_CONVENE, step("jtjc"))
	m := c.Meetings[0]
	if !slices.Equal(m.Members, []string{pn("li"), pn("qian"), pn("sun"), pn("zhao")}) || m.ProposalVersion != 1 {
		t.Fatalf("meeting: %v", m)
	}
	meeting := func(r *approvalv1.ActRequest) { r.Meeting = m.Id }
	_, err = e.act("zhao", c, approvalv1.Action_ACTION_ATTEND, meeting, func(r *approvalv1.ActRequest) { r.Attendees = []string{pn("zhao"), pn("wu")} })
	wantDenied(t, err, "collective.attendee_not_member")
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_ATTEND, meeting, func(r *approvalv1.ActRequest) {
		r.Attendees = []string{pn("zhao"), pn("qian"), pn("sun")}
		r.Recused = []string{pn("li")}
	})
	vote := func(who string, v approvalv1.Vote) (*approvalv1.Case, error) {
		return e.act(who, c, approvalv1.Action_ACTION_VOTE, meeting, func(r *approvalv1.ActRequest) { r.Vote = v })
	}
	_, err = vote("li", approvalv1.Vote_VOTE_YES)
	wantDenied(t, err, "collective.recused")
	_, err = vote("wu", approvalv1.Vote_VOTE_YES)
	wantDenied(t, err, "collective.not_member")
	c, _ = vote("qian", approvalv1.Vote_VOTE_YES)
	// Closing without a majority is refused.
	_, err = e.act("zhao", c, approvalv1.Action_ACTION_CLOSE_MEETING, meeting, text("纪要"))
	wantDenied(t, err, "collective.majority")
	for _, who := range []string{"sun", "zhao"} {
		if c, err = vote(who, approvalv1.Vote_VOTE_YES); err != nil {
			t.Fatal(describe(err))
		}
	}
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_CLOSE_MEETING, meeting, text("同意拨付"))
	if !c.Meetings[0].Closed || !c.Meetings[0].Passed || !slices.Equal(activeSteps(c), []string{"zbsh"}) {
		t.Fatalf("after the meeting: %v, active %v", c.Meetings[0], activeSteps(c))
	}
	last := c.Signatures[len(c.Signatures)-1]
	if last.Step != "jtjc" || last.Meeting != m.Id {
		t.Fatalf("the collective step's signature: %v", last)
	}
	c = e.signAll(c, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "gao"}, [2]string{"bfbl", "tang"}, [2]string{"kjhs", "song"})
	if c.State != approvalv1.Case_STATE_COMPLETED {
		t.Fatalf("state %s", c.State)
	}
}

// The emergency channel (绿色通道): a recorded justification, a shortened chain replaced
// by the 联合会审 group, limits in hours on the clock; the case is flagged for review.
func TestEmergencyChannel(t *testing.T) {
	e := newEnv(t)
	_, err := e.open("feng", zjbf, 300000, func(c *approvalv1.Case) { c.Emergency = &approvalv1.Emergency{Active: true} })
	wantCode(t, err, codes.InvalidArgument)
	// Friday evening: hours run through the weekend.
	e.clock.set(time.Date(2026, 11, 20, 20, 0, 0, 0, cst))
	c := e.mustOpen("feng", zjbf, 300000, func(c *approvalv1.Case) {
		c.Emergency = &approvalv1.Emergency{Active: true, Justification: "暴雨灾害紧急救助"}
	})
	if got, want := dueOf(t, c, "zcjh"), time.Date(2026, 11, 21, 0, 0, 0, 0, cst); !got.Equal(want) {
		t.Errorf("emergency limit 4 h: due %s, want %s", got, want)
	}
	c = e.mustSign("feng", c, "zcjh")
	if got := activeSteps(c); !slices.Equal(got, []string{"lhhs-ys", "lhhs-gk"}) {
		t.Fatalf("emergency: after zcjh active = %v, want the 联合会审 group (主管/分管 skipped)", got)
	}
	c = e.mustSign("lin", c, "lhhs-ys")
	c = e.mustSign("deng", c, "lhhs-gk")
	if !c.Emergency.JointReviewPassed || !slices.Equal(activeSteps(c), []string{"zbsh"}) {
		t.Fatalf("after the joint review: passed %v, active %v", c.Emergency.JointReviewPassed, activeSteps(c))
	}
	c = e.signAll(c, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "gao"}, [2]string{"bfbl", "tang"}, [2]string{"kjhs", "song"})
	if c.State != approvalv1.Case_STATE_COMPLETED || !c.Emergency.FlaggedForReview {
		t.Fatalf("state %s, flagged %v", c.State, c.Emergency.FlaggedForReview)
	}
}

// CheckAction says whether an action would be allowed, with every reason, and writes
// nothing.
func TestCheckAction(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.Payload.Payee = kangning; c.B = pn("he") })
	check := func(who string, a *approvalv1.ActRequest) *approvalv1.CheckActionResponse {
		t.Helper()
		r, err := e.cases.CheckAction(e.person(who), &approvalv1.CheckActionRequest{Name: c.Name, Act: a})
		if err != nil {
			t.Fatal(describe(err))
		}
		return r
	}
	sign := &approvalv1.ActRequest{Action: approvalv1.Action_ACTION_SIGN, Step: "zcjh"}
	if r := check("feng", sign); !r.Allowed || r.PolicyRevision == "" {
		t.Fatalf("feng may sign: %v", r)
	}
	r := check("cao", sign)
	if r.Allowed || len(r.Violations) == 0 || r.Violations[0].Rule != "sod.conflict_of_interest" || r.Violations[0].Zh == "" {
		t.Fatalf("cao's check: %v", r)
	}
	r = check("he", &approvalv1.ActRequest{Action: approvalv1.Action_ACTION_SIGN, Step: "zgzr"})
	if r.Allowed || r.Violations[0].Rule != "case.state" {
		t.Fatalf("a step not active: %v", r)
	}
	after, _ := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c.Name})
	if after.Etag != c.Etag {
		t.Fatal("CheckAction wrote")
	}
}

// Cases by state, power, applicant, held; the FULL view from the store.
func TestListCases(t *testing.T) {
	e := newEnv(t)
	a := e.mustOpen("feng", zjbf, 1000)
	e.clock.add(time.Second)
	b := e.mustOpen("cao", lhsc, 0)
	e.clock.add(time.Second)
	c := e.mustOpen("feng", zjbf, 2000)
	e.mustAct("feng", c, approvalv1.Action_ACTION_WITHDRAW, text("重复"))
	list := func(r *approvalv1.ListCasesRequest) []string {
		t.Helper()
		r.Parent = "orgs/cz"
		resp, err := e.cases.ListCases(e.person("xu"), r)
		if err != nil {
			t.Fatal(describe(err))
		}
		var out []string
		for _, c := range resp.Cases {
			out = append(out, c.Name)
		}
		return out
	}
	if got := list(&approvalv1.ListCasesRequest{}); !slices.Equal(got, []string{a.Name, b.Name, c.Name}) {
		t.Fatalf("all = %v", got)
	}
	if got := list(&approvalv1.ListCasesRequest{State: approvalv1.Case_STATE_OPEN}); !slices.Equal(got, []string{a.Name, b.Name}) {
		t.Fatalf("open = %v", got)
	}
	if got := list(&approvalv1.ListCasesRequest{Power: "orgs/cz/powers/lhsc"}); !slices.Equal(got, []string{b.Name}) {
		t.Fatalf("by power = %v", got)
	}
	if got := list(&approvalv1.ListCasesRequest{Applicant: pn("feng"), State: approvalv1.Case_STATE_WITHDRAWN}); !slices.Equal(got, []string{c.Name}) {
		t.Fatalf("by applicant and state = %v", got)
	}
	resp, err := e.cases.ListCases(e.person("xu"), &approvalv1.ListCasesRequest{Parent: "orgs/cz", View: approvalv1.CaseView_CASE_VIEW_FULL, PageSize: 1})
	if err != nil || len(resp.Cases) != 1 || len(resp.Cases[0].Signatures) != 0 || resp.Cases[0].EventCount == 0 || resp.NextPageToken == "" {
		t.Fatalf("FULL view: %v %v", resp, err)
	}
	_, err = e.cases.ListCases(e.person("xu"), &approvalv1.ListCasesRequest{Parent: "orgs/cz", State: approvalv1.Case_STATE_OPEN, PageToken: resp.NextPageToken})
	wantCode(t, err, codes.InvalidArgument) // a token of another query
	// Another org's member sees nothing of cz.
	_, err = e.cases.ListCases(e.as("x", "other:staff"), &approvalv1.ListCasesRequest{Parent: "orgs/cz"})
	wantCode(t, err, codes.NotFound)
}

// The calendar: built in for 2024–2026; a year stored by a platform administrator
// replaces it and moves the due times of steps activated afterwards.
func TestCalendar(t *testing.T) {
	e := newEnv(t)
	got, err := e.cals.GetCalendar(e.person("feng"), &approvalv1.GetCalendarRequest{Name: "calendars/2026"})
	if err != nil || !slices.Contains(got.Holidays, "2026-10-01") || !slices.Contains(got.MakeupWorkdays, "2026-10-10") {
		t.Fatalf("2026: %v %v", got, err)
	}
	// 2027 has no data: weekends only, until stored.
	_, err = e.cals.UpdateCalendar(e.person("feng"), &approvalv1.UpdateCalendarRequest{Calendar: &approvalv1.Calendar{Name: "calendars/2027", Holidays: []string{"2027-01-01"}}})
	wantCode(t, err, codes.PermissionDenied)
	admin := e.as("root", "platform:platform-admin")
	_, err = e.cals.UpdateCalendar(admin, &approvalv1.UpdateCalendarRequest{Calendar: &approvalv1.Calendar{Name: "calendars/2027", MakeupWorkdays: []string{"2027-01-05"}}})
	wantCode(t, err, codes.InvalidArgument) // a Tuesday is no make-up day
	_, err = e.cals.UpdateCalendar(admin, &approvalv1.UpdateCalendarRequest{Calendar: &approvalv1.Calendar{
		Name: "calendars/2027", Holidays: []string{"2027-01-01", "2027-01-04"}, Source: "测试",
	}})
	if err != nil {
		t.Fatal(describe(err))
	}
	// Opened Thursday 31 December 2026: 1 and 4 January 2027 rest, so the two working
	// days of 支出计划 are 5 and 6 January.
	e.clock.set(time.Date(2026, 12, 31, 10, 0, 0, 0, cst))
	c := e.mustOpen("feng", zjbf, 1000)
	if got, want := dueOf(t, c, "zcjh"), endOf(2027, 1, 6); !got.Equal(want) {
		t.Errorf("with the stored 2027: due %s, want %s", got, want)
	}
}
