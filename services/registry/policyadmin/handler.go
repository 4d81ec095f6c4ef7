package policyadmin

import (
	"context"
	"log/slog"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// handler implements PolicyService. Access (policy.read, policy.propose, policy.approve)
// was decided by the server's interceptor from each method's rule, and the request
// validated against its proto rules; each method calls the domain and maps the error.
type handler struct {
	policyv1.UnimplementedPolicyServiceServer
	a   *admin
	log *slog.Logger
}

// status maps a domain error to a gRPC status, logging what it hides.
func (h *handler) status(ctx context.Context, err error) error {
	return apierr.Reply(ctx, h.log, err)
}

func (h *handler) ProposePolicySet(ctx context.Context, req *policyv1.ProposePolicySetRequest) (*policyv1.PolicySet, error) {
	ps, err := h.a.propose(ctx, req.Files, req.Note)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return ps, nil
}

func (h *handler) ApprovePolicySet(ctx context.Context, req *policyv1.ApprovePolicySetRequest) (*policyv1.PolicySet, error) {
	ps, err := h.a.approve(ctx, req.Name, req.Etag)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return ps, nil
}

func (h *handler) RejectPolicySet(ctx context.Context, req *policyv1.RejectPolicySetRequest) (*policyv1.PolicySet, error) {
	ps, err := h.a.reject(ctx, req.Name, req.Reason)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return ps, nil
}

func (h *handler) RollbackPolicySet(ctx context.Context, req *policyv1.RollbackPolicySetRequest) (*policyv1.PolicySet, error) {
	ps, err := h.a.rollback(ctx, req.Name, req.Reason)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return ps, nil
}

func (h *handler) GetPolicySet(ctx context.Context, req *policyv1.GetPolicySetRequest) (*policyv1.PolicySet, error) {
	ps, err := h.a.get(ctx, req.Name)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return ps.set, nil
}

func (h *handler) ListPolicySets(ctx context.Context, req *policyv1.ListPolicySetsRequest) (*policyv1.ListPolicySetsResponse, error) {
	sets, next, err := h.a.list(ctx, req.PageSize, req.PageToken)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return &policyv1.ListPolicySetsResponse{PolicySets: sets, NextPageToken: next}, nil
}

func (h *handler) GetPolicyStatus(ctx context.Context, _ *policyv1.GetPolicyStatusRequest) (*policyv1.PolicyStatus, error) {
	st, err := h.a.status(ctx)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return st, nil
}

func (h *handler) CheckPolicy(ctx context.Context, req *policyv1.CheckPolicyRequest) (*policyv1.CheckPolicyResponse, error) {
	resp, err := h.a.check(ctx, req.Action, req.Input)
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return resp, nil
}
