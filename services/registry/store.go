package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Keys (store.Keyspace, service "registry"):
//
//	_/orgs/<org>                                   Org
//	<org>/units/<unit>                             Unit (likewise posts, people, assignments, conflictDeclarations, powers)
//	<org>/flows/<power>/<flow>                     Flow
//	<org>/powerRevisions/<power>/<000000001>       PowerRevision (zero-padded: key order is revision order)
//	<org>/flowRevisions/<power>/<flow>/<000000001> FlowRevision
//	<org>/refs/<target coll>/<ids>/<source coll>/<ids>   "source refers to target" (deletes check none remain)
//	<org>/unique/powers/code/<code>                power code → power name (codes are unique per org)
//	<org>/guards/post-assignments/<post>           bumped with every assignment of the post (A/B rules)
//
// Values are the resources without name and etag: the name comes from the key, the etag
// is the key's mod revision.

func (r *Registry) key(n rname) string {
	if n.coll == collOrgs {
		return r.store.Keys.Key(store.PlatformOrg, collOrgs, n.org)
	}
	return r.store.Keys.Key(n.org, n.coll, n.ids...)
}

// nameOfKey rebuilds the resource name of a data key.
func (r *Registry) nameOfKey(key string) (rname, bool) {
	org, coll, ids, ok := r.store.Keys.Parse(key)
	if !ok {
		return rname{}, false
	}
	if org == store.PlatformOrg {
		if coll != collOrgs || len(ids) != 1 {
			return rname{}, false
		}
		return rname{org: ids[0], coll: collOrgs, ids: ids}, true
	}
	return rname{org: org, coll: coll, ids: ids}, true
}

func newMessage(coll string) proto.Message {
	switch coll {
	case collOrgs:
		return &registryv1.Org{}
	case collUnits:
		return &registryv1.Unit{}
	case collPosts:
		return &registryv1.Post{}
	case collPeople:
		return &registryv1.Person{}
	case collAssignments:
		return &registryv1.Assignment{}
	case collConflicts:
		return &registryv1.ConflictDeclaration{}
	case collPowers:
		return &registryv1.Power{}
	case collFlows:
		return &registryv1.Flow{}
	case collPowerRevisions:
		return &registryv1.PowerRevision{}
	case collFlowRevisions:
		return &registryv1.FlowRevision{}
	}
	return nil
}

// guardMark is what the cache holds for a guard key: only its revision matters.
type guardMark struct{}

func (r *Registry) decode(key string, value []byte, modRev int64) (any, error) {
	n, ok := r.nameOfKey(key)
	if !ok {
		return nil, nil
	}
	if n.coll == collGuards {
		return guardMark{}, nil
	}
	m := newMessage(n.coll)
	if m == nil {
		return nil, nil // refs, unique: bookkeeping only
	}
	if err := store.Unmarshal(value, m); err != nil {
		return nil, err
	}
	setMeta(m, n.String(), store.FormatEtag(modRev))
	return m, nil
}

// setMeta sets the name and etag fields every resource message has.
func setMeta(m proto.Message, name, etag string) {
	rm := m.ProtoReflect()
	fields := rm.Descriptor().Fields()
	if fd := fields.ByName("name"); fd != nil {
		rm.Set(fd, protoreflect.ValueOfString(name))
	}
	if fd := fields.ByName("etag"); fd != nil {
		rm.Set(fd, protoreflect.ValueOfString(etag))
	}
}

// stored returns a copy of m as it is written to etcd: without name and etag.
func stored(m proto.Message) proto.Message {
	c := proto.Clone(m)
	setMeta(c, "", "")
	return c
}

func setTimes(m proto.Message, create, update *timestamppb.Timestamp) {
	rm := m.ProtoReflect()
	fields := rm.Descriptor().Fields()
	if fd := fields.ByName("create_time"); fd != nil && create != nil {
		rm.Set(fd, protoreflect.ValueOfMessage(create.ProtoReflect()))
	}
	if fd := fields.ByName("update_time"); fd != nil && update != nil {
		rm.Set(fd, protoreflect.ValueOfMessage(update.ProtoReflect()))
	}
}

