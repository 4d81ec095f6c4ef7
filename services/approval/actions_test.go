package approval_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// 撤回: the applicant withdraws while nothing is signed but the entry step; nobody else
// may, and not once the chain has started.
func TestWithdraw(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.mustSign("feng", c, "zcjh")
	_, err := e.act("cao", c, approvalv1.Action_ACTION_WITHDRAW, text("不办了"))
	wantDenied(t, err, "case.not_applicant")
	c = e.mustAct("feng", c, approvalv1.Action_ACTION_WITHDRAW, text("申请有误"))
	if c.State != approvalv1.Case_STATE_WITHDRAWN || c.CloseTime == nil || len(c.Active) != 0 {
		t.Fatalf("withdrawn: %s %v", c.State, activeSteps(c))
	}
	_, err = e.sign("he", c, "zgzr")
	wantCode(t, err, codes.FailedPrecondition)

	c = e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"})
	_, err = e.act("feng", c, approvalv1.Action_ACTION_WITHDRAW, text("撤回"))
	wantCode(t, err, codes.FailedPrecondition)
}

// A payload change is a new version: every signature given on the earlier version is
// voided and the case runs again from its entry step; the new amount may take it on a
// longer chain.
func TestPayloadChangeVoidsSignatures(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 100000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	np := &approvalv1.Payload{Amount: 900000, Fund: "ZX-1", Indicator: "ZB-1", Payee: acme, Purpose: "追加"}
	_, err := e.act("zhu", c, approvalv1.Action_ACTION_UPDATE_PAYLOAD, func(r *approvalv1.ActRequest) { r.Payload = np })
	wantDenied(t, err, "case.not_editor")
	c = e.mustAct("feng", c, approvalv1.Action_ACTION_UPDATE_PAYLOAD, text("金额调整"), func(r *approvalv1.ActRequest) { r.Payload = np })
	if c.Payload.Version != 2 || c.Payload.Amount != 900000 {
		t.Fatalf("payload = %v", c.Payload)
	}
	for _, s := range c.Signatures {
		if !s.Voided {
			t.Errorf("signature at %s (version %d) survived the change to version 2", s.Step, s.PayloadVersion)
		}
	}
	if !slices.Equal(activeSteps(c), []string{"zcjh"}) {
		t.Fatalf("after the change, active = %v, want the entry step", activeSteps(c))
	}
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	if !slices.Equal(activeSteps(c), []string{"cz"}) {
		t.Fatalf("900000: active = %v, want the 处长 (50万 and over)", activeSteps(c))
	}
	for _, s := range c.Signatures {
		if !s.Voided && s.PayloadVersion != 2 {
			t.Errorf("valid signature at %s bound to version %d", s.Step, s.PayloadVersion)
		}
	}
	// 回避 follows the new payee.
	np2 := &approvalv1.Payload{Amount: 900000, Payee: kangning}
	_, err = e.act("cao", c, approvalv1.Action_ACTION_UPDATE_PAYLOAD, func(r *approvalv1.ActRequest) { r.Payload = np2 })
	wantDenied(t, err, "sod.conflict_of_interest")
}

// 拦截: a supervisor holds a case; it cannot advance until the hold is released, which
// is itself decided and recorded; those who take part in the case may not hold it.
func TestHolds(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.mustSign("feng", c, "zcjh")
	hold := func(person, roles string) (*approvalv1.Case, error) {
		return e.cases.Act(e.as(person, "cz:"+roles), &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_HOLD, RequestId: e.rid(), Text: "收款人异常"})
	}
	_, err := hold("zhu", "staff")
	wantDenied(t, err, "case.hold_permission")
	// feng applied: who takes part in a case does not supervise it.
	_, err = hold("feng", "staff,supervisor")
	wantDenied(t, err, "sod.supervisor_involved")
	c, err = hold("xu", "staff,supervisor")
	if err != nil {
		t.Fatal(describe(err))
	}
	if !c.Held || len(c.Holds) != 1 || c.Holds[0].HeldBy != pn("xu") {
		t.Fatalf("hold: %v %v", c.Held, c.Holds)
	}
	_, err = e.sign("he", c, "zgzr")
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "CASE_HELD" {
		t.Errorf("reason %q", reason(err))
	}
	// A comment is still possible on a held case.
	e.mustAct("he", c, approvalv1.Action_ACTION_COMMENT, text("等待核查"))
	rel := &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_RELEASE, Hold: c.Holds[0].Id, RequestId: e.rid(), Text: "核查无误"}
	_, err = e.cases.Act(e.as("zhu", "cz:staff"), rel)
	wantDenied(t, err, "case.hold_permission")
	c, err = e.cases.Act(e.as("xu", "cz:staff,supervisor"), rel)
	if err != nil {
		t.Fatal(describe(err))
	}
	if c.Held || c.Holds[0].ReleasedBy != pn("xu") || c.Holds[0].ReleaseReason != "核查无误" {
		t.Fatalf("release: %v %v", c.Held, c.Holds[0])
	}
	e.mustSign("he", c, "zgzr")
}

