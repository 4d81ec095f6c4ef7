package diagram

import (
	"errors"
	"fmt"
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
)

// Variant selects which flow is drawn.
type Variant int

const (
	// Normal draws the flow as it is.
	Normal Variant = iota
	// Emergency draws the emergency variant (应急流程): skipped steps contracted away,
	// limits in hours.
	Emergency
)

// Options say what to draw and for whom.
type Options struct {
	Variant Variant
	// Public disclosure (晒权): show step names, time limits and transition labels; hide
	// posts, ranks, units, conditions, separations and control tags.
	Public bool
	// Title heads the diagram; "" uses the flow's display name.
	Title string
	// Names gives the display name of a post or unit resource name; nil, or "" for a
	// name, falls back to the resource id.
	Names func(resourceName string) string
}

// model is a flow resolved into what is drawn, shared by both renderers so that they
// show (and hide) the same things.
type model struct {
	title     string
	subtitle  string
	emergency bool // limits are in hours
	graph     *flowgraph.Graph
	order     []string // nodes, topologically
	steps     map[string]*stepView
	groups    map[string]*groupView
	edges     []edgeView
	seps      []sepView
}

type stepView struct {
	id      string
	name    string
	actor   string // "" when public
	limit   string
	badges  []badge
	payment bool
	collect bool // collective decision
}

type groupView struct {
	id      string
	title   string
	members []string // step ids
}

type edgeView struct {
	from, to string
	label    string
	primary  bool // the default (last) transition of its node
	main     bool // on the default path from start, the spine of the drawing
}

type sepView struct {
	mark  string // ①, ②, …
	title string // display name〔kind〕
	steps []string
}

type badgeKind int

const (
	badgePayment badgeKind = iota
	badgeCollective
	badgeManage
	badgeHandle
	badgeSeparation
)

type badge struct {
	kind badgeKind
	text string
}

func newModel(f *registryv1.Flow, o Options) (*model, error) {
	if f == nil {
		return nil, errors.New("diagram: no flow")
	}
	flow, hours := f, map[string]int32(nil)
	if o.Variant == Emergency {
		ef, err := flowgraph.Emergency(f)
		if err != nil {
			return nil, fmt.Errorf("diagram: %w", err)
		}
		flow, hours = ef.Flow, ef.StepHours
	}
	g, err := flowgraph.Build(flow)
	if err != nil {
		return nil, fmt.Errorf("diagram: %w", err)
	}
	m := &model{
		title:  o.Title,
		graph:  g,
		order:  g.TopoOrder(),
		steps:  map[string]*stepView{},
		groups: map[string]*groupView{},
	}
	if m.title == "" {
		m.title = flow.GetDisplayName()
	}
	if o.Variant == Emergency {
		m.emergency = true
		m.subtitle = "应急流程（绿色通道）· 时限以工作小时计"
	}

	sepMark := map[string]string{}
	if !o.Public {
		for i, s := range flow.GetSeparations() {
			sepMark[s.GetId()] = circled(i + 1)
		}
	}
	for _, s := range flow.GetSteps() {
		sv := &stepView{id: s.GetId(), name: s.GetDisplayName(), payment: s.GetPayment(), collect: s.GetCollectiveDecision()}
		if sv.name == "" {
			sv.name = s.GetId()
		}
		switch {
		case hours != nil:
			sv.limit = fmt.Sprintf("%d小时", hours[s.GetId()])
		case s.GetTimeLimitDays() > 0:
			sv.limit = fmt.Sprintf("%d个工作日", s.GetTimeLimitDays())
		}
		if sv.payment {
			sv.badges = append(sv.badges, badge{badgePayment, "拨付"})
		}
		if sv.collect {
			sv.badges = append(sv.badges, badge{badgeCollective, "集体决策"})
		}
		if !o.Public {
			sv.actor = actor(s, o.Names)
			switch s.GetControl() {
			case registryv1.StepControl_STEP_CONTROL_MANAGE:
				sv.badges = append(sv.badges, badge{badgeManage, "管"})
			case registryv1.StepControl_STEP_CONTROL_HANDLE:
				sv.badges = append(sv.badges, badge{badgeHandle, "办"})
			}
			var marks string
			for _, id := range s.GetSeparations() {
				marks += sepMark[id]
			}
			if marks != "" {
				sv.badges = append(sv.badges, badge{badgeSeparation, "分离" + marks})
			}
		}
		m.steps[s.GetId()] = sv
	}
	for _, pg := range flow.GetParallelGroups() {
		m.groups[pg.GetId()] = &groupView{id: pg.GetId(), title: groupTitle(pg), members: g.Members(pg.GetId())}
	}
	onPath := map[string]bool{}
	for n := flowgraph.Start; !onPath[n]; {
		onPath[n] = true
		out := g.Out(n)
		if len(out) == 0 {
			break
		}
		n = out[len(out)-1].To
	}
	for _, n := range m.order {
		out := g.Out(n)
		for i, e := range out {
			ev := edgeView{from: e.From, to: e.To, label: strings.TrimSpace(e.Label), primary: i == len(out)-1}
			ev.main = ev.primary && onPath[e.From]
			if ev.label == "" && !o.Public {
				ev.label = strings.TrimSpace(e.Condition)
			}
			m.edges = append(m.edges, ev)
		}
	}
	if !o.Public {
		for _, s := range flow.GetSeparations() {
			sv := sepView{mark: sepMark[s.GetId()], title: s.GetDisplayName()}
			if k := kindName(s.GetKind()); k != "" {
				sv.title += "〔" + k + "〕"
			}
			for _, st := range flow.GetSteps() {
				for _, id := range st.GetSeparations() {
					if id == s.GetId() {
						sv.steps = append(sv.steps, m.steps[st.GetId()].name)
					}
				}
			}
			m.seps = append(m.seps, sv)
		}
	}
	return m, nil
}

