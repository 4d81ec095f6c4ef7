package pdp

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// FactEvent is one change of a registry resource the policies read: an upsert of a
// Person, Unit, Post, Assignment or ConflictDeclaration, or the deletion of Name.
type FactEvent struct {
	Delete   bool
	Name     string
	Resource proto.Message
}

// Facts holds every org's facts (docs/POLICY.md, "Org facts") and keeps them in the
// active engine's store: keyed by id, with the indexes the rules look up (holdings by
// person, holders by post, conflicts by person, managing posts by fund, the leadership).
type Facts struct {
	p       *PDP
	mu      sync.Mutex
	orgs    map[string]*orgFacts
	version uint64
	day     atomic.Value // string: the date "leadership" was computed for
	loc     *time.Location
}

type orgFacts struct {
	people      map[string]*registryv1.Person
	units       map[string]*registryv1.Unit
	posts       map[string]*registryv1.Post
	assignments map[string]*registryv1.Assignment // by assignment id
	conflicts   map[string]*registryv1.ConflictDeclaration

	// Indexes, kept with the maps above, so building one key's facts never scans the org.
	byPerson   map[string]map[string]*registryv1.Assignment          // person → assignment id → …
	byPost     map[string]map[string]*registryv1.Assignment          // post → assignment id → …
	cByPerson  map[string]map[string]*registryv1.ConflictDeclaration // person → declaration id → …
	postsByFnd map[string]map[string]bool                            // fund → managing post ids
}

func addTo[V any](m map[string]map[string]V, k, id string, v V) {
	if m[k] == nil {
		m[k] = map[string]V{}
	}
	m[k][id] = v
}

