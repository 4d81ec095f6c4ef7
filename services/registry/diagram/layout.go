package diagram

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/fenquan/fenquan/services/registry/flowgraph"
)

// The layout is the classic layered one (Sugiyama): ranks by longest path from start,
// long edges broken by dummy nodes, crossings reduced by barycenter sweeps, and x
// coordinates pulled toward neighbours. Ranks are doubled: nodes sit on even ranks, and
// every edge passes an odd rank between two node ranks, where its label is a dummy node
// of the label's size, so labels get room of their own instead of covering each other.

// Sizes in px.
const (
	nameSize, nameLine   = 14.0, 19.0
	infoSize, infoLine   = 12.0, 16.0
	badgeSize, badgeH    = 11.0, 17.0
	labelSize, labelLine = 12.0, 16.0
	titleSize            = 18.0
	subtitleSize         = 13.0
	groupTitleSize       = 13.0

	boxPadX, boxPadY = 12.0, 9.0
	boxMinW          = 128.0
	textMaxW         = 168.0 // wrap step texts here: 12 CJK characters of a name
	labelMaxW        = 150.0
	pillW, pillH     = 76.0, 32.0
	groupPad         = 12.0
	groupTitleH      = 26.0
	groupGap         = 14.0

	nodeGap  = 36.0 // between boxes in a rank
	dummyGap = 16.0 // between an edge and anything beside it
	bend     = 22.0 // least vertical room for an edge to bend, between two ranks
	margin   = 24.0
)

// lnode is a node of the layered graph: a flow node, an edge's dummy, or a label.
type lnode struct {
	node  string // the flow node; "" for a dummy
	edge  int    // a dummy's edge (index into model.edges)
	label []string
	rank  int
	pos   int
	seq   int // initial order
	x     float64
	y     float64 // top
	w, h  float64
	preds []*lnode
	succs []*lnode
	// For a step or group box.
	box *boxLayout
}

func (n *lnode) dummy() bool { return n.node == "" }

// boxLayout holds what a step or group box contains, measured.
type boxLayout struct {
	step    *stepView
	name    []string
	actor   []string
	members []*lnode // a group's member boxes (x relative to the group's left)
	title   []string // a group's title lines
}

type layout struct {
	m      *model
	ranks  [][]*lnode
	nodes  map[string]*lnode // flow node → its lnode
	chains [][]*lnode        // per edge: from, dummies…, to
	top    []float64         // per rank
	height []float64
	width  float64
	bottom float64 // below the last rank

	mains map[[2]string]bool // node pairs joined by the default path
}

// maxDummies bounds the work of laying out: realistic flows need a few dozen dummies,
// and only a pathological one (hundreds of edges each spanning the whole flow) more.
const maxDummies = 20_000

func newLayout(m *model) (*layout, error) {
	l := &layout{m: m, nodes: map[string]*lnode{}}
	l.measure()
	if err := l.rank(); err != nil {
		return nil, err
	}
	l.order()
	l.placeX()
	l.placeY()
	return l, nil
}

// measure makes an lnode of every flow node with the size of its box.
func (l *layout) measure() {
	for _, n := range l.m.order {
		ln := &lnode{node: n}
		switch {
		case n == flowgraph.Start || n == flowgraph.End:
			ln.w, ln.h = pillW, pillH
		case l.m.groups[n] != nil:
			g := l.m.groups[n]
			ln.box = &boxLayout{}
			var x, h float64 = groupPad, 0
			for _, id := range g.members {
				mb := stepBox(l.m.steps[id])
				mb.x = x
				x += mb.w + groupGap
				h = max(h, mb.h)
				ln.box.members = append(ln.box.members, mb)
			}
			for _, mb := range ln.box.members {
				mb.h = h // one row of equal boxes
			}
			ln.box.title = wrap(g.title, groupTitleSize, max(x-groupGap, textMaxW))
			titleW := 0.0
			for _, t := range ln.box.title {
				titleW = max(titleW, textWidth(t, groupTitleSize))
			}
			ln.w = max(x-groupGap+groupPad, titleW+2*groupPad)
			ln.h = groupTitleH + float64(len(ln.box.title)-1)*infoLine + h + groupPad
			// Centre the row when the title is the wider part.
			if shift := (ln.w - (x - groupGap + groupPad)) / 2; shift > 0 {
				for _, mb := range ln.box.members {
					mb.x += shift
				}
			}
		default:
			b := stepBox(l.m.steps[n])
			ln.w, ln.h, ln.box = b.w, b.h, b.box
		}
		l.nodes[n] = ln
	}
}