// Cache indexes.
const (
	idxUnitParent     = "units.parent"
	idxPostUnit       = "posts.unit"
	idxPostRank       = "posts.rank"
	idxPersonUnit     = "people.unit"
	idxAssignmentPers = "assignments.person"
	idxAssignmentPost = "assignments.post"
	idxConflictPerson = "conflicts.person"
	idxPowerCategory  = "powers.category"
	idxPowerUnit      = "powers.unit"
	idxPowerCode      = "powers.code"
)

func rankKey(unitOrOrg string, rank registryv1.Rank) string {
	return unitOrOrg + "|" + strconv.Itoa(int(rank))
}

func categoryKey(org string, c registryv1.PowerCategory) string {
	return org + "|" + strconv.Itoa(int(c))
}

func codeKey(org, code string) string { return org + "|" + code }

func (r *Registry) addIndexes(c *informer.Cache) {
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	c.AddIndex(idxUnitParent, func(key string, obj any) []string {
		if u, ok := obj.(*registryv1.Unit); ok {
			if u.Parent == "" {
				n, _ := parseName(u.Name)
				return []string{orgName(n.org) + "|root"}
			}
			return []string{u.Parent}
		}
		return nil
	})
	c.AddIndex(idxPostUnit, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Post); ok {
			return one(p.Unit)
		}
		return nil
	})
	c.AddIndex(idxPostRank, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Post); ok {
			n, _ := parseName(p.Name)
			return []string{rankKey(p.Unit, p.Rank), rankKey(orgName(n.org), p.Rank)}
		}
		return nil
	})
	c.AddIndex(idxPersonUnit, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Person); ok {
			return one(p.Unit)
		}
		return nil
	})
	c.AddIndex(idxAssignmentPers, func(_ string, obj any) []string {
		if a, ok := obj.(*registryv1.Assignment); ok {
			return one(a.Person)
		}
		return nil
	})
	c.AddIndex(idxAssignmentPost, func(_ string, obj any) []string {
		if a, ok := obj.(*registryv1.Assignment); ok {
			return one(a.Post)
		}
		return nil
	})
	c.AddIndex(idxConflictPerson, func(_ string, obj any) []string {
		if d, ok := obj.(*registryv1.ConflictDeclaration); ok {
			return one(d.Person)
		}
		return nil
	})
	c.AddIndex(idxPowerCategory, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Power); ok {
			n, _ := parseName(p.Name)
			return []string{categoryKey(n.org, p.Category)}
		}
		return nil
	})
	c.AddIndex(idxPowerUnit, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Power); ok {
			return one(p.ActingUnit)
		}
		return nil
	})
	c.AddIndex(idxPowerCode, func(_ string, obj any) []string {
		if p, ok := obj.(*registryv1.Power); ok {
			n, _ := parseName(p.Name)
			return []string{codeKey(n.org, p.Code)}
		}
		return nil
	})
}

// view is what validation reads: the cache for single writes, the cache overlaid with the
// pending objects of a batch for apply. Objects are shared: never modify them.
type view interface {
	// get returns the resource and its mod revision.
	get(name string) (proto.Message, int64, bool)
	// guardRev is the mod revision of a guard key (0 if never written). Read a guard
	// BEFORE the set it guards, so a stale set always fails the guard.
	guardRev(key string) int64
	postsWithRank(unitOrOrg string, rank registryv1.Rank) []*registryv1.Post
	assignmentsOfPost(post string) []*registryv1.Assignment
	powerWithCode(org, code string) string
	childUnits(unit string) []string
}

type cacheView struct{ r *Registry }

func (v cacheView) get(name string) (proto.Message, int64, bool) {
	n, err := parseName(name)
	if err != nil {
		return nil, 0, false
	}
	it, ok := v.r.cache.Get(v.r.key(n))
	if !ok {
		return nil, 0, false
	}
	m, ok := it.Obj.(proto.Message)
	return m, it.ModRev, ok
}

