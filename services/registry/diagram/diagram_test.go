package diagram_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/diagram"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/registry/flowgraph/flowgraphtest"
)

func names(n string) string { return flowgraphtest.Names[n] }

// wellFormed decodes the whole document and returns its text content and the names of
// its elements.
func wellFormed(t *testing.T, svg []byte) (text string, elements map[string]bool) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var b strings.Builder
	elements = map[string]bool{}
	var root string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace = %q, want the SVG namespace", tok.Name.Space)
				}
			}
			elements[tok.Name.Local] = true
			for _, a := range tok.Attr {
				if strings.Contains(a.Value, "http") && a.Name.Local != "xmlns" || a.Name.Local == "href" || strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("<%s %s=%q>: external reference or script", tok.Name.Local, a.Name.Local, a.Value)
				}
			}
		case xml.CharData:
			b.Write(tok)
			b.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("root element = %q, want svg", root)
	}
	return b.String(), elements
}

func TestSVGWuhan(t *testing.T) {
	f := flowgraphtest.Wuhan()
	svg, err := diagram.SVG(f, diagram.Options{Names: names})
	if err != nil {
		t.Fatal(err)
	}
	text, els := wellFormed(t, svg)
	for _, el := range []string{"script", "image", "foreignObject", "use", "style"} {
		if els[el] {
			t.Errorf("SVG has a <%s> element, want a self-contained drawing", el)
		}
	}
	for _, s := range f.GetSteps() {
		if !strings.Contains(text, s.GetDisplayName()) {
			t.Errorf("SVG lacks step %q", s.GetDisplayName())
		}
	}
	for _, want := range []string{
		"开始", "结束",
		"联合会审（会签·一票否决）", // the group's title
		"国库处支付审核岗",      // a post, by its display name
		"经办人",           // a rank without unit
		"局领导 主要领导",      // a rank in a unit
		"限时 2个工作日",
		"拨付", "集体决策", "管", "办", // badges
		"50万元以上", "绿色通道", // labels
		"支付审核与拨付办理分离〔不相容岗位分离〕：支付审核、拨付办理", // the separations legend
	} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}

	keep(t, "wuhan.svg", svg)
	for name, o := range map[string]diagram.Options{
		"wuhan-public.svg":    {Public: true},
		"wuhan-emergency.svg": {Variant: diagram.Emergency, Names: names},
	} {
		b, err := diagram.SVG(flowgraphtest.Wuhan(), o)
		if err != nil {
			t.Fatal(err)
		}
		keep(t, name, b)
	}
}

