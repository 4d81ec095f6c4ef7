package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Rows of the sheet, 1-based: the title, the meta row, two heading rows, then the body.
const (
	titleRow  = 1
	metaRow   = 2
	headRow1  = 3
	headRow2  = 4
	firstBody = 5
)

// fontFamily is the face the seed bodies' printed forms use; Excel and WPS substitute
// their CJK default where it is missing.
const fontFamily = "宋体"

type xlsxStyles struct {
	title, meta, head, body, bodyCenter int
}

func newStyles(f *excelize.File) (xlsxStyles, error) {
	var s xlsxStyles
	border := []excelize.Border{
		{Type: "left", Color: "000000", Style: 1},
		{Type: "top", Color: "000000", Style: 1},
		{Type: "right", Color: "000000", Style: 1},
		{Type: "bottom", Color: "000000", Style: 1},
	}
	defs := []struct {
		id *int
		st *excelize.Style
	}{
		{&s.title, &excelize.Style{
			Font:      &excelize.Font{Bold: true, Size: 16, Family: fontFamily},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		}},
		{&s.meta, &excelize.Style{
			Font:      &excelize.Font{Size: 11, Family: fontFamily},
			Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "center"},
		}},
		{&s.head, &excelize.Style{
			Font:      &excelize.Font{Bold: true, Size: 11, Family: fontFamily},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
			Border:    border,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}},
		}},
		{&s.body, &excelize.Style{
			Font:      &excelize.Font{Size: 10, Family: fontFamily},
			Alignment: &excelize.Alignment{Horizontal: "left", Vertical: "top", WrapText: true},
			Border:    border,
		}},
		{&s.bodyCenter, &excelize.Style{
			Font:      &excelize.Font{Size: 10, Family: fontFamily},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top", WrapText: true},
			Border:    border,
		}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(d.st)
		if err != nil {
			return s, err
		}
		*d.id = id
	}
	return s, nil
}

// centred are the short columns (numbers, grades, categories) set in the middle.
func centred(f field) bool {
	switch f {
	case fSeq, fLevel, fKind, fLikelihood, fImpact, fScore, fGrade:
		return true
	}
	return false
}

func cellName(col, row int) string {
	name, _ := excelize.CoordinatesToCellName(col, row) // col and row are always in range
	return name
}

