package risk

import (
	"context"
	"log/slog"

	httpbody "google.golang.org/genproto/googleapis/api/httpbody"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// handler implements the risk service's gRPC service. Access (org scope and permission)
// was already decided by the server's interceptor from each method's rule; every state
// change is decided again, in full, by the policy decision point.
type handler struct {
	riskv1.UnimplementedRiskServiceServer
	s   *Service
	log *slog.Logger
}

// status maps an error to a gRPC status, logging what it hides.
func (h *handler) status(ctx context.Context, err error) error {
	return apierr.Reply(ctx, h.log, err)
}

func (h *handler) CreateCampaign(ctx context.Context, req *riskv1.CreateCampaignRequest) (*riskv1.Campaign, error) {
	c, err := h.s.CreateCampaign(ctx, req)
	return c, h.status(ctx, err)
}

func (h *handler) GetCampaign(ctx context.Context, req *riskv1.GetCampaignRequest) (*riskv1.Campaign, error) {
	c, err := h.s.GetCampaign(ctx, req.GetName())
	return c, h.status(ctx, err)
}

func (h *handler) ListCampaigns(ctx context.Context, req *riskv1.ListCampaignsRequest) (*riskv1.ListCampaignsResponse, error) {
	r, err := h.s.ListCampaigns(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ReviewCampaign(ctx context.Context, req *riskv1.ReviewCampaignRequest) (*riskv1.Campaign, error) {
	c, err := h.s.ReviewCampaign(ctx, req)
	return c, h.status(ctx, err)
}

func (h *handler) CreateRisk(ctx context.Context, req *riskv1.CreateRiskRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.CreateRisk(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) GetRisk(ctx context.Context, req *riskv1.GetRiskRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.GetRisk(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ListRisks(ctx context.Context, req *riskv1.ListRisksRequest) (*riskv1.ListRisksResponse, error) {
	r, err := h.s.ListRisks(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) UpdateRisk(ctx context.Context, req *riskv1.UpdateRiskRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.UpdateRisk(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ListRiskVersions(ctx context.Context, req *riskv1.ListRiskVersionsRequest) (*riskv1.ListRiskVersionsResponse, error) {
	r, err := h.s.ListRiskVersions(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) UpdateMeasure(ctx context.Context, req *riskv1.UpdateMeasureRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.UpdateMeasure(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) CommentRisk(ctx context.Context, req *riskv1.CommentRiskRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.CommentRisk(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) FileObjection(ctx context.Context, req *riskv1.FileObjectionRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.FileObjection(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) AnswerObjection(ctx context.Context, req *riskv1.AnswerObjectionRequest) (*riskv1.RiskPoint, error) {
	r, err := h.s.AnswerObjection(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) RecordWarning(ctx context.Context, req *riskv1.RecordWarningRequest) (*riskv1.RecordWarningResponse, error) {
	r, err := h.s.RecordWarning(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) GetRiskStats(ctx context.Context, req *riskv1.GetRiskStatsRequest) (*riskv1.RiskStats, error) {
	r, err := h.s.GetRiskStats(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) ExportRegister(ctx context.Context, req *riskv1.ExportRegisterRequest) (*httpbody.HttpBody, error) {
	r, err := h.s.ExportRegister(ctx, req)
	return r, h.status(ctx, err)
}

func (h *handler) RenderHeatMap(ctx context.Context, req *riskv1.RenderHeatMapRequest) (*httpbody.HttpBody, error) {
	r, err := h.s.RenderHeatMap(ctx, req)
	return r, h.status(ctx, err)
}
