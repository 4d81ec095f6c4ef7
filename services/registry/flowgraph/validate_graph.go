package flowgraph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// The checks of the graph itself, rules 2 to 6 of docs/FLOWS.md.

// resolve maps a transition end to its node: a member step to its group (so that one
// misdirected reference is reported once, not again as a missing transition), and
// reports whether it names anything at all.
func (v *validator) resolve(id string) (string, bool) {
	if id == Start || id == End {
		return id, true
	}
	if pg, ok := v.memberOf[id]; ok {
		return pg, true
	}
	if _, ok := v.step[id]; ok {
		return id, true
	}
	if _, ok := v.group[id]; ok {
		return id, true
	}
	return "", false
}

// checkGraph runs rules 2 to 6.
func (v *validator) checkGraph() {
	v.checkTransitions()
	v.checkOutgoing()
	if !v.broken {
		if g, err := build(v.f); err == nil {
			v.checkCycles(g)
			v.checkReachable(g)
		}
	}
	v.checkConditions()
}

// Rule 2: every transition names existing nodes, not member steps; nothing enters start
// or leaves end; no self-loops.
func (v *validator) checkTransitions() {
	for k, t := range v.f.GetTransitions() {
		subj := v.transSubj(t)
		for _, end := range []struct {
			field, id string
			from      bool
		}{{fmt.Sprintf("transitions[%d].from", k), t.GetFrom(), true}, {fmt.Sprintf("transitions[%d].to", k), t.GetTo(), false}} {
			id := end.id
			switch _, known := v.resolve(id); {
			case id == "" && end.from:
				v.add(end.field, subj, "from is required", "缺少起点")
			case id == "":
				v.add(end.field, subj, "to is required", "缺少终点")
			case end.from && id == End:
				v.add(end.field, subj, "no transition may leave end", "结束节点之后不能再有流转")
			case !end.from && id == Start:
				v.add(end.field, subj, "no transition may enter start", "不能流转回开始节点")
			case !known:
				v.add(end.field, subj, fmt.Sprintf("%q is not a step or parallel group of this flow", id),
					fmt.Sprintf("%s 不是本流程的步骤或并行组", id))
			case v.memberOf[id] != "":
				pg := v.node(v.memberOf[id])
				st := v.node(id)
				v.add(end.field, subj, fmt.Sprintf("%s is a member of %s; transitions must name the group", st[0], pg[0]),
					fmt.Sprintf("%s属于%s，流转须引用并行组", st[1], pg[1]))
			default:
				continue
			}
			v.broken = true
		}
		if t.GetFrom() != "" && t.GetFrom() == t.GetTo() && t.GetFrom() != Start && t.GetFrom() != End {
			// A self-loop is reported here and left out of the graph checks, where it
			// would reappear as a cycle.
			v.add(fmt.Sprintf("transitions[%d].to", k), v.node(t.GetFrom()), "transition to itself", "流转指向自身")
		}
	}
}

// outgoing groups the transitions by the node they leave (members mapped to their group),
// in the order listed; self-loops do not count, unresolvable froms are left out.
func (v *validator) outgoing() map[string][]int {
	out := map[string][]int{}
	for k, t := range v.f.GetTransitions() {
		from, ok := v.resolve(t.GetFrom())
		if !ok || from == End || t.GetFrom() == t.GetTo() {
			continue
		}
		out[from] = append(out[from], k)
	}
	return out
}

// Rule 3: start and every step/group have an outgoing transition; end has an incoming one.
func (v *validator) checkOutgoing() {
	out := v.outgoing()
	if len(out[Start]) == 0 {
		v.vs.Add("transitions", "start has no outgoing transition: the flow has no first step",
			"开始节点没有流转：流程没有第一个步骤")
	}
	for i, s := range v.f.GetSteps() {
		id := s.GetId()
		if j, ok := v.step[id]; !ok || j != i || s.GetParallelGroup() != "" || len(out[id]) > 0 {
			continue // reported elsewhere, or a member (its group is the node)
		}
		v.add(fmt.Sprintf("steps[%d]", i), stepSubj(s, i), "no outgoing transition; add one (to end if the flow finishes here)",
			"没有后续流转；如流程在此办结，请添加到结束的流转")
	}
	for i, pg := range v.f.GetParallelGroups() {
		id := pg.GetId()
		if j, ok := v.group[id]; !ok || j != i || len(out[id]) > 0 {
			continue
		}
		v.add(fmt.Sprintf("parallel_groups[%d]", i), groupSubj(pg, i), "no outgoing transition; add one (to end if the flow finishes here)",
			"没有后续流转；如流程在此办结，请添加到结束的流转")
	}
	for _, t := range v.f.GetTransitions() {
		if t.GetTo() == End {
			return
		}
	}
	v.vs.Add("transitions", "no transition leads to end: no case could finish", "没有流向结束节点的流转：办件无法办结")
}