// WriteXLSX writes the register as form f: a title row merged across the columns, the meta
// row, two heading rows (the measures' phases under one merged 防控措施 / 防范措施), then
// one row per risk point in the order given. It streams the sheet (excelize's StreamWriter,
// which spills to a temporary file past 16 MiB), so memory stays bounded by the zipped
// result, not the sheet.
func WriteXLSX(w io.Writer, form Form, m Meta, rows []Row) (err error) {
	l := layoutOf(form)
	if l == nil {
		return fmt.Errorf("%w: %d", ErrUnknownForm, int(form))
	}
	if headRow2+len(rows) > excelize.TotalRows {
		return fmt.Errorf("report: %d risk points do not fit one sheet (at most %d)", len(rows), excelize.TotalRows-headRow2)
	}
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	sheet := l.title
	if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
		return fmt.Errorf("report: sheet: %w", err)
	}
	if err := setupPage(f, sheet, l, m); err != nil {
		return err
	}
	// The used range is known before the first row; readers that trust it (openpyxl's
	// read-only mode, pandas) would otherwise see one cell.
	if err := f.SetSheetDimension(sheet, cellName(1, 1)+":"+cellName(len(l.cols), headRow2+len(rows))); err != nil {
		return fmt.Errorf("report: dimension: %w", err)
	}
	st, err := newStyles(f)
	if err != nil {
		return fmt.Errorf("report: styles: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("report: stream: %w", err)
	}
	n := len(l.cols)
	// Excelize puts each new width before those already set, and Excel refuses a sheet
	// whose columns are out of order, so the widths are set from the last column back.
	for i := n - 1; i >= 0; i-- {
		if err := sw.SetColWidth(i+1, i+1, l.cols[i].width); err != nil {
			return fmt.Errorf("report: column width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: headRow2, TopLeftCell: cellName(1, firstBody), ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: cellName(1, firstBody), ActiveCell: cellName(1, firstBody), Pane: "bottomLeft"}},
	}); err != nil {
		return fmt.Errorf("report: panes: %w", err)
	}

	vals := make([]any, n)
	cells := make([]excelize.Cell, n)
	// Title.
	clear(vals)
	vals[0] = excelize.Cell{StyleID: st.title, Value: l.title}
	if err := sw.SetRow(cellName(1, titleRow), vals, excelize.RowOpts{Height: 32}); err != nil {
		return fmt.Errorf("report: title: %w", err)
	}
	if err := sw.MergeCell(cellName(1, titleRow), cellName(n, titleRow)); err != nil {
		return err
	}

	// Meta: the items share the width, each merged over its share.
	clear(vals)
	items := l.metaItems(m)
	spans := share(n, len(items))
	at := 1
	for i, it := range items {
		vals[at-1] = excelize.Cell{StyleID: st.meta, Value: it}
		if spans[i] > 1 {
			if err := sw.MergeCell(cellName(at, metaRow), cellName(at+spans[i]-1, metaRow)); err != nil {
				return err
			}
		}
		at += spans[i]
	}
	if err := sw.SetRow(cellName(1, metaRow), vals, excelize.RowOpts{Height: 22}); err != nil {
		return fmt.Errorf("report: meta: %w", err)
	}

	// Headings: a column outside a group spans both rows; a group's heading spans its
	// columns in the first row, their own headings below.
	row2 := make([]any, n)
	for i := 0; i < n; i++ {
		c := l.cols[i]
		if c.group == "" {
			vals[i] = excelize.Cell{StyleID: st.head, Value: c.head}
			row2[i] = excelize.Cell{StyleID: st.head}
			if err := sw.MergeCell(cellName(i+1, headRow1), cellName(i+1, headRow2)); err != nil {
				return err
			}
			continue
		}
		j := i
		for j+1 < n && l.cols[j+1].group == c.group {
			j++
		}
		for k := i; k <= j; k++ {
			vals[k] = excelize.Cell{StyleID: st.head}
			row2[k] = excelize.Cell{StyleID: st.head, Value: l.cols[k].head}
		}
		vals[i] = excelize.Cell{StyleID: st.head, Value: c.group}
		if j > i {
			if err := sw.MergeCell(cellName(i+1, headRow1), cellName(j+1, headRow1)); err != nil {
				return err
			}
		}
		i = j
	}
	if err := sw.SetRow(cellName(1, headRow1), vals, excelize.RowOpts{Height: 20}); err != nil {
		return fmt.Errorf("report: headings: %w", err)
	}
	if err := sw.SetRow(cellName(1, headRow2), row2, excelize.RowOpts{Height: 20}); err != nil {
		return fmt.Errorf("report: headings: %w", err)
	}

	// Body. The cells are reused row to row; a blank cell keeps its border.
	styles := make([]int, n)
	for i, c := range l.cols {
		styles[i] = st.body
		if centred(c.field) {
			styles[i] = st.bodyCenter
		}
	}
	cv := make([]cellValue, n)
	var b strings.Builder
	for ri := range rows {
		if err := l.values(cv, ri+1, &rows[ri], &b); err != nil {
			return err
		}
		for i, v := range cv {
			cells[i] = excelize.Cell{StyleID: styles[i]}
			switch {
			case v.num && v.n != 0:
				cells[i].Value = v.n
			case !v.num && v.text != "":
				cells[i].Value = fitCell(v.text)
			}
			vals[i] = &cells[i]
		}
		if err := sw.SetRow(cellName(1, firstBody+ri), vals); err != nil {
			return fmt.Errorf("report: row %d: %w", ri+1, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("report: flush: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}

// share splits n columns among k items as evenly as possible, the first ones wider.
func share(n, k int) []int {
	if k == 0 {
		return nil
	}
	out := make([]int, k)
	for i := range out {
		out[i] = n / k
		if i < n%k {
			out[i]++
		}
	}
	return out
}

// setupPage prints the form as the users file it: A4 landscape, one page wide, the heading
// rows repeated on every page. It must run before the stream writer starts.
func setupPage(f *excelize.File, sheet string, l *layout, m Meta) error {
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return fmt.Errorf("report: sheet properties: %w", err)
	}
	a4, landscape, wide, tall := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall,
	}); err != nil {
		return fmt.Errorf("report: page layout: %w", err)
	}
	if err := f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$%d:$%d", sheet, headRow1, headRow2),
		Scope:    sheet,
	}); err != nil {
		return fmt.Errorf("report: print titles: %w", err)
	}
	desc := l.annex + " " + l.title
	if m.Campaign != "" {
		desc += "，" + m.Campaign
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	if err := f.SetDocProps(&excelize.DocProperties{
		Created:     now,
		Modified:    now,
		Title:       l.title,
		Subject:     m.Campaign,
		Description: desc,
		Creator:     "Fenquan",
		Category:    "廉政风险防控台账",
		Language:    "zh-CN",
	}); err != nil {
		return fmt.Errorf("report: properties: %w", err)
	}
	return nil
}