// stepBox measures a step's box: the name in bold, who acts, the limit, the badges.
func stepBox(s *stepView) *lnode {
	b := &boxLayout{step: s, name: wrap(s.name, nameSize, textMaxW), actor: wrap(s.actor, infoSize, textMaxW)}
	w := 0.0
	for _, t := range b.name {
		w = max(w, textWidth(t, nameSize)*1.05) // bold runs a little wider
	}
	for _, t := range b.actor {
		w = max(w, textWidth(t, infoSize))
	}
	w = max(w, textWidth(s.limit, infoSize), badgesWidth(s.badges))
	h := 2*boxPadY + float64(len(b.name))*nameLine + float64(len(b.actor))*infoLine
	if s.limit != "" {
		h += infoLine
	}
	if len(s.badges) > 0 {
		h += badgeH + 5
	}
	return &lnode{node: s.id, w: max(boxMinW, w+2*boxPadX), h: h, box: b}
}

func badgesWidth(bs []badge) float64 {
	w := 0.0
	for i, b := range bs {
		if i > 0 {
			w += 4
		}
		w += badgeWidth(b)
	}
	return w
}

func badgeWidth(b badge) float64 { return textWidth(b.text, badgeSize) + 10 }

// rank assigns longest-path ranks from start (doubled), with end alone at the bottom,
// and breaks every edge into a chain through the ranks between its ends.
func (l *layout) rank() error {
	layer := map[string]int{}
	last := 0
	for _, n := range l.m.order { // topological: predecessors come first
		if n == flowgraph.End {
			continue
		}
		for _, e := range l.m.graph.Out(n) {
			if e.To != flowgraph.End {
				layer[e.To] = max(layer[e.To], layer[n]+1)
			}
		}
		last = max(last, layer[n])
	}
	layer[flowgraph.End] = last + 1
	dummies := 0
	for _, e := range l.m.edges {
		dummies += 2*(layer[e.to]-layer[e.from]) - 1
	}
	if dummies > maxDummies {
		return fmt.Errorf("diagram: the flow is too large to draw (its edges span %d ranks in all, at most %d)", dummies, maxDummies)
	}
	l.ranks = make([][]*lnode, 2*(last+1)+1)
	for _, n := range l.m.order {
		ln := l.nodes[n]
		ln.rank = 2 * layer[n]
		l.ranks[ln.rank] = append(l.ranks[ln.rank], ln)
	}
	for i, e := range l.m.edges {
		from, to := l.nodes[e.from], l.nodes[e.to]
		chain := []*lnode{from}
		for r := from.rank + 1; r < to.rank; r++ {
			d := &lnode{edge: i, rank: r, w: 2}
			if r == from.rank+1 && e.label != "" {
				d.label = wrap(e.label, labelSize, labelMaxW)
				for _, t := range d.label {
					d.w = max(d.w, textWidth(t, labelSize)+12)
				}
				d.h = float64(len(d.label))*labelLine + 4
			}
			l.ranks[r] = append(l.ranks[r], d)
			chain = append(chain, d)
		}
		chain = append(chain, to)
		for i := 1; i < len(chain); i++ {
			chain[i-1].succs = append(chain[i-1].succs, chain[i])
			chain[i].preds = append(chain[i].preds, chain[i-1])
		}
		l.chains = append(l.chains, chain)
	}
	return nil
}

