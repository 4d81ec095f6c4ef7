package risk

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Evidence feedback (docs/RISK.md, "Evidence feedback").
const (
	// RegradeAt is the warning count from which a risk point is suggested for re-grading.
	RegradeAt = 3
	// IneffectiveAfter is how long a measure stays in place without catching anything,
	// while its risk point had warnings, before it is flagged possibly ineffective.
	IneffectiveAfter = 180 * 24 * time.Hour
)

// decorate computes the read-time fields of a risk point: possibly_ineffective, which
// depends on the clock (a measure in place for IneffectiveAfter with no catch while its
// risk point had warnings).
func (s *Service) decorate(r *riskv1.RiskPoint) {
	now := s.cfg.Now()
	for _, m := range r.Measures {
		inPlace := m.Status == riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE || m.Status == riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED
		m.PossiblyIneffective = inPlace && r.WarningCount > 0 && m.Catches == 0 &&
			m.StatusTime != nil && now.Sub(m.StatusTime.AsTime()) >= IneffectiveAfter
	}
}

// decorated returns a decorated copy of a cached risk point.
func (s *Service) decorated(r *riskv1.RiskPoint) *riskv1.RiskPoint {
	c := proto.Clone(r).(*riskv1.RiskPoint)
	s.decorate(c)
	return c
}

// RecordWarning attributes a supervision warning to the risk points on its step (or on
// its flow's power), once per warning id: warning_count grows, regrade_suggested is set
// from RegradeAt warnings, and each measure of phase MONITORING in place counts a catch.
// These are bookkeeping of the current record, not new versions.
func (s *Service) RecordWarning(ctx context.Context, req *riskv1.RecordWarningRequest) (*riskv1.RecordWarningResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	w := req.GetWarning()
	if w.GetFlow() != "" && !strings.HasPrefix(w.GetFlow(), "orgs/"+org+"/powers/") {
		return nil, apierr.Field("warning.flow", "the flow must be one of org "+org, "流程应属于本单位")
	}
	wkey := s.keys.warningKey(org, w.GetId())
	flow := w.GetFlow()
	power := ""
	if i := strings.Index(flow, "/flows/"); i > 0 {
		power = flow[:i]
	}
	match := func(r *riskv1.RiskPoint) bool {
		if flow == "" || r.Retired {
			return false
		}
		if slices.ContainsFunc(r.Steps, func(st *riskv1.StepRef) bool { return st.Flow == flow && (w.GetStep() == "" || st.Step == w.GetStep()) }) {
			return true
		}
		return power != "" && slices.Contains(r.Powers, power)
	}
	for attempt := 1; ; attempt++ {
		rr, err := s.cli.Get(ctx, wkey)
		if err != nil {
			return nil, storeErr(err)
		}
		if len(rr.Kvs) > 0 {
			var rec warningRecord
			if err := json.Unmarshal(rr.Kvs[0].Value, &rec); err != nil {
				return nil, err
			}
			return &riskv1.RecordWarningResponse{Risks: rec.Risks, RegradeSuggested: rec.Regrade}, nil
		}
		if err := s.cache.WaitFor(ctx, rr.Header.Revision); err != nil {
			return nil, storeErr(err)
		}
		t := store.NewTxn().ExpectRevision(wkey, 0, "warning "+w.GetId())
		var rec warningRecord
		s.cache.Ascend(s.keys.data.CollectionPrefix(org, "risks"), "", func(it *informer.Item) bool {
			r := it.Obj.(*riskv1.RiskPoint)
			if !match(r) {
				return true
			}
			next := proto.Clone(r).(*riskv1.RiskPoint)
			next.WarningCount++
			next.RegradeSuggested = next.RegradeSuggested || next.WarningCount >= RegradeAt
			for _, m := range next.Measures {
				if m.Phase == riskv1.Phase_PHASE_MONITORING && (m.Status == riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE || m.Status == riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED) {
					m.Catches++
				}
			}
			t.ExpectVersion(it.Key, it.ModRev, r.Name).Put(it.Key, storedRisk(next))
			rec.Risks = append(rec.Risks, r.Name)
			if next.WarningCount >= RegradeAt {
				rec.Regrade = append(rec.Regrade, r.Name)
			}
			return true
		})
		b, _ := json.Marshal(rec)
		t.Put(wkey, b)
		_, err = s.store.Commit(ctx, t)
		if err == nil {
			return &riskv1.RecordWarningResponse{Risks: rec.Risks, RegradeSuggested: rec.Regrade}, nil
		}
		var ge *store.GuardError
		if errors.As(err, &ge) && ge.Guard.What == "warning "+w.GetId() && attempt < s.cfg.MaxAttempts {
			continue // recorded concurrently: answer with that record
		}
		if rev, retry := store.Retryable(err); retry && attempt < s.cfg.MaxAttempts {
			if err := s.cache.WaitFor(ctx, rev); err != nil {
				return nil, storeErr(err)
			}
			continue
		}
		return nil, apierr.FromError(err)
	}
}

// MarkForReview appends reason to the review reasons of the org's risk points match
// selects (unless they have it already), in one transaction: bookkeeping of the current
// record (a system write, no new version). It returns how many it marked.
func (s *Service) MarkForReview(ctx context.Context, org, reason string, match func(*riskv1.RiskPoint) bool) (int, error) {
	ctx = store.SystemWrite(ctx, "risk review marks follow registry changes")
	for attempt := 1; ; attempt++ {
		if err := s.fresh(ctx); err != nil {
			return 0, err
		}
		t := store.NewTxn()
		n := 0
		s.cache.Ascend(s.keys.data.CollectionPrefix(org, "risks"), "", func(it *informer.Item) bool {
			r := it.Obj.(*riskv1.RiskPoint)
			if r.Retired || !match(r) || slices.Contains(r.ReviewReasons, reason) {
				return true
			}
			next := proto.Clone(r).(*riskv1.RiskPoint)
			next.ReviewReasons = append(next.ReviewReasons, reason)
			t.ExpectVersion(it.Key, it.ModRev, r.Name).Put(it.Key, storedRisk(next))
			n++
			return true
		})
		if n == 0 {
			return 0, nil
		}
		_, err := s.store.Commit(ctx, t)
		if err == nil {
			return n, nil
		}
		if rev, retry := store.Retryable(err); retry && attempt < s.cfg.MaxAttempts {
			if err := s.cache.WaitFor(ctx, rev); err != nil {
				return 0, storeErr(err)
			}
			continue
		}
		return 0, err
	}
}
