package supervision

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	httpbody "google.golang.org/genproto/googleapis/api/httpbody"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/informer"
)

// The score of a unit's period (考核评估): 100, less these per item; rated 优秀 from
// RatingExcellent (and no red card, no 廉政风险黄牌 from complaints), 良好 from RatingGood,
// 合格 from RatingPass, else 不合格.
const (
	PenaltyNotice        = 1.0
	PenaltyYellow        = 3.0
	PenaltyRed           = 8.0
	PenaltyOverdue       = 2.0
	PenaltySubstantiated = 5.0
	RatingExcellent      = 90.0
	RatingGood           = 80.0
	RatingPass           = 60.0
	// rectifyDays is the time limit of a warning from its raise to its rectification:
	// the stages' limits together (复核 5 + 溯源 10 + 整改 5 working days).
	rectifyDays = 20
)

// AssessmentMethod says how the score is computed (shown on the 通报).
var AssessmentMethod = fmt.Sprintf("基础分100分：每条提示扣%g分，每张黄牌扣%g分，每张红牌扣%g分，每条未按时整改的预警扣%g分，每件查实的信访举报扣%g分；"+
	"%g分以上且无红牌、无廉政风险黄牌为优秀，%g分以上为良好，%g分以上为合格，其余为不合格。",
	PenaltyNotice, PenaltyYellow, PenaltyRed, PenaltyOverdue, PenaltySubstantiated, RatingExcellent, RatingGood, RatingPass)

// periodBounds is the [start, end) of a period: "2026", "2026Q4" or "2026-11", China time.
func periodBounds(p string) (time.Time, time.Time, error) {
	year, err := strconv.Atoi(p[:4])
	if err != nil || len(p) < 4 {
		return time.Time{}, time.Time{}, apierr.Field("period", "period must be YYYY, YYYYQn or YYYY-MM", "考核期应为 YYYY、YYYYQn 或 YYYY-MM")
	}
	switch {
	case len(p) == 4:
		s := time.Date(year, 1, 1, 0, 0, 0, 0, cst)
		return s, s.AddDate(1, 0, 0), nil
	case p[4] == 'Q':
		q := int(p[5] - '0')
		s := time.Date(year, time.Month(3*q-2), 1, 0, 0, 0, 0, cst)
		return s, s.AddDate(0, 3, 0), nil
	default:
		m, _ := strconv.Atoi(p[5:])
		s := time.Date(year, time.Month(m), 1, 0, 0, 0, 0, cst)
		return s, s.AddDate(0, 1, 0), nil
	}
}

func within(t time.Time, start, end time.Time) bool { return !t.Before(start) && t.Before(end) }