// order sets the order within ranks: first as a depth-first walk meets the nodes, taking
// each node's default (last) transition first so that the main path runs down the left;
// then barycenter sweeps, keeping the order with the fewest crossings.
func (l *layout) order() {
	seq := 0
	seen := map[*lnode]bool{}
	out := map[string][]int{}
	for i, e := range l.m.edges {
		out[e.from] = append(out[e.from], i)
	}
	var visit func(n *lnode)
	visit = func(n *lnode) {
		seen[n] = true
		n.seq = seq
		seq++
		es := out[n.node]
		for i := len(es) - 1; i >= 0; i-- {
			chain := l.chains[es[i]]
			for _, d := range chain[1 : len(chain)-1] {
				d.seq = seq
				seq++
			}
			if to := chain[len(chain)-1]; !seen[to] {
				visit(to)
			}
		}
	}
	for _, n := range l.m.order { // start first; anything unreachable after
		if ln := l.nodes[n]; !seen[ln] {
			visit(ln)
		}
	}
	for _, r := range l.ranks {
		slices.SortStableFunc(r, func(a, b *lnode) int { return cmp.Compare(a.seq, b.seq) })
		setPos(r)
	}

	best, bestCross := l.snapshot(), l.crossings()
	for range 6 {
		for r := 1; r < len(l.ranks); r++ {
			sortByBarycenter(l.ranks[r], func(n *lnode) []*lnode { return n.preds })
		}
		for r := len(l.ranks) - 2; r >= 0; r-- {
			sortByBarycenter(l.ranks[r], func(n *lnode) []*lnode { return n.succs })
		}
		if c := l.crossings(); c < bestCross {
			best, bestCross = l.snapshot(), c
		}
	}
	l.ranks = best
	for _, r := range l.ranks {
		setPos(r)
	}
}

func setPos(r []*lnode) {
	for i, n := range r {
		n.pos = i
	}
}

func (l *layout) snapshot() [][]*lnode {
	s := make([][]*lnode, len(l.ranks))
	for i, r := range l.ranks {
		s[i] = slices.Clone(r)
	}
	return s
}

// sortByBarycenter orders a rank by the mean position of each node's neighbours in the
// adjacent rank; a node without any keeps its place.
func sortByBarycenter(r []*lnode, adj func(*lnode) []*lnode) {
	key := make(map[*lnode]float64, len(r))
	for _, n := range r {
		ns := adj(n)
		if len(ns) == 0 {
			key[n] = float64(n.pos)
			continue
		}
		sum := 0.0
		for _, m := range ns {
			sum += float64(m.pos)
		}
		key[n] = sum / float64(len(ns))
	}
	slices.SortStableFunc(r, func(a, b *lnode) int { return cmp.Compare(key[a], key[b]) })
	setPos(r)
}

// crossings counts pairs of segments that cross between adjacent ranks: sorted by their
// upper ends, the inversions among their lower ends (counted by merge sort, so that large
// flows stay fast).
func (l *layout) crossings() int {
	c := 0
	for _, r := range l.ranks {
		type pair struct{ a, b int }
		var ps []pair
		for _, n := range r {
			for _, s := range n.succs {
				ps = append(ps, pair{n.pos, s.pos})
			}
		}
		slices.SortFunc(ps, func(x, y pair) int {
			if c := cmp.Compare(x.a, y.a); c != 0 {
				return c
			}
			return cmp.Compare(x.b, y.b)
		})
		bs := make([]int, len(ps))
		for i, p := range ps {
			bs[i] = p.b
		}
		c += inversions(bs, make([]int, len(bs)))
	}
	return c
}

// inversions counts i < j with s[i] > s[j], sorting s.
func inversions(s, tmp []int) int {
	if len(s) < 2 {
		return 0
	}
	m := len(s) / 2
	n := inversions(s[:m], tmp[:m]) + inversions(s[m:], tmp[m:])
	i, j, k := 0, m, 0
	for i < m && j < len(s) {
		if s[j] < s[i] {
			n += m - i
			tmp[k] = s[j]
			j++
		} else {
			tmp[k] = s[i]
			i++
		}
		k++
	}
	k += copy(tmp[k:], s[i:m])
	copy(tmp[k:], s[j:])
	copy(s, tmp)
	return n
}

// placeY stacks the ranks: node ranks as tall as their tallest box, edge ranks as tall as
// their tallest label, with room to bend around each edge rank.
func (l *layout) placeY() {
	y := margin + titleSize + 10
	if l.m.subtitle != "" {
		y += subtitleSize + 8
	}
	y += 12
	l.top = make([]float64, len(l.ranks))
	l.height = make([]float64, len(l.ranks))
	for r, ns := range l.ranks {
		h := 0.0
		for _, n := range ns {
			h = max(h, n.h)
		}
		if r > 0 {
			y += l.bend(r - 1)
		}
		l.top[r], l.height[r] = y, h
		for _, n := range ns {
			n.y = y + (h-n.h)/2
		}
		y += h
	}
	l.bottom = y
}

