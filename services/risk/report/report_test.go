package report

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var testMeta = Meta{
	OrgName:    "谯城区财政局",
	UnitName:   "国库支付中心",
	PersonName: "何文",
	PostName:   "支付审核岗",
	Campaign:   "2026年度廉政风险排查",
	Year:       2026,
	Date:       "2026-06-06",
}

// manyMeasures are twelve measures, four of each phase, listed out of phase order.
func manyMeasures() []Measure {
	var ms []Measure
	for i := 1; i <= 4; i++ {
		for _, p := range []string{PhaseDisposal, PhasePrevention, PhaseMonitoring} {
			ms = append(ms, Measure{Phase: p, Text: fmt.Sprintf("%s措施%d", p, i)})
		}
	}
	return ms
}

func testRows() []Row {
	return []Row{
		{
			Level: "岗位", Unit: "国库支付中心", Scope: "支付审核岗", Post: "支付审核岗", People: "何文、刘芳",
			Powers: []string{"国库集中支付审核"}, Steps: []string{"支付审核", "拨付办理"},
			Kind: "业务流程", Title: "违规审核支付申请",
			Description:    "对不符合预算的支付申请\n予以审核通过",
			Manifestations: "收受请托人好处，放宽审核标准",
			PastCases:      "2019年某区案例",
			Likelihood:     3, Impact: 4, Score: 12, Grade: "中", LevelLabel: "二级", Owner: "分管局长",
			Measures: []Measure{
				{Phase: PhasePrevention, Text: "实行A/B角审核", Responsible: "何文", Frequency: "每笔", Status: "已落实"},
				{Phase: PhasePrevention, Text: "开展岗位廉政教育", Due: "2026-09-30"},
				{Phase: PhaseMonitoring, Text: "国库动态监控系统实时预警"},
				{Phase: PhaseDisposal, Text: "发现问题责令纠错", Responsible: "纪检组"},
			},
			Version: 2,
		},
		{
			// No measures and no assessment: blank cells, not zeros.
			Level: "处室", Unit: "国库支付中心", Scope: "国库支付中心",
			Kind: "制度机制", Title: "大额提现审批制度不健全",
		},
		{
			Level: "领导班子", Unit: "局领导班子", Scope: "局领导班子", People: "王局长、李副局长",
			Powers: []string{"重大事项决策", "大额资金使用"},
			Kind:   "岗位职责", Title: "“三重一大”事项个人决定",
			Description: "=HYPERLINK(\"http://x\")", // must not become a formula in the CSV
			Likelihood:  5, Impact: 5, Score: 25, Grade: "高", LevelLabel: "三级", Owner: "局党组、纪检组",
			Measures: manyMeasures(),
		},
	}
}

