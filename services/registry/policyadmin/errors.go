package policyadmin

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/protoadapt"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// ErrorInfo reasons of the policy service.
const (
	// ReasonFourEyes: the proposer of a set tried to approve it.
	ReasonFourEyes = "FOUR_EYES"
	// ReasonState: the set is not in a state that allows the operation (metadata "state").
	ReasonState = "POLICY_SET_STATE"
	// ReasonUnchanged: the proposal is identical to the set that serves.
	ReasonUnchanged = "POLICY_SET_UNCHANGED"
	// ReasonInvalidNow: the set no longer compiles or passes its tests with this binary.
	ReasonInvalidNow = "POLICY_SET_INVALID"
	// ReasonStaleBase: another set was activated since the proposal was made.
	ReasonStaleBase = "POLICY_SET_STALE"
)

// errStaleBase: the proposal's base is no longer the serving set.
func errStaleBase(ps *policyv1.PolicySet, serving string) error {
	return failedPrecondition(ReasonStaleBase,
		fmt.Sprintf("%s was proposed against %s, but %s serves now: approving it would undo that change; propose it again on top of %s", ps.Name, ps.Base, serving, serving),
		fmt.Sprintf("规则集 %s 基于 %s 提议，但现行规则集已是 %s：批准将撤销其间的变更，请在 %s 基础上重新提议", ps.Name, ps.Base, serving, serving),
		map[string]string{"name": ps.Name, "base": ps.Base, "serving": serving})
}

var stateZh = map[policyv1.PolicySet_State]string{
	policyv1.PolicySet_STATE_PROPOSED:   "待批准",
	policyv1.PolicySet_STATE_ACTIVE:     "生效中",
	policyv1.PolicySet_STATE_SUPERSEDED: "已被替代",
	policyv1.PolicySet_STATE_REJECTED:   "已驳回",
}

func stateName(s policyv1.PolicySet_State) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATE_"))
}

// failedPrecondition is FAILED_PRECONDITION with an ErrorInfo reason, the Chinese message
// and any further details.
func failedPrecondition(reason, en, zh string, meta map[string]string, more ...protoadapt.MessageV1) error {
	return apierr.Refused(codes.FailedPrecondition, reason, en, zh, meta, more...)
}

// errFourEyes: the caller proposed the set they try to approve.
func errFourEyes(ps *policyv1.PolicySet) error {
	return failedPrecondition(ReasonFourEyes,
		fmt.Sprintf("four-eyes rule: %s was proposed by %s, who cannot approve it; another policy officer must approve it", ps.Name, ps.ProposedBy),
		fmt.Sprintf("四眼原则：规则集 %s 由 %s 提议，提议人不得批准自己的提议，须由另一名制度管理员批准", ps.Name, ps.ProposedBy),
		map[string]string{"name": ps.Name, "proposed_by": ps.ProposedBy})
}

// errState: the operation needs the set in state want.
func errState(ps *policyv1.PolicySet, op string, want policyv1.PolicySet_State, wantZh string) error {
	return failedPrecondition(ReasonState,
		fmt.Sprintf("%s is %s: only a %s set can be %s", ps.Name, stateName(ps.State), stateName(want), op),
		fmt.Sprintf("规则集 %s 状态为“%s”，只有“%s”的规则集才能%s", ps.Name, stateZh[ps.State], stateZh[want], wantZh),
		map[string]string{"name": ps.Name, "state": ps.State.String()})
}

// errUnchanged: a proposal identical to the set that serves.
func errUnchanged(serving string) error {
	return failedPrecondition(ReasonUnchanged,
		fmt.Sprintf("the proposal is identical to %s, which already serves: nothing to propose", serving),
		fmt.Sprintf("提议的规则集与正在生效的 %s 完全相同，无需提议", serving),
		map[string]string{"serving": serving})
}

// setProblems lists what Validate found; other errors pass through.
func setProblems(err error) (*pdp.SetError, bool) {
	var se *pdp.SetError
	if errors.As(err, &se) {
		return se, true
	}
	return nil, false
}

var stageZh = map[string]string{
	"parse":   "解析失败",
	"compile": "编译失败（严格模式）",
	"data":    "数据文件无效",
	"test":    "规则集自带测试未通过",
}

func stageText(stage string) string {
	if zh, ok := stageZh[stage]; ok {
		return zh
	}
	return "校验失败"
}

// errInvalidProposal: the proposed files do not compile or their tests fail. Every
// problem is a violation of the field "files".
func errInvalidProposal(se *pdp.SetError) error {
	var v apierr.Violations
	for _, p := range se.Problems {
		v.Add("files", fmt.Sprintf("%s: %s", se.Stage, p), stageText(se.Stage)+"："+p)
	}
	if v.Len() == 0 {
		v.Add("files", "refused at "+se.Stage, stageText(se.Stage))
	}
	return v.Err()
}

// errInvalidNow: a stored set fails validation with this binary, so it is not activated.
func errInvalidNow(name string, se *pdp.SetError) error {
	pf := &errdetails.PreconditionFailure{}
	for _, p := range se.Problems {
		pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
			Type: ReasonInvalidNow, Subject: name, Description: se.Stage + ": " + p,
		})
	}
	return failedPrecondition(ReasonInvalidNow,
		fmt.Sprintf("%s does not pass validation with this version of the services (%s), so it is not activated: %s",
			name, se.Stage, strings.Join(se.Problems, "; ")),
		fmt.Sprintf("规则集 %s 在当前版本的服务中未通过校验（%s），不予启用", name, stageText(se.Stage)),
		map[string]string{"name": name, "stage": se.Stage}, pf)
}