func (v cacheView) guardRev(key string) int64 {
	if it, ok := v.r.cache.Get(key); ok {
		return it.ModRev
	}
	return 0
}

func (v cacheView) postsWithRank(unitOrOrg string, rank registryv1.Rank) []*registryv1.Post {
	var out []*registryv1.Post
	v.r.cache.AscendIndex(idxPostRank, rankKey(unitOrOrg, rank), v.r.store.Keys.Prefix(), "", func(it *informer.Item) bool {
		out = append(out, it.Obj.(*registryv1.Post))
		return true
	})
	return out
}

func (v cacheView) assignmentsOfPost(post string) []*registryv1.Assignment {
	var out []*registryv1.Assignment
	v.r.cache.AscendIndex(idxAssignmentPost, post, v.r.store.Keys.Prefix(), "", func(it *informer.Item) bool {
		out = append(out, it.Obj.(*registryv1.Assignment))
		return true
	})
	return out
}

func (v cacheView) powerWithCode(org, code string) string {
	var name string
	v.r.cache.AscendIndex(idxPowerCode, codeKey(org, code), v.r.store.Keys.Prefix(), "", func(it *informer.Item) bool {
		name = it.Obj.(*registryv1.Power).Name
		return false
	})
	return name
}

func (v cacheView) childUnits(unit string) []string {
	var out []string
	v.r.cache.AscendIndex(idxUnitParent, unit, v.r.store.Keys.Prefix(), "", func(it *informer.Item) bool {
		out = append(out, it.Obj.(*registryv1.Unit).Name)
		return true
	})
	return out
}

// overlayView is a view with a batch's pending objects laid over the cache.
type overlayView struct {
	base    view
	pending map[string]proto.Message
}

func (v *overlayView) get(name string) (proto.Message, int64, bool) {
	if m, ok := v.pending[name]; ok {
		_, rev, _ := v.base.get(name)
		return m, rev, true
	}
	return v.base.get(name)
}

func (v *overlayView) guardRev(key string) int64 { return v.base.guardRev(key) }

func (v *overlayView) postsWithRank(unitOrOrg string, rank registryv1.Rank) []*registryv1.Post {
	var out []*registryv1.Post
	for _, p := range v.base.postsWithRank(unitOrOrg, rank) {
		if _, over := v.pending[p.Name]; !over {
			out = append(out, p)
		}
	}
	for _, m := range v.pending {
		if p, ok := m.(*registryv1.Post); ok && p.Rank == rank && (p.Unit == unitOrOrg || orgOfName(p.Name) == unitOrOrg) {
			out = append(out, p)
		}
	}
	return out
}

func (v *overlayView) assignmentsOfPost(post string) []*registryv1.Assignment {
	var out []*registryv1.Assignment
	for _, a := range v.base.assignmentsOfPost(post) {
		if _, over := v.pending[a.Name]; !over {
			out = append(out, a)
		}
	}
	for _, m := range v.pending {
		if a, ok := m.(*registryv1.Assignment); ok && a.Post == post {
			out = append(out, a)
		}
	}
	return out
}

func (v *overlayView) powerWithCode(org, code string) string {
	for name, m := range v.pending {
		if p, ok := m.(*registryv1.Power); ok && p.Code == code && sameOrg(name, org) {
			return name
		}
	}
	name := v.base.powerWithCode(org, code)
	if p, ok := v.pending[name].(*registryv1.Power); ok && p.Code != code {
		return "" // the batch changes that power's code
	}
	return name
}

func (v *overlayView) childUnits(unit string) []string {
	var out []string
	for _, u := range v.base.childUnits(unit) {
		if m, over := v.pending[u]; !over || m.(*registryv1.Unit).Parent == unit {
			out = append(out, u)
		}
	}
	for name, m := range v.pending {
		if u, ok := m.(*registryv1.Unit); ok && u.Parent == unit {
			if _, inBase, _ := v.base.get(name); inBase == 0 {
				out = append(out, name)
			}
		}
	}
	return out
}

