package approval_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// signAll signs the steps in order, each by its person, checking the case advances.
func (e *env) signAll(c *approvalv1.Case, steps ...[2]string) *approvalv1.Case {
	e.t.Helper()
	for _, s := range steps {
		c = e.mustSign(s[1], c, s[0])
	}
	return c
}

// The chain 经办人→主管责任人→分管处长 for an amount under 50万, then the horizontal fund
// steps on different posts, completes; every signature records its decision.
func TestChainUnderBand(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 100000)
	if got := activeSteps(c); !slices.Equal(got, []string{"zcjh"}) {
		t.Fatalf("active after create = %v, want [zcjh]", got)
	}
	if c.FlowRevision != 1 || c.PowerRevision != 1 || c.Unit != "orgs/cz/units/sbc" || c.Applicant != pn("feng") {
		t.Fatalf("case pinned %d/%d unit %q applicant %q", c.FlowRevision, c.PowerRevision, c.Unit, c.Applicant)
	}
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	if got := activeSteps(c); !slices.Equal(got, []string{"zbsh"}) {
		t.Fatalf("after fgcz, active = %v, want [zbsh] (under 50万 the 处长 is skipped)", got)
	}
	c = e.signAll(c, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "gao"}, [2]string{"bfbl", "tang"}, [2]string{"kjhs", "song"})
	if c.State != approvalv1.Case_STATE_COMPLETED || len(c.Active) != 0 || c.CloseTime == nil {
		t.Fatalf("state %s, active %v", c.State, activeSteps(c))
	}
	if c.FirstResponsible != pn("he") {
		t.Errorf("first responsible = %q, want he (the first officer after the applicant)", c.FirstResponsible)
	}
	for _, s := range c.Signatures {
		if s.DecisionId == "" || s.PolicyRevision == "" || s.PayloadVersion != 1 {
			t.Errorf("signature %s by %s lacks its decision: %+v", s.Step, s.Person, s)
		}
	}
}

// From 50万 the chain goes on to the 处长; completing without the 处长's signature is
// impossible because the flow routes through it, and the band rule holds the line if a
// flow did not.
func TestChainBands(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 800000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	if !slices.Equal(activeSteps(c), []string{"cz"}) {
		t.Fatalf("50万 and over: active after fgcz = %v, want [cz]", activeSteps(c))
	}
	// The 处长 step cannot be signed before the lower levels (here they are), and only
	// by the 处长 of the unit.
	_, err := e.sign("deng", c, "cz") // 国库处处长, not 社保处
	wantDenied(t, err, "signoff.not_holder")
	c = e.mustSign("wu", c, "cz")
	if !slices.Equal(activeSteps(c), []string{"zbsh"}) {
		t.Fatalf("active after cz = %v, want [zbsh]", activeSteps(c))
	}
	c = e.signAll(c, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "gao"}, [2]string{"bfbl", "tang"}, [2]string{"kjhs", "song"})
	if c.State != approvalv1.Case_STATE_COMPLETED {
		t.Fatalf("state = %s", c.State)
	}
	var levels []int32
	for _, s := range c.Signatures {
		levels = append(levels, s.RankLevel)
	}
	if !slices.Equal(levels, []int32{1, 2, 3, 4, 1, 1, 1, 1}) {
		t.Errorf("signature rank levels = %v", levels)
	}
}

