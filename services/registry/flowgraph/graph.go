package flowgraph

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// The implicit entry and exit nodes of every flow.
const (
	Start = "start"
	End   = "end"
)

// Edge is one transition between nodes.
type Edge struct {
	From, To  string
	Condition string // CEL; "" always holds
	Label     string
	Index     int // into Flow.Transitions
}

// Graph is a flow as the approval engine walks it: start, end, the steps outside parallel
// groups and the groups themselves, each group one node. It shares the flow's messages
// (Step and Group return them), which callers must not modify.
type Graph struct {
	steps   map[string]*registryv1.FlowStep
	groups  map[string]*registryv1.ParallelGroup
	members map[string][]string // group → member step ids, in f.Steps order
	nodeOf  map[string]string   // member step → its group
	out     map[string][]Edge
	order   []string // every node: start, steps and groups as first listed, end
	topo    []string
}

// Build makes the graph of f. It fails when a reference is broken (a duplicate or
// reserved id, a group that does not exist, a transition naming an unknown node or a
// member step, into start or out of end) or when the graph has a cycle, because the
// engine can only run flows whose order is defined. Validate explains such problems in
// detail; Build only refuses them.
func Build(f *registryv1.Flow) (*Graph, error) {
	g, err := build(f)
	if err != nil {
		return nil, err
	}
	if g.topo = g.topoOrder(); len(g.topo) < len(g.order) {
		return nil, fmt.Errorf("flow %q has a cycle", f.GetName())
	}
	return g, nil
}