// wantRows are the body cells of testRows, by the flat heading (as in the CSV). Every
// heading of every form must be here, so a new column cannot go untested.
func wantRows() []map[string]string {
	many := func(p string) string {
		var lines []string
		for i := 1; i <= 4; i++ {
			lines = append(lines, fmt.Sprintf("%d. %s措施%d", i, p, i))
		}
		return strings.Join(lines, "\n")
	}
	row := func(m map[string]string) map[string]string {
		for _, g := range []string{"防控措施", "防范措施"} {
			for _, p := range []string{PhasePrevention, PhaseMonitoring, PhaseDisposal} {
				m[g+"（"+p+"）"] = m[p]
			}
		}
		m["监控责任人"] = m["责任人"]
		return m
	}
	return []map[string]string{
		row(map[string]string{
			"序号": "1", "层次": "岗位", "部门（处室）": "国库支付中心", "岗位": "支付审核岗", "在岗人员": "何文、刘芳",
			"职权名称": "国库集中支付审核", "风险环节": "支付审核、拨付办理",
			"风险点": "违规审核支付申请", "风险内容": "对不符合预算的支付申请\n予以审核通过",
			"风险表现": "收受请托人好处，放宽审核标准", "风险类别": "业务流程",
			"发生概率": "3", "危害程度": "4", "风险指数": "12", "风险等级": "二级（中）",
			PhasePrevention: "1. 实行A/B角审核（责任人：何文；频次：每笔；落实情况：已落实）\n2. 开展岗位廉政教育（时限：2026-09-30）",
			PhaseMonitoring: "1. 国库动态监控系统实时预警",
			PhaseDisposal:   "1. 发现问题责令纠错（责任人：纪检组）",
			"责任人":           "分管局长",
		}),
		row(map[string]string{
			"序号": "2", "层次": "处室", "部门（处室）": "国库支付中心", "岗位": "", "在岗人员": "",
			"职权名称": "", "风险环节": "", "风险点": "大额提现审批制度不健全", "风险内容": "", "风险表现": "",
			"风险类别": "制度机制", "发生概率": "", "危害程度": "", "风险指数": "", "风险等级": "",
			PhasePrevention: "", PhaseMonitoring: "", PhaseDisposal: "", "责任人": "",
		}),
		row(map[string]string{
			"序号": "3", "层次": "领导班子", "部门（处室）": "局领导班子", "岗位": "", "在岗人员": "王局长、李副局长",
			"职权名称": "重大事项决策、大额资金使用", "风险环节": "",
			"风险点": "“三重一大”事项个人决定", "风险内容": "=HYPERLINK(\"http://x\")", "风险表现": "",
			"风险类别": "岗位职责", "发生概率": "5", "危害程度": "5", "风险指数": "25", "风险等级": "三级（高）",
			PhasePrevention: many(PhasePrevention), PhaseMonitoring: many(PhaseMonitoring),
			PhaseDisposal: many(PhaseDisposal), "责任人": "局党组、纪检组",
		}),
	}
}

type formCase struct {
	form       Form
	title      string
	heads1     []string // first heading row, "" under a merge
	heads2     []string // second heading row
	meta       []string // the meta row's items, in order
	metaSpans  []int
	flat       []string // the CSV heading row
	groupFirst int      // 1-based column of the measures' group
}

