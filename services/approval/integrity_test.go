package approval_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// Rejecting and returning are decisions on a step like signing: only who may act on the
// step (its holder, their delegate, or a person added to sign it) takes them, and not on
// a step someone else claimed.
func TestRejectAndReturnNeedTheStep(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"})
	for _, a := range []approvalv1.Action{approvalv1.Action_ACTION_REJECT, approvalv1.Action_ACTION_RETURN} {
		// zhu holds no post; tang holds 拨付办理, not 主管责任人.
		for _, who := range []string{"zhu", "tang"} {
			_, err := e.act(who, c, a, step("zgzr"), text("不同意"), func(r *approvalv1.ActRequest) { r.ToStep = "zcjh" })
			wantDenied(t, err, "signoff.not_holder")
		}
	}
	// he claims the step: the added signer may still object, a holder who did not claim may not.
	c = e.mustAct("he", c, approvalv1.Action_ACTION_CLAIM, step("zgzr"))
	c = e.mustAct("he", c, approvalv1.Action_ACTION_ADD_SIGNER, step("zgzr"), func(r *approvalv1.ActRequest) { r.Person = pn("lin") })
	c = e.mustAct("lin", c, approvalv1.Action_ACTION_RETURN, step("zgzr"), text("材料不全"), func(r *approvalv1.ActRequest) { r.ToStep = "zcjh" })
	if got := activeSteps(c); len(got) != 1 || got[0] != "zcjh" {
		t.Fatalf("after the added signer returned it, active = %v", got)
	}
	c = e.signAll(c, [2]string{"zcjh", "feng"})
	c = e.mustAct("he", c, approvalv1.Action_ACTION_CLAIM, step("zgzr"))
	_, err := e.act("liu", c, approvalv1.Action_ACTION_REJECT, step("zgzr"), text("不同意"))
	wantCode(t, err, codes.FailedPrecondition) // claimed by he; liu does not hold it either
	c = e.mustAct("he", c, approvalv1.Action_ACTION_REJECT, step("zgzr"), text("不符合补贴条件"))
	if c.State != approvalv1.Case_STATE_REJECTED {
		t.Fatalf("state %s, want rejected", c.State)
	}
}

// One person signs a step once: an added signer (加签) who already signed, a holder who
// is also an added signer, a delegate's principal who signed — each second signature is
// refused, and nobody who signed a step is added or delegated to sign it again.
func TestOneSignaturePerPersonAndStep(t *testing.T) {
	e := newEnv(t)
	// gao holds 支付审核 and adds ma (the B角 of the same post) as a second signer.
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"zbsh", "zhang"})
	c = e.mustAct("gao", c, approvalv1.Action_ACTION_ADD_SIGNER, step("zfsh"), func(r *approvalv1.ActRequest) { r.Person = pn("ma") })
	// ma signs first, as the added signer; ma may not then sign again as the holder.
	c = e.mustSign("ma", c, "zfsh")
	_, err := e.sign("ma", c, "zfsh")
	wantCode(t, err, codes.FailedPrecondition)
	// Nor be added again, nor be delegated the step.
	_, err = e.act("gao", c, approvalv1.Action_ACTION_ADD_SIGNER, step("zfsh"), func(r *approvalv1.ActRequest) { r.Person = pn("ma") })
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.act("gao", c, approvalv1.Action_ACTION_DELEGATE, step("zfsh"), func(r *approvalv1.ActRequest) { r.Person, r.Until = pn("ma"), "2026-11-20" })
	wantCode(t, err, codes.FailedPrecondition)
	// The holder's signature is still owed, by someone else: gao signs, and the step is done.
	c = e.mustSign("gao", c, "zfsh")
	if got := activeSteps(c); len(got) != 1 || got[0] != "bfbl" {
		t.Fatalf("active = %v, want 拨付办理 after the holder and the added signer signed", got)
	}
	n := 0
	for _, s := range c.Signatures {
		if s.Step == "zfsh" && !s.Voided {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d signatures at zfsh, want 2 (ma added, gao holder)", n)
	}
}

// An added signer is not the holder: being added does not let one give the holder's
// signature once one's own is given.
func TestAddedSignerDoesNotStandForTheHolder(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"})
	c = e.mustAct("he", c, approvalv1.Action_ACTION_ADD_SIGNER, step("zgzr"), func(r *approvalv1.ActRequest) { r.Person = pn("lin") })
	c = e.mustSign("lin", c, "zgzr")
	if got := activeSteps(c); len(got) != 1 || got[0] != "zgzr" {
		t.Fatalf("active = %v: the added signature completed the step", got)
	}
	// lin (预算处处长) holds no 主管责任人 post of 社保处: the holder's signature is not lin's.
	_, err := e.sign("lin", c, "zgzr")
	wantCode(t, err, codes.FailedPrecondition)
	c = e.mustSign("he", c, "zgzr")
	if got := activeSteps(c); len(got) != 1 || got[0] != "fgcz" {
		t.Fatalf("active = %v, want fgcz", got)
	}
}

