package flowgraph

import registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"

// DefaultPath returns the step ids of f's default path, the order in which the public
// catalogue lists an external flow's steps: from start, follow each node's last
// (unconditional) transition until end; a group contributes its member steps in the order
// the flow lists them. It works on invalid flows too (drafts are shown while edited): it
// stops at a node without transitions, at a reference to nothing and on a cycle.
func DefaultPath(f *registryv1.Flow) []string {
	last := map[string]string{} // node → target of its last transition
	for _, t := range f.GetTransitions() {
		last[t.GetFrom()] = t.GetTo()
	}
	steps := map[string]bool{}
	members := map[string][]string{}
	for _, s := range f.GetSteps() {
		steps[s.GetId()] = true
		if pg := s.GetParallelGroup(); pg != "" {
			members[pg] = append(members[pg], s.GetId())
		}
	}
	groups := map[string]bool{}
	for _, pg := range f.GetParallelGroups() {
		groups[pg.GetId()] = true
	}

	var path []string
	visited := map[string]bool{Start: true}
	for node := Start; ; {
		next, ok := last[node]
		if !ok || next == End || visited[next] {
			return path
		}
		visited[next] = true
		switch {
		case groups[next]:
			path = append(path, members[next]...)
		case steps[next]:
			path = append(path, next)
		default:
			return path
		}
		node = next
	}
}
