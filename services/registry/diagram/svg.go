package diagram

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
)

// FontFamily lists fonts with CJK glyphs on the usual desktops, then any sans-serif.
const FontFamily = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"

// Colours.
const (
	colText      = "#1f2933"
	colMuted     = "#52606d"
	colEdge      = "#5f6b7a"
	colBox       = "#ffffff"
	colBoxLine   = "#52606d"
	colLimit     = "#1c64b4"
	colUrgent    = "#c92a2a"
	colPayFill   = "#fff4e6"
	colPayLine   = "#d9480f"
	colCollFill  = "#f3f0ff"
	colCollLine  = "#6741d9"
	colGroupFill = "#f5f7fa"
	colGroupLine = "#7b8794"
	colStart     = "#e7f5ff"
	colStartLine = "#1c7ed6"
	colEnd       = "#ebfbee"
	colEndLine   = "#2f9e44"
)

var badgeColours = map[badgeKind][2]string{ // fill, text
	badgePayment:    {colPayLine, "#ffffff"},
	badgeCollective: {colCollLine, "#ffffff"},
	badgeManage:     {"#e3f2fd", "#1864ab"},
	badgeHandle:     {"#e6fcf5", "#087f5b"},
	badgeSeparation: {"#fff5f5", "#c92a2a"},
}

// SVG draws f as a standalone SVG 1.1 document (no scripts, no external references),
// laid out top to bottom. The same flow and options always give the same bytes.
func SVG(f *registryv1.Flow, o Options) ([]byte, error) {
	m, err := newModel(f, o)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(m)
	if err != nil {
		return nil, err
	}

	// The canvas: as wide as the graph, the title or the legend needs.
	width := max(l.width, textWidth(m.title, titleSize)*1.05+2*margin, textWidth(m.subtitle, subtitleSize)+2*margin)
	legend := legendLines(m, max(width, 560)-2*margin)
	for _, ln := range legend {
		width = max(width, textWidth(ln.text, ln.size)+2*margin)
	}
	shift := (width - l.width) / 2
	for _, r := range l.ranks {
		for _, n := range r {
			n.x += shift
		}
	}
	height := l.bottom + margin
	if len(legend) > 0 {
		height += 12
		for _, ln := range legend {
			height += ln.line
		}
	}

	var b svgBuf
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s">`+"\n",
		num(width), num(height), num(width), num(height), xmlText(FontFamily))
	fmt.Fprintf(&b, "<title>%s</title>\n", xmlText(strings.TrimSpace(m.title+" "+m.subtitle)))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">` +
		`<path d="M0,0 L10,5 L0,10 z" fill="` + colEdge + `"/></marker></defs>` + "\n")
	b.el("rect", "x", "0", "y", "0", "width", num(width), "height", num(height), "fill", "#ffffff")

	y := margin + titleSize
	b.text(width/2, y, m.title, "font-size", num(titleSize), "font-weight", "bold", "text-anchor", "middle", "fill", colText)
	if m.subtitle != "" {
		y += subtitleSize + 8
		b.text(width/2, y, m.subtitle, "font-size", num(subtitleSize), "text-anchor", "middle", "fill", colUrgent)
	}

	// Groups first, edges next, boxes on top: where an edge must pass a box, the box wins.
	for _, n := range l.m.order {
		if ln := l.nodes[n]; l.m.groups[n] != nil {
			drawGroupFrame(&b, ln)
		}
	}
	drawEdges(&b, l)
	for _, n := range l.m.order {
		ln := l.nodes[n]
		switch {
		case n == flowgraph.Start:
			drawPill(&b, ln, "开始", colStart, colStartLine)
		case n == flowgraph.End:
			drawPill(&b, ln, "结束", colEnd, colEndLine)
		case l.m.groups[n] != nil:
			top := ln.y + groupTitleH + float64(len(ln.box.title)-1)*infoLine
			for _, mb := range ln.box.members {
				drawStep(&b, mb.box, ln.x-ln.w/2+mb.x, top, mb.w, mb.h, m.emergency)
			}
		default:
			drawStep(&b, ln.box, ln.x-ln.w/2, ln.y, ln.w, ln.h, m.emergency)
		}
	}

	y = l.bottom + 12
	if len(legend) > 0 {
		b.el("line", "x1", num(margin), "y1", num(y), "x2", num(width-margin), "y2", num(y), "stroke", "#cbd2d9", "stroke-width", "1")
		for _, ln := range legend {
			y += ln.line
			attrs := []string{"font-size", num(ln.size), "fill", colText}
			if ln.bold {
				attrs = append(attrs, "font-weight", "bold")
			}
			b.text(margin, y-ln.line+ln.size+4, ln.text, attrs...)
		}
	}
	b.WriteString("</svg>\n")
	return []byte(b.String()), nil
}

