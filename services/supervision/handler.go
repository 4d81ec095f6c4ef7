package supervision

import (
	"context"
	"log/slog"

	httpbody "google.golang.org/genproto/googleapis/api/httpbody"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// handler implements the gRPC service. Access (org scope and permission) was decided by
// the server's interceptor from each method's rule.
type handler struct {
	supervisionv1.UnimplementedSupervisionServiceServer
	s   *Service
	log *slog.Logger
}

func (h *handler) status(ctx context.Context, err error) error {
	return apierr.Reply(ctx, h.log, err)
}

func (h *handler) ListWarnings(ctx context.Context, req *supervisionv1.ListWarningsRequest) (*supervisionv1.ListWarningsResponse, error) {
	r, err := h.s.ListWarnings(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) GetWarning(ctx context.Context, req *supervisionv1.GetWarningRequest) (*supervisionv1.Warning, error) {
	r, err := h.s.GetWarning(ctx, req.GetName())
	return r, h.status(ctx, err)
}

func (h *handler) ActOnWarning(ctx context.Context, req *supervisionv1.ActOnWarningRequest) (*supervisionv1.Warning, error) {
	r, err := h.s.ActOnWarning(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) Backtest(ctx context.Context, req *supervisionv1.BacktestRequest) (*supervisionv1.BacktestResponse, error) {
	r, err := h.s.Backtest(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) GetAssessment(ctx context.Context, req *supervisionv1.GetAssessmentRequest) (*supervisionv1.Assessment, error) {
	r, err := h.s.GetAssessment(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ExportAssessment(ctx context.Context, req *supervisionv1.ExportAssessmentRequest) (*httpbody.HttpBody, error) {
	r, err := h.s.ExportAssessment(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) GetConsumerStatus(ctx context.Context, _ *supervisionv1.GetConsumerStatusRequest) (*supervisionv1.ConsumerStatus, error) {
	return h.s.status(), nil
}

// complaintHandler implements the complaint service (信访举报).
type complaintHandler struct {
	supervisionv1.UnimplementedComplaintServiceServer
	s   *Service
	log *slog.Logger
}

func (h *complaintHandler) SubmitComplaint(ctx context.Context, req *supervisionv1.SubmitComplaintRequest) (*supervisionv1.ComplaintReceipt, error) {
	r, err := h.s.SubmitComplaint(ctx, req)
	return r, apierr.Reply(ctx, h.log, err)
}

func (h *complaintHandler) GetComplaintStatus(ctx context.Context, req *supervisionv1.GetComplaintStatusRequest) (*supervisionv1.ComplaintStatus, error) {
	r, err := h.s.GetComplaintStatus(ctx, req)
	return r, apierr.Reply(ctx, h.log, err)
}

func (h *complaintHandler) ListComplaints(ctx context.Context, req *supervisionv1.ListComplaintsRequest) (*supervisionv1.ListComplaintsResponse, error) {
	r, err := h.s.ListComplaints(ctx, req)
	return r, apierr.Reply(ctx, h.log, err)
}

func (h *complaintHandler) GetComplaint(ctx context.Context, req *supervisionv1.GetComplaintRequest) (*supervisionv1.Complaint, error) {
	r, err := h.s.GetComplaint(ctx, req.GetName())
	return r, apierr.Reply(ctx, h.log, err)
}

func (h *complaintHandler) ActOnComplaint(ctx context.Context, req *supervisionv1.ActOnComplaintRequest) (*supervisionv1.Complaint, error) {
	r, err := h.s.ActOnComplaint(ctx, req)
	return r, apierr.Reply(ctx, h.log, err)
}
