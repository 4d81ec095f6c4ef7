package approval

import (
	"context"
	"log/slog"

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
	return apierr.Reply(ctx, h.log, err)
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
	if to := req.GetToRevision(); to > 0 {
		return h.status(stream.Context(), h.s.EventsBetween(stream.Context(), req.GetParent(), req.GetFromRevision(), to, stream.Send))
	}
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
