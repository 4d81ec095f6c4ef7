package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
)

// CreateCase opens a case on the latest published revision of a flow (pinned for the
// case's life) and activates its entry step. The caller is the applicant.
func (s *Service) CreateCase(ctx context.Context, req *approvalv1.CreateCaseRequest) (*approvalv1.Case, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	in := req.GetCase()
	a := callerIn(ctx, org)
	if a.person == "" {
		return nil, apierr.New(codes.PermissionDenied, "NOT_A_PERSON",
			fmt.Sprintf("the caller is no person of org %s: only people open cases", org), nil)
	}
	if err := s.checkNewCase(org, in); err != nil {
		return nil, err
	}
	digest := requests.Digest(req)
	reqKey := s.requests.Key(org, a.subject(), req.GetRequestId())
	if rr, err := s.cli.Get(ctx, reqKey, clientv3.WithSerializable()); err != nil {
		return nil, storeErr(err)
	} else if len(rr.Kvs) > 0 {
		return s.replay(ctx, rr.Kvs[0], "CreateCase", digest)
	}

	emergency := in.GetEmergency().GetActive()
	r, err := s.cat.pinned(ctx, in.GetFlow(), emergency)
	if err != nil {
		return nil, apierr.FromError(err)
	}
	powerName := in.GetFlow()[:strings.Index(in.GetFlow(), "/flows/")]
	if in.GetPower() != "" && in.GetPower() != powerName {
		return nil, apierr.Field("case.power", fmt.Sprintf("the flow %s belongs to %s, not %s", in.GetFlow(), powerName, in.GetPower()),
			fmt.Sprintf("流程 %s 属于职权 %s", in.GetFlow(), powerName))
	}
	now := s.cfg.Now()
	id := req.GetCaseId()
	if id == "" {
		id = newCaseID(now)
	}
	name := req.GetParent() + "/cases/" + id
	c := &approvalv1.Case{
		Name: name, Title: in.GetTitle(), Power: powerName, Flow: in.GetFlow(),
		FlowRevision: r.revision, PowerRevision: r.power.GetRevisionId(), Unit: r.power.GetPower().GetActingUnit(),
		Applicant: a.person, A: in.GetA(), B: in.GetB(),
		Payload: proto.Clone(in.GetPayload()).(*approvalv1.Payload),
		State:   approvalv1.Case_STATE_OPEN, CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now),
	}
	c.Payload.Version = 1
	normalizePayload(c.Payload)
	if emergency {
		c.Emergency = &approvalv1.Emergency{Active: true, Justification: in.GetEmergency().GetJustification()}
	}

	input := s.baseInput(org, today(now), a.id, "")
	input["case"] = s.caseInput(org, r, c, "")
	input["power"] = powerInput(r)
	dctx, d, err := s.decide(ctx, "approval.create", input)
	if err != nil {
		return nil, err
	}
	ch := &change{s: s, c: c, r: r, org: org, now: now, actor: a.person, decision: d}
	ch.event("created", "", in.GetTitle())
	entry, err := r.entryNode(c)
	if err != nil {
		return nil, apierr.FromError(fmt.Errorf("%w: %v", store.ErrFailedPrecondition, err))
	}
	ch.activate(entry)

	t := store.NewTxn().ExpectRevision(s.keys.caseKey(org, id), 0, name)
	if err := s.writeChange(t, org, id, ch); err != nil {
		return nil, err
	}
	if err := s.requests.Add(ctx, t, reqKey, req.GetRequestId(), requests.Record{Method: "CreateCase", Digest: digest, Name: name}, now); err != nil {
		return nil, err
	}
	rev, err := s.store.Commit(dctx, t)
	if err != nil {
		var ge *store.GuardError
		if errors.As(err, &ge) && ge.Guard.What == requests.GuardWhat(req.GetRequestId()) {
			// The same request was done concurrently: answer with its result.
			rr, gerr := s.cli.Get(ctx, reqKey, clientv3.WithSerializable())
			if gerr == nil && len(rr.Kvs) > 0 {
				return s.replay(ctx, rr.Kvs[0], "CreateCase", digest)
			}
		}
		return nil, apierr.FromError(err)
	}
	c.Etag = store.FormatEtag(rev)
	return c, nil
}

// checkNewCase checks what the proto rules cannot: the names belong to the org, A and
// B are active people, the emergency channel has its justification.
func (s *Service) checkNewCase(org string, c *approvalv1.Case) error {
	var v apierr.Violations
	if !strings.HasPrefix(c.GetFlow(), "orgs/"+org+"/") {
		v.Add("case.flow", fmt.Sprintf("the flow must be one of org %s", org), "流程应属于本单位")
	}
	facts := s.pdp.Facts()
	for _, f := range []struct{ field, name string }{{"case.a", c.GetA()}, {"case.b", c.GetB()}} {
		switch {
		case f.name == "":
			v.Add(f.field, "required: A角 (主办) and B角 (协办) are named when a case opens", "必填：案件须明确A角（主办）和B角（协办）")
		case !strings.HasPrefix(f.name, "orgs/"+org+"/people/"):
			v.Add(f.field, fmt.Sprintf("%s is not a person of org %s", f.name, org), f.name+" 不是本单位人员")
		case !facts.Active(org, idOf(f.name)):
			v.Add(f.field, fmt.Sprintf("%s is not an active person of org %s", f.name, org), f.name+" 不是本单位在职人员")
		}
	}
	if em := c.GetEmergency(); em.GetActive() && strings.TrimSpace(em.GetJustification()) == "" {
		v.Add("case.emergency.justification", "the emergency channel (绿色通道) needs a recorded justification", "启用绿色通道须记录理由")
	}
	if c.GetPayload() == nil {
		v.Add("case.payload", "required", "必填")
	}
	return v.Err()
}

// normalizePayload stores the codes the rules compare in one form — fund and indicator
// codes and the payee's code trimmed and upper-cased, the payee's name trimmed — so that
// "ys-2026-01 " and "YS-2026-01" are one indicator to 管办分离 and the cross-module rule.
func normalizePayload(p *approvalv1.Payload) {
	p.Fund = strings.ToUpper(strings.TrimSpace(p.Fund))
	p.Indicator = strings.ToUpper(strings.TrimSpace(p.Indicator))
	if py := p.GetPayee(); py != nil {
		py.Code = strings.ToUpper(strings.TrimSpace(py.Code))
		py.Name = strings.TrimSpace(py.Name)
	}
}