// ref says a resource refers to target through a request field.
type ref struct {
	field  string
	target string
}

// refsOf lists what a resource refers to (deduplicated by target).
func refsOf(m proto.Message) []ref {
	var out []ref
	add := func(field, target string) {
		if target == "" {
			return
		}
		for _, r := range out {
			if r.target == target {
				return
			}
		}
		out = append(out, ref{field: field, target: target})
	}
	switch x := m.(type) {
	case *registryv1.Unit:
		add("parent", x.Parent)
	case *registryv1.Post:
		add("unit", x.Unit)
	case *registryv1.Person:
		add("unit", x.Unit)
	case *registryv1.Assignment:
		add("person", x.Person)
		add("post", x.Post)
	case *registryv1.ConflictDeclaration:
		add("person", x.Person)
	case *registryv1.Power:
		add("acting_unit", x.ActingUnit)
	case *registryv1.Flow:
		if n, err := parseName(x.Name); err == nil {
			add("name", childName(n.org, collPowers, n.ids[0]))
		}
		for i, s := range x.Steps {
			add(fmt.Sprintf("steps[%d].post", i), s.GetPost())
			add(fmt.Sprintf("steps[%d].unit", i), s.Unit)
		}
	}
	return out
}

func (r *Registry) refsPrefix(target rname) string {
	return r.store.Keys.Key(target.org, collRefs, append([]string{target.coll}, target.ids...)...) + "/"
}

func (r *Registry) refKey(target, source rname) string {
	return r.refsPrefix(target) + source.coll + "/" + strings.Join(source.ids, "/")
}

func (r *Registry) uniqueCodeKey(org, code string) string {
	return r.store.Keys.Key(org, collUnique, collPowers, "code", url.PathEscape(code))
}

func (r *Registry) assignmentGuardKey(post string) string {
	n, _ := parseName(post)
	return r.store.Keys.Key(n.org, collGuards, "post-assignments", n.ids[0])
}

// batch plans the writes of one operation as one transaction.
type batch struct {
	r       *Registry
	txn     *store.Txn
	names   map[string]bool // resources written by this batch
	guarded map[string]bool // guard keys already bumped
	reads   []string        // resources read by validation, guarded at their revision
}

func (r *Registry) newBatch() *batch {
	return &batch{r: r, txn: store.NewTxn(), names: map[string]bool{}, guarded: map[string]bool{}}
}

// put writes m (a resource with its name set). prev is the stored version (nil for a
// create) and prevRev its mod revision; clientEtag, when set, makes the revision guard
// final instead of retryable. The field prefix names the request field of m.
func (b *batch) put(m, prev proto.Message, prevRev int64, clientEtag bool, prefix string) error {
	name := nameOf(m)
	n, err := parseName(name)
	if err != nil {
		return err
	}
	key := b.r.key(n)
	switch {
	case prevRev == 0:
		b.txn.ExpectRevision(key, 0, name)
	case clientEtag:
		b.txn.ExpectEtag(key, prevRev, name)
	default:
		b.txn.ExpectRevision(key, prevRev, name)
	}
	b.txn.PutProto(key, stored(m))
	b.names[name] = true

	// References: add the new ones (their targets must exist), drop the old ones.
	newRefs := refsOf(m)
	var oldRefs []ref
	if prev != nil {
		oldRefs = refsOf(prev)
	}
	for _, rf := range newRefs {
		tn, err := parseName(rf.target)
		if err != nil || tn.org != n.org {
			continue // shape and org were validated before; nothing sensible to guard
		}
		if !b.names[rf.target] {
			b.txn.ExpectExists(b.r.key(tn), rf.target, prefix+rf.field)
		}
		b.txn.Put(b.r.refKey(tn, n), nil)
	}
	for _, old := range oldRefs {
		if !containsTarget(newRefs, old.target) {
			if tn, err := parseName(old.target); err == nil {
				b.txn.Delete(b.r.refKey(tn, n))
			}
		}
	}

	// Unique power codes.
	if p, ok := m.(*registryv1.Power); ok {
		oldCode := ""
		if prev != nil {
			oldCode = prev.(*registryv1.Power).Code
		}
		if p.Code != oldCode {
			if oldCode != "" {
				b.txn.Delete(b.r.uniqueCodeKey(n.org, oldCode))
			}
			uk := b.r.uniqueCodeKey(n.org, p.Code)
			b.txn.ExpectRevision(uk, 0, "power code "+p.Code)
			b.txn.Put(uk, []byte(name))
		}
	}
	return nil
}