type legendLine struct {
	text       string
	size, line float64
	bold       bool
}

// legendLines lists the separations: which steps different people must do.
func legendLines(m *model, maxW float64) []legendLine {
	if len(m.seps) == 0 {
		return nil
	}
	ls := []legendLine{{text: "分权制衡：同一办件中，同一分离要求下的各步骤须由不同人员办理", size: 13, line: 22, bold: true}}
	for _, s := range m.seps {
		steps := strings.Join(s.steps, "、")
		if steps == "" {
			steps = "（无步骤）"
		}
		for i, t := range wrap(s.mark+" "+s.title+"："+steps, 12, maxW) {
			if i > 0 {
				t = "　" + t
			}
			ls = append(ls, legendLine{text: t, size: 12, line: 18})
		}
	}
	return ls
}

func drawPill(b *svgBuf, n *lnode, text, fill, line string) {
	b.el("rect", "x", num(n.x-n.w/2), "y", num(n.y), "width", num(n.w), "height", num(n.h), "rx", num(n.h/2),
		"fill", fill, "stroke", line, "stroke-width", "1.5")
	b.text(n.x, baseline(n.y, n.h, nameSize), text, "font-size", num(nameSize), "font-weight", "bold", "text-anchor", "middle", "fill", colText)
}

func drawGroupFrame(b *svgBuf, n *lnode) {
	b.el("rect", "x", num(n.x-n.w/2), "y", num(n.y), "width", num(n.w), "height", num(n.h), "rx", "12",
		"fill", colGroupFill, "stroke", colGroupLine, "stroke-width", "1.5", "stroke-dasharray", "6 4")
	for i, t := range n.box.title {
		b.text(n.x-n.w/2+groupPad, baseline(n.y+6+float64(i)*infoLine, infoLine+2, groupTitleSize), t,
			"font-size", num(groupTitleSize), "font-weight", "bold", "fill", "#323f4b")
	}
}

// drawStep draws a step's box: name (bold), who acts, the limit, then the badges.
func drawStep(b *svgBuf, bx *boxLayout, x, y, w, h float64, urgent bool) {
	s := bx.step
	fill, line, lw := colBox, colBoxLine, "1.2"
	switch {
	case s.payment:
		fill, line, lw = colPayFill, colPayLine, "2"
	case s.collect:
		fill, line, lw = colCollFill, colCollLine, "2"
	}
	b.el("rect", "x", num(x), "y", num(y), "width", num(w), "height", num(h), "rx", "8", "fill", fill, "stroke", line, "stroke-width", lw)
	cx := x + w/2
	// Contents are centred vertically: the box may be taller than they are (a group's
	// row of members has one height).
	cy := y + (h-contentHeight(bx))/2
	for _, t := range bx.name {
		b.text(cx, baseline(cy, nameLine, nameSize), t, "font-size", num(nameSize), "font-weight", "bold", "text-anchor", "middle", "fill", colText)
		cy += nameLine
	}
	for _, t := range bx.actor {
		b.text(cx, baseline(cy, infoLine, infoSize), t, "font-size", num(infoSize), "text-anchor", "middle", "fill", colMuted)
		cy += infoLine
	}
	if s.limit != "" {
		col := colLimit
		if urgent {
			col = colUrgent
		}
		b.text(cx, baseline(cy, infoLine, infoSize), "限时 "+s.limit, "font-size", num(infoSize), "text-anchor", "middle", "fill", col)
		cy += infoLine
	}
	if len(s.badges) > 0 {
		bx := cx - badgesWidth(s.badges)/2
		cy += 4
		for _, bd := range s.badges {
			bw := badgeWidth(bd)
			c := badgeColours[bd.kind]
			b.el("rect", "x", num(bx), "y", num(cy), "width", num(bw), "height", num(badgeH), "rx", num(badgeH/2), "fill", c[0])
			b.text(bx+bw/2, baseline(cy, badgeH, badgeSize), bd.text, "font-size", num(badgeSize), "text-anchor", "middle", "fill", c[1])
			bx += bw + 4
		}
	}
}

func contentHeight(bx *boxLayout) float64 {
	h := float64(len(bx.name))*nameLine + float64(len(bx.actor))*infoLine
	if bx.step.limit != "" {
		h += infoLine
	}
	if len(bx.step.badges) > 0 {
		h += badgeH + 5
	}
	return h
}

// baseline puts text of the given size in the middle of a line box starting at top.
func baseline(top, line, size float64) float64 { return top + line/2 + size*0.36 }

