package report

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// HeatMap is the likelihood × impact matrix of a register: how many risk points fall in
// each cell, and the grade each cell gives (for its colour).
type HeatMap struct {
	Cells  [5][5]int    // [likelihood-1][impact-1]
	Grades [5][5]string // HIGH | MEDIUM | LOW (高 | 中 | 低 are read too); other: grey
	Title  string
}

type gradeStyle struct {
	label, fill, text string
}

var (
	styleHigh   = gradeStyle{"高", "#d9412b", "#ffffff"}
	styleMedium = gradeStyle{"中", "#f2a93b", "#1f1f1f"}
	styleLow    = gradeStyle{"低", "#79b86a", "#1f1f1f"}
	styleNone   = gradeStyle{"未定", "#d9d9d9", "#1f1f1f"}
)

func styleOf(grade string) gradeStyle {
	switch strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(grade, "GRADE_"))) {
	case "HIGH", "高":
		return styleHigh
	case "MEDIUM", "中":
		return styleMedium
	case "LOW", "低":
		return styleLow
	}
	return styleNone
}

// Geometry of the drawing, in user units.
const (
	hmCellW   = 88
	hmCellH   = 64
	hmLeft    = 110 // the grid's left edge: room for 可能性 and its ticks
	hmTop     = 84  // the grid's top edge: room for the title and the total
	hmLegendX = hmLeft + 5*hmCellW + 36
	hmWidth   = hmLegendX + 130
	hmHeight  = hmTop + 5*hmCellH + 76
	hmFont    = `"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","SimHei",sans-serif`
)

// HeatMapSVG draws the matrix as a standalone SVG: likelihood (可能性) in rows, 5 at the
// top, impact (危害程度) in columns, 5 on the right; each cell coloured by its grade and
// showing its count; axis labels and a legend in Chinese. Text is escaped.
func HeatMapSVG(h HeatMap) []byte {
	var b bytes.Buffer
	total := 0
	for _, row := range h.Cells {
		for _, n := range row {
			total += n
		}
	}
	title := h.Title
	if title == "" {
		title = "廉政风险热力图"
	}
	w, hh := strconv.Itoa(hmWidth), strconv.Itoa(hmHeight)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="` + w + `" height="` + hh +
		`" viewBox="0 0 ` + w + ` ` + hh + `" role="img" font-family='` + hmFont + `'>` + "\n")
	b.WriteString(`<title>`)
	esc(&b, title)
	b.WriteString(`</title>` + "\n")
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")

	// Title and total.
	mid := strconv.Itoa(hmLeft + 5*hmCellW/2)
	b.WriteString(`<text x="` + mid + `" y="30" text-anchor="middle" font-size="18" font-weight="bold">`)
	esc(&b, title)
	b.WriteString(`</text>` + "\n")
	b.WriteString(`<text x="` + mid + `" y="54" text-anchor="middle" font-size="13" fill="#555555">共 ` +
		strconv.Itoa(total) + ` 个风险点</text>` + "\n")

	// Cells: row 0 of the drawing is likelihood 5.
	for li := 5; li >= 1; li-- {
		y := hmTop + (5-li)*hmCellH
		for ii := 1; ii <= 5; ii++ {
			x := hmLeft + (ii-1)*hmCellW
			n := h.Cells[li-1][ii-1]
			s := styleOf(h.Grades[li-1][ii-1])
			opacity := "1"
			textFill := s.text
			if n == 0 {
				opacity, textFill = "0.35", "#7f7f7f"
			}
			b.WriteString(`<g class="cell" data-likelihood="` + strconv.Itoa(li) + `" data-impact="` +
				strconv.Itoa(ii) + `" data-count="` + strconv.Itoa(n) + `">`)
			b.WriteString(`<title>可能性 ` + strconv.Itoa(li) + ` × 危害程度 ` + strconv.Itoa(ii) + `：` +
				strconv.Itoa(n) + ` 个风险点（` + s.label + `）</title>`)
			b.WriteString(`<rect x="` + strconv.Itoa(x) + `" y="` + strconv.Itoa(y) + `" width="` +
				strconv.Itoa(hmCellW) + `" height="` + strconv.Itoa(hmCellH) + `" fill="` + s.fill +
				`" fill-opacity="` + opacity + `" stroke="#ffffff" stroke-width="2"/>`)
			b.WriteString(`<text x="` + strconv.Itoa(x+hmCellW/2) + `" y="` + strconv.Itoa(y+hmCellH/2+8) +
				`" text-anchor="middle" font-size="22" font-weight="bold" fill="` + textFill + `">` +
				strconv.Itoa(n) + `</text>`)
			b.WriteString("</g>\n")
		}
	}

	// Axes: ticks, then the labels.
	for li := 1; li <= 5; li++ {
		y := hmTop + (5-li)*hmCellH + hmCellH/2 + 5
		b.WriteString(`<text x="` + strconv.Itoa(hmLeft-12) + `" y="` + strconv.Itoa(y) +
			`" text-anchor="end" font-size="14">` + strconv.Itoa(li) + `</text>` + "\n")
	}
	for ii := 1; ii <= 5; ii++ {
		x := hmLeft + (ii-1)*hmCellW + hmCellW/2
		b.WriteString(`<text x="` + strconv.Itoa(x) + `" y="` + strconv.Itoa(hmTop+5*hmCellH+22) +
			`" text-anchor="middle" font-size="14">` + strconv.Itoa(ii) + `</text>` + "\n")
	}
	gridMidY := strconv.Itoa(hmTop + 5*hmCellH/2)
	b.WriteString(`<text x="50" y="` + gridMidY + `" text-anchor="middle" font-size="15" font-weight="bold" ` +
		`transform="rotate(-90 50 ` + gridMidY + `)">可能性 →</text>` + "\n")
	b.WriteString(`<text x="` + mid + `" y="` + strconv.Itoa(hmTop+5*hmCellH+52) +
		`" text-anchor="middle" font-size="15" font-weight="bold">危害程度 →</text>` + "\n")

	// Legend.
	b.WriteString(`<g class="legend">` + "\n")
	b.WriteString(`<text x="` + strconv.Itoa(hmLegendX) + `" y="` + strconv.Itoa(hmTop+14) +
		`" font-size="14" font-weight="bold">风险等级</text>` + "\n")
	for i, s := range []gradeStyle{styleHigh, styleMedium, styleLow} {
		y := hmTop + 30 + i*30
		b.WriteString(`<rect x="` + strconv.Itoa(hmLegendX) + `" y="` + strconv.Itoa(y) +
			`" width="22" height="18" fill="` + s.fill + `"/>`)
		b.WriteString(`<text x="` + strconv.Itoa(hmLegendX+32) + `" y="` + strconv.Itoa(y+14) +
			`" font-size="14">` + s.label + `</text>` + "\n")
	}
	b.WriteString(`<text x="` + strconv.Itoa(hmLegendX) + `" y="` + strconv.Itoa(hmTop+140) +
		`" font-size="12" fill="#555555">格内数字：风险点数</text>` + "\n")
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

// esc writes s as XML character data.
func esc(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
