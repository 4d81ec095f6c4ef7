package registry

import (
	"bytes"
	"context"
	"log/slog"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	httpbody "google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/fenquan/fenquan/proto/fenquan/audit/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/audit"
)

// auditHandler serves the audit log to auditors (package audit does the work). Access
// (the org, audit.read or audit.export) is the interceptor's, from each method's rule.
type auditHandler struct {
	auditv1.UnimplementedAuditServiceServer
	cli  *clientv3.Client
	root string
	log  *slog.Logger
}

func (h *auditHandler) VerifyAuditLog(ctx context.Context, req *auditv1.VerifyAuditLogRequest) (*auditv1.AuditReport, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	r, err := audit.Verify(ctx, h.cli, h.root, org)
	if err != nil {
		return nil, apierr.Reply(ctx, h.log, apierr.Unavailable(err))
	}
	out := &auditv1.AuditReport{
		Parent: req.GetParent(), Revision: r.Revision, Seals: int64(r.Seals), Sealed: int64(r.Sealed), Pending: int64(r.Pending),
		LastSealedRevision: r.LastSealedRev, LastHash: r.LastHash, Ok: r.OK(),
	}
	if !r.LastSealedTime.IsZero() {
		out.LastSealedTime = timestamppb.New(r.LastSealedTime)
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, &auditv1.AuditProblem{Kind: p.Kind, Entry: p.Entry, Seal: p.Seal, Revision: p.Rev, Reason: p.Reason})
	}
	return out, nil
}

func (h *auditHandler) ExportAuditLog(ctx context.Context, req *auditv1.ExportAuditLogRequest) (*httpbody.HttpBody, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	var rng audit.Range
	if req.GetFromTime() != nil {
		rng.From = req.GetFromTime().AsTime()
	}
	if req.GetToTime() != nil {
		rng.To = req.GetToTime().AsTime()
	}
	var b bytes.Buffer
	if _, err := audit.Export(ctx, h.cli, h.root, org, rng, &b); err != nil {
		return nil, apierr.Reply(ctx, h.log, apierr.Unavailable(err))
	}
	return &httpbody.HttpBody{ContentType: "application/x-ndjson", Data: b.Bytes()}, nil
}