// Rule 4: acyclic. Each transition that closes a cycle is reported with the cycle.
func (v *validator) checkCycles(g *Graph) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, e := range g.out[n] {
			if e.To == n {
				continue // a self-loop, already reported
			}
			switch color[e.To] {
			case white:
				visit(e.To)
			case grey:
				i := len(stack) - 1
				for stack[i] != e.To {
					i--
				}
				cycle := append(append([]string{}, stack[i:]...), e.To)
				v.add(fmt.Sprintf("transitions[%d]", e.Index), v.node(n),
					"cycle: "+strings.Join(cycle, " → "), "存在循环："+strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range g.order {
		if color[n] == white {
			visit(n)
		}
	}
}

// Rule 5: every node reachable from start, and end reachable from every node. Only the
// causes are reported: a node from which end cannot be reached because it has no
// outgoing transition is rule 3's, and the nodes upstream of a dead end or a closed loop
// are not repeated; what remains is a loop with no way out.
func (v *validator) checkReachable(g *Graph) {
	in := map[string][]string{}
	for _, n := range g.order {
		for _, e := range g.out[n] {
			if e.To != n && !slices.Contains(in[e.To], n) {
				in[e.To] = append(in[e.To], n)
			}
		}
	}
	if len(g.out[Start]) > 0 {
		seen := reach(Start, func(n string) []string { return targets(g, n) })
		for _, n := range g.order {
			if seen[n] || n == Start || n == End {
				continue
			}
			if len(in[n]) == 0 {
				v.add(v.nodeField(n), v.node(n), "not reachable from start: no transition leads to it",
					"从开始无法到达：没有流向它的流转")
				continue
			}
			v.add(v.nodeField(n), v.node(n),
				fmt.Sprintf("not reachable from start: it is entered only from %s, which start does not reach either", strings.Join(in[n], ", ")),
				fmt.Sprintf("从开始无法到达：只有 %s 流向它，而它们也无法从开始到达", strings.Join(in[n], "、")))
		}
	}

	// Closed loops: strongly connected components of two or more nodes that no
	// transition leaves.
	for _, scc := range sccs(g) {
		if len(scc) < 2 {
			continue
		}
		member := map[string]bool{}
		for _, n := range scc {
			member[n] = true
		}
		closed := true
		for _, n := range scc {
			for _, t := range targets(g, n) {
				closed = closed && member[t]
			}
		}
		if closed {
			v.add(v.nodeField(scc[0]), v.node(scc[0]),
				fmt.Sprintf("end is not reachable from it: %s lead only to each other", strings.Join(scc, ", ")),
				fmt.Sprintf("无法到达结束：%s 只相互流转，没有出口", strings.Join(scc, "、")))
		}
	}
}

func targets(g *Graph, n string) []string {
	var ts []string
	for _, e := range g.out[n] {
		if e.To != n {
			ts = append(ts, e.To)
		}
	}
	return ts
}

func reach(from string, next func(string) []string) map[string]bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range next(n) {
			if !seen[m] {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	return seen
}

// sccs returns the strongly connected components (Tarjan), each in g.order order, for
// a deterministic message.
func sccs(g *Graph) [][]string {
	pos := map[string]int{}
	for i, n := range g.order {
		pos[n] = i
	}
	index, low, onStack := map[string]int{}, map[string]int{}, map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var strong func(n string)
	strong = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, m := range targets(g, n) {
			if _, seen := index[m]; !seen {
				strong(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] == index[n] {
			var c []string
			for {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[m] = false
				c = append(c, m)
				if m == n {
					break
				}
			}
			slices.SortFunc(c, func(a, b string) int { return cmp.Compare(pos[a], pos[b]) })
			out = append(out, c)
		}
	}
	for _, n := range g.order {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}
	return out
}

// Rule 6: the last transition out of every node is unconditional, and every condition
// compiles as boolean CEL.
func (v *validator) checkConditions() {
	out := v.outgoing()
	ts := v.f.GetTransitions()
	nodes := append([]string{Start}, v.nodeOrder()...)
	for _, n := range nodes {
		ks := out[n]
		if len(ks) == 0 {
			continue
		}
		last := ts[ks[len(ks)-1]]
		if strings.TrimSpace(last.GetCondition()) == "" {
			continue
		}
		to := v.node(last.GetTo())
		field := fmt.Sprintf("transitions[%d].condition", ks[len(ks)-1])
		if len(ks) == 1 {
			v.add(field, v.node(n),
				fmt.Sprintf("its only transition (to %s) has a condition, so a case that fails it would stall; a node with one transition must have no condition", to[0]),
				fmt.Sprintf("唯一的流转（到%s）带有条件，不满足条件的办件将停滞；只有一个流转时不能带条件", to[1]))
			continue
		}
		v.add(field, v.node(n),
			fmt.Sprintf("it has no default branch: its last transition (to %s) has a condition, so a case that meets none of its conditions would stall; the last transition must have no condition", to[0]),
			fmt.Sprintf("缺少默认分支：最后一个流转（到%s）带有条件，不满足任何条件的办件将停滞；最后一个流转必须无条件", to[1]))
	}
	for k, t := range ts {
		if strings.TrimSpace(t.GetCondition()) == "" {
			continue
		}
		if _, err := CompileCondition(t.GetCondition()); err != nil {
			v.add(fmt.Sprintf("transitions[%d].condition", k), v.transSubj(t),
				"the condition is not valid: "+err.Error(), "条件表达式无效："+err.Error())
		}
	}
}

// nodeOrder lists the step and group nodes in the order the flow declares them.
func (v *validator) nodeOrder() []string {
	var ns []string
	seen := map[string]bool{}
	for _, s := range v.f.GetSteps() {
		n, ok := v.resolve(s.GetId())
		if ok && !seen[n] {
			seen[n] = true
			ns = append(ns, n)
		}
	}
	for _, pg := range v.f.GetParallelGroups() {
		if n := pg.GetId(); !seen[n] {
			if _, ok := v.group[n]; ok {
				seen[n] = true
				ns = append(ns, n)
			}
		}
	}
	return ns
}