var (
	formCases = []formCase{
		{
			form:   FormDepartment,
			title:  "部门廉政风险识别防控表",
			heads1: []string{"序号", "层次", "岗位", "在岗人员", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别", "风险等级", "防控措施", "", "", "责任人"},
			heads2: []string{"", "", "", "", "", "", "", "", "", "", "", "前期预防", "中期监控", "后期处置", ""},
			meta:   []string{"单位：谯城区财政局", "部门：国库支付中心", "年度：2026", "填表日期：2026-06-06"},
			flat: []string{"序号", "层次", "岗位", "在岗人员", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别", "风险等级",
				"防控措施（前期预防）", "防控措施（中期监控）", "防控措施（后期处置）", "责任人"},
			metaSpans:  []int{4, 4, 4, 3},
			groupFirst: 12,
		},
		{
			form:   FormPersonal,
			title:  "个人廉政风险识别防控表",
			heads1: []string{"序号", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别", "风险等级", "防控措施", "", "", "责任人"},
			heads2: []string{"", "", "", "", "", "", "", "", "", "前期预防", "中期监控", "后期处置", ""},
			meta:   []string{"单位：谯城区财政局", "部门：国库支付中心", "姓名：何文", "岗位：支付审核岗", "年度：2026", "填表日期：2026-06-06"},
			flat: []string{"序号", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别", "风险等级",
				"防控措施（前期预防）", "防控措施（中期监控）", "防控措施（后期处置）", "责任人"},
			metaSpans:  []int{3, 2, 2, 2, 2, 2},
			groupFirst: 10,
		},
		{
			form:  FormUnitRegistration,
			title: "单位廉政风险点登记表",
			heads1: []string{"序号", "部门（处室）", "层次", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施", "", "", "监控责任人"},
			heads2: []string{"", "", "", "", "", "", "", "", "", "", "", "", "", "", "前期预防", "中期监控", "后期处置", ""},
			meta:   []string{"单位：谯城区财政局", "年度：2026", "填表日期：2026-06-06"},
			flat: []string{"序号", "部门（处室）", "层次", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施（前期预防）", "防范措施（中期监控）", "防范措施（后期处置）", "监控责任人"},
			metaSpans:  []int{6, 6, 6},
			groupFirst: 15,
		},
		{
			form:  FormDepartmentRegistration,
			title: "部门（处室）廉政风险点登记表",
			heads1: []string{"序号", "层次", "岗位", "在岗人员", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施", "", "", "监控责任人"},
			heads2: []string{"", "", "", "", "", "", "", "", "", "", "", "", "", "", "前期预防", "中期监控", "后期处置", ""},
			meta:   []string{"单位：谯城区财政局", "部门（处室）：国库支付中心", "年度：2026", "填表日期：2026-06-06"},
			flat: []string{"序号", "层次", "岗位", "在岗人员", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施（前期预防）", "防范措施（中期监控）", "防范措施（后期处置）", "监控责任人"},
			metaSpans:  []int{5, 5, 4, 4},
			groupFirst: 15,
		},
		{
			form:  FormPersonRegistration,
			title: "个人（岗位）廉政风险点登记表",
			heads1: []string{"序号", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施", "", "", "监控责任人"},
			heads2: []string{"", "", "", "", "", "", "", "", "", "", "", "", "前期预防", "中期监控", "后期处置", ""},
			meta:   []string{"单位：谯城区财政局", "部门（处室）：国库支付中心", "姓名：何文", "岗位：支付审核岗", "年度：2026", "填表日期：2026-06-06"},
			flat: []string{"序号", "岗位", "职权名称", "风险环节", "风险点", "风险内容", "风险表现", "风险类别",
				"发生概率", "危害程度", "风险指数", "风险等级", "防范措施（前期预防）", "防范措施（中期监控）", "防范措施（后期处置）", "监控责任人"},
			metaSpans:  []int{3, 3, 3, 3, 2, 2},
			groupFirst: 13,
		},
	}
)

func TestFormTitles(t *testing.T) {
	want := map[Form][2]string{
		FormDepartment:             {"部门廉政风险识别防控表", "附表1"},
		FormPersonal:               {"个人廉政风险识别防控表", "附表2"},
		FormUnitRegistration:       {"单位廉政风险点登记表", "附件3"},
		FormDepartmentRegistration: {"部门（处室）廉政风险点登记表", "附件4"},
		FormPersonRegistration:     {"个人（岗位）廉政风险点登记表", "附件5"},
	}
	for f, w := range want {
		if got := f.Title(); got != w[0] {
			t.Errorf("%d.Title() = %q, want %q", int(f), got, w[0])
		}
		if got := f.Annex(); got != w[1] {
			t.Errorf("%d.Annex() = %q, want %q", int(f), got, w[1])
		}
	}
	if Form(0).Title() != "" || Form(99).Title() != "" {
		t.Errorf("Title of an unknown form is not empty")
	}
}

// padRow extends a row read back from the sheet (trailing blanks are dropped) to n cells.
func padRow(r []string, n int) []string {
	for len(r) < n {
		r = append(r, "")
	}
	return r
}

func TestWriteXLSX(t *testing.T) {
	rows := testRows()
	want := wantRows()
	for _, tc := range formCases {
		t.Run(tc.title, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteXLSX(&buf, tc.form, testMeta, rows); err != nil {
				t.Fatalf("WriteXLSX: %v", err)
			}
			f, err := excelize.OpenReader(&buf)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer f.Close()
			if got := f.GetSheetList(); len(got) != 1 || got[0] != tc.title {
				t.Fatalf("sheets = %q, want [%q]", got, tc.title)
			}
			got, err := f.GetRows(tc.title)
			if err != nil {
				t.Fatalf("rows: %v", err)
			}
			n := len(tc.heads1)
			if len(got) != 4+len(rows) {
				t.Fatalf("%d rows, want %d", len(got), 4+len(rows))
			}
			if g := padRow(got[0], n); g[0] != tc.title {
				t.Errorf("title = %q, want %q", g[0], tc.title)
			}
			// The meta row: each item at the start of its share of the columns.
			metaRow := padRow(got[1], n)
			at := 0
			for i, item := range tc.meta {
				if metaRow[at] != item {
					t.Errorf("meta cell %d = %q, want %q", at+1, metaRow[at], item)
				}
				at += tc.metaSpans[i]
			}
			if at != n {
				t.Errorf("meta spans cover %d columns, want %d", at, n)
			}
			h1, h2 := padRow(got[2], n), padRow(got[3], n)
			for i := range n {
				if h1[i] != tc.heads1[i] {
					t.Errorf("heading row 1, column %d = %q, want %q", i+1, h1[i], tc.heads1[i])
				}
				if h2[i] != tc.heads2[i] {
					t.Errorf("heading row 2, column %d = %q, want %q", i+1, h2[i], tc.heads2[i])
				}
			}
			for ri, w := range want {
				g := padRow(got[4+ri], n)
				for ci, head := range tc.flat {
					wv, ok := w[head]
					if !ok {
						t.Fatalf("test has no expectation for heading %q", head)
					}
					if g[ci] != wv {
						t.Errorf("row %d, %s = %q, want %q", ri+1, head, g[ci], wv)
					}
				}
			}
			// Merges: the title, the meta shares, the headings.
			merges, err := f.GetMergeCells(tc.title)
			if err != nil {
				t.Fatal(err)
			}
			gotMerges := map[string]string{}
			for _, m := range merges {
				gotMerges[m.GetStartAxis()+":"+m.GetEndAxis()] = m.GetCellValue()
			}
			last, _ := excelize.ColumnNumberToName(n)
			wantMerges := map[string]string{"A1:" + last + "1": tc.title}
			at = 1
			for i, item := range tc.meta {
				if tc.metaSpans[i] > 1 {
					wantMerges[cellName(at, 2)+":"+cellName(at+tc.metaSpans[i]-1, 2)] = item
				}
				at += tc.metaSpans[i]
			}
			for i, h := range tc.heads1 {
				if tc.heads2[i] == "" {
					wantMerges[cellName(i+1, 3)+":"+cellName(i+1, 4)] = h
				}
			}
			wantMerges[cellName(tc.groupFirst, 3)+":"+cellName(tc.groupFirst+2, 3)] = tc.heads1[tc.groupFirst-1]
			if len(gotMerges) != len(wantMerges) {
				t.Errorf("%d merges, want %d: %v", len(gotMerges), len(wantMerges), gotMerges)
			}
			for ref, v := range wantMerges {
				if gv, ok := gotMerges[ref]; !ok || gv != v {
					t.Errorf("merge %s = %q (present %v), want %q", ref, gv, ok, v)
				}
			}
			// Frozen headings, wrapped body, widths set.
			panes, err := f.GetPanes(tc.title)
			if err != nil {
				t.Fatal(err)
			}
			if !panes.Freeze || panes.YSplit != 4 || panes.TopLeftCell != "A5" {
				t.Errorf("panes = %+v, want frozen above A5", panes)
			}
			sid, err := f.GetCellStyle(tc.title, cellName(tc.groupFirst, 5))
			if err != nil {
				t.Fatal(err)
			}
			style, err := f.GetStyle(sid)
			if err != nil {
				t.Fatal(err)
			}
			if style.Alignment == nil || !style.Alignment.WrapText {
				t.Errorf("measure cell does not wrap: %+v", style.Alignment)
			}
			if w, _ := f.GetColWidth(tc.title, last); w < 8 {
				t.Errorf("last column width %v", w)
			}
			if w, _ := f.GetColWidth(tc.title, "A"); w != wSeq {
				t.Errorf("序号 width %v, want %v", w, wSeq)
			}
		})
	}
}

// TestXLSXPackage checks what excelize does not check on reading but Excel does: the
// <col> elements in ascending order.
func TestXLSXPackage(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, FormUnitRegistration, testMeta, testRows()); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var sheet []byte
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			sheet, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if sheet == nil {
		t.Fatal("no sheet1.xml")
	}
	var mins []string
	for _, m := range regexp.MustCompile(`<col min="(\d+)" max="(\d+)"`).FindAllSubmatch(sheet, -1) {
		mins = append(mins, string(m[1])+"-"+string(m[2]))
	}
	var want []string
	for i := 1; i <= len(Headings(FormUnitRegistration)); i++ {
		want = append(want, fmt.Sprintf("%d-%d", i, i))
	}
	if strings.Join(mins, " ") != strings.Join(want, " ") {
		t.Errorf("cols %v, want %v", mins, want)
	}
	dim := regexp.MustCompile(`<dimension ref="([A-Z0-9:]+)"`).FindSubmatch(sheet)
	if dim == nil || string(dim[1]) != "A1:R7" {
		t.Errorf("dimension %q, want A1:R7", dim)
	}
}

func TestWriteCSV(t *testing.T) {
	rows := testRows()
	want := wantRows()
	for _, tc := range formCases {
		t.Run(tc.title, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tc.form, testMeta, rows); err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			raw := buf.Bytes()
			if !bytes.HasPrefix(raw, []byte("\xEF\xBB\xBF")) {
				t.Fatalf("no UTF-8 byte-order mark: % x", raw[:min(3, len(raw))])
			}
			r := csv.NewReader(bytes.NewReader(raw[3:]))
			r.FieldsPerRecord = len(tc.flat)
			got, err := r.ReadAll()
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(got) != 1+len(rows) {
				t.Fatalf("%d records, want %d", len(got), 1+len(rows))
			}
			for i, h := range tc.flat {
				if got[0][i] != h {
					t.Errorf("heading %d = %q, want %q", i+1, got[0][i], h)
				}
			}
			if hs := Headings(tc.form); strings.Join(hs, "|") != strings.Join(tc.flat, "|") {
				t.Errorf("Headings = %q, want %q", hs, tc.flat)
			}
			for ri, w := range want {
				for ci, head := range tc.flat {
					wv := w[head]
					if strings.HasPrefix(wv, "=") {
						wv = "'" + wv // the formula guard
					}
					if got[1+ri][ci] != wv {
						t.Errorf("row %d, %s = %q, want %q", ri+1, head, got[1+ri][ci], wv)
					}
				}
			}
			if !bytes.Contains(raw, []byte("\r\n")) {
				t.Errorf("lines do not end in CRLF")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	bad := []Row{{Title: "x", Measures: []Measure{{Phase: PhasePrevention, Text: "a"}, {Phase: "PREVENTION", Text: "b"}}}}
	for _, tc := range []struct {
		name string
		form Form
		rows []Row
		want error
	}{
		{"unknown form", Form(0), nil, ErrUnknownForm},
		{"form out of range", Form(6), nil, ErrUnknownForm},
		{"unknown phase", FormDepartment, bad, ErrUnknownPhase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteXLSX(io.Discard, tc.form, testMeta, tc.rows); !errors.Is(err, tc.want) {
				t.Errorf("WriteXLSX: %v, want %v", err, tc.want)
			}
			if err := WriteCSV(io.Discard, tc.form, testMeta, tc.rows); !errors.Is(err, tc.want) {
				t.Errorf("WriteCSV: %v, want %v", err, tc.want)
			}
		})
	}
	err := WriteCSV(io.Discard, FormDepartment, testMeta, bad)
	if err == nil || !strings.Contains(err.Error(), "row 1, measure 2") {
		t.Errorf("error does not say where: %v", err)
	}
}

func TestEmptyRegister(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, FormPersonRegistration, Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(FormPersonRegistration.Title())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want the 4 of title, meta and headings", len(rows))
	}
	if got := rows[1][0]; got != "单位：" {
		t.Errorf("blank meta = %q, want %q", got, "单位：")
	}
}

func TestLongCellTruncatedInXLSXOnly(t *testing.T) {
	long := strings.Repeat("审", 40000) // 40000 UTF-16 units, over Excel's 32767
	rows := []Row{{Level: "岗位", Title: "长文本", Description: long}}
	var xb, cb bytes.Buffer
	if err := WriteXLSX(&xb, FormDepartment, testMeta, rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&xb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.GetCellValue(FormDepartment.Title(), "H5") // 风险内容
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got, truncatedMark) || utf16Len(got) > maxCellUnits {
		t.Errorf("cell has %d units, suffix %q", utf16Len(got), got[max(0, len(got)-30):])
	}
	if !strings.HasPrefix(got, strings.Repeat("审", 1000)) {
		t.Errorf("truncated cell lost its start")
	}
	if err := WriteCSV(&cb, FormDepartment, testMeta, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cb.String(), long) {
		t.Errorf("CSV does not carry the whole text")
	}
}

func TestFitCell(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "风险点", false},
		{"exactly at the limit", strings.Repeat("a", maxCellUnits), false},
		{"many bytes, few units", strings.Repeat("审", maxCellUnits), false},
		{"one over", strings.Repeat("a", maxCellUnits+1), true},
		{"surrogate pairs", strings.Repeat("𠀀", maxCellUnits/2+1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fitCell(tc.in)
			if tc.cut != (got != tc.in) {
				t.Fatalf("cut = %v, want %v", got != tc.in, tc.cut)
			}
			if u := utf16Len(got); u > maxCellUnits {
				t.Errorf("%d units", u)
			}
			if tc.cut && !strings.HasSuffix(got, truncatedMark) {
				t.Errorf("no mark")
			}
		})
	}
}

// benchRows builds n risk points with four measures each (40k for 10k), text of a
// realistic length.
func benchRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{
			Level: "岗位", Unit: fmt.Sprintf("第%d处", i%40), Scope: fmt.Sprintf("岗位%d", i%400),
			Post: fmt.Sprintf("岗位%d", i%400), People: "张三、李四",
			Powers: []string{"国库集中支付审核", "预算指标下达"}, Steps: []string{"受理", "审核", "拨付"},
			Kind: "业务流程", Title: fmt.Sprintf("风险点%d：违规审核支付申请", i),
			Description:    "对不符合预算、手续不全的支付申请予以审核通过，或者拖延办理以索取好处。",
			Manifestations: "收受请托人好处，放宽审核标准；优亲厚友。",
			Likelihood:     1 + i%5, Impact: 1 + (i/5)%5, Score: (1 + i%5) * (1 + (i/5)%5),
			Grade: "中", LevelLabel: "二级", Owner: "分管局长",
			Measures: []Measure{
				{Phase: PhasePrevention, Text: "实行A/B角审核，主办与协办相互制约", Responsible: "张三", Frequency: "每笔"},
				{Phase: PhasePrevention, Text: "开展岗位廉政教育和警示教育", Due: "2026-09-30"},
				{Phase: PhaseMonitoring, Text: "国库动态监控系统对大额资金实时预警", Status: "已落实"},
				{Phase: PhaseDisposal, Text: "发现问题及时谈话提醒、诫勉纠错、责令整改", Responsible: "纪检组"},
			},
		}
	}
	return rows
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakHeap runs fn while sampling the live heap every half millisecond, and returns the
// highest sample above the heap before fn started.
func peakHeap(fn func()) (peak, base uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base = s[0].Value.Uint64()
	var (
		mu   sync.Mutex
		hi   = base
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				metrics.Read(s)
				mu.Lock()
				if v := s[0].Value.Uint64(); v > hi {
					hi = v
				}
				mu.Unlock()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	metrics.Read(s)
	mu.Lock()
	defer mu.Unlock()
	if v := s[0].Value.Uint64(); v > hi {
		hi = v
	}
	return hi, base
}

// BenchmarkWriteXLSX10k writes 10k risk points with 40k measures. The peak heap is taken
// once, outside the timed loop (the sampler would disturb the timing).
func BenchmarkWriteXLSX10k(b *testing.B) {
	rows := benchRows(10000)
	var out countWriter
	peak, base := peakHeap(func() {
		if err := WriteXLSX(&out, FormUnitRegistration, testMeta, rows); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		out = countWriter{}
		if err := WriteXLSX(&out, FormUnitRegistration, testMeta, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(out.n)/(1<<20), "xlsx-MiB")
}

func BenchmarkWriteCSV10k(b *testing.B) {
	rows := benchRows(10000)
	var out countWriter
	b.ReportAllocs()
	for b.Loop() {
		out = countWriter{}
		if err := WriteCSV(&out, FormUnitRegistration, testMeta, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.n)/(1<<20), "csv-MiB")
}
