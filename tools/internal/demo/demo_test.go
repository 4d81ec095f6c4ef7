package demo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"

	"github.com/fenquan/fenquan/services/registry/catalogfile"
)

// asOf is the day the demo's "current" facts are checked on. A fixed day, not time.Now, so
// the test does not start failing when a tenure crosses a boundary.
var asOf = mustDate("2026-01-01")

// demoSet is the demo sorted by kind, with lookups by name.
type demoSet struct {
	orgs        []*registryv1.Org
	units       map[string]*registryv1.Unit
	posts       map[string]*registryv1.Post
	people      map[string]*registryv1.Person
	assignments []*registryv1.Assignment
	conflicts   []*registryv1.ConflictDeclaration
	powers      map[string]*registryv1.Power
	flows       []*registryv1.Flow
	objects     []*registryv1.CatalogObject
}

func load(t *testing.T) *demoSet {
	t.Helper()
	objs, err := Objects()
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	c := &demoSet{
		units: map[string]*registryv1.Unit{}, posts: map[string]*registryv1.Post{},
		people: map[string]*registryv1.Person{}, powers: map[string]*registryv1.Power{},
		objects: objs,
	}
	for _, o := range objs {
		switch x := o.Object.(type) {
		case *registryv1.CatalogObject_Org:
			c.orgs = append(c.orgs, x.Org)
		case *registryv1.CatalogObject_Unit:
			c.units[x.Unit.Name] = x.Unit
		case *registryv1.CatalogObject_Post:
			c.posts[x.Post.Name] = x.Post
		case *registryv1.CatalogObject_Person:
			c.people[x.Person.Name] = x.Person
		case *registryv1.CatalogObject_Assignment:
			c.assignments = append(c.assignments, x.Assignment)
		case *registryv1.CatalogObject_ConflictDeclaration:
			c.conflicts = append(c.conflicts, x.ConflictDeclaration)
		case *registryv1.CatalogObject_Power:
			c.powers[x.Power.Name] = x.Power
		case *registryv1.CatalogObject_Flow:
			c.flows = append(c.flows, x.Flow)
		}
	}
	return c
}

func TestNamesInOrg(t *testing.T) {
	c := load(t)
	if len(c.orgs) != 1 || c.orgs[0].Name != OrgName || c.orgs[0].DisplayName != "江城市财政局" || c.orgs[0].Region != "江城市" {
		t.Fatalf("orgs = %v, want the one org %s 江城市财政局 in 江城市", c.orgs, OrgName)
	}
	for i, o := range c.objects {
		name := nameOf(o)
		if name != OrgName && !strings.HasPrefix(name, OrgName+"/") {
			t.Errorf("objects[%d] %s is outside %s", i, name, OrgName)
		}
	}
}