// 或签: one member passing passes the group; 会签: every member must pass; 一票否决: one
// member's rejection rejects the case.
func TestParallelGroups(t *testing.T) {
	e := newEnv(t)
	open := func() *approvalv1.Case {
		c := e.mustOpen("feng", lhsc, 0)
		c = e.mustSign("feng", c, "sq")
		if got := activeSteps(c); !slices.Equal(got, []string{"hq-ys", "hq-gk"}) {
			t.Fatalf("active after sq = %v, want both 或签 members", got)
		}
		return c
	}

	t.Run("或签 passes with one", func(t *testing.T) {
		c := open()
		c = e.mustSign("deng", c, "hq-gk")
		if got := activeSteps(c); !slices.Equal(got, []string{"hs-sb", "hs-gk"}) {
			t.Fatalf("active after one 或签 = %v, want the 会签 members", got)
		}
		_, err := e.sign("lin", c, "hq-ys")
		wantCode(t, err, codes.FailedPrecondition) // no longer needed
	})

	t.Run("会签 needs all", func(t *testing.T) {
		c := e.mustSign("lin", open(), "hq-ys")
		c = e.mustSign("wu", c, "hs-sb")
		if got := activeSteps(c); !slices.Equal(got, []string{"hs-gk"}) {
			t.Fatalf("active after one 会签 member = %v, want [hs-gk]", got)
		}
		c = e.mustSign("gao", c, "hs-gk")
		if got := activeSteps(c); !slices.Equal(got, []string{"fp", "fp2"}) {
			t.Fatalf("active after 会签 = %v", got)
		}
		c = e.mustSign("wu", c, "fp")
		if c.State != approvalv1.Case_STATE_COMPLETED {
			t.Fatalf("state = %s", c.State)
		}
	})

	t.Run("或签 declined by one waits for the other; declined by all rejects", func(t *testing.T) {
		c := open()
		c = e.mustAct("lin", c, approvalv1.Action_ACTION_REJECT, step("hq-ys"), text("不同意"))
		if c.State != approvalv1.Case_STATE_OPEN || !slices.Equal(activeSteps(c), []string{"hq-gk"}) || !slices.Equal(c.DeclinedSteps, []string{"hq-ys"}) {
			t.Fatalf("after one decline: %s, active %v, declined %v", c.State, activeSteps(c), c.DeclinedSteps)
		}
		c = e.mustAct("deng", c, approvalv1.Action_ACTION_REJECT, step("hq-gk"), text("不同意"))
		if c.State != approvalv1.Case_STATE_REJECTED {
			t.Fatalf("after every member declined: %s", c.State)
		}
	})

	t.Run("一票否决", func(t *testing.T) {
		c := e.mustSign("lin", open(), "hq-ys")
		c = e.signAll(c, [2]string{"hs-sb", "wu"}, [2]string{"hs-gk", "gao"})
		c = e.mustAct("deng", c, approvalv1.Action_ACTION_REJECT, step("fp2"), text("否决"))
		if c.State != approvalv1.Case_STATE_REJECTED {
			t.Fatalf("a veto member's rejection: state %s", c.State)
		}
	})

	t.Run("会签 member's rejection rejects", func(t *testing.T) {
		c := e.mustSign("lin", open(), "hq-ys")
		c = e.mustAct("wu", c, approvalv1.Action_ACTION_REJECT, step("hs-sb"), text("不同意"))
		if c.State != approvalv1.Case_STATE_REJECTED {
			t.Fatalf("state %s", c.State)
		}
	})
}

// 退回 to an earlier step voids the signatures from that step on and runs the case from
// there again; the reason is required and recorded.
func TestReturn(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"})
	_, err := e.act("liu", c, approvalv1.Action_ACTION_RETURN, step("fgcz"), func(r *approvalv1.ActRequest) { r.ToStep = "zcjh" })
	wantCode(t, err, codes.InvalidArgument) // no reason
	_, err = e.act("liu", c, approvalv1.Action_ACTION_RETURN, step("fgcz"), text("材料不全"), func(r *approvalv1.ActRequest) { r.ToStep = "kjhs" })
	wantCode(t, err, codes.FailedPrecondition) // not an earlier step
	c = e.mustAct("liu", c, approvalv1.Action_ACTION_RETURN, step("fgcz"), text("材料不全"), func(r *approvalv1.ActRequest) { r.ToStep = "zcjh" })
	if !slices.Equal(activeSteps(c), []string{"zcjh"}) {
		t.Fatalf("after return, active = %v", activeSteps(c))
	}
	for _, s := range c.Signatures {
		if !s.Voided || s.VoidReason == "" {
			t.Errorf("signature at %s by %s still counts after the return", s.Step, s.Person)
		}
	}
	// The case runs again from 支出计划: the chain is signed anew.
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	if !slices.Equal(activeSteps(c), []string{"zbsh"}) {
		t.Fatalf("after re-signing, active = %v", activeSteps(c))
	}
}