func removeFrom[V any](m map[string]map[string]V, k, id string) {
	delete(m[k], id)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

func newFacts(p *PDP) *Facts {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	f := &Facts{p: p, orgs: map[string]*orgFacts{}, loc: loc}
	f.day.Store("")
	return f
}

// Today is the date the facts consider current, in China Standard Time.
func (f *Facts) Today() string { return f.p.cfg.Now().In(f.loc).Format("2006-01-02") }

func newOrgFacts() *orgFacts {
	return &orgFacts{
		people: map[string]*registryv1.Person{}, units: map[string]*registryv1.Unit{},
		posts: map[string]*registryv1.Post{}, assignments: map[string]*registryv1.Assignment{},
		conflicts: map[string]*registryv1.ConflictDeclaration{},
		byPerson:  map[string]map[string]*registryv1.Assignment{}, byPost: map[string]map[string]*registryv1.Assignment{},
		cByPerson: map[string]map[string]*registryv1.ConflictDeclaration{}, postsByFnd: map[string]map[string]bool{},
	}
}

// splitName returns org, collection and id of "orgs/{org}/{coll}/{id}".
func splitName(name string) (org, coll, id string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "orgs" {
		return "", "", "", false
	}
	return parts[1], parts[2], parts[3], true
}

func lastSeg(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// Reset replaces every fact with a snapshot (the registry's full state).
func (f *Facts) Reset(ctx context.Context, snapshot []FactEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs = map[string]*orgFacts{}
	for _, ev := range snapshot {
		f.applyOne(ev, nil)
	}
	f.version++
	f.day.Store(f.Today())
	if e := f.p.cur.Load(); e != nil {
		return f.writeAll(ctx, e)
	}
	return nil
}

// Apply applies changes and writes what they touch into the active store.
func (f *Facts) Apply(ctx context.Context, events []FactEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dirty := map[string]*dirtySet{}
	for _, ev := range events {
		f.applyOne(ev, dirty)
	}
	f.version++
	e := f.p.cur.Load()
	if e == nil || len(dirty) == 0 {
		return nil
	}
	return f.writeDirty(ctx, e, dirty)
}

// dirtySet lists the keys of one org's fact sections to rewrite.
type dirtySet struct {
	newOrg                                                             bool
	people, units, posts, holdings, holders, conflicts, funds, current map[string]bool
	leadership                                                         bool
}

func (d *dirtySet) mark(section *map[string]bool, key string) {
	if *section == nil {
		*section = map[string]bool{}
	}
	(*section)[key] = true
}

func (f *Facts) applyOne(ev FactEvent, dirty map[string]*dirtySet) {
	org, coll, id, ok := splitName(ev.Name)
	if !ok {
		return
	}
	o := f.orgs[org]
	var d *dirtySet
	if dirty != nil {
		if d = dirty[org]; d == nil {
			d = &dirtySet{}
			dirty[org] = d
		}
	} else {
		d = &dirtySet{} // a reset rewrites everything anyway
	}
	if o == nil {
		if ev.Delete {
			return
		}
		o = newOrgFacts()
		f.orgs[org] = o
		d.newOrg = true
	}
	switch coll {
	case "people":
		if ev.Delete {
			delete(o.people, id)
		} else if p, ok := ev.Resource.(*registryv1.Person); ok {
			o.people[id] = p
		}
		d.mark(&d.people, id)
		d.mark(&d.current, id)
	case "units":
		prev := o.units[id]
		if ev.Delete {
			delete(o.units, id)
		} else if u, ok := ev.Resource.(*registryv1.Unit); ok {
			o.units[id] = u
		}
		d.mark(&d.units, id)
		if (prev != nil && prev.Kind == registryv1.UnitKind_UNIT_KIND_LEADERSHIP) || (o.units[id] != nil && o.units[id].Kind == registryv1.UnitKind_UNIT_KIND_LEADERSHIP) {
			d.leadership = true
		}
	case "posts":
		if prev := o.posts[id]; prev != nil {
			for _, fund := range prev.ManagedFunds {
				d.mark(&d.funds, fund)
				removeFrom(o.postsByFnd, fund, id)
			}
		}
		if ev.Delete {
			delete(o.posts, id)
		} else if p, ok := ev.Resource.(*registryv1.Post); ok {
			p = normalizedFunds(p)
			o.posts[id] = p
			for _, fund := range p.ManagedFunds {
				d.mark(&d.funds, fund)
				addTo(o.postsByFnd, fund, id, true)
			}
		}
		d.mark(&d.posts, id)
		for _, a := range o.byPost[id] {
			d.mark(&d.current, lastSeg(a.Person))
		}
		d.leadership = true
	case "assignments":
		if prev := o.assignments[id]; prev != nil {
			d.mark(&d.holdings, lastSeg(prev.Person))
			d.mark(&d.current, lastSeg(prev.Person))
			d.mark(&d.holders, lastSeg(prev.Post))
			removeFrom(o.byPerson, lastSeg(prev.Person), id)
			removeFrom(o.byPost, lastSeg(prev.Post), id)
		}
		if ev.Delete {
			delete(o.assignments, id)
		} else if a, ok := ev.Resource.(*registryv1.Assignment); ok {
			o.assignments[id] = a
			d.mark(&d.holdings, lastSeg(a.Person))
			d.mark(&d.current, lastSeg(a.Person))
			d.mark(&d.holders, lastSeg(a.Post))
			addTo(o.byPerson, lastSeg(a.Person), id, a)
			addTo(o.byPost, lastSeg(a.Post), id, a)
		}
		d.leadership = true
	case "conflictDeclarations":
		if prev := o.conflicts[id]; prev != nil {
			d.mark(&d.conflicts, lastSeg(prev.Person))
			removeFrom(o.cByPerson, lastSeg(prev.Person), id)
		}
		if ev.Delete {
			delete(o.conflicts, id)
		} else if c, ok := ev.Resource.(*registryv1.ConflictDeclaration); ok {
			o.conflicts[id] = c
			d.mark(&d.conflicts, lastSeg(c.Person))
			addTo(o.cByPerson, lastSeg(c.Person), id, c)
		}
	}
}

// --- AST building ---

func sterm(s string) *ast.Term { return ast.StringTerm(s) }

func personAST(p *registryv1.Person) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(sterm("unit"), sterm(lastSeg(p.Unit))),
		ast.Item(sterm("inactive"), ast.BooleanTerm(p.Inactive)),
	)
}