// 加签: the holder of a step requires another person's signature too; the step completes
// when both have signed.
func TestAddSigner(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.mustSign("feng", c, "zcjh")
	add := func(who, person string) (*approvalv1.Case, error) {
		return e.act(who, c, approvalv1.Action_ACTION_ADD_SIGNER, step("zgzr"), func(r *approvalv1.ActRequest) { r.Person = pn(person) })
	}
	_, err := add("zhu", "wu")
	wantDenied(t, err, "signoff.not_holder")
	_, err = add("he", "feng") // the applicant, who did 支出计划
	wantDenied(t, err, "sod.added_signer")
	c, err = add("he", "wu")
	if err != nil {
		t.Fatal(describe(err))
	}
	c = e.mustSign("he", c, "zgzr")
	if !slices.Equal(activeSteps(c), []string{"zgzr"}) || !c.Active[0].Signed {
		t.Fatalf("after the holder signed, active = %v (the added signer has not)", activeSteps(c))
	}
	inbox, err := e.cases.ListInbox(e.person("wu"), &approvalv1.ListInboxRequest{Parent: "orgs/cz"})
	if err != nil || len(inbox.Items) != 1 || inbox.Items[0].Step.Step != "zgzr" {
		t.Fatalf("the added signer's inbox: %v %v", inbox, err)
	}
	c = e.mustSign("wu", c, "zgzr")
	if !slices.Equal(activeSteps(c), []string{"fgcz"}) {
		t.Fatalf("after the added signer, active = %v", activeSteps(c))
	}
}

// My inbox: the steps of my posts and rank seats, claimed by me, delegated to me.
func TestInbox(t *testing.T) {
	e := newEnv(t)
	var names []string
	for range 3 {
		names = append(names, e.mustOpen("feng", zjbf, 1000).Name)
		e.clock.add(time.Second) // cases list in the order they were opened
	}
	inbox := func(who string, size int32, token string) *approvalv1.ListInboxResponse {
		t.Helper()
		r, err := e.cases.ListInbox(e.person(who), &approvalv1.ListInboxRequest{Parent: "orgs/cz", PageSize: size, PageToken: token})
		if err != nil {
			t.Fatal(describe(err))
		}
		return r
	}
	// feng and cao hold 支出计划: three cases each.
	for _, who := range []string{"feng", "cao"} {
		if got := inbox(who, 0, ""); len(got.Items) != 3 {
			t.Fatalf("%s's inbox: %d items", who, len(got.Items))
		}
	}
	p1 := inbox("feng", 2, "")
	p2 := inbox("feng", 2, p1.NextPageToken)
	if len(p1.Items) != 2 || len(p2.Items) != 1 || p2.NextPageToken != "" || p1.Items[0].Case.Name != names[0] || p2.Items[0].Case.Name != names[2] {
		t.Fatalf("pages: %d + %d", len(p1.Items), len(p2.Items))
	}
	// Claimed by cao: only cao's.
	c, _ := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: names[0]})
	c = e.mustAct("cao", c, approvalv1.Action_ACTION_CLAIM, step("zcjh"))
	if got := inbox("feng", 0, ""); len(got.Items) != 2 {
		t.Fatalf("feng's inbox after cao claimed one: %d", len(got.Items))
	}
	// he's 审核 (a rank seat) once signed; delegated to zhu, it is in zhu's inbox for he.
	c = e.mustSign("cao", c, "zcjh")
	if got := inbox("he", 0, ""); len(got.Items) != 1 || got.Items[0].Step.Step != "zgzr" {
		t.Fatalf("he's inbox: %v", got.Items)
	}
	e.mustAct("he", c, approvalv1.Action_ACTION_DELEGATE, step("zgzr"), func(r *approvalv1.ActRequest) { r.Person, r.Until = pn("zhu"), "2026-12-31" })
	got := inbox("zhu", 0, "")
	if len(got.Items) != 1 || got.Items[0].OnBehalfOf != pn("he") {
		t.Fatalf("zhu's inbox: %v", got.Items)
	}
	if got := inbox("zhang", 0, ""); len(got.Items) != 0 {
		t.Fatalf("zhang's inbox: %v", got.Items)
	}
}
