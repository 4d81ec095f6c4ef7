package diagram

import (
	"fmt"
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
)

// Mermaid draws f as a Mermaid flowchart: start and end as rounded nodes, each step with
// its name, who acts and its limit, parallel groups as subgraphs, and transitions with
// their labels (or, outside the public view, their conditions).
func Mermaid(f *registryv1.Flow, o Options) (string, error) {
	m, err := newModel(f, o)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	title := m.title
	if m.subtitle != "" {
		title = strings.TrimSpace(title + " · " + m.subtitle)
	}
	if title != "" {
		fmt.Fprintf(&b, "---\ntitle: %s\n---\n", yamlString(title))
	}
	b.WriteString("flowchart TD\n")
	var payment, collective []string
	step := func(indent, id string) {
		s := m.steps[id]
		lines := []string{"<b>" + mermaidText(s.name) + "</b>"}
		if s.actor != "" {
			lines = append(lines, mermaidText(s.actor))
		}
		if s.limit != "" {
			lines = append(lines, "限时 "+mermaidText(s.limit))
		}
		var badges []string
		for _, bd := range s.badges {
			badges = append(badges, "【"+mermaidText(bd.text)+"】")
		}
		if len(badges) > 0 {
			lines = append(lines, strings.Join(badges, ""))
		}
		fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, mermaidID(id), strings.Join(lines, "<br/>"))
		if s.payment {
			payment = append(payment, mermaidID(id))
		}
		if s.collect {
			collective = append(collective, mermaidID(id))
		}
	}
	for _, n := range m.order {
		switch {
		case n == flowgraph.Start:
			fmt.Fprintf(&b, "  %s([\"开始\"])\n", mermaidID(n))
		case n == flowgraph.End:
			fmt.Fprintf(&b, "  %s([\"结束\"])\n", mermaidID(n))
		case m.groups[n] != nil:
			g := m.groups[n]
			fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", mermaidID(n), mermaidText(g.title))
			for _, id := range g.members {
				step("    ", id)
			}
			b.WriteString("  end\n")
		default:
			step("  ", n)
		}
	}
	if len(m.seps) > 0 {
		// The legend the 分离 badges refer to, as a node of its own: flowcharts have no
		// notes.
		lines := []string{"<b>分权制衡（同一分离要求下的步骤须由不同人员办理）</b>"}
		for _, sp := range m.seps {
			lines = append(lines, mermaidText(sp.mark+" "+sp.title+"："+strings.Join(sp.steps, "、")))
		}
		fmt.Fprintf(&b, "  legend[\"%s\"]\n", strings.Join(lines, "<br/>"))
	}
	for _, e := range m.edges {
		arrow := "-->"
		if !e.primary {
			arrow = "-.->" // a conditional branch, dashed as in the SVG
		}
		if e.label != "" {
			fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", mermaidID(e.from), arrow, mermaidText(e.label), mermaidID(e.to))
		} else {
			fmt.Fprintf(&b, "  %s %s %s\n", mermaidID(e.from), arrow, mermaidID(e.to))
		}
	}
	b.WriteString("  classDef payment fill:#fff4e6,stroke:#d9480f,stroke-width:2px\n")
	b.WriteString("  classDef collective fill:#f3f0ff,stroke:#6741d9,stroke-width:2px\n")
	if len(payment) > 0 {
		fmt.Fprintf(&b, "  class %s payment\n", strings.Join(payment, ","))
	}
	if len(collective) > 0 {
		fmt.Fprintf(&b, "  class %s collective\n", strings.Join(collective, ","))
	}
	if len(m.seps) > 0 {
		b.WriteString("  classDef legend fill:#ffffff,stroke:#cbd2d9,text-align:left\n  class legend legend\n")
	}
	return b.String(), nil
}

// mermaidID makes a node id Mermaid cannot misread: a prefix by kind (so that no id is a
// keyword such as "end", or starts with "o" or "x", which Mermaid reads as edge ends),
// then letters and digits, anything else as _xx_.
func mermaidID(node string) string {
	prefix := "s_"
	switch node {
	case flowgraph.Start, flowgraph.End:
		prefix = "n_"
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range node {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "_%x_", r)
		}
	}
	return b.String()
}

// mermaidText escapes text for a quoted Mermaid label with Mermaid's entity codes, which
// it decodes after parsing: quotes would end the label, and the label is HTML.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch r {
		case '"':
			b.WriteString("#quot;")
		case '#':
			b.WriteString("#35;")
		case '<':
			b.WriteString("#lt;")
		case '>':
			b.WriteString("#gt;")
		case '&':
			b.WriteString("#amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// yamlString quotes the title for the front matter. Mermaid reads the title as HTML
// and decodes no entity codes there, so <, > and & become their full-width forms, which
// read the same and cannot make markup.
func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "<", "＜", ">", "＞", "&", "＆").Replace(oneLine(s)) + `"`
}