func unitAST(u *registryv1.Unit) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(sterm("kind"), sterm(u.Kind.String())),
		ast.Item(sterm("parent"), sterm(lastSeg(u.Parent))),
	)
}

func postAST(p *registryv1.Post) *ast.Term {
	funds := make([]*ast.Term, len(p.ManagedFunds))
	for i, fd := range p.ManagedFunds {
		funds[i] = sterm(fd)
	}
	return ast.ObjectTerm(
		ast.Item(sterm("unit"), sterm(lastSeg(p.Unit))),
		ast.Item(sterm("rank_level"), ast.IntNumberTerm(int(p.Rank))),
		ast.Item(sterm("key_post"), ast.BooleanTerm(p.KeyPost)),
		ast.Item(sterm("rotation_months"), ast.IntNumberTerm(int(p.RotationPeriodMonths))),
		ast.Item(sterm("managed_funds"), ast.ArrayTerm(funds...)),
	)
}

func abLetter(r registryv1.AbRole) string {
	switch r {
	case registryv1.AbRole_AB_ROLE_A:
		return "A"
	case registryv1.AbRole_AB_ROLE_B:
		return "B"
	}
	return ""
}

// holdingsAST lists a person's assignments (past ones included), by start date.
func (o *orgFacts) holdingsAST(person string) *ast.Term {
	as := valuesOf(o.byPerson[person])
	sortAssignments(as)
	items := make([]*ast.Term, len(as))
	for i, a := range as {
		items[i] = ast.ObjectTerm(
			ast.Item(sterm("post"), sterm(lastSeg(a.Post))), ast.Item(sterm("ab_role"), sterm(abLetter(a.AbRole))),
			ast.Item(sterm("start"), sterm(a.StartDate)), ast.Item(sterm("end"), sterm(a.EndDate)),
		)
	}
	return ast.ArrayTerm(items...)
}

func (o *orgFacts) holdersAST(post string) *ast.Term {
	as := valuesOf(o.byPost[post])
	sortAssignments(as)
	items := make([]*ast.Term, len(as))
	for i, a := range as {
		items[i] = ast.ObjectTerm(
			ast.Item(sterm("person"), sterm(lastSeg(a.Person))), ast.Item(sterm("ab_role"), sterm(abLetter(a.AbRole))),
			ast.Item(sterm("start"), sterm(a.StartDate)), ast.Item(sterm("end"), sterm(a.EndDate)),
		)
	}
	return ast.ArrayTerm(items...)
}

func sortAssignments(as []*registryv1.Assignment) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].StartDate != as[j].StartDate {
			return as[i].StartDate < as[j].StartDate
		}
		return as[i].Name < as[j].Name
	})
}

func (o *orgFacts) conflictsAST(person string) *ast.Term {
	cs := valuesOf(o.cByPerson[person])
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	items := make([]*ast.Term, len(cs))
	for i, c := range cs {
		items[i] = ast.ObjectTerm(
			ast.Item(sterm("name"), sterm(c.CounterpartyName)), ast.Item(sterm("code"), sterm(c.CounterpartyCode)),
			ast.Item(sterm("relation"), sterm(c.Relation.String())),
			ast.Item(sterm("from"), sterm(c.ValidFrom)), ast.Item(sterm("until"), sterm(c.ValidUntil)),
		)
	}
	return ast.ArrayTerm(items...)
}

func (o *orgFacts) fundManagersAST(fund string) *ast.Term {
	posts := make([]string, 0, len(o.postsByFnd[fund]))
	for id := range o.postsByFnd[fund] {
		posts = append(posts, id)
	}
	sort.Strings(posts)
	items := make([]*ast.Term, len(posts))
	for i, p := range posts {
		items[i] = sterm(p)
	}
	return ast.ArrayTerm(items...)
}

