package supervision_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// The period's scorecards count each unit's warnings by severity, and rate and rank the
// units; the 通报 opens back as XLSX with the same figures, and as a printable page.
func TestAssessment(t *testing.T) {
	e := newEnv(t)
	for range 2 {
		c := e.open("feng", 600000)
		e.sign("feng", c, "zcjh") // a 黄牌 each (fast_sign), in 社会保障处 (sbc)
	}
	e.settle()
	a, err := e.sup.GetAssessment(e.supervisor(), &supervisionv1.GetAssessmentRequest{Parent: "orgs/cz", Period: "2026Q4"})
	if err != nil {
		t.Fatalf("assessment: %s", describe(err))
	}
	var sbc *supervisionv1.Scorecard
	for _, sc := range a.Units {
		if sc.Unit == "orgs/cz/units/sbc" {
			sbc = sc
		}
	}
	if sbc == nil || sbc.YellowCards < 2 || sbc.ByRule["fast_sign"] != 2 || sbc.Score >= 100 || a.Units[0].Rank != 1 || a.Units[0].Score < sbc.Score {
		t.Fatalf("scorecards: %v", a.Units)
	}
	want := 100 - 3*float64(sbc.YellowCards) - float64(sbc.Notices) - 8*float64(sbc.RedCards)
	if sbc.Score != want || sbc.Rating == "" || sbc.Rank <= 1 {
		t.Fatalf("sbc: score %v (want %v), rating %q, rank %d", sbc.Score, want, sbc.Rating, sbc.Rank)
	}
	// Another quarter has no warnings: every unit full marks, 优秀.
	q1, err := e.sup.GetAssessment(e.supervisor(), &supervisionv1.GetAssessmentRequest{Parent: "orgs/cz", Period: "2026Q1"})
	if err != nil || q1.Units[0].Score != 100 || q1.Units[0].Rating != "优秀" {
		t.Fatalf("Q1: %v %s", q1, describe(err))
	}
	x, err := e.sup.ExportAssessment(e.supervisor(), &supervisionv1.ExportAssessmentRequest{Parent: "orgs/cz", Period: "2026Q4"})
	if err != nil {
		t.Fatalf("export: %s", describe(err))
	}
	f, err := excelize.OpenReader(bytes.NewReader(x.Data))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("考核通报")
	if err != nil || !strings.Contains(rows[0][0], "2026年第四季度") || rows[1][1] != "单位" || len(rows) < 2+len(a.Units) {
		t.Fatalf("bulletin rows: %v %v", rows, err)
	}
	found := false
	for _, r := range rows[2 : 2+len(a.Units)] {
		if r[1] == sbc.UnitName {
			found = r[3] == itoa(sbc.YellowCards) && r[12] == sbc.Rating
		}
	}
	if !found {
		t.Fatalf("the bulletin's row of %s does not match: %v", sbc.UnitName, rows)
	}
	page, err := e.sup.ExportAssessment(e.supervisor(), &supervisionv1.ExportAssessmentRequest{Parent: "orgs/cz", Period: "2026Q4", Format: supervisionv1.AssessmentFormat_ASSESSMENT_FORMAT_HTML})
	if err != nil || !strings.HasPrefix(page.ContentType, "text/html") || !strings.Contains(string(page.Data), "廉政风险防控考核评估通报") || !strings.Contains(string(page.Data), sbc.UnitName) {
		t.Fatalf("page: %s %s", page.GetContentType(), describe(err))
	}
	// Staff without the permission see nothing.
	_, err = e.sup.GetAssessment(e.person("he"), &supervisionv1.GetAssessmentRequest{Parent: "orgs/cz", Period: "2026"})
	if err == nil {
		t.Fatal("a member without the permission read the assessment")
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