// build checks references and makes the graph, which may still have cycles.
func build(f *registryv1.Flow) (*Graph, error) {
	if f == nil {
		return nil, errors.New("no flow")
	}
	g := &Graph{
		steps:   make(map[string]*registryv1.FlowStep, len(f.GetSteps())),
		groups:  make(map[string]*registryv1.ParallelGroup, len(f.GetParallelGroups())),
		members: make(map[string][]string),
		nodeOf:  make(map[string]string),
		out:     make(map[string][]Edge),
	}
	var errs []error
	for i, s := range f.GetSteps() {
		switch id := s.GetId(); {
		case id == "" || id == Start || id == End:
			errs = append(errs, fmt.Errorf("steps[%d]: id %q is empty or reserved", i, id))
		case g.steps[id] != nil:
			errs = append(errs, fmt.Errorf("steps[%d]: duplicate step id %q", i, id))
		default:
			g.steps[id] = s
		}
	}
	for i, pg := range f.GetParallelGroups() {
		switch id := pg.GetId(); {
		case id == "" || id == Start || id == End:
			errs = append(errs, fmt.Errorf("parallel_groups[%d]: id %q is empty or reserved", i, id))
		case g.groups[id] != nil || g.steps[id] != nil:
			errs = append(errs, fmt.Errorf("parallel_groups[%d]: duplicate id %q", i, id))
		default:
			g.groups[id] = pg
		}
	}
	g.order = append(g.order, Start)
	seen := map[string]bool{}
	for i, s := range f.GetSteps() {
		node := s.GetId()
		if pg := s.GetParallelGroup(); pg != "" {
			if g.groups[pg] == nil {
				errs = append(errs, fmt.Errorf("steps[%d]: parallel group %q does not exist", i, pg))
				continue
			}
			g.members[pg] = append(g.members[pg], s.GetId())
			g.nodeOf[s.GetId()] = pg
			node = pg
		}
		if !seen[node] {
			seen[node] = true
			g.order = append(g.order, node)
		}
	}
	for _, pg := range f.GetParallelGroups() {
		if !seen[pg.GetId()] {
			seen[pg.GetId()] = true
			g.order = append(g.order, pg.GetId())
		}
	}
	g.order = append(g.order, End)

	for i, t := range f.GetTransitions() {
		if err := g.checkEnd(t.GetFrom(), true); err != nil {
			errs = append(errs, fmt.Errorf("transitions[%d].from: %w", i, err))
		}
		if err := g.checkEnd(t.GetTo(), false); err != nil {
			errs = append(errs, fmt.Errorf("transitions[%d].to: %w", i, err))
		}
		g.out[t.GetFrom()] = append(g.out[t.GetFrom()], Edge{
			From: t.GetFrom(), To: t.GetTo(), Condition: t.GetCondition(), Label: t.GetLabel(), Index: i,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return g, nil
}

// checkEnd checks one end of a transition.
func (g *Graph) checkEnd(node string, from bool) error {
	switch {
	case from && node == End:
		return errors.New("no transition may leave end")
	case !from && node == Start:
		return errors.New("no transition may enter start")
	case node == Start || node == End || g.groups[node] != nil:
		return nil
	case g.steps[node] == nil:
		return fmt.Errorf("%q is not a step or parallel group", node)
	case g.nodeOf[node] != "":
		return fmt.Errorf("step %q is a member of parallel group %q: name the group", node, g.nodeOf[node])
	}
	return nil
}

// topoOrder is Kahn's algorithm taking, among the ready nodes, the first in declaration
// order, so the order is deterministic and close to how the flow was written; end waits
// until everything else is placed. A result shorter than g.order means a cycle.
func (g *Graph) topoOrder() []string {
	indeg := make(map[string]int, len(g.order))
	for _, n := range g.order {
		for _, e := range g.out[n] {
			indeg[e.To]++
		}
	}
	done := make(map[string]bool, len(g.order))
	var order []string
	for len(order) < len(g.order) {
		next := ""
		for _, n := range g.order {
			if !done[n] && indeg[n] == 0 && (n != End || len(order) == len(g.order)-1) {
				next = n
				break
			}
		}
		if next == "" {
			break
		}
		done[next] = true
		order = append(order, next)
		for _, e := range g.out[next] {
			indeg[e.To]--
		}
	}
	return order
}

// Out returns the transitions out of node, in the order they are listed (the order in
// which their conditions are tried).
func (g *Graph) Out(node string) []Edge { return slices.Clone(g.out[node]) }

// IsGroup reports whether id is a parallel group.
func (g *Graph) IsGroup(id string) bool { return g.groups[id] != nil }

// Members returns a group's step ids in the order the flow lists its steps.
func (g *Graph) Members(group string) []string { return slices.Clone(g.members[group]) }

// NodeOf returns the node a step is part of: its group for a member step, else itself.
func (g *Graph) NodeOf(step string) string {
	if pg, ok := g.nodeOf[step]; ok {
		return pg
	}
	return step
}

// Step returns a step by id (a member step too), or nil.
func (g *Graph) Step(id string) *registryv1.FlowStep { return g.steps[id] }

// Group returns a parallel group by id, or nil.
func (g *Graph) Group(id string) *registryv1.ParallelGroup { return g.groups[id] }

// TopoOrder returns every node, start first and end last, each after all its predecessors.
func (g *Graph) TopoOrder() []string { return slices.Clone(g.topo) }

// Next returns the node a case goes to after from completes: the target of the first
// outgoing transition whose condition holds for v.
func (g *Graph) Next(from string, v Vars) (string, error) {
	if from == End {
		return "", errors.New("the case has ended: no transition leaves end")
	}
	if from != Start && g.steps[from] == nil && g.groups[from] == nil {
		return "", fmt.Errorf("%q is not a node of the flow", from)
	}
	if pg := g.nodeOf[from]; pg != "" {
		return "", fmt.Errorf("step %q is a member of parallel group %q: ask for the group", from, pg)
	}
	for _, e := range g.out[from] {
		c, err := CompileCondition(e.Condition)
		if err != nil {
			return "", fmt.Errorf("transitions[%d] %s → %s: %w", e.Index, e.From, e.To, err)
		}
		ok, err := c.Eval(v)
		if err != nil {
			return "", fmt.Errorf("transitions[%d] %s → %s: %w", e.Index, e.From, e.To, err)
		}
		if ok {
			return e.To, nil
		}
	}
	// Validate forbids this (the last transition is the unconditional default branch).
	return "", fmt.Errorf("no transition out of %q holds (%s)", from, edgesDesc(g.out[from]))
}

func edgesDesc(es []Edge) string {
	if len(es) == 0 {
		return "it has none"
	}
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "to %s when %s", e.To, e.Condition)
	}
	return b.String()
}