// currentAST is what a person holds on day: the posts, the "<unit>|<rank level>" seats
// and the funds those posts manage — the rules' one-lookup answer to "does this person
// hold …" (nil when the person is unknown, inactive or holds nothing that day). It is
// valid for data.facts.today only; the rules fall back to the dated holdings otherwise.
func (o *orgFacts) currentAST(person, day string) *ast.Term {
	p := o.people[person]
	if p == nil || p.Inactive {
		return nil
	}
	posts, seats, funds := ast.NewObject(), ast.NewObject(), ast.NewObject()
	for _, a := range o.byPerson[person] {
		if a.StartDate > day || (a.EndDate != "" && a.EndDate < day) {
			continue
		}
		id := lastSeg(a.Post)
		posts.Insert(sterm(id), ast.BooleanTerm(true))
		if post := o.posts[id]; post != nil {
			seats.Insert(sterm(lastSeg(post.Unit)+"|"+strconv.Itoa(int(post.Rank))), ast.BooleanTerm(true))
			for _, f := range post.ManagedFunds {
				funds.Insert(sterm(f), ast.BooleanTerm(true))
			}
		}
	}
	if posts.Len() == 0 {
		return nil
	}
	return ast.ObjectTerm(
		ast.Item(sterm("posts"), ast.NewTerm(posts)), ast.Item(sterm("seats"), ast.NewTerm(seats)),
		ast.Item(sterm("funds"), ast.NewTerm(funds)),
	)
}

// leadershipAST: people holding, today, a post of a leadership unit.
func (o *orgFacts) leadershipAST(today string) *ast.Term {
	obj := ast.NewObject()
	for _, a := range o.assignments {
		post := o.posts[lastSeg(a.Post)]
		if post == nil || a.StartDate > today || (a.EndDate != "" && a.EndDate < today) {
			continue
		}
		if u := o.units[lastSeg(post.Unit)]; u != nil && u.Kind == registryv1.UnitKind_UNIT_KIND_LEADERSHIP {
			obj.Insert(sterm(lastSeg(a.Person)), ast.BooleanTerm(true))
		}
	}
	return ast.NewTerm(obj)
}

// orgAST is the whole fact document of one org.
func (o *orgFacts) orgAST(today string) *ast.Term {
	people, units, posts := ast.NewObject(), ast.NewObject(), ast.NewObject()
	holdings, holders, conflicts, funds := ast.NewObject(), ast.NewObject(), ast.NewObject(), ast.NewObject()
	for id, p := range o.people {
		people.Insert(sterm(id), personAST(p))
	}
	for id, u := range o.units {
		units.Insert(sterm(id), unitAST(u))
	}
	for id, p := range o.posts {
		posts.Insert(sterm(id), postAST(p))
	}
	for p := range o.byPerson {
		holdings.Insert(sterm(p), o.holdingsAST(p))
	}
	for p := range o.byPost {
		holders.Insert(sterm(p), o.holdersAST(p))
	}
	for p := range o.cByPerson {
		conflicts.Insert(sterm(p), o.conflictsAST(p))
	}
	for fd := range o.postsByFnd {
		funds.Insert(sterm(fd), o.fundManagersAST(fd))
	}
	current := ast.NewObject()
	for p := range o.byPerson {
		if c := o.currentAST(p, today); c != nil {
			current.Insert(sterm(p), c)
		}
	}
	return ast.ObjectTerm(
		ast.Item(sterm("people"), ast.NewTerm(people)), ast.Item(sterm("units"), ast.NewTerm(units)),
		ast.Item(sterm("posts"), ast.NewTerm(posts)), ast.Item(sterm("holdings"), ast.NewTerm(holdings)),
		ast.Item(sterm("holders"), ast.NewTerm(holders)), ast.Item(sterm("conflicts"), ast.NewTerm(conflicts)),
		ast.Item(sterm("fund_managers"), ast.NewTerm(funds)), ast.Item(sterm("leadership"), o.leadershipAST(today)),
		ast.Item(sterm("current"), ast.NewTerm(current)),
	)
}