// Who signed the 预算指标 step of a case set its indicator: they may not approve or pay
// another case against that indicator, however the code is spelled.
func TestIndicatorSetterDoesNotApprove(t *testing.T) {
	e := newEnv(t)
	first := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.Payload.Indicator = "ZB-7" })
	first = e.signAll(first, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"zbsh", "zhang"})
	if s := first.Signatures[len(first.Signatures)-1]; s.Step != "zbsh" || s.Duty != "预算指标" {
		t.Fatalf("the 预算指标 signature: step %s duty %q", s.Step, s.Duty)
	}
	c := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.Payload.Indicator = " zb-7" })
	if c.Payload.Indicator != "ZB-7" {
		t.Fatalf("indicator stored as %q, want ZB-7", c.Payload.Indicator)
	}
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"zbsh", "pan"})
	c = e.mustAct("gao", c, approvalv1.Action_ACTION_ADD_SIGNER, step("zfsh"), func(r *approvalv1.ActRequest) { r.Person = pn("zhang") })
	_, err := e.sign("zhang", c, "zfsh")
	wantDenied(t, err, "sod.indicator_setter")
}

// A rejected 集体决策 closes its open meeting as not passed, with the reason as minutes;
// only a leader closes a meeting.
func TestCollectiveRejection(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 6000000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"cz", "wu"})
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_CONVENE, step("jtjc"))
	meeting := func(r *approvalv1.ActRequest) { r.Meeting = c.Meetings[0].Id }
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_ATTEND, meeting, func(r *approvalv1.ActRequest) {
		r.Attendees = []string{pn("zhao"), pn("qian"), pn("sun")}
	})
	// The members who have not voted find the meeting in their inboxes, until they vote.
	inbox := func(who string) int {
		r, err := e.cases.ListInbox(e.person(who), &approvalv1.ListInboxRequest{Parent: "orgs/cz"})
		if err != nil {
			t.Fatal(describe(err))
		}
		return len(r.Items)
	}
	if n := inbox("qian"); n != 1 {
		t.Fatalf("qian's inbox holds %d items before voting, want the meeting", n)
	}
	c = e.mustAct("qian", c, approvalv1.Action_ACTION_VOTE, meeting, func(r *approvalv1.ActRequest) { r.Vote = approvalv1.Vote_VOTE_NO })
	if n := inbox("qian"); n != 0 {
		t.Fatalf("qian's inbox holds %d items after voting", n)
	}
	_, err := e.act("wu", c, approvalv1.Action_ACTION_CLOSE_MEETING, meeting, text("纪要"))
	wantDenied(t, err, "collective.convener")
	_, err = e.act("wu", c, approvalv1.Action_ACTION_RETURN, step("jtjc"), text("重议"), func(r *approvalv1.ActRequest) { r.ToStep = "cz" })
	wantCode(t, err, codes.FailedPrecondition)
	c = e.mustAct("zhao", c, approvalv1.Action_ACTION_REJECT, step("jtjc"), text("局长办公会未通过：资金用途不明"))
	m := c.Meetings[0]
	if c.State != approvalv1.Case_STATE_REJECTED || !m.Closed || m.Passed || m.Minutes != "局长办公会未通过：资金用途不明" {
		t.Fatalf("state %s, meeting %v", c.State, m)
	}
}

// A request id is the caller's own: another caller using the same id neither reads the
// first caller's result nor is refused for reusing it.
func TestRequestIDsAreTheCallers(t *testing.T) {
	e := newEnv(t)
	req := func(a string) *approvalv1.CreateCaseRequest {
		return &approvalv1.CreateCaseRequest{Parent: "orgs/cz", RequestId: "shared-id", Case: &approvalv1.Case{
			Title: "同号请求", Flow: zjbf, A: pn(a), B: pn("he"), Payload: &approvalv1.Payload{Amount: 10, Payee: acme},
		}}
	}
	c1, err := e.cases.CreateCase(e.person("feng"), req("feng"))
	if err != nil {
		t.Fatal(describe(err))
	}
	c2, err := e.cases.CreateCase(e.person("cao"), req("cao"))
	if err != nil {
		t.Fatal(describe(err))
	}
	if c1.Name == c2.Name || c2.Applicant != pn("cao") {
		t.Fatalf("cao's request with feng's id answered %s (applicant %s)", c2.Name, c2.Applicant)
	}
}

// A case takes at most a bounded size: a flood of comments ends in RESOURCE_EXHAUSTED
// with nothing written, and the case still acts.
func TestCaseSizeIsBounded(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	long := strings.Repeat("意见", 2000)
	var err error
	for i := 0; i < 200; i++ {
		var next *approvalv1.Case
		if next, err = e.act("he", c, approvalv1.Action_ACTION_COMMENT, text(long)); err != nil {
			break
		}
		c = next
	}
	wantCode(t, err, codes.ResourceExhausted)
	if reason(err) != "CASE_TOO_LARGE" {
		t.Fatalf("reason %q", reason(err))
	}
	if n := proto.Size(c); n > 1<<20 || n < 1<<19 {
		t.Fatalf("the last case written is %d bytes", n)
	}
	after, _ := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c.Name})
	if after.Etag != c.Etag {
		t.Fatalf("the refused comment changed the case")
	}
	e.mustSign("feng", c, "zcjh")
}
