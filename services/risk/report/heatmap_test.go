package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// svgCell is what the drawing says about one cell.
type svgCell struct {
	count int
	fill  string
	text  string // the number drawn
}

// parseSVG checks that the document is well-formed XML with an <svg> root, and returns
// its cells by [likelihood-1][impact-1], and all its character data.
func parseSVG(t *testing.T, doc []byte) (cells [5][5]svgCell, text string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var (
		sb       strings.Builder
		root     string
		cur      *svgCell
		inText   bool
		seen     int
		depthCur int
		depth    int
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			if root == "" {
				root = tk.Name.Local
				if tk.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q", tk.Name.Space)
				}
			}
			attr := map[string]string{}
			for _, a := range tk.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch tk.Name.Local {
			case "g":
				if attr["class"] == "cell" {
					li, _ := strconv.Atoi(attr["data-likelihood"])
					ii, _ := strconv.Atoi(attr["data-impact"])
					n, err := strconv.Atoi(attr["data-count"])
					if li < 1 || li > 5 || ii < 1 || ii > 5 || err != nil {
						t.Fatalf("bad cell attributes %v", attr)
					}
					cur = &cells[li-1][ii-1]
					cur.count = n
					depthCur = depth
					seen++
				}
			case "rect":
				if cur != nil {
					cur.fill = attr["fill"]
				}
			case "text":
				inText = cur != nil
			}
		case xml.EndElement:
			if tk.Name.Local == "text" {
				inText = false
			}
			if cur != nil && depth == depthCur && tk.Name.Local == "g" {
				cur = nil
			}
			depth--
		case xml.CharData:
			sb.Write(tk)
			if inText {
				cur.text += string(tk)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	if seen != 25 {
		t.Fatalf("%d cells, want 25", seen)
	}
	return cells, sb.String()
}

func TestHeatMapSVG(t *testing.T) {
	var h HeatMap
	h.Title = `2026年度 <国库> & "支付" 风险热力图`
	grade := func(l, i int) string {
		switch s := l * i; {
		case s >= 15:
			return "HIGH"
		case s >= 6:
			return "MEDIUM"
		}
		return "LOW"
	}
	total := 0
	for l := 1; l <= 5; l++ {
		for i := 1; i <= 5; i++ {
			h.Grades[l-1][i-1] = grade(l, i)
			h.Cells[l-1][i-1] = (l*7 + i*3) % 11 // a mix including zeros
			total += h.Cells[l-1][i-1]
		}
	}
	h.Cells[4][4] = 1234 // large counts are printed whole
	total += 1234 - (5*7+5*3)%11
	h.Grades[0][0] = "" // an ungraded cell is grey

	doc := HeatMapSVG(h)
	cells, text := parseSVG(t, doc)
	for l := 1; l <= 5; l++ {
		for i := 1; i <= 5; i++ {
			c := cells[l-1][i-1]
			want := h.Cells[l-1][i-1]
			if c.count != want || c.text != strconv.Itoa(want) {
				t.Errorf("cell (%d,%d): count %d, drawn %q, want %d", l, i, c.count, c.text, want)
			}
			wantFill := styleOf(h.Grades[l-1][i-1]).fill
			if c.fill != wantFill {
				t.Errorf("cell (%d,%d): fill %s, want %s", l, i, c.fill, wantFill)
			}
		}
	}
	if cells[4][4].fill != styleHigh.fill || cells[0][1].fill != styleLow.fill || cells[1][2].fill != styleMedium.fill {
		t.Errorf("grades not coloured: high %s, low %s, medium %s", cells[4][4].fill, cells[0][1].fill, cells[1][2].fill)
	}
	if cells[0][0].fill != styleNone.fill {
		t.Errorf("ungraded cell fill %s", cells[0][0].fill)
	}
	for _, want := range []string{
		h.Title, // decoded back from its escaped form
		"可能性", "危害程度", "风险等级", "高", "中", "低",
		"共 " + strconv.Itoa(total) + " 个风险点",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
	if !bytes.Contains(doc, []byte("&lt;国库&gt; &amp; &#34;支付&#34;")) {
		t.Errorf("title not escaped in the source")
	}
	// Likelihood 5 is the top row, impact 5 the right column.
	if top, bottom := rectY(t, doc, 5, 1), rectY(t, doc, 1, 1); top >= bottom {
		t.Errorf("likelihood 5 at y=%d is not above likelihood 1 at y=%d", top, bottom)
	}
}

// rectY finds the y of the cell (likelihood, impact) in the source.
func rectY(t *testing.T, doc []byte, l, i int) int {
	t.Helper()
	key := `data-likelihood="` + strconv.Itoa(l) + `" data-impact="` + strconv.Itoa(i) + `"`
	s := string(doc)
	at := strings.Index(s, key)
	if at < 0 {
		t.Fatalf("no cell %d,%d", l, i)
	}
	s = s[at:]
	at = strings.Index(s, ` y="`)
	s = s[at+4:]
	y, err := strconv.Atoi(s[:strings.IndexByte(s, '"')])
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func TestHeatMapSVGEmpty(t *testing.T) {
	cells, text := parseSVG(t, HeatMapSVG(HeatMap{}))
	if cells[2][2].count != 0 || cells[2][2].text != "0" {
		t.Errorf("empty cell %+v", cells[2][2])
	}
	if !strings.Contains(text, "廉政风险热力图") || !strings.Contains(text, "共 0 个风险点") {
		t.Errorf("default title or total missing")
	}
}

func BenchmarkHeatMapSVG(b *testing.B) {
	var h HeatMap
	for l := range 5 {
		for i := range 5 {
			h.Cells[l][i] = l * i
			h.Grades[l][i] = "MEDIUM"
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = HeatMapSVG(h)
	}
}