func TestCounts(t *testing.T) {
	c := load(t)
	ended := 0
	for _, a := range c.assignments {
		if a.EndDate != "" {
			ended++
		}
	}
	tests := []struct {
		what     string
		got      int
		min, max int
	}{
		{"units", len(c.units), 12, 16},
		{"posts", len(c.posts), 20, 28},
		{"people", len(c.people), 40, 60},
		{"assignments", len(c.assignments), 40, 100},
		{"ended assignments (move history)", ended, 3, 20},
		{"conflict declarations", len(c.conflicts), 2, 3},
		{"powers", len(c.powers), 20, 40},
		{"flows", len(c.flows), 6, 20},
	}
	for _, tc := range tests {
		t.Run(tc.what, func(t *testing.T) {
			if tc.got < tc.min || tc.got > tc.max {
				t.Errorf("%d %s, want %d to %d", tc.got, tc.what, tc.min, tc.max)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	c := load(t)
	byTitle := map[string]*registryv1.Unit{}
	for _, u := range c.units {
		byTitle[u.DisplayName] = u
		if u.Parent != "" && c.units[u.Parent] == nil {
			t.Errorf("unit %s: parent %s does not exist", u.Name, u.Parent)
		}
	}
	tests := []struct {
		title  string
		kind   registryv1.UnitKind
		parent string // a display name, or empty for top level
	}{
		{"局领导班子", registryv1.UnitKind_UNIT_KIND_LEADERSHIP, ""},
		{"办公室", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"预算处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"国库处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"国库支付科", registryv1.UnitKind_UNIT_KIND_SECTION, "国库处"},
		{"会计核算科", registryv1.UnitKind_UNIT_KIND_SECTION, "国库处"},
		{"社会保障处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"经济建设处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"农业农村处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"行政政法处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"政府采购管理处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"会计处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"法规监督处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""},
		{"纪检监察室", registryv1.UnitKind_UNIT_KIND_DISCIPLINE, ""},
	}
	for _, tc := range tests {
		t.Run(tc.title, func(t *testing.T) {
			u := byTitle[tc.title]
			if u == nil {
				t.Fatalf("no unit %s", tc.title)
			}
			if u.Kind != tc.kind {
				t.Errorf("kind = %v, want %v", u.Kind, tc.kind)
			}
			var parent string
			if p := c.units[u.Parent]; p != nil {
				parent = p.DisplayName
			}
			if parent != tc.parent {
				t.Errorf("parent = %q, want %q", parent, tc.parent)
			}
		})
	}
}

func TestPosts(t *testing.T) {
	c := load(t)
	ranks := map[registryv1.Rank]int{}
	for _, p := range c.posts {
		if c.units[p.Unit] == nil {
			t.Errorf("post %s: unit %s does not exist", p.Name, p.Unit)
		}
		if p.Rank == registryv1.Rank_RANK_UNSPECIFIED {
			t.Errorf("post %s has no rank", p.Name)
		}
		if p.KeyPost && p.RotationPeriodMonths != 60 {
			t.Errorf("key post %s rotates after %d months, want 60", p.Name, p.RotationPeriodMonths)
		}
		if p.Duties == "" {
			t.Errorf("post %s has no duties", p.Name)
		}
		ranks[p.Rank]++
	}
	for r := registryv1.Rank_RANK_HANDLER; r <= registryv1.Rank_RANK_PRINCIPAL_LEADER; r++ {
		if ranks[r] == 0 {
			t.Errorf("no post of rank %v", r)
		}
	}
	// 管办分离 needs the indicator post to manage the 社会保障专项 the payment flow pays out.
	if zbgl := c.posts["orgs/czj/posts/ysc-zbgl"]; zbgl == nil || !slices.Contains(zbgl.ManagedFunds, "ZX-SHBZ-2026") {
		t.Errorf("预算处指标管理岗 does not manage ZX-SHBZ-2026")
	}
}

func TestPeople(t *testing.T) {
	c := load(t)
	for _, p := range c.people {
		if p.Unit == "" || c.units[p.Unit] == nil {
			t.Errorf("person %s: home unit %q does not exist", p.Name, p.Unit)
		}
		if id := strings.TrimPrefix(p.Name, OrgName+"/people/"); !strings.Contains(id, "-") {
			t.Errorf("person id %q: want pinyin with hyphens, e.g. wang-li", id)
		}
	}
	for _, d := range c.conflicts {
		if c.people[d.Person] == nil {
			t.Errorf("conflict declaration %s: person %s does not exist", d.Name, d.Person)
		}
	}
}

// TestAssignments checks the A/B rules: at most one A and one B per post on any day, nobody
// both A and B of one post, the inactive only in past assignments; and that the demo has the
// facts later features need (every post staffed A and B, tenures over the rotation period).
func TestAssignments(t *testing.T) {
	c := load(t)
	type span struct {
		a          *registryv1.Assignment
		start, end time.Time // end zero: open
	}
	byPost := map[string][]span{}
	for _, a := range c.assignments {
		if c.people[a.Person] == nil {
			t.Errorf("assignment %s: person %s does not exist", a.Name, a.Person)
		}
		if c.posts[a.Post] == nil {
			t.Errorf("assignment %s: post %s does not exist", a.Name, a.Post)
		}
		s := span{a: a, start: mustDate(a.StartDate)}
		if a.EndDate != "" {
			s.end = mustDate(a.EndDate)
			if s.end.Before(s.start) {
				t.Errorf("assignment %s ends before it starts", a.Name)
			}
		}
		if y := s.start.Year(); y < 2019 || y > 2025 {
			t.Errorf("assignment %s starts in %d, want 2019–2025", a.Name, y)
		}
		if p := c.people[a.Person]; p != nil && p.Inactive && a.EndDate == "" {
			t.Errorf("assignment %s: %s has left but still holds the post", a.Name, a.Person)
		}
		byPost[a.Post] = append(byPost[a.Post], s)
	}
	overlap := func(x, y span) bool {
		return (y.end.IsZero() || !x.start.After(y.end)) && (x.end.IsZero() || !y.start.After(x.end))
	}
	for post, spans := range byPost {
		roles := map[string]registryv1.AbRole{}
		for i, x := range spans {
			if r, ok := roles[x.a.Person]; ok && r != x.a.AbRole {
				t.Errorf("%s is both A and B of %s", x.a.Person, post)
			}
			roles[x.a.Person] = x.a.AbRole
			for _, y := range spans[i+1:] {
				if x.a.AbRole == y.a.AbRole && overlap(x, y) {
					t.Errorf("%s has two %v holders at once: %s and %s", post, x.a.AbRole, x.a.Name, y.a.Name)
				}
			}
		}
	}

	current := func(post string, role registryv1.AbRole) *span {
		for _, s := range byPost[post] {
			if s.a.AbRole == role && !s.start.After(asOf) && (s.end.IsZero() || !s.end.Before(asOf)) {
				return &s
			}
		}
		return nil
	}
	overdue := 0
	for name, p := range c.posts {
		a, b := current(name, registryv1.AbRole_AB_ROLE_A), current(name, registryv1.AbRole_AB_ROLE_B)
		if a == nil || b == nil {
			t.Errorf("post %s lacks a current A角 or B角 on %s", name, asOf.Format(time.DateOnly))
			continue
		}
		if p.KeyPost && a.start.AddDate(0, int(p.RotationPeriodMonths), 0).Before(asOf) {
			overdue++
		}
	}
	if overdue < 3 {
		t.Errorf("%d key posts held past their rotation period on %s, want at least 3 (so 轮岗 warnings fire)", overdue, asOf.Format(time.DateOnly))
	}
}

func TestPowers(t *testing.T) {
	c := load(t)
	codes := map[string]string{}
	categories := map[registryv1.PowerCategory]int{}
	titles := map[string]*registryv1.Power{}
	for _, p := range c.powers {
		if other, dup := codes[p.Code]; dup {
			t.Errorf("code %s used by %s and %s", p.Code, other, p.Name)
		}
		codes[p.Code] = p.Name
		if c.units[p.ActingUnit] == nil {
			t.Errorf("power %s: acting unit %s does not exist", p.Name, p.ActingUnit)
		}
		if len(p.LegalBasis) == 0 || p.Content == "" {
			t.Errorf("power %s needs a legal basis and content", p.Name)
		}
		internal := p.Category >= registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_PERSONNEL
		if p.Public == internal {
			t.Errorf("power %s (%v) public = %v, want %v", p.Name, p.Category, p.Public, !internal)
		}
		categories[p.Category]++
		titles[p.DisplayName] = p
	}
	for cat := registryv1.PowerCategory_POWER_CATEGORY_LICENSING; cat <= registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_ASSETS; cat++ {
		if categories[cat] == 0 {
			t.Errorf("no power of category %v", cat)
		}
	}
	for _, title := range []string{"预算编制", "预算调整", "财政资金拨付（国库集中支付）", "政府采购方式变更审批", "对违反会计法行为的行政处罚"} {
		if titles[title] == nil {
			t.Errorf("no power %s", title)
		}
	}

	penalty := titles["对违反会计法行为的行政处罚"]
	if penalty == nil {
		return
	}
	items := penalty.GetDiscretionBenchmark().GetItems()
	if len(items) < 2 || len(items) > 3 {
		t.Errorf("the 裁量基准 has %d items, want 2-3", len(items))
	}
	for _, it := range items {
		var ids []string
		var prevMax float64
		for _, tier := range it.Tiers {
			ids = append(ids, tier.Id+"/"+tier.DisplayName)
			if len(tier.CircumstanceCodes) == 0 || tier.Unit != "元" {
				t.Errorf("item %s tier %s: want circumstance codes and amounts in 元", it.Id, tier.Id)
			}
			if tier.MinAmount > tier.MaxAmount || tier.MaxAmount < prevMax {
				t.Errorf("item %s tier %s: range %v–%v is not ordered light to heavy", it.Id, tier.Id, tier.MinAmount, tier.MaxAmount)
			}
			prevMax = tier.MaxAmount
		}
		if want := []string{"minor/轻微", "general/一般", "serious/较重", "grave/严重"}; !slices.Equal(ids, want) {
			t.Errorf("item %s tiers = %v, want %v", it.Id, ids, want)
		}
	}
}

func TestPublish(t *testing.T) {
	c := load(t)
	for i, o := range c.objects {
		switch o.Object.(type) {
		case *registryv1.CatalogObject_Power, *registryv1.CatalogObject_Flow:
			if !o.Publish {
				t.Errorf("objects[%d] %s is not published", i, nameOf(o))
			}
		}
	}
}

// TestFlows checks every flow against the demo's own org (references resolve inside the
// file) and against docs/FLOWS.md, twice: with the structural checks below, written from the
// document, and with the registry's validator, which is what the server will run.
func TestFlows(t *testing.T) {
	c := load(t)
	env := fileEnv{c}
	for _, f := range c.flows {
		t.Run(f.Name, func(t *testing.T) {
			power := c.powers[powerOf(f.Name)]
			if power == nil {
				t.Fatalf("power %s does not exist", powerOf(f.Name))
			}
			for _, err := range checkFlow(f, c, power) {
				t.Error(err)
			}
			vs := flowgraph.Validate(f, env, flowgraph.Options{Org: "czj", ActingUnit: power.ActingUnit})
			for _, fv := range vs.List() {
				t.Errorf("flowgraph: %s: %s", fv.GetField(), fv.GetDescription())
			}
		})
	}
}

// TestFlowCoverage checks that the flows show what the demo is for.
func TestFlowCoverage(t *testing.T) {
	c := load(t)
	external := map[string]bool{}
	sepKinds := map[registryv1.SeparationKind]bool{}
	var emergency, collective, payment bool
	for _, f := range c.flows {
		if f.Kind == registryv1.FlowKind_FLOW_KIND_EXTERNAL {
			if p := c.powers[powerOf(f.Name)]; p != nil && p.Public {
				external[p.Name] = true
			}
			if !slices.ContainsFunc(f.Steps, func(s *registryv1.FlowStep) bool { return len(s.Materials) > 0 }) {
				t.Errorf("external flow %s lists no materials", f.Name)
			}
		}
		for _, sp := range f.Separations {
			sepKinds[sp.Kind] = true
		}
		if f.Emergency != nil && f.Emergency.JointReviewGroup != "" && len(f.Emergency.SkipSteps) > 0 && len(f.Emergency.StepLimits) > 0 {
			emergency = true
		}
		for _, s := range f.Steps {
			collective = collective || s.CollectiveDecision
			payment = payment || s.Payment
		}
	}
	if len(external) < 3 {
		t.Errorf("external flows for %d public powers, want at least 3", len(external))
	}
	for _, k := range []registryv1.SeparationKind{
		registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES,
		registryv1.SeparationKind_SEPARATION_KIND_MANAGE_HANDLE,
		registryv1.SeparationKind_SEPARATION_KIND_MANAGE_PROCURE,
	} {
		if !sepKinds[k] {
			t.Errorf("no flow has a %v separation", k)
		}
	}
	if !emergency || !collective || !payment {
		t.Errorf("emergency variant %v, 集体决策 step %v, payment step %v: want all", emergency, collective, payment)
	}
}

// TestRoundTrip checks that the demo survives `get -o yaml` and `apply -f` unchanged.
func TestRoundTrip(t *testing.T) {
	objs, err := Objects()
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	data, err := catalogfile.Marshal(objs)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	f, err := catalogfile.Parse("again.yaml", data)
	if err != nil {
		t.Fatalf("Parse(Marshal(demo)): %v", err)
	}
	if diff := cmp.Diff(objs, f.Objects, protocmp.Transform()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// checkFlow is docs/FLOWS.md "Validation" as far as it can be checked from the file alone,
// without evaluating CEL.
func checkFlow(f *registryv1.Flow, c *demoSet, power *registryv1.Power) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	steps := map[string]*registryv1.FlowStep{}
	groups := map[string]bool{}
	members := map[string][]string{}
	seps := map[string]int{}
	for _, g := range f.ParallelGroups {
		if groups[g.Id] {
			bad("group %s declared twice", g.Id)
		}
		groups[g.Id] = true
	}
	for _, sp := range f.Separations {
		seps[sp.Id] = 0
	}
	for _, s := range f.Steps {
		if s.Id == "start" || s.Id == "end" || steps[s.Id] != nil || groups[s.Id] {
			bad("step id %s is reserved or not unique", s.Id)
		}
		steps[s.Id] = s
		if s.ParallelGroup != "" {
			if !groups[s.ParallelGroup] {
				bad("step %s: group %s does not exist", s.Id, s.ParallelGroup)
			}
			members[s.ParallelGroup] = append(members[s.ParallelGroup], s.Id)
		}
		for _, id := range s.Separations {
			if _, ok := seps[id]; !ok {
				bad("step %s: separation %s does not exist", s.Id, id)
			}
			seps[id]++
		}
		if s.TimeLimitDays <= 0 {
			bad("step %s: time limit %d", s.Id, s.TimeLimitDays)
		}
		switch a := s.Actor.(type) {
		case *registryv1.FlowStep_Post:
			if c.posts[a.Post] == nil {
				bad("step %s: post %s does not exist", s.Id, a.Post)
			}
		case *registryv1.FlowStep_Rank:
			unit := s.Unit
			if unit == "" {
				unit = power.ActingUnit
			}
			if !(fileEnv{c}).RankHeld(a.Rank, unit) {
				bad("step %s: no post of rank %v in %s", s.Id, a.Rank, unit)
			}
		default:
			bad("step %s: nobody acts", s.Id)
		}
		if s.Unit != "" && c.units[s.Unit] == nil {
			bad("step %s: unit %s does not exist", s.Id, s.Unit)
		}
	}
	for g := range groups {
		if len(members[g]) < 2 {
			bad("group %s has %d members, want at least 2", g, len(members[g]))
		}
	}
	for id, n := range seps {
		if n < 2 {
			bad("separation %s is named by %d steps, want at least 2", id, n)
		}
	}

	// The graph, groups as single nodes.
	isNode := func(id string) bool { return groups[id] || (steps[id] != nil && steps[id].ParallelGroup == "") }
	out := map[string][]*registryv1.Transition{}
	in := map[string]int{}
	for _, tr := range f.Transitions {
		if tr.From != "start" && !isNode(tr.From) {
			bad("transition %s→%s: from is not a node (a group member, or unknown)", tr.From, tr.To)
		}
		if tr.To != "end" && !isNode(tr.To) {
			bad("transition %s→%s: to is not a node (a group member, or unknown)", tr.From, tr.To)
		}
		if tr.From == tr.To {
			bad("transition %s→%s is a self-loop", tr.From, tr.To)
		}
		out[tr.From] = append(out[tr.From], tr)
		in[tr.To]++
	}
	nodes := []string{"start"}
	for _, s := range f.Steps {
		if s.ParallelGroup == "" {
			nodes = append(nodes, s.Id)
		}
	}
	for _, g := range f.ParallelGroups {
		nodes = append(nodes, g.Id)
	}
	for _, n := range nodes {
		ts := out[n]
		if len(ts) == 0 {
			bad("node %s has no outgoing transition", n)
			continue
		}
		if ts[len(ts)-1].Condition != "" {
			bad("node %s: the last outgoing transition (to %s) has a condition; it must be the default branch", n, ts[len(ts)-1].To)
		}
	}
	if in["end"] == 0 {
		bad("nothing reaches end")
	}

	// Acyclic (depth-first search with colours), reachable from start, reaching end.
	const (
		white = iota
		grey
		black
	)
	colour := map[string]int{}
	var visit func(string)
	visit = func(n string) {
		colour[n] = grey
		for _, tr := range out[n] {
			switch colour[tr.To] {
			case grey:
				bad("cycle through %s→%s", n, tr.To)
			case white:
				visit(tr.To)
			}
		}
		colour[n] = black
	}
	visit("start")
	for _, n := range nodes {
		if colour[n] == white {
			bad("node %s is not reachable from start", n)
		}
	}
	reachesEnd := map[string]bool{"end": true}
	for changed := true; changed; {
		changed = false
		for _, tr := range f.Transitions {
			if reachesEnd[tr.To] && !reachesEnd[tr.From] {
				reachesEnd[tr.From], changed = true, true
			}
		}
	}
	for _, n := range nodes {
		if !reachesEnd[n] {
			bad("end is not reachable from %s", n)
		}
	}

	if em := f.Emergency; em != nil {
		if !groups[em.JointReviewGroup] {
			bad("emergency: joint review group %q is not a parallel group", em.JointReviewGroup)
		}
		for _, id := range em.SkipSteps {
			if s := steps[id]; s == nil || s.ParallelGroup != "" {
				bad("emergency: skip step %s is not a step outside groups", id)
			}
		}
		for _, l := range em.StepLimits {
			if s := steps[l.Step]; s == nil || l.Hours <= 0 || l.Hours > s.TimeLimitDays*8 {
				bad("emergency: limit of %d hours on %s exceeds the normal limit", l.Hours, l.Step)
			}
		}
	}
	return errs
}

// fileEnv answers flowgraph's questions about the org from the demo file itself, as the
// server does from the batch being applied.
type fileEnv struct{ c *demoSet }

func (e fileEnv) PostExists(name string) bool { return e.c.posts[name] != nil }
func (e fileEnv) UnitExists(name string) bool { return e.c.units[name] != nil }
func (e fileEnv) RankHeld(rank registryv1.Rank, unit string) bool {
	for _, p := range e.c.posts {
		if p.Unit == unit && p.Rank == rank {
			return true
		}
	}
	return false
}

// powerOf returns "orgs/czj/powers/zjbf" for "orgs/czj/powers/zjbf/flows/internal".
func powerOf(flow string) string {
	if i := strings.Index(flow, "/flows/"); i >= 0 {
		return flow[:i]
	}
	return ""
}

func nameOf(o *registryv1.CatalogObject) string {
	switch x := o.Object.(type) {
	case *registryv1.CatalogObject_Org:
		return x.Org.Name
	case *registryv1.CatalogObject_Unit:
		return x.Unit.Name
	case *registryv1.CatalogObject_Post:
		return x.Post.Name
	case *registryv1.CatalogObject_Person:
		return x.Person.Name
	case *registryv1.CatalogObject_Assignment:
		return x.Assignment.Name
	case *registryv1.CatalogObject_ConflictDeclaration:
		return x.ConflictDeclaration.Name
	case *registryv1.CatalogObject_Power:
		return x.Power.Name
	case *registryv1.CatalogObject_Flow:
		return x.Flow.Name
	}
	return ""
}

func mustDate(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}
