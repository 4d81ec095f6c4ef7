package supervision

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// Backtest replays the org's case events up to to_revision through a fresh case view and
// evaluates the rule set — the active one, or a stored policy set — on each event after
// from_revision exactly as the consumer does, counting the warnings (distinct ids) each
// rule raises. The clock rules are not replayed. Nothing is written.
func (s *Service) Backtest(ctx context.Context, req *supervisionv1.BacktestRequest) (*supervisionv1.BacktestResponse, error) {
	start := time.Now()
	to := req.GetToRevision()
	if to == 0 {
		r, err := s.cfg.Etcd.Get(ctx, s.keys.checkpointKey())
		if err != nil {
			return nil, apierr.Unavailable(err)
		}
		to = r.Header.Revision
	}
	if to <= req.GetFromRevision() {
		return nil, apierr.Field("to_revision", "to_revision must be after from_revision", "截止版本应晚于起始版本")
	}
	findings := func(ctx context.Context, in any) ([]any, string, error) { return s.cfg.PDP.Findings(ctx, in) }
	if name := req.GetPolicySet(); name != "" {
		id := name[strings.LastIndexByte(name, '/')+1:]
		r, err := s.cfg.Etcd.Get(ctx, pdp.SetsPrefix(s.cfg.KeyRoot)+id)
		if err != nil {
			return nil, apierr.Unavailable(err)
		}
		if len(r.Kvs) == 0 || !strings.HasPrefix(name, "policySets/") {
			return nil, apierr.Field("policy_set", name+" does not exist", name+" 不存在")
		}
		var ps policyv1.PolicySet
		if err := proto.Unmarshal(r.Kvs[0].Value, &ps); err != nil {
			return nil, err
		}
		ps.Name = name
		cand, err := s.cfg.PDP.Candidate(ctx, pdp.SetFromProto(&ps))
		if err != nil {
			return nil, apierr.Refused(codes.FailedPrecondition, "POLICY_SET_INVALID", name+": "+err.Error(), name+" 无法编译", nil)
		}
		findings = func(ctx context.Context, in any) ([]any, string, error) {
			out, err := cand.Findings(ctx, in)
			return out, cand.Revision(), err
		}
	}
	st, err := approvalv1.NewEventServiceClient(s.cfg.Approval).WatchEvents(s.cfg.CallCtx(ctx), &approvalv1.WatchEventsRequest{Parent: req.GetParent(), ToRevision: to})
	if err != nil {
		return nil, err
	}
	bt := &Service{cfg: s.cfg, log: s.log, keys: s.keys, cal: s.cal}
	bt.view.Store(newCaseView())
	resp := &supervisionv1.BacktestResponse{FromRevision: req.GetFromRevision(), ToRevision: to}
	counts := map[string]*supervisionv1.RuleCount{}
	subjects := map[string]map[string]bool{}
	seen := map[string]bool{}
	for {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		view := bt.view.Load()
		stepStart := view.stepStart(ev.Case, ev.Step)
		if ev.CaseAfter != nil {
			view.apply(ev.CaseAfter)
		}
		if ev.Revision <= req.GetFromRevision() {
			continue
		}

		resp.Events++
		c, payments := view.get(ev.Case)
		if c == nil {
			continue // as the consumer: an event before any case_after of its case
		}
		in := bt.eventInput(view, ev, c, payments, stepStart)
		raw, rev, err := findings(ctx, in)
		for try := 0; err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && try < 3; try++ {
			// One evaluation ran past the decision point's bound (a loaded machine, a long
			// GC): as the consumer (findings), try it again.
			raw, rev, err = findings(ctx, in)
		}
		if err != nil {
			return nil, err
		}
		resp.PolicyRevision = rev
		fs, err := parseFindings(raw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			id := warningID(f.Rule, f.Key)
			if seen[id] {
				continue
			}
			seen[id] = true
			rc := counts[f.Rule]
			if rc == nil {
				rc = &supervisionv1.RuleCount{Rule: f.Rule, Severity: severities[f.Severity]}
				counts[f.Rule] = rc
				subjects[f.Rule] = map[string]bool{}
			}
			rc.Warnings++
			subjects[f.Rule][f.Subject] = true
			resp.Warnings++
		}
	}
	for r, rc := range counts {
		rc.Subjects = int32(len(subjects[r]))
		resp.Rules = append(resp.Rules, rc)
	}
	sort.Slice(resp.Rules, func(i, j int) bool { return resp.Rules[i].Rule < resp.Rules[j].Rule })
	resp.Millis = time.Since(start).Milliseconds()
	return resp, nil
}