// bend is the vertical room between rank r and the next: enough for the widest sideways
// step an edge takes there to read as a curve rather than a horizontal line.
func (l *layout) bend(r int) float64 {
	dx := 0.0
	for _, n := range l.ranks[r] {
		for _, s := range n.succs {
			dx = max(dx, abs(n.x-s.x))
		}
	}
	return min(max(bend, dx/4), 3*bend)
}

// placeX gives every node an x (its centre): each rank in turn is placed as close as its
// order and spacing allow to where its neighbours in the rank before are (then, sweeping
// up, the rank after), weighting long edges' dummies heavily so long edges run straight,
// and the flow's default path more than its branches.
func (l *layout) placeX() {
	for _, r := range l.ranks {
		x := 0.0
		for i, n := range r {
			if i > 0 {
				x += (r[i-1].w+n.w)/2 + gap(r[i-1], n)
			}
			n.x = x
		}
		for _, n := range r {
			n.x -= x / 2
		}
	}
	down := func(n *lnode) []*lnode { return n.preds }
	up := func(n *lnode) []*lnode { return n.succs }
	both := func(n *lnode) []*lnode { return append(slices.Clone(n.preds), n.succs...) }
	for range 12 {
		for r := 1; r < len(l.ranks); r++ {
			l.placeRank(l.ranks[r], down)
		}
		for r := len(l.ranks) - 2; r >= 0; r-- {
			l.placeRank(l.ranks[r], up)
		}
	}
	for range 4 {
		for r := range l.ranks {
			l.placeRank(l.ranks[r], both)
		}
	}

	l.straighten()
	l.straightenSpine()

	minX, maxX := 0.0, 0.0
	first := true
	for _, r := range l.ranks {
		for _, n := range r {
			if first || n.x-n.w/2 < minX {
				minX = n.x - n.w/2
			}
			if first || n.x+n.w/2 > maxX {
				maxX = n.x + n.w/2
			}
			first = false
		}
	}
	for _, r := range l.ranks {
		for _, n := range r {
			n.x += margin - minX
		}
	}
	l.width = maxX - minX + 2*margin
}

func gap(a, b *lnode) float64 {
	if a.dummy() && a.label == nil || b.dummy() && b.label == nil {
		return dummyGap
	}
	if a.dummy() || b.dummy() {
		return dummyGap + 4
	}
	return nodeGap
}

// weight of the segment between a and b: dummies hold long edges straight, and the
// default path from start counts most, so that it runs down as one straight spine.
func (l *layout) weight(a, b *lnode) float64 {
	w := 1.0
	switch {
	case a.dummy() && b.dummy():
		w = 8
	case a.dummy() || b.dummy():
		w = 2
	}
	var main bool
	switch {
	case a.dummy():
		main = l.m.edges[a.edge].main
	case b.dummy():
		main = l.m.edges[b.edge].main
	default:
		main = l.mainPair(a, b)
	}
	if main {
		w *= 100 // dominant: branches make way for the spine, not the reverse
	}
	if a.label != nil && b == l.next(a) || b.label != nil && a == l.next(b) {
		// A label sits over the branch it names: edges fan out above it and run
		// straight below it.
		w *= 10
	}
	return w
}

// next is the node after a dummy on its edge.
func (l *layout) next(d *lnode) *lnode {
	if len(d.succs) == 0 {
		return nil
	}
	return d.succs[0]
}

func (l *layout) mainPair(a, b *lnode) bool {
	if l.mains == nil {
		l.mains = map[[2]string]bool{}
		for _, e := range l.m.edges {
			if e.main {
				l.mains[[2]string{e.from, e.to}] = true
				l.mains[[2]string{e.to, e.from}] = true
			}
		}
	}
	return l.mains[[2]string{a.node, b.node}]
}

