package supervision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/store"
)

// holdPending marks a warning whose hold (拦截) is still to be placed: the warning is
// committed first, and the hold worker asks the approval service until it answers.
const holdPending = "pending"

// holdRefused prefixes the answer of an approval service that refused the hold for good
// (the case closed before it could be held, …).
const holdRefused = "refused: "

const idxPendingHold = "pending-hold"

// callTimeout bounds a call to another service: a peer that hangs does not stop the
// worker (what it left pending is asked again).
const callTimeout = 10 * time.Second

func (s *Service) nudgeHolds() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pendingHolds lists the warnings whose hold is still to be placed.
func (s *Service) pendingHolds() []*informer.Item {
	var out []*informer.Item
	s.cache.AscendIndex(idxPendingHold, "p", s.keys.data.Prefix(), "", func(it *informer.Item) bool {
		out = append(out, it)
		return true
	})
	return out
}

func (s *Service) holdLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
		if err := s.PlaceHolds(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("holds not placed yet; retrying", "err", err)
		}
		if err := s.FeedRisk(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("warnings not yet counted by the risk register; retrying", "err", err)
		}
	}
}

// PlaceHolds asks the approval service to hold the case of every warning whose hold is
// pending (request id bound to the warning, so a repeated ask holds once), and records
// the hold's id — or the refusal, when the approval service refuses for good — on the
// warning. It returns the first error that leaves a hold pending.
func (s *Service) PlaceHolds(ctx context.Context) error {
	if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
		return err
	}
	cases := approvalv1.NewCaseServiceClient(s.cfg.Approval)
	var first error
	for _, it := range s.pendingHolds() {
		w := it.Obj.(*supervisionv1.Warning)
		result := ""
		cctx, cancel := context.WithTimeout(s.cfg.CallCtx(ctx), callTimeout)
		c, err := cases.Act(cctx, &approvalv1.ActRequest{
			Name: w.Subject, Action: approvalv1.Action_ACTION_HOLD, RequestId: "sv-" + idOf(w.Name), Rule: "supervision." + w.Rule,
			Text: "电子监察 " + w.Rule + "：" + w.Zh,
		})
		cancel()
		switch status.Code(err) {
		case codes.OK:
			for _, h := range c.Holds {
				if h.Rule == "supervision."+w.Rule {
					result = h.Id
				}
			}
			if result == "" {
				// Not the hold asked for (a release needs its id): ask again later.
				if first == nil {
					first = fmt.Errorf("%s: the approval service answered without a hold of rule %s", w.Subject, w.Rule)
				}
				continue
			}
		case codes.FailedPrecondition, codes.InvalidArgument:
			// The case cannot be held any more (closed meanwhile, …): final. A denial or a
			// case not (yet) found may be passing (grants, a lagging replica): retried.
			result = holdRefused + status.Convert(err).Message()
		default:
			if first == nil {
				first = err
			}
			continue
		}
		next := cloneWarning(w)
		next.Hold = result
		next.UpdateTime = nowTS(s.cfg.Now())
		if strings.HasPrefix(result, holdRefused) {
			s.log.Warn("the approval service refused a hold", "warning", w.Name, "case", w.Subject, "answer", result)
		}
		k := s.warningKey(w.Name)
		if _, err := s.commitWarnings(store.SystemWrite(ctx, "supervision: hold placed"), store.NewTxn().ExpectVersion(k, it.ModRev, w.Name).Put(k, storedWarning(next))); err != nil && first == nil {
			first = err
		}
	}
	return first
}

const idxPendingRisk = "pending-risk"

// FeedRisk gives the risk register every warning on a flow's step it has not counted yet
// (RecordWarning is idempotent by the warning's name), and marks each as counted.
func (s *Service) FeedRisk(ctx context.Context) error {
	if s.cfg.Risk == nil {
		return nil
	}
	if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
		return err
	}
	var pending []*informer.Item
	s.cache.AscendIndex(idxPendingRisk, "p", s.keys.data.Prefix(), "", func(it *informer.Item) bool {
		pending = append(pending, it)
		return true
	})
	cl := riskv1.NewRiskServiceClient(s.cfg.Risk)
	var first error
	var done []*informer.Item
	for _, it := range pending {
		w := it.Obj.(*supervisionv1.Warning)
		cctx, cancel := context.WithTimeout(s.cfg.CallCtx(ctx), callTimeout)
		_, err := cl.RecordWarning(cctx, &riskv1.RecordWarningRequest{Parent: "orgs/" + orgOf(w.Name), Warning: &riskv1.Warning{
			Id: w.Name, Flow: w.Flow, Step: w.Step, Case: w.Subject, Rule: "supervision." + w.Rule, Time: w.RaiseTime,
		}})
		cancel()
		switch status.Code(err) {
		case codes.OK, codes.InvalidArgument, codes.NotFound, codes.PermissionDenied:
			if err != nil {
				s.log.Warn("the risk register refused a warning", "warning", w.Name, "err", err)
			}
		default:
			if first == nil {
				first = err
			}
			continue
		}
		done = append(done, it)
	}
	// The marks in a few transactions (each guarded by the warnings' revisions: one changed
	// meanwhile fails its chunk, counted again next time — RecordWarning counts once).
	for len(done) > 0 {
		n := min(len(done), maxTickWrites)
		t := store.NewTxn()
		for _, it := range done[:n] {
			next := cloneWarning(it.Obj.(*supervisionv1.Warning))
			next.RiskRecorded = true
			t.ExpectVersion(it.Key, it.ModRev, next.Name).Put(it.Key, storedWarning(next))
		}
		if _, err := s.commitWarnings(store.SystemWrite(ctx, "supervision: warnings counted by the risk register"), t); err != nil && first == nil {
			first = err
		}
		done = done[n:]
	}
	return first
}
