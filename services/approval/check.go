package approval

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// CheckAction plans and decides an action without writing: allowed, or every reason why
// not — the policy's violations, or the state that forbids it (rule "case.state").
func (s *Service) CheckAction(ctx context.Context, req *approvalv1.CheckActionRequest) (*approvalv1.CheckActionResponse, error) {
	act := req.GetAct()
	cur, err := s.GetCase(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	org, _, _ := caseName(req.GetName())
	a := &approvalv1.ActRequest{
		Name: req.GetName(), Action: act.GetAction(), Step: act.GetStep(), Text: act.GetText(), ToStep: act.GetToStep(),
		Person: act.GetPerson(), Payload: act.GetPayload(), Hold: act.GetHold(), Meeting: act.GetMeeting(),
		Attendees: act.GetAttendees(), Recused: act.GetRecused(), Vote: act.GetVote(), OnBehalfOf: act.GetOnBehalfOf(),
		Rule: act.GetRule(), Until: act.GetUntil(),
	}
	_, _, err = s.plan(ctx, org, cur, a)
	resp := &approvalv1.CheckActionResponse{Allowed: err == nil, PolicyRevision: s.pdp.Revision()}
	if err == nil {
		return resp, nil
	}
	st, _ := status.FromError(apierr.FromError(err))
	switch st.Code() {
	case codes.PermissionDenied:
		for _, d := range st.Details() {
			switch x := d.(type) {
			case *apiv1.PolicyDenial:
				resp.Violations = append(resp.Violations, x.Violations...)
				resp.PolicyRevision = x.PolicyRevision
			}
		}
		if len(resp.Violations) == 0 {
			resp.Violations = append(resp.Violations, &apiv1.PolicyViolation{Rule: "case.caller", En: st.Message(), Zh: zhOf(st)})
		}
	case codes.FailedPrecondition:
		resp.Violations = append(resp.Violations, &apiv1.PolicyViolation{Rule: "case.state", En: st.Message(), Zh: zhOf(st)})
	default:
		return nil, st.Err()
	}
	return resp, nil
}

func zhOf(st *status.Status) string {
	for _, d := range st.Details() {
		if lm, ok := d.(*errdetails.LocalizedMessage); ok {
			return lm.Message
		}
	}
	return st.Message()
}