// GetAssessment computes the period's scorecards from the warnings and complaints held,
// and asks the risk register (with the caller's own token) for each unit's measures.
func (s *Service) GetAssessment(ctx context.Context, req *supervisionv1.GetAssessmentRequest) (*supervisionv1.Assessment, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	period := req.GetPeriod()
	if period == "" {
		period = strconv.Itoa(s.cfg.Now().In(cst).Year())
	}
	start, end, err := periodBounds(period)
	if err != nil {
		return nil, err
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	cards := map[string]*supervisionv1.Scorecard{}
	var order []string
	for _, u := range s.cfg.PDP.Facts().Units(org) {
		if u.Leadership {
			continue
		}
		cards[u.Name] = &supervisionv1.Scorecard{Unit: u.Name, UnitName: u.DisplayName, ByRule: map[string]int32{}, MeasuresInPlace: -1}
		order = append(order, u.Name)
	}
	unitOfPost := func(post string) string {
		_, unit, _ := s.cfg.PDP.Facts().KeyPost(org, idOf(post))
		return unit
	}
	s.cache.Ascend(s.keys.data.OrgPrefix(org), "", func(it *informer.Item) bool {
		switch x := it.Obj.(type) {
		case *supervisionv1.Warning:
			sc := cards[x.Unit]
			if sc == nil || x.RaiseTime == nil || !within(x.RaiseTime.AsTime(), start, end) || x.State == supervisionv1.WarningState_WARNING_STATE_DISMISSED {
				return true
			}
			sc.ByRule[x.Rule]++
			switch x.Severity {
			case supervisionv1.Severity_SEVERITY_NOTICE:
				sc.Notices++
			case supervisionv1.Severity_SEVERITY_YELLOW:
				sc.YellowCards++
			case supervisionv1.Severity_SEVERITY_RED:
				sc.RedCards++
			}
			if x.Rule == "complaints_on_key_post" {
				sc.ComplaintCards++
			}
			limit := s.cal.addWorkingDays(x.RaiseTime.AsTime(), rectifyDays)
			var rectified time.Time
			for _, h := range x.History {
				if h.To == supervisionv1.WarningState_WARNING_STATE_RECTIFIED {
					rectified = h.Time.AsTime()
				}
			}
			switch {
			case !rectified.IsZero() && !rectified.After(limit):
				sc.RectifiedOnTime++
			case !rectified.IsZero():
				sc.Overdue++
			case open(x.State) && now.After(limit):
				sc.Overdue++
			}
		case *supervisionv1.Complaint:
			units := map[string]bool{}
			for _, p := range x.Posts {
				if u := unitOfPost(p); u != "" {
					units[u] = true
				}
			}
			for u := range units {
				sc := cards[u]
				if sc == nil {
					continue
				}
				if x.ReceiveTime != nil && within(x.ReceiveTime.AsTime(), start, end) {
					sc.ComplaintsReceived++
				}
				if x.Substantiated && x.ConcludeTime != nil && within(x.ConcludeTime.AsTime(), start, end) {
					sc.ComplaintsSubstantiated++
				}
			}
		}
		return true
	})
	if s.cfg.Risk != nil {
		// The register answers the caller (their token): the service's own has no grant in
		// the org for reads.
		out := auth.ForwardToken(ctx)
		cl := riskv1.NewRiskServiceClient(s.cfg.Risk)
		for _, u := range order {
			cctx, cancel := context.WithTimeout(out, callTimeout)
			st, err := cl.GetRiskStats(cctx, &riskv1.GetRiskStatsRequest{Parent: "orgs/" + org, Unit: u})
			cancel()
			if err != nil {
				s.log.Warn("assessment: the risk register did not answer", "unit", u, "err", err)
				continue
			}
			sc := cards[u]
			sc.Measures = st.Measures
			sc.MeasuresInPlace = 0
			for _, c := range st.MeasuresByStatus {
				if c.Key == "IN_PLACE" || c.Key == "VERIFIED" {
					sc.MeasuresInPlace += c.Count
				}
			}
		}
	}
	a := &supervisionv1.Assessment{Org: org, Period: period, StartTime: nowTS(start), EndTime: nowTS(end), Method: AssessmentMethod}
	for _, u := range order {
		sc := cards[u]
		sc.Score = 100 - PenaltyNotice*float64(sc.Notices) - PenaltyYellow*float64(sc.YellowCards) - PenaltyRed*float64(sc.RedCards) -
			PenaltyOverdue*float64(sc.Overdue) - PenaltySubstantiated*float64(sc.ComplaintsSubstantiated)
		sc.Score = max(sc.Score, 0)
		switch {
		case sc.Score >= RatingExcellent && sc.RedCards == 0 && sc.ComplaintCards == 0:
			sc.Rating = "优秀"
		case sc.Score >= RatingGood:
			sc.Rating = "良好"
		case sc.Score >= RatingPass:
			sc.Rating = "合格"
		default:
			sc.Rating = "不合格"
		}
		a.Units = append(a.Units, sc)
	}
	sort.SliceStable(a.Units, func(i, j int) bool {
		if a.Units[i].Score != a.Units[j].Score {
			return a.Units[i].Score > a.Units[j].Score
		}
		return a.Units[i].Unit < a.Units[j].Unit
	})
	for i, sc := range a.Units {
		sc.Rank = int32(i + 1)
		if i > 0 && sc.Score == a.Units[i-1].Score {
			sc.Rank = a.Units[i-1].Rank
		}
	}
	return a, nil
}

// Content types of the 通报.
const (
	ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	ContentTypeHTML = "text/html; charset=utf-8"
)

var bulletinHeadings = []string{"排名", "单位", "提示", "黄牌", "红牌", "按时整改", "超期未整改", "受理举报", "查实举报", "廉政风险黄牌", "措施落实", "得分", "等次"}

func bulletinRow(sc *supervisionv1.Scorecard) []any {
	measures := "—"
	if sc.MeasuresInPlace >= 0 {
		measures = fmt.Sprintf("%d/%d", sc.MeasuresInPlace, sc.Measures)
	}
	return []any{sc.Rank, sc.UnitName, sc.Notices, sc.YellowCards, sc.RedCards, sc.RectifiedOnTime, sc.Overdue,
		sc.ComplaintsReceived, sc.ComplaintsSubstantiated, sc.ComplaintCards, measures, sc.Score, sc.Rating}
}

func bulletinTitle(org, period string) string {
	return fmt.Sprintf("%s %s 廉政风险防控考核评估通报", org, periodZh(period))
}

func periodZh(p string) string {
	switch {
	case len(p) == 4:
		return p + "年度"
	case p[4] == 'Q':
		return p[:4] + "年第" + string("一二三四"[3*int(p[5]-'1'):3*int(p[5]-'0')]) + "季度"
	default:
		m, _ := strconv.Atoi(p[5:])
		return fmt.Sprintf("%s年%d月", p[:4], m)
	}
}

// ExportAssessment writes the period's 通报 as XLSX (default) or a printable page.
func (s *Service) ExportAssessment(ctx context.Context, req *supervisionv1.ExportAssessmentRequest) (*httpbody.HttpBody, error) {
	a, err := s.GetAssessment(ctx, &supervisionv1.GetAssessmentRequest{Parent: req.GetParent(), Period: req.GetPeriod()})
	if err != nil {
		return nil, err
	}
	title := bulletinTitle(a.Org, a.Period)
	if req.GetFormat() == supervisionv1.AssessmentFormat_ASSESSMENT_FORMAT_HTML {
		var buf bytes.Buffer
		rows := make([][]any, 0, len(a.Units))
		for _, sc := range a.Units {
			rows = append(rows, bulletinRow(sc))
		}
		if err := bulletinPage.Execute(&buf, map[string]any{"Title": title, "Headings": bulletinHeadings, "Rows": rows, "Method": a.Method,
			"Date": s.cfg.Now().In(cst).Format("2006年01月02日")}); err != nil {
			return nil, err
		}
		return &httpbody.HttpBody{ContentType: ContentTypeHTML, Data: buf.Bytes()}, nil
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := "考核通报"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	last, _ := excelize.CoordinatesToCellName(len(bulletinHeadings), 1)
	_ = f.MergeCell(sheet, "A1", last)
	_ = f.SetCellValue(sheet, "A1", title)
	for i, h := range bulletinHeadings {
		cell, _ := excelize.CoordinatesToCellName(i+1, 2)
		_ = f.SetCellValue(sheet, cell, h)
	}
	for r, sc := range a.Units {
		for c, v := range bulletinRow(sc) {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+3)
			_ = f.SetCellValue(sheet, cell, v)
		}
	}
	note, _ := excelize.CoordinatesToCellName(1, len(a.Units)+4)
	_ = f.SetCellValue(sheet, note, "评分办法："+a.Method)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: ContentTypeXLSX, Data: buf.Bytes()}, nil
}

var bulletinPage = template.Must(template.New("bulletin").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body { font-family: "SimSun", "宋体", serif; margin: 2cm; }
h1 { text-align: center; font-size: 20pt; }
table { border-collapse: collapse; width: 100%; font-size: 10.5pt; }
th, td { border: 1px solid #000; padding: 4px 6px; text-align: center; }
th { background: #d9d9d9; }
p.method, p.date { font-size: 10.5pt; }
p.date { text-align: right; }
@media print { body { margin: 1cm; } @page { size: A4 landscape; } }
</style></head>
<body>
<h1>{{.Title}}</h1>
<table>
<thead><tr>{{range .Headings}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody>
</table>
<p class="method">评分办法：{{.Method}}</p>
<p class="date">{{.Date}}</p>
</body></html>
`))