// keep writes a drawing to the test's temporary directory, and to $FENQUAN_DIAGRAM_OUT
// when set, for looking at it (e.g. rendered to PNG with headless Chromium): layout
// quality is checked by eye, not asserted.
func keep(t *testing.T, name string, svg []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("FENQUAN_DIAGRAM_OUT"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name), svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPublicHidesInternals(t *testing.T) {
	f := flowgraphtest.Wuhan()
	svg, err := diagram.SVG(f, diagram.Options{Public: true, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	mmd, err := diagram.Mermaid(f, diagram.Options{Public: true, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	// Posts and units, but not those a step's own name contains (局长 in 局长办公会).
	var shown strings.Builder
	for _, st := range f.GetSteps() {
		shown.WriteString(st.GetDisplayName() + "\n")
	}
	for _, g := range f.GetParallelGroups() {
		shown.WriteString(g.GetDisplayName() + "\n")
	}
	var hidden []string
	for _, n := range flowgraphtest.Names {
		if !strings.Contains(shown.String(), n) {
			hidden = append(hidden, n)
		}
	}
	if len(hidden) < 8 {
		t.Fatalf("only %d post and unit names to look for: %q", len(hidden), hidden)
	}
	for _, tr := range f.GetTransitions() {
		if tr.GetCondition() != "" {
			hidden = append(hidden, tr.GetCondition())
		}
	}
	for _, s := range f.GetSeparations() {
		hidden = append(hidden, s.GetDisplayName())
	}
	hidden = append(hidden, "经办人", "orgs/", "不相容岗位分离", "管办分离", "分离①", "【管】", "【办】")
	text, _ := wellFormed(t, svg)
	for _, h := range hidden {
		if strings.Contains(string(svg), h) {
			t.Errorf("public SVG shows %q", h)
		}
		if strings.Contains(mmd, h) {
			t.Errorf("public Mermaid shows %q", h)
		}
	}
	// Ranks that are also part of step names must not appear as lines of their own.
	lines := "\n" + text
	for _, r := range []string{"主管责任人", "分管处长", "处长", "主要领导"} {
		if strings.Contains(lines, "\n"+r+"\n") || strings.Contains(mmd, "<br/>"+r) {
			t.Errorf("public diagram shows the rank %q", r)
		}
	}
	for _, want := range []string{"支付审核", "限时 1个工作日", "50万元以上", "拨付"} {
		if !strings.Contains(text, want) {
			t.Errorf("public SVG lacks %q", want)
		}
	}
}

func TestEmergencyShowsHours(t *testing.T) {
	o := diagram.Options{Variant: diagram.Emergency, Names: names}
	svg, err := diagram.SVG(flowgraphtest.Wuhan(), o)
	if err != nil {
		t.Fatal(err)
	}
	mmd, err := diagram.Mermaid(flowgraphtest.Wuhan(), o)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := wellFormed(t, svg)
	for name, out := range map[string]string{"SVG": text, "Mermaid": mmd} {
		for _, want := range []string{"4小时", "40小时", "应急流程"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if strings.Contains(out, "个工作日") {
			t.Errorf("%s shows a limit in working days, want hours", name)
		}
	}
	for _, skipped := range []string{"主管责任人审核", "处长审批"} {
		if strings.Contains(text, "\n"+skipped+"\n") || strings.Contains(mmd, "<b>"+skipped+"</b>") {
			t.Errorf("the emergency diagram shows the skipped step %q", skipped)
		}
	}

	f := flowgraphtest.Wuhan()
	f.Emergency = nil
	if _, err := diagram.SVG(f, o); !errors.Is(err, flowgraph.ErrNoEmergency) {
		t.Errorf("SVG of the emergency variant of a flow without one: got %v, want ErrNoEmergency", err)
	}
}

func TestMermaid(t *testing.T) {
	f := flowgraphtest.Wuhan()
	f.Steps[9].DisplayName = `支付"审核"<b>#1&`
	got, err := diagram.Mermaid(f, diagram.Options{Names: names, Title: "财政资金拨付"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"---\ntitle: \"财政资金拨付\"\n---\nflowchart TD\n",
		`n_start(["开始"])`,
		`n_end(["结束"])`,
		`subgraph s_lhhs["联合会审（会签·一票否决）"]`,
		`s_ysc_hs["<b>预算处会审</b><br/>预算处会审岗<br/>限时 1个工作日"]`,
		`s_zfsh["<b>支付#quot;审核#quot;#lt;b#gt;#35;1#amp;</b>`,
		`s_bfbl["<b>拨付办理</b><br/>国库处拨付办理岗<br/>限时 1个工作日<br/>【拨付】【办】【分离①③】"]`,
		`<br/>② 经办、审核、审批分离〔不相容岗位分离〕：支出计划、主管责任人审核、分管处长审批<br/>`,
		`s_zcjh -.->|"绿色通道"| s_lhhs`, // conditional: dashed,
		`s_fgcz -.->|"50万元以上"| s_cz`,
		`s_kjhs --> n_end`,
		"class s_bfbl payment",
		"class s_jwh collective",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Mermaid lacks %q; got:\n%s", want, got)
		}
	}
	// The subgraph holds exactly the group's members.
	sub := got[strings.Index(got, "subgraph"):]
	sub = sub[:strings.Index(sub, "\n  end\n")]
	if n := strings.Count(sub, `["<b>`); n != 3 {
		t.Errorf("subgraph has %d nodes, want 3:\n%s", n, sub)
	}
	// Conditions show where there is no label.
	f.Transitions[4].Label = ""
	got, _ = diagram.Mermaid(f, diagram.Options{})
	if want := `s_fgcz -.->|"amount #gt;= 500000.0"| s_cz`; !strings.Contains(got, want) {
		t.Errorf("Mermaid lacks %q", want)
	}
	if want := `s_yszb["<b>预算指标审核</b><br/>ysc-zbgl<br/>`; !strings.Contains(got, want) {
		t.Errorf("without Names, Mermaid lacks the post id: want %q", want)
	}
}

func TestSVGEscapesText(t *testing.T) {
	f := flowgraphtest.Wuhan()
	f.Steps[9].DisplayName = `支付<审核> & "复核" 'x' ]]> ` + "\x01"
	f.Transitions[4].Label = `<script>alert(1)</script>`
	svg, err := diagram.SVG(f, diagram.Options{Title: `A & B <C>`})
	if err != nil {
		t.Fatal(err)
	}
	text, els := wellFormed(t, svg)
	if els["script"] {
		t.Error("a label became a <script> element")
	}
	for _, want := range []string{"支付<审核>", "A & B <C>", "<script>alert(1)</script>"} {
		if !strings.Contains(strings.ReplaceAll(text, "\n", ""), want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for name, o := range map[string]diagram.Options{
		"normal":    {Names: names},
		"public":    {Public: true},
		"emergency": {Variant: diagram.Emergency, Names: names},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := diagram.SVG(flowgraphtest.Wuhan(), o)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := diagram.SVG(flowgraphtest.Wuhan(), o)
			if !bytes.Equal(a, b) {
				t.Error("two SVGs of the same flow differ")
			}
			m1, _ := diagram.Mermaid(flowgraphtest.Wuhan(), o)
			m2, _ := diagram.Mermaid(flowgraphtest.Wuhan(), o)
			if m1 != m2 {
				t.Error("two Mermaid texts of the same flow differ")
			}
		})
	}
}

func TestRefusesBrokenFlows(t *testing.T) {
	f := flowgraphtest.Wuhan()
	f.Transitions[4].To = "nope"
	if _, err := diagram.SVG(f, diagram.Options{}); err == nil {
		t.Error("SVG of a flow with a dangling transition: got no error")
	}
	if _, err := diagram.Mermaid(nil, diagram.Options{}); err == nil {
		t.Error("Mermaid(nil): got no error")
	}
}

// A wide, branchy flow with long names still lays out: every box inside the canvas, no
// two boxes overlapping.
func TestSVGLayoutNoOverlap(t *testing.T) {
	f := &registryv1.Flow{DisplayName: "行政处罚一般程序（含听证、集体讨论与法制审核）"}
	add := func(id, name string) {
		f.Steps = append(f.Steps, &registryv1.FlowStep{Id: id, DisplayName: name, TimeLimitDays: 3,
			Actor: &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_HANDLER}})
	}
	edge := func(from, to, cond string) {
		f.Transitions = append(f.Transitions, &registryv1.Transition{From: from, To: to, Condition: cond})
	}
	add("la", "立案")
	add("dc", "调查取证（两名以上执法人员，出示执法证件，制作询问笔录与现场检查笔录）")
	add("gz", "告知拟处罚决定及陈述申辩、听证权利")
	add("tz", "听证")
	add("fz", "法制审核")
	add("jt", "集体讨论决定")
	add("jd", "作出处罚决定")
	add("sd", "送达")
	add("zx", "执行")
	add("ja", "结案归档")
	edge("start", "la", "")
	edge("la", "end", `fund == "none"`)
	edge("la", "dc", "")
	edge("dc", "ja", `indicator == "no-violation"`)
	edge("dc", "gz", "")
	edge("gz", "tz", "payee_is_person")
	edge("gz", "fz", "")
	edge("tz", "fz", "")
	edge("fz", "jt", "amount >= 100000.0")
	edge("fz", "jd", "")
	edge("jt", "jd", "")
	edge("jd", "sd", "")
	edge("sd", "zx", "")
	edge("zx", "ja", "")
	edge("ja", "end", "")
	svg, err := diagram.SVG(f, diagram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, svg)
	keep(t, "branchy.svg", svg)
	type rect struct{ x, y, w, h float64 }
	var boxes []rect
	var width, height float64
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]float64{}
		var stroke string
		for _, a := range se.Attr {
			var v float64
			if _, err := fmt.Sscan(a.Value, &v); err == nil {
				attr[a.Name.Local] = v
			}
			if a.Name.Local == "stroke-width" {
				stroke = a.Value
			}
		}
		switch {
		case se.Name.Local == "svg":
			width, height = attr["width"], attr["height"]
		case se.Name.Local == "rect" && stroke == "1.2": // step boxes
			boxes = append(boxes, rect{attr["x"], attr["y"], attr["width"], attr["height"]})
		}
	}
	if len(boxes) != len(f.Steps) {
		t.Fatalf("found %d step boxes, want %d", len(boxes), len(f.Steps))
	}
	for i, a := range boxes {
		if a.x < 0 || a.y < 0 || a.x+a.w > width || a.y+a.h > height {
			t.Errorf("box %d %+v outside the %vx%v canvas", i, a, width, height)
		}
		for _, b := range boxes[i+1:] {
			if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
				t.Errorf("boxes %+v and %+v overlap", a, b)
			}
		}
	}
}