// bumpGuard compares and advances a guard key at the revision validation read.
func (b *batch) bumpGuard(key string, readRev int64) {
	if b.guarded[key] {
		return
	}
	b.guarded[key] = true
	b.txn.ExpectVersion(key, readRev, "concurrent change")
	b.txn.Put(key, nil)
}

// del deletes a resource at revision rev; nothing may refer to it.
func (b *batch) del(m proto.Message, rev int64, clientEtag bool) error {
	name := nameOf(m)
	n, err := parseName(name)
	if err != nil {
		return err
	}
	key := b.r.key(n)
	if clientEtag {
		b.txn.ExpectEtag(key, rev, name)
	} else {
		b.txn.ExpectRevision(key, rev, name)
	}
	b.txn.ExpectNone(b.r.refsPrefix(n), name)
	b.txn.Delete(key)
	for _, rf := range refsOf(m) {
		if tn, err := parseName(rf.target); err == nil {
			b.txn.Delete(b.r.refKey(tn, n))
		}
	}
	if p, ok := m.(*registryv1.Power); ok {
		b.txn.Delete(b.r.uniqueCodeKey(n.org, p.Code))
	}
	return nil
}

func containsTarget(refs []ref, target string) bool {
	for _, r := range refs {
		if r.target == target {
			return true
		}
	}
	return false
}

// nameOf returns the name field of a resource message.
func nameOf(m proto.Message) string {
	rm := m.ProtoReflect()
	if fd := rm.Descriptor().Fields().ByName("name"); fd != nil {
		return rm.Get(fd).String()
	}
	return ""
}

// mutate runs plan against the cache and commits the batch it fills, retrying (a few
// times) when a revision the plan read was overtaken by a concurrent write. It returns the
// commit revision.
func (r *Registry) mutate(ctx context.Context, plan func(v view, b *batch) error) (int64, error) {
	for attempt := 0; ; attempt++ {
		if err := r.cache.WaitFor(ctx, r.store.LastWrite()); err != nil {
			return 0, err
		}
		b := r.newBatch()
		if err := plan(cacheView{r}, b); err != nil {
			return 0, err
		}
		if b.txn.Empty() {
			return 0, nil
		}
		rev, err := r.store.Commit(ctx, b.txn)
		if seen, retry := store.Retryable(err); retry && attempt < 8 {
			if werr := r.cache.WaitFor(ctx, seen); werr != nil {
				return 0, werr
			}
			continue
		}
		return rev, err
	}
}

// readForWrite returns the current version of a resource for an update, honouring the
// client's etag: a newer etag than the cache holds waits for the cache, an older one is
// a conflict.
func (r *Registry) readForWrite(ctx context.Context, v view, name, etag string) (proto.Message, int64, error) {
	want, err := store.ParseEtag(etag)
	if err != nil {
		return nil, 0, err
	}
	cur, rev, ok := v.get(name)
	if ok && want > rev {
		if err := r.cache.WaitFor(ctx, want); err != nil {
			return nil, 0, err
		}
		cur, rev, ok = v.get(name)
	}
	if !ok {
		return nil, 0, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	if err := store.CheckEtag(etag, rev, name); err != nil {
		return nil, 0, err
	}
	return cur, rev, nil
}

var errNothingToPublish = errors.New("nothing to publish")
