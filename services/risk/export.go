package risk

import (
	"bytes"
	"context"
	"errors"
	"strings"

	httpbody "google.golang.org/genproto/googleapis/api/httpbody"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/risk/report"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/informer"
)

// Content types of the exports.
const (
	ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	ContentTypeCSV  = "text/csv; charset=utf-8"
	ContentTypeSVG  = "image/svg+xml"
)

var levelZh = map[riskv1.Level]string{
	riskv1.Level_LEVEL_POST: "岗位", riskv1.Level_LEVEL_UNIT: "处室", riskv1.Level_LEVEL_LEADERSHIP: "领导班子",
}

var phaseZh = map[riskv1.Phase]string{
	riskv1.Phase_PHASE_PREVENTION: report.PhasePrevention,
	riskv1.Phase_PHASE_MONITORING: report.PhaseMonitoring,
	riskv1.Phase_PHASE_DISPOSAL:   report.PhaseDisposal,
}

var statusZh = map[riskv1.MeasureStatus]string{
	riskv1.MeasureStatus_MEASURE_STATUS_PLANNED:  "计划",
	riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE: "已落实",
	riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED: "已核实",
}

// ExportRegister writes the register (台账) of a campaign, or the register in force, in
// one of the users' forms, as XLSX (default) or CSV. FORM_PERSONAL with a person lists
// the risk points of the posts the person holds today.
func (s *Service) ExportRegister(ctx context.Context, req *riskv1.ExportRegisterRequest) (*httpbody.HttpBody, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	day := today(s.cfg.Now())
	f := registerFilter(req.GetCampaign(), req.GetUnit())
	meta := report.Meta{OrgName: s.reg.displayName(req.GetParent()), UnitName: s.reg.displayName(req.GetUnit()), Campaign: req.GetCampaign(), Date: day}
	var posts map[string]bool
	if p := req.GetPerson(); p != "" {
		var v apierr.Violations
		s.checkPerson(&v, org, "person", p)
		if err := v.Err(); err != nil {
			return nil, err
		}
		posts = map[string]bool{}
		var names []string
		for _, seat := range s.pdp.Facts().Holdings(org, idOf(p), day) {
			pn := "orgs/" + org + "/posts/" + seat.Post
			posts[pn] = true
			names = append(names, s.reg.displayName(pn))
		}
		meta.PersonName, meta.PostName = s.reg.displayName(p), strings.Join(names, "、")
	}
	if req.GetCampaign() != "" {
		if it, ok := s.cache.Get(s.keys.campaignKey(org, idOf(req.GetCampaign()))); ok {
			meta.Year = int(it.Obj.(*riskv1.Campaign).Year)
		}
	}
	var rows []report.Row
	s.each(org, f, "", func(_ *informer.Item, r *riskv1.RiskPoint) bool {
		if posts != nil && !posts[r.Scope] {
			return true
		}
		rows = append(rows, s.row(org, r, day))
		return true
	})
	var buf bytes.Buffer
	form := report.Form(req.GetForm())
	var err error
	ct := ContentTypeXLSX
	if req.GetFormat() == riskv1.ExportFormat_EXPORT_FORMAT_CSV {
		ct, err = ContentTypeCSV, report.WriteCSV(&buf, form, meta, rows)
	} else {
		err = report.WriteXLSX(&buf, form, meta, rows)
	}
	switch {
	case errors.Is(err, report.ErrUnknownForm):
		return nil, apierr.Field("form", "unknown form", "未知的表格样式")
	case errors.Is(err, report.ErrUnknownPhase):
		return nil, apierr.Field("campaign", err.Error(), "存在阶段不明的防控措施")
	case err != nil:
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: ct, Data: buf.Bytes()}, nil
}

// row is a risk point as the forms show it, with display names resolved.
func (s *Service) row(org string, r *riskv1.RiskPoint, day string) report.Row {
	g := r.GetGrading()
	row := report.Row{
		Level: levelZh[r.Level], Unit: s.reg.displayName(r.Unit), Scope: s.reg.displayName(r.Scope),
		Kind: r.Kind, Title: r.Title, Description: r.Description, Manifestations: r.Manifestations, PastCases: r.PastCases,
		Likelihood: int(r.Likelihood), Impact: int(r.Impact), Score: int(g.GetScore()), Grade: g.GetGradeZh(),
		LevelLabel: g.GetLevel(), Owner: s.reg.displayName(r.Owner), Version: int(r.Version),
	}
	if r.Level == riskv1.Level_LEVEL_POST {
		row.Post = row.Scope
		var people []string
		for _, a := range s.reg.holders(org, idOf(r.Scope), day) {
			people = append(people, s.reg.displayName(a.Person))
		}
		row.People = strings.Join(people, "、")
	}
	for _, p := range r.Powers {
		row.Powers = append(row.Powers, s.reg.displayName(p))
	}
	for _, st := range r.Steps {
		row.Steps = append(row.Steps, st.GetStep())
	}
	for _, m := range r.Measures {
		due := m.DueDate
		row.Measures = append(row.Measures, report.Measure{
			Phase: phaseZh[m.Phase], Text: m.Text, Responsible: s.reg.displayName(m.Responsible),
			Frequency: m.Frequency, Due: due, Status: statusZh[m.Status],
		})
	}
	return row
}

// RenderHeatMap draws likelihood × impact with the count of risk points per cell (SVG),
// each cell coloured by the grade the matrix gives it (asked of the decision point, so
// the colours follow the matrix in force).
func (s *Service) RenderHeatMap(ctx context.Context, req *riskv1.RenderHeatMapRequest) (*httpbody.HttpBody, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	var h report.HeatMap
	h.Title = "廉政风险分布热力图"
	if req.GetCampaign() != "" {
		h.Title += "（" + s.cacheCampaignTitle(org, req.GetCampaign()) + "）"
	}
	s.each(org, registerFilter(req.GetCampaign(), req.GetUnit()), "", func(_ *informer.Item, r *riskv1.RiskPoint) bool {
		if r.Likelihood >= 1 && r.Likelihood <= 5 && r.Impact >= 1 && r.Impact <= 5 {
			h.Cells[r.Likelihood-1][r.Impact-1]++
		}
		return true
	})
	a := callerIn(ctx, org)
	who := a.id
	if who == "" {
		who = "sub:" + a.subject()
	}
	day := today(s.cfg.Now())
	for l := range 5 {
		for i := range 5 {
			in := baseInput(org, day, who)
			in["risk"] = riskInput(&riskv1.RiskPoint{Likelihood: int32(l + 1), Impact: int32(i + 1),
				Factors: map[string]int32{"importance": 1, "discretion": 1, "frequency": 1}})
			d, err := s.pdp.Decide(ctx, "risk.grade", map[string]any(in))
			if err == nil && d.Allowed {
				h.Grades[l][i] = str(d.Output["grade"])
			}
		}
	}
	return &httpbody.HttpBody{ContentType: ContentTypeSVG, Data: report.HeatMapSVG(h)}, nil
}

func (s *Service) cacheCampaignTitle(org, name string) string {
	if it, ok := s.cache.Get(s.keys.campaignKey(org, idOf(name))); ok {
		return it.Obj.(*riskv1.Campaign).Title
	}
	return idOf(name)
}