// document is data.facts: {"orgs": {org: {...}}}.
func (f *Facts) document() ast.Value {
	today := f.Today()
	orgs := ast.NewObject()
	for org, o := range f.orgs {
		orgs.Insert(sterm(org), o.orgAST(today))
	}
	return ast.NewObject(ast.Item(sterm("orgs"), ast.NewTerm(orgs)), ast.Item(sterm("today"), sterm(today)))
}

// --- store writes ---

func factsPath(parts ...string) storage.Path { return append(storage.Path{"facts", "orgs"}, parts...) }

// writeAll replaces data.facts in e's store.
func (f *Facts) writeAll(ctx context.Context, e *engine) error {
	return storage.WriteOne(ctx, e.store, storage.ReplaceOp, storage.Path{"facts"}, f.document())
}

func (f *Facts) writeDirty(ctx context.Context, e *engine, dirty map[string]*dirtySet) error {
	txn, err := e.store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return err
	}
	today := f.Today()
	put := func(path storage.Path, v *ast.Term) error {
		return e.store.Write(ctx, txn, storage.AddOp, path, v.Value)
	}
	del := func(path storage.Path) error {
		if err := e.store.Write(ctx, txn, storage.RemoveOp, path, nil); err != nil && !storage.IsNotFound(err) {
			return err
		}
		return nil
	}
	section := func(org, name string, keys map[string]bool, present func(string) bool, build func(string) *ast.Term) error {
		for k := range keys {
			var err error
			if present(k) {
				err = put(factsPath(org, name, k), build(k))
			} else {
				err = del(factsPath(org, name, k))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for org, d := range dirty {
		o := f.orgs[org]
		if o == nil {
			if err := del(factsPath(org)); err != nil {
				e.store.Abort(ctx, txn)
				return err
			}
			continue
		}
		if d.newOrg {
			if err := put(factsPath(org), o.orgAST(today)); err != nil {
				e.store.Abort(ctx, txn)
				return err
			}
			continue
		}
		err := errors.Join(
			section(org, "people", d.people, func(k string) bool { return o.people[k] != nil }, func(k string) *ast.Term { return personAST(o.people[k]) }),
			section(org, "units", d.units, func(k string) bool { return o.units[k] != nil }, func(k string) *ast.Term { return unitAST(o.units[k]) }),
			section(org, "posts", d.posts, func(k string) bool { return o.posts[k] != nil }, func(k string) *ast.Term { return postAST(o.posts[k]) }),
			section(org, "holdings", d.holdings, func(k string) bool { return len(o.byPerson[k]) > 0 }, o.holdingsAST),
			section(org, "holders", d.holders, func(k string) bool { return len(o.byPost[k]) > 0 }, o.holdersAST),
			section(org, "conflicts", d.conflicts, func(k string) bool { return len(o.cByPerson[k]) > 0 }, o.conflictsAST),
			section(org, "fund_managers", d.funds, func(k string) bool { return len(o.postsByFnd[k]) > 0 }, o.fundManagersAST),
			section(org, "current", d.current, func(k string) bool { return o.currentAST(k, today) != nil },
				func(k string) *ast.Term { return o.currentAST(k, today) }),
		)
		if err == nil && d.leadership {
			err = put(factsPath(org, "leadership"), o.leadershipAST(today))
		}
		if err != nil {
			e.store.Abort(ctx, txn)
			return err
		}
	}
	return e.store.Commit(ctx, txn)
}

// buildEngine compiles set with the current facts.
func (f *Facts) buildEngine(ctx context.Context, set *Set) (*engine, error) {
	f.mu.Lock()
	doc, version := f.document(), f.version
	f.mu.Unlock()
	e, err := build(ctx, set, doc)
	if err != nil {
		return nil, err
	}
	e.factsVersion = version
	return e, nil
}

// activate makes e the active engine, first bringing its facts up to date if they
// changed while it was being built and tested.
func (f *Facts) activate(e *engine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.factsVersion != f.version {
		_ = f.writeAll(context.Background(), e)
	}
	f.p.cur.Store(e)
}

// refreshIfNewDay recomputes the date-dependent facts (who is in the leadership today)
// when the date has changed since they were computed.
func (f *Facts) refreshIfNewDay(ctx context.Context) {
	today := f.Today()
	if f.day.Load().(string) == today {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.day.Load().(string) == today {
		return
	}
	if e := f.p.cur.Load(); e != nil {
		// Who holds what and who leads change with the date: rewrite the whole document.
		_ = f.writeAll(ctx, e)
	}
	f.day.Store(today)
}

func valuesOf[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// FactsJSON renders data.facts as JSON, for tools (the OPA server baseline of the
// benchmark, debugging).
func (p *PDP) FactsJSON() ([]byte, error) {
	p.facts.mu.Lock()
	doc := p.facts.document()
	p.facts.mu.Unlock()
	v, err := ast.JSON(doc)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Seat is a post a person holds on a day, with its unit and rank level (ids, not names).
type Seat struct {
	Post, Unit string
	Rank       int
	ABRole     string
}

// Holdings returns the posts person holds in org on day ("YYYY-MM-DD"); none for an
// unknown or inactive person. For services answering "whose inbox is this step in".
func (f *Facts) Holdings(org, person, day string) []Seat {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orgs[org]
	if o == nil {
		return nil
	}
	if p := o.people[person]; p == nil || p.Inactive {
		return nil
	}
	var out []Seat
	for _, a := range o.byPerson[person] {
		if a.StartDate > day || (a.EndDate != "" && a.EndDate < day) {
			continue
		}
		s := Seat{Post: lastSeg(a.Post), ABRole: abLetter(a.AbRole)}
		if post := o.posts[s.Post]; post != nil {
			s.Unit, s.Rank = lastSeg(post.Unit), int(post.Rank)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Post < out[j].Post })
	return out
}

// Leadership lists the people of org holding, on day, a post of a leadership unit.
func (f *Facts) Leadership(org, day string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orgs[org]
	if o == nil {
		return nil
	}
	var out []string
	o.leadershipAST(day).Value.(ast.Object).Foreach(func(k, _ *ast.Term) {
		out = append(out, string(k.Value.(ast.String)))
	})
	sort.Strings(out)
	return out
}

// Post returns a post's unit id and rank level.
func (f *Facts) Post(org, post string) (unit string, rank int, ok bool) {
	if p := f.post(org, post); p != nil {
		return lastSeg(p.Unit), int(p.Rank), true
	}
	return "", 0, false
}

// post is the org's post by id (nil when the facts do not hold it); treat it as read-only.
func (f *Facts) post(org, post string) *registryv1.Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.orgs[org]; o != nil {
		return o.posts[post]
	}
	return nil
}

// Active reports whether person is a known, active person of org.
func (f *Facts) Active(org, person string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.orgs[org]; o != nil {
		p := o.people[person]
		return p != nil && !p.Inactive
	}
	return false
}

// normalizedFunds returns the post with its managed fund and indicator codes trimmed and
// upper-cased, the form the approval service stores a case's codes in (so " ys-01" on a
// post and "YS-01" on a case are one code to 管办分离). The event's post is not changed.
func normalizedFunds(p *registryv1.Post) *registryv1.Post {
	clean := true
	for _, f := range p.ManagedFunds {
		if f != strings.ToUpper(strings.TrimSpace(f)) {
			clean = false
			break
		}
	}
	if clean {
		return p
	}
	p = proto.Clone(p).(*registryv1.Post)
	for i, f := range p.ManagedFunds {
		p.ManagedFunds[i] = strings.ToUpper(strings.TrimSpace(f))
	}
	return p
}

// Conflicts lists the counterparties (codes, and names) person declared under 回避 that
// are valid on day.
func (f *Facts) Conflicts(org, person, day string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orgs[org]
	if o == nil {
		return nil
	}
	var out []string
	for _, c := range o.cByPerson[person] {
		if (c.ValidFrom != "" && c.ValidFrom > day) || (c.ValidUntil != "" && c.ValidUntil < day) {
			continue
		}
		for _, v := range []string{c.CounterpartyCode, c.CounterpartyName} {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Holding is a person's assignment to a post on a day, as the rotation rules (轮岗) read
// it: since when (the earliest start of the person's unbroken run of assignments to the
// post), whether the post is a key post and its rotation period, and how many posts the
// person started in the day's year.
type Holding struct {
	Person, Post, Unit, Since string // person and post names, unit name, "YYYY-MM-DD"
	KeyPost                   bool
	RotationMonths            int
	MovesThisYear             int
}

// Holdings lists the org's assignments in force on day (active people only), by person
// and post.
func (f *Facts) CurrentHoldings(org, day string) []Holding {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orgs[org]
	if o == nil {
		return nil
	}
	year := day[:4]
	var out []Holding
	for person, as := range o.byPerson {
		if p := o.people[person]; p == nil || p.Inactive {
			continue
		}
		moves := 0
		for _, a := range as {
			if strings.HasPrefix(a.StartDate, year) {
				moves++
			}
		}
		for _, a := range as {
			if a.StartDate > day || (a.EndDate != "" && a.EndDate < day) {
				continue
			}
			post := o.posts[lastSeg(a.Post)]
			if post == nil {
				continue
			}
			since := a.StartDate
			// An earlier assignment to the same post that ran up to this one continues it.
			for changed := true; changed; {
				changed = false
				for _, b := range as {
					if b.Post == a.Post && b.StartDate < since && b.EndDate != "" && b.EndDate >= prevDay(since) {
						since, changed = b.StartDate, true
					}
				}
			}
			out = append(out, Holding{
				Person: a.Person, Post: a.Post, Unit: post.Unit, Since: since,
				KeyPost: post.KeyPost, RotationMonths: int(post.RotationPeriodMonths), MovesThisYear: moves,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Person != out[j].Person {
			return out[i].Person < out[j].Person
		}
		return out[i].Post < out[j].Post
	})
	return out
}

// prevDay is the day before a "YYYY-MM-DD" date.
func prevDay(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}

// Orgs lists the orgs the facts hold, sorted.
func (f *Facts) Orgs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.orgs))
	for o := range f.orgs {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// KeyPost reports whether the org's post (by id) is a key post (重点岗位), and its unit's
// name; ok is false for a post the facts do not hold.
func (f *Facts) KeyPost(org, post string) (key bool, unit string, ok bool) {
	if p := f.post(org, post); p != nil {
		return p.KeyPost, p.Unit, true
	}
	return false, "", false
}

// UnitInfo is a unit as the facts hold it.
type UnitInfo struct {
	Name, DisplayName string
	Leadership        bool
	// Discipline: the 纪检监察 office (UNIT_KIND_DISCIPLINE).
	Discipline bool
}

// Units lists the org's units by name.
func (f *Facts) Units(org string) []UnitInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orgs[org]
	if o == nil {
		return nil
	}
	out := make([]UnitInfo, 0, len(o.units))
	for _, u := range o.units {
		out = append(out, UnitInfo{Name: u.Name, DisplayName: u.DisplayName, Leadership: u.Kind == registryv1.UnitKind_UNIT_KIND_LEADERSHIP,
			Discipline: u.Kind == registryv1.UnitKind_UNIT_KIND_DISCIPLINE})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
