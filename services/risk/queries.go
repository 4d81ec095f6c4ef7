package risk

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
)

// filter selects cached risk points.
type filter struct {
	campaign, unit, kind, power, scope string
	level                              riskv1.Level
	grade                              riskv1.Grade
	needsReview, inForce               bool
}

func (f filter) keep(r *riskv1.RiskPoint) bool {
	// The integer tests first: they are the cheapest and the most selective.
	return !r.Retired &&
		(f.level == 0 || r.Level == f.level) &&
		(f.grade == 0 || r.GetGrading().GetGrade() == f.grade) &&
		(!f.inForce || r.InForce) &&
		(f.unit == "" || r.Unit == f.unit) &&
		(f.kind == "" || r.Kind == f.kind) &&
		(f.campaign == "" || r.Campaign == f.campaign) &&
		(f.scope == "" || r.Scope == f.scope) &&
		(f.power == "" || slices.Contains(r.Powers, f.power))
}

// marked reports whether a risk point is marked for review or suggested for re-grading.
func marked(r *riskv1.RiskPoint) bool { return len(r.ReviewReasons) > 0 || r.RegradeSuggested }

func (f filter) String() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d|%v|%v", f.campaign, f.unit, f.kind, f.power, f.scope, f.level, f.grade, f.needsReview, f.inForce)
}

// each visits the org's cached risk points f keeps, by key, after the key after. The
// points are collected under the cache's lock and visited after it is released: fn may
// read the cache (a nested read lock would deadlock with a writer waiting in between), and
// a long visit (an export) does not hold up the watch.
func (s *Service) each(org string, f filter, after string, fn func(it *informer.Item, r *riskv1.RiskPoint) bool) {
	var kept []*informer.Item
	collect := func(it *informer.Item) bool {
		if r, ok := it.Obj.(*riskv1.RiskPoint); ok && f.keep(r) {
			kept = append(kept, it)
		}
		return true
	}
	switch {
	case f.inForce:
		// The register in force: each risk point's version in force, even while a later
		// campaign revises it (its current record is then a draft).
		s.cache.Ascend(s.keys.data.CollectionPrefix(org, "inforce"), after, collect)
	case f.campaign != "":
		s.cache.AscendIndex(idxCampaign, org+"|"+f.campaign, s.keys.data.CollectionPrefix(org, "risks"), after, collect)
	default:
		s.cache.Ascend(s.keys.data.CollectionPrefix(org, "risks"), after, collect)
	}
	for _, it := range kept {
		r := it.Obj.(*riskv1.RiskPoint)
		if f.needsReview && !marked(s.marks(f, r)) {
			continue
		}
		if !fn(it, r) {
			return
		}
	}
}

// marks is the record whose review marks count for r: in the register in force, the
// current record (marks and warnings arrive after the version went into force).
func (s *Service) marks(f filter, r *riskv1.RiskPoint) *riskv1.RiskPoint {
	if f.inForce {
		return s.current(r)
	}
	return r
}

// current is the current record of the risk point r names (r itself if none is cached).
func (s *Service) current(r *riskv1.RiskPoint) *riskv1.RiskPoint {
	org, id, _ := splitName(r.Name, "risks")
	if it, ok := s.cache.Get(s.keys.riskKey(org, id)); ok {
		return it.Obj.(*riskv1.RiskPoint)
	}
	return r
}

// ListRisks lists risk points from the cache, by id, with the filters of the request.
func (s *Service) ListRisks(ctx context.Context, req *riskv1.ListRisksRequest) (*riskv1.ListRisksResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	f := filter{campaign: req.GetCampaign(), unit: req.GetUnit(), kind: req.GetKind(), power: req.GetPower(), scope: req.GetScope(),
		level: req.GetLevel(), grade: req.GetGrade(), needsReview: req.GetNeedsReview(), inForce: req.GetInForce()}
	prefix := s.keys.data.CollectionPrefix(org, "risks")
	if f.inForce {
		prefix = s.keys.data.CollectionPrefix(org, "inforce")
	}
	query := "risks|" + org + "|" + f.String()
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	resp := &riskv1.ListRisksResponse{}
	last, more := "", false
	s.each(org, f, "", func(it *informer.Item, r *riskv1.RiskPoint) bool {
		resp.TotalSize++
		switch {
		case it.Key <= after:
		case len(resp.Risks) < n:
			resp.Risks = append(resp.Risks, s.decorated(r))
			last = it.Key
		default:
			more = true // a token only when something follows the page
		}
		return true
	})
	if more {
		resp.NextPageToken = page.Encode(prefix, last, query)
	}
	return resp, nil
}

// registerFilter is the selection of the exports, the heat map and the stats: a
// campaign's risk points, or (no campaign) the register in force; of a unit if given.
func registerFilter(campaign, unit string) filter {
	return filter{campaign: campaign, unit: unit, inForce: campaign == ""}
}

// GetRiskStats counts risk points by grade, kind, unit and level, and per heat-map cell.
func (s *Service) GetRiskStats(ctx context.Context, req *riskv1.GetRiskStatsRequest) (*riskv1.RiskStats, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	byGrade, byKind, byUnit, byLevel, byStatus := map[string]int32{}, map[string]int32{}, map[string]int32{}, map[string]int32{}, map[string]int32{}
	cells := map[[2]int32]*riskv1.HeatCell{}
	st := &riskv1.RiskStats{}
	f := registerFilter(req.GetCampaign(), req.GetUnit())
	s.each(org, f, "", func(_ *informer.Item, r *riskv1.RiskPoint) bool {
		st.Total++
		g := r.GetGrading().GetGrade()
		byGrade[strings.TrimPrefix(g.String(), "GRADE_")]++
		byKind[r.Kind]++
		byUnit[r.Unit]++
		byLevel[levelName(r.Level)]++
		if marked(s.marks(f, r)) {
			st.NeedsReview++
		}
		for _, m := range r.Measures {
			st.Measures++
			byStatus[measureStatusNames[m.Status]]++
		}
		k := [2]int32{r.Likelihood, r.Impact}
		c := cells[k]
		if c == nil {
			c = &riskv1.HeatCell{Likelihood: r.Likelihood, Impact: r.Impact}
			cells[k] = c
		}
		c.Count++
		if g > c.Grade {
			c.Grade = g
		}
		return true
	})
	st.ByGrade, st.ByKind, st.ByUnit, st.ByLevel, st.MeasuresByStatus = counts(byGrade), counts(byKind), counts(byUnit), counts(byLevel), counts(byStatus)
	for _, c := range cells {
		st.Cells = append(st.Cells, c)
	}
	sort.Slice(st.Cells, func(i, j int) bool {
		if st.Cells[i].Likelihood != st.Cells[j].Likelihood {
			return st.Cells[i].Likelihood < st.Cells[j].Likelihood
		}
		return st.Cells[i].Impact < st.Cells[j].Impact
	})
	return st, nil
}

func counts(m map[string]int32) []*riskv1.Count {
	out := make([]*riskv1.Count, 0, len(m))
	for k, v := range m {
		out = append(out, &riskv1.Count{Key: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