// actor is who acts at a step: the post's display name, or the rank (and its unit when
// the step names one; otherwise the power's acting unit, which the reader knows).
func actor(s *registryv1.FlowStep, names func(string) string) string {
	switch a := s.GetActor().(type) {
	case *registryv1.FlowStep_Post:
		return displayName(a.Post, names)
	case *registryv1.FlowStep_Rank:
		r := flowgraph.RankName(a.Rank)
		if u := s.GetUnit(); u != "" {
			return displayName(u, names) + " " + r
		}
		return r
	}
	return ""
}

func displayName(resource string, names func(string) string) string {
	if names != nil {
		if n := names(resource); n != "" {
			return n
		}
	}
	return resource[strings.LastIndex(resource, "/")+1:]
}

// groupTitle is e.g. "联合会审（会签·一票否决）".
func groupTitle(pg *registryv1.ParallelGroup) string {
	var tags []string
	switch pg.GetMode() {
	case registryv1.ParallelMode_PARALLEL_MODE_ALL:
		tags = append(tags, "会签")
	case registryv1.ParallelMode_PARALLEL_MODE_ANY:
		tags = append(tags, "或签")
	}
	if pg.GetVeto() {
		tags = append(tags, "一票否决")
	}
	name := pg.GetDisplayName()
	if name == "" {
		name = pg.GetId()
	}
	if len(tags) == 0 {
		return name
	}
	return name + "（" + strings.Join(tags, "·") + "）"
}

func kindName(k registryv1.SeparationKind) string {
	switch k {
	case registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES:
		return "不相容岗位分离"
	case registryv1.SeparationKind_SEPARATION_KIND_MANAGE_HANDLE:
		return "管办分离"
	case registryv1.SeparationKind_SEPARATION_KIND_MANAGE_PROCURE:
		return "管采分离"
	case registryv1.SeparationKind_SEPARATION_KIND_EXPERT_MANAGE_USE:
		return "专家管用分离"
	}
	return ""
}

// circled numbers separations ①…⑳, then (21), (22)…
func circled(n int) string {
	if n >= 1 && n <= 20 {
		return string(rune('①' + n - 1))
	}
	return fmt.Sprintf("(%d)", n)
}