// drawEdges draws each transition from the bottom of its source to the top of its
// target through its dummies: straight down through each rank it passes, with S-bends
// between ranks. Several edges at one box leave (or arrive) side by side, in the order
// of where they go (or come from), so they neither overlap nor cross at the box.
func drawEdges(b *svgBuf, l *layout) {
	outX := make([]float64, len(l.chains))
	inX := make([]float64, len(l.chains))
	byNode := func(end func(c []*lnode) *lnode, next func(c []*lnode) *lnode, xs []float64) {
		at := map[*lnode][]int{}
		for i, c := range l.chains {
			at[end(c)] = append(at[end(c)], i)
		}
		for _, n := range l.m.order {
			ln := l.nodes[n]
			cs := at[ln]
			if len(cs) == 0 {
				continue
			}
			slices.SortStableFunc(cs, func(i, j int) int { return cmp.Compare(next(l.chains[i]).x, next(l.chains[j]).x) })
			// The default path keeps the middle, so the spine stays straight; other
			// edges go to the side they head for. Without it, the ports centre.
			centre := float64(len(cs)-1) / 2
			for k, i := range cs {
				if l.m.edges[i].main {
					centre = float64(k)
				}
			}
			spacing := 0.0
			if reach := max(centre, float64(len(cs)-1)-centre); reach > 0 {
				spacing = min(18, (ln.w/2-12)/reach)
			}
			for k, i := range cs {
				xs[i] = ln.x + (float64(k)-centre)*spacing
			}
		}
	}
	byNode(func(c []*lnode) *lnode { return c[0] }, func(c []*lnode) *lnode { return c[1] }, outX)
	byNode(func(c []*lnode) *lnode { return c[len(c)-1] }, func(c []*lnode) *lnode { return c[len(c)-2] }, inX)

	type seg struct{ x, y0, y1 float64 }
	var labels []*lnode
	for i, c := range l.chains {
		from, to := c[0], c[len(c)-1]
		segs := []seg{{outX[i], from.y + from.h, l.top[from.rank] + l.height[from.rank]}}
		for _, d := range c[1 : len(c)-1] {
			segs = append(segs, seg{d.x, l.top[d.rank], l.top[d.rank] + l.height[d.rank]})
			if d.label != nil {
				labels = append(labels, d)
			}
		}
		segs = append(segs, seg{inX[i], l.top[to.rank], to.y})

		var d strings.Builder
		fmt.Fprintf(&d, "M%s %s", num(segs[0].x), num(segs[0].y0))
		for k, s := range segs {
			if k > 0 {
				p := segs[k-1]
				dy := (s.y0 - p.y1) / 2
				fmt.Fprintf(&d, " C%s %s %s %s %s %s", num(p.x), num(p.y1+dy), num(s.x), num(s.y0-dy), num(s.x), num(s.y0))
			}
			if s.y1-s.y0 >= 0.5 {
				fmt.Fprintf(&d, " L%s %s", num(s.x), num(s.y1))
			}
		}
		attrs := []string{"d", d.String(), "fill", "none", "stroke", colEdge, "stroke-width", "1.4", "marker-end", "url(#arrow)"}
		if !l.m.edges[i].primary {
			attrs = append(attrs, "stroke-dasharray", "5 3")
		}
		b.el("path", attrs...)
	}
	for _, d := range labels {
		y := l.top[d.rank] + (l.height[d.rank]-d.h)/2
		b.el("rect", "x", num(d.x-d.w/2), "y", num(y), "width", num(d.w), "height", num(d.h), "rx", "4",
			"fill", "#ffffff", "stroke", "#cbd2d9", "stroke-width", "1")
		for k, t := range d.label {
			b.text(d.x, baseline(y+2+float64(k)*labelLine, labelLine, labelSize), t, "font-size", num(labelSize), "text-anchor", "middle", "fill", colText)
		}
	}
}

// svgBuf writes elements with attributes in the order given, so output is stable.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) el(name string, attrs ...string) {
	b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		b.WriteString(" " + attrs[i] + `="` + xmlText(attrs[i+1]) + `"`)
	}
	b.WriteString("/>\n")
}

func (b *svgBuf) text(x, y float64, s string, attrs ...string) {
	b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `"`)
	for i := 0; i+1 < len(attrs); i += 2 {
		b.WriteString(" " + attrs[i] + `="` + xmlText(attrs[i+1]) + `"`)
	}
	b.WriteString(">" + xmlText(s) + "</text>\n")
}

// num formats a coordinate with one decimal at most.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		return "0"
	}
	return s
}