// placeRank moves a rank's nodes toward the weighted mean x of their neighbours, keeping
// their order and spacing: with o_i the least offset of node i from the first, x_i - o_i
// must not decrease, and the best such positions are an isotonic regression, which the
// pool-adjacent-violators algorithm solves exactly.
func (l *layout) placeRank(r []*lnode, adj func(*lnode) []*lnode) {
	if len(r) == 0 {
		return
	}
	type block struct {
		sum, weight float64
		n           int
	}
	var blocks []block
	offset := 0.0
	offsets := make([]float64, len(r))
	for i, n := range r {
		if i > 0 {
			offset += (r[i-1].w+n.w)/2 + gap(r[i-1], n)
		}
		offsets[i] = offset
		want, w := n.x, 0.05 // no neighbours: stay
		if ns := adj(n); len(ns) > 0 {
			sum, ws := 0.0, 0.0
			for _, m := range ns {
				mw := l.weight(n, m)
				sum += m.x * mw
				ws += mw
			}
			want, w = sum/ws, ws
		}
		blocks = append(blocks, block{sum: (want - offset) * w, weight: w, n: 1})
		for len(blocks) > 1 {
			a, b := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if a.sum/a.weight <= b.sum/b.weight {
				break
			}
			blocks = append(blocks[:len(blocks)-2], block{sum: a.sum + b.sum, weight: a.weight + b.weight, n: a.n + b.n})
		}
	}
	i := 0
	for _, b := range blocks {
		for range b.n {
			r[i].x = b.sum/b.weight + offsets[i]
			i++
		}
	}
}

// straighten lines up each long edge's dummies on one x where the ranks leave room, so
// that a long edge runs as one straight line instead of wavering between neighbours.
func (l *layout) straighten() {
	for _, c := range l.chains {
		// A label may sit off the line: it is wide, and room for it beside a neighbour
		// is more often found where the edge starts.
		var ds []*lnode
		for _, d := range c[1 : len(c)-1] {
			if d.label == nil {
				ds = append(ds, d)
			}
		}
		if len(ds) < 2 {
			continue
		}
		// Try the dummies' own positions, the most common first (ties: leftmost), a
		// few of them.
		count := map[float64]int{}
		var cands []float64
		for _, d := range ds {
			x := float64(int64(d.x*2)) / 2
			if count[x] == 0 {
				cands = append(cands, x)
			}
			count[x]++
		}
		slices.SortStableFunc(cands, func(a, b float64) int {
			if c := cmp.Compare(count[b], count[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for _, x := range cands[:min(len(cands), 8)] {
			if l.fits(ds, x) {
				for _, d := range ds {
					d.x = x
				}
				break
			}
		}
	}
}

// straightenSpine lines the default path up on one x, the one at which most of it fits
// beside its neighbours: the weights already pull it nearly straight, and nearly shows.
func (l *layout) straightenSpine() {
	mainOut := map[*lnode][]*lnode{}
	for i, c := range l.chains {
		if l.m.edges[i].main {
			mainOut[c[0]] = c
		}
	}
	var spine []*lnode
	seen := map[*lnode]bool{}
	for n := l.nodes[flowgraph.Start]; !seen[n]; {
		seen[n] = true
		spine = append(spine, n)
		c := mainOut[n]
		if c == nil {
			break
		}
		spine = append(spine, c[1:len(c)-1]...)
		n = c[len(c)-1]
	}
	best, bestN := 0.0, 0
	for _, cand := range spine {
		n := 0
		for _, s := range spine {
			if l.fits([]*lnode{s}, cand.x) {
				n++
			}
		}
		if n > bestN {
			best, bestN = cand.x, n
		}
	}
	for _, s := range spine {
		if l.fits([]*lnode{s}, best) {
			s.x = best
		}
	}
}

// fits reports whether every node can move to x without touching its neighbours.
func (l *layout) fits(ds []*lnode, x float64) bool {
	for _, d := range ds {
		r := l.ranks[d.rank]
		if d.pos > 0 {
			p := r[d.pos-1]
			if x-d.w/2 < p.x+p.w/2+gap(p, d)-0.01 {
				return false
			}
		}
		if d.pos < len(r)-1 {
			n := r[d.pos+1]
			if x+d.w/2 > n.x-n.w/2-gap(d, n)+0.01 {
				return false
			}
		}
	}
	return true
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
