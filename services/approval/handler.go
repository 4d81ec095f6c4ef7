package approval

import (
	"context"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// handler implements the approval service's gRPC services. Access (org scope and
// permission) was already decided by the server's interceptor from each method's rule;
// every action on a case is decided again, in full, by the policy decision point.
type handler struct {
	approvalv1.UnimplementedCaseServiceServer
	approvalv1.UnimplementedEventServiceServer
	approvalv1.UnimplementedCalendarServiceServer
	s   *Service
	log *slog.Logger
}

// status maps an error to a gRPC status, logging what it hides.
func (h *handler) status(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if apierr.IsInternal(err) {
		h.log.ErrorContext(ctx, "internal error", "err", err)
	}
	return apierr.FromError(err)
}

func (h *handler) CreateCase(ctx context.Context, req *approvalv1.CreateCaseRequest) (*approvalv1.Case, error) {
	c, err := h.s.CreateCase(ctx, req)
	return c, h.status(ctx, err)
}

func (h *handler) GetCase(ctx context.Context, req *approvalv1.GetCaseRequest) (*approvalv1.Case, error) {
	c, err := h.s.GetCase(ctx, req.GetName())
	return c, h.status(ctx, err)
}

func (h *handler) ListCases(ctx context.Context, req *approvalv1.ListCasesRequest) (*approvalv1.ListCasesResponse, error) {
	r, err := h.s.ListCases(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ListInbox(ctx context.Context, req *approvalv1.ListInboxRequest) (*approvalv1.ListInboxResponse, error) {
	r, err := h.s.ListInbox(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ListOverdueSteps(ctx context.Context, req *approvalv1.ListOverdueStepsRequest) (*approvalv1.ListOverdueStepsResponse, error) {
	r, err := h.s.ListOverdueSteps(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ListCaseEvents(ctx context.Context, req *approvalv1.ListCaseEventsRequest) (*approvalv1.ListCaseEventsResponse, error) {
	r, err := h.s.ListCaseEvents(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) Act(ctx context.Context, req *approvalv1.ActRequest) (*approvalv1.Case, error) {
	c, err := h.s.Act(ctx, req)
	return c, h.status(ctx, err)
}

func (h *handler) CheckAction(ctx context.Context, req *approvalv1.CheckActionRequest) (*approvalv1.CheckActionResponse, error) {
	r, err := h.s.CheckAction(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) WatchEvents(req *approvalv1.WatchEventsRequest, stream approvalv1.EventService_WatchEventsServer) error {
	err := h.s.WatchEvents(stream.Context(), req.GetParent(), req.GetFromRevision(), stream.Send)
	return h.status(stream.Context(), err)
}

func (h *handler) GetCalendar(ctx context.Context, req *approvalv1.GetCalendarRequest) (*approvalv1.Calendar, error) {
	c, err := h.s.GetCalendar(ctx, req.GetName())
	return c, h.status(ctx, err)
}

func (h *handler) UpdateCalendar(ctx context.Context, req *approvalv1.UpdateCalendarRequest) (*approvalv1.Calendar, error) {
	c, err := h.s.UpdateCalendar(ctx, req.GetCalendar())
	return c, h.status(ctx, err)
}

// CheckAction plans and decides an action without writing: allowed, or every reason why
// not — the policy's violations, or the state that forbids it (rule "case.state").
func (s *Service) CheckAction(ctx context.Context, req *approvalv1.CheckActionRequest) (*approvalv1.CheckActionResponse, error) {
	act := req.GetAct()
	org, id, ok := caseName(req.GetName())
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/cases/{case}", "名称应为 orgs/{org}/cases/{case}")
	}
	rr, err := s.cli.Get(ctx, s.keys.caseKey(org, id))
	if err != nil {
		return nil, storeErr(err)
	}
	if len(rr.Kvs) == 0 {
		return nil, notFound(req.GetName())
	}
	cur, err := decodeCase(rr.Kvs[0].Value, req.GetName(), rr.Kvs[0].ModRevision)
	if err != nil {
		return nil, err
	}
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
