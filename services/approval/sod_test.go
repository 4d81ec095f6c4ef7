package approval_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// Every 分权制衡 rule, exercised through the service: a denial is PERMISSION_DENIED with
// the rule, and nothing is written (the case's etag does not move).
func TestSeparationOfDuties(t *testing.T) {
	e := newEnv(t)

	t.Run("A and B are two people", func(t *testing.T) {
		_, err := e.open("feng", zjbf, 1000, func(c *approvalv1.Case) { c.B = pn("feng") })
		wantDenied(t, err, "sod.ab_distinct")
	})

	t.Run("one person at two separated steps", func(t *testing.T) {
		c := e.mustOpen("feng", zjbf, 1000)
		c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "gao"})
		// gao holds 拨付办理 too (B角), but signed 支付审核 of this case.
		_, err := e.sign("gao", c, "bfbl")
		wantDenied(t, err, "sod.separated_steps")
		after, _ := e.cases.GetCase(e.person("gao"), &approvalv1.GetCaseRequest{Name: c.Name})
		if after.Etag != c.Etag {
			t.Errorf("a denied sign changed the case: etag %s → %s", c.Etag, after.Etag)
		}
		e.mustSign("tang", c, "bfbl")
	})

	t.Run("管办分离", func(t *testing.T) {
		// gao's 支付审核 post manages fund ZX-2: gao may not do the 办 step 拨付办理 for it.
		c := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.Payload.Fund = "ZX-2" })
		c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"}, [2]string{"zbsh", "zhang"}, [2]string{"zfsh", "ma"})
		_, err := e.sign("gao", c, "bfbl")
		wantDenied(t, err, "sod.manage_handle")
	})

	t.Run("回避", func(t *testing.T) {
		// cao declared a conflict with 康宁养老: cao may not act on a case paying it.
		c := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.Payload.Payee = kangning; c.B = pn("he") })
		_, err := e.sign("cao", c, "zcjh")
		wantDenied(t, err, "sod.conflict_of_interest")
		_, err = e.act("cao", c, approvalv1.Action_ACTION_CLAIM, step("zcjh"))
		wantDenied(t, err, "sod.conflict_of_interest")
	})

	t.Run("the applicant does not approve their own case", func(t *testing.T) {
		// he applies (he holds no 支出计划 post, but the entry step is feng's); later he
		// would be the 主管责任人 of his own case.
		c := e.mustOpen("he", zjbf, 1000, func(c *approvalv1.Case) { c.A = pn("feng") })
		c = e.mustSign("feng", c, "zcjh")
		_, err := e.sign("he", c, "zgzr")
		wantDenied(t, err, "sod.self_approval")
	})

	t.Run("a delegation does not bring the delegate into a separated role", func(t *testing.T) {
		c := e.mustOpen("feng", zjbf, 1000)
		c = e.mustSign("feng", c, "zcjh")
		// he (主管责任人) delegates 审核 to feng, who did 支出计划 of the case.
		_, err := e.act("he", c, approvalv1.Action_ACTION_DELEGATE, step("zgzr"), func(r *approvalv1.ActRequest) {
			r.Person, r.Until = pn("feng"), "2026-11-20"
		})
		wantDenied(t, err, "sod.delegation_separation")
		// To zhu (no post, no part in the case) it is allowed, and zhu then signs for he.
		c = e.mustAct("he", c, approvalv1.Action_ACTION_DELEGATE, step("zgzr"), func(r *approvalv1.ActRequest) {
			r.Person, r.Until = pn("zhu"), "2026-11-20"
		})
		if a := c.Active[0]; a.Delegate != pn("zhu") || a.DelegatedBy != pn("he") || a.DelegatedUntil != "2026-11-20" {
			t.Fatalf("delegation not recorded: %+v", a)
		}
		c = e.mustSign("zhu", c, "zgzr")
		sig := c.Signatures[len(c.Signatures)-1]
		if sig.Person != pn("zhu") || sig.OnBehalfOf != pn("he") {
			t.Fatalf("delegated signature records %s for %s, want zhu for he", sig.Person, sig.OnBehalfOf)
		}
	})

	t.Run("only the holder of the step's post acts", func(t *testing.T) {
		c := e.mustOpen("feng", zjbf, 1000)
		_, err := e.sign("zhu", c, "zcjh")
		wantDenied(t, err, "signoff.not_holder")
	})

	t.Run("a step not active cannot be signed", func(t *testing.T) {
		c := e.mustOpen("feng", zjbf, 1000)
		_, err := e.sign("he", c, "zgzr")
		wantCode(t, err, codes.FailedPrecondition)
		if reason(err) != "STEP_NOT_ACTIVE" {
			t.Errorf("reason = %q", reason(err))
		}
	})

	t.Run("a claimed step is signed by its claimer", func(t *testing.T) {
		c := e.mustOpen("feng", zjbf, 1000)
		c = e.mustAct("cao", c, approvalv1.Action_ACTION_CLAIM, step("zcjh"))
		if c.Active[0].ClaimedBy != pn("cao") || c.FirstResponsible != pn("cao") {
			t.Fatalf("claim not recorded: %+v, first %q", c.Active[0], c.FirstResponsible)
		}
		_, err := e.sign("feng", c, "zcjh")
		wantCode(t, err, codes.FailedPrecondition)
		c = e.mustSign("cao", c, "zcjh")
		if !slices.Equal(activeSteps(c), []string{"zgzr"}) {
			t.Fatalf("active = %v", activeSteps(c))
		}
	})
}
