package risk

import (
	"context"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/store"
)

// registryView is a read-only, watch-fed copy of the registry's posts, assignments and
// flows (<root>/registry/<org>/{posts,assignments,flows}/…). It answers who holds the
// posts of a rank in a unit (the owner of a risk point by grade: the pdp's facts answer
// it per person, not per seat) and turns registry changes into review marks.
type registryView struct {
	s     *Service
	keys  store.Keyspace
	cache *informer.Cache
	marks chan mark
}

// mark is one review reason to append to the risk points match selects.
type mark struct {
	org, reason string
	match       func(*riskv1.RiskPoint) bool
}

const (
	idxHolders   = "holders"   // org|post id → assignments
	idxUnitPosts = "unitPosts" // org|unit id → posts
)

func (s *Service) startRegistryView(ctx context.Context, watch bool) (*registryView, error) {
	v := &registryView{s: s, keys: store.Keyspace{Root: s.cfg.KeyRoot, Service: "registry"}, marks: make(chan mark, 1024)}
	v.cache = informer.New(s.cli, v.keys.Prefix(), v.decode, s.log)
	v.cache.AddIndex(idxHolders, func(key string, obj any) []string {
		if a, ok := obj.(*registryv1.Assignment); ok {
			org, _, _ := splitAny(a.Name)
			return []string{org + "|" + idOf(a.Post)}
		}
		return nil
	})
	v.cache.AddIndex(idxUnitPosts, func(key string, obj any) []string {
		if p, ok := obj.(*registryv1.Post); ok {
			org, _, _ := splitAny(p.Name)
			return []string{org + "|" + idOf(p.Unit)}
		}
		return nil
	})
	if watch {
		v.cache.OnChange(v.onChange)
		go v.markLoop(ctx)
	}
	if err := v.cache.Start(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *registryView) decode(key string, value []byte, modRev int64) (any, error) {
	org, coll, ids, ok := v.keys.Parse(key)
	if !ok {
		return nil, nil
	}
	if org == store.PlatformOrg {
		if coll != "orgs" || len(ids) != 1 {
			return nil, nil
		}
		o := &registryv1.Org{}
		if err := store.Unmarshal(value, o); err != nil {
			return nil, err
		}
		o.Name = "orgs/" + ids[0]
		return o, nil
	}
	var m interface {
		proto.Message
	}
	name := ""
	switch {
	case coll == "posts" && len(ids) == 1:
		m, name = &registryv1.Post{}, "orgs/"+org+"/posts/"+ids[0]
	case coll == "assignments" && len(ids) == 1:
		m, name = &registryv1.Assignment{}, "orgs/"+org+"/assignments/"+ids[0]
	case coll == "units" && len(ids) == 1:
		m, name = &registryv1.Unit{}, "orgs/"+org+"/units/"+ids[0]
	case coll == "people" && len(ids) == 1:
		m, name = &registryv1.Person{}, "orgs/"+org+"/people/"+ids[0]
	case coll == "powers" && len(ids) == 1:
		m, name = &registryv1.Power{}, "orgs/"+org+"/powers/"+ids[0]
	case coll == "flows" && len(ids) == 2:
		m, name = &registryv1.Flow{}, "orgs/"+org+"/powers/"+ids[0]+"/flows/"+ids[1]
	default:
		return nil, nil
	}
	if err := store.Unmarshal(value, m); err != nil {
		return nil, err
	}
	switch x := m.(type) {
	case *registryv1.Post:
		x.Name = name
	case *registryv1.Assignment:
		x.Name = name
	case *registryv1.Flow:
		x.Name = name
	case *registryv1.Unit:
		x.Name = name
	case *registryv1.Person:
		x.Name = name
	case *registryv1.Power:
		x.Name = name
	}
	return m, nil
}

// displayName is the display name of a registry resource by its name ("" unknown).
func (v *registryView) displayName(name string) string {
	if name == "" {
		return ""
	}
	org, coll, id := splitAny(name)
	key := v.keys.Key(org, coll, id)
	if coll == "" {
		key = v.keys.Key(store.PlatformOrg, "orgs", org)
	}
	it, ok := v.cache.Get(key)
	if !ok {
		return idOf(name)
	}
	switch x := it.Obj.(type) {
	case *registryv1.Org:
		return x.GetDisplayName()
	case *registryv1.Unit:
		return x.GetDisplayName()
	case *registryv1.Post:
		return x.GetDisplayName()
	case *registryv1.Person:
		return x.GetDisplayName()
	case *registryv1.Power:
		return x.GetDisplayName()
	}
	return idOf(name)
}

// holders lists who holds post on day: A角 first, then by person id.
func (v *registryView) holders(org, post, day string) []*registryv1.Assignment {
	var out []*registryv1.Assignment
	v.cache.AscendIndex(idxHolders, org+"|"+post, v.keys.CollectionPrefix(org, "assignments"), "", func(it *informer.Item) bool {
		a := it.Obj.(*registryv1.Assignment)
		if a.StartDate <= day && (a.EndDate == "" || a.EndDate >= day) && v.s.pdp.Facts().Active(org, idOf(a.Person)) {
			out = append(out, a)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].AbRole != out[j].AbRole {
			return out[i].AbRole < out[j].AbRole
		}
		return out[i].Person < out[j].Person
	})
	return out
}

// owner is who owns a risk point of a grade (docs/RISK.md, "Owners"): a person holding,
// today, a post of rank level rank in the risk's unit (rank 4) or in the leadership (ranks
// 5 and 6) — A角 before B角, then the first by person id. "" when nobody holds one.
func (s *Service) owner(org, unit string, rank int, day string) string {
	if rank >= 5 {
		var cands []string
		for _, p := range s.pdp.Facts().Leadership(org, day) {
			for _, seat := range s.pdp.Facts().Holdings(org, p, day) {
				if seat.Rank == rank && !slices.Contains(cands, p) {
					cands = append(cands, p)
				}
			}
		}
		// Prefer the A角 of a matching seat.
		for _, p := range cands {
			for _, seat := range s.pdp.Facts().Holdings(org, p, day) {
				if seat.Rank == rank && seat.ABRole == "A" {
					return personName(org, p)
				}
			}
		}
		if len(cands) > 0 {
			return personName(org, cands[0])
		}
		return ""
	}
	if unit == "" {
		return ""
	}
	var posts []string
	s.reg.cache.AscendIndex(idxUnitPosts, org+"|"+unit, s.reg.keys.CollectionPrefix(org, "posts"), "", func(it *informer.Item) bool {
		if p := it.Obj.(*registryv1.Post); int(p.Rank) == rank {
			posts = append(posts, idOf(p.Name))
		}
		return true
	})
	for _, p := range posts {
		if hs := s.reg.holders(org, p, day); len(hs) > 0 {
			return hs[0].Person
		}
	}
	return ""
}

// onChange turns registry changes into review marks (docs/RISK.md, "Review marks"):
//   - a post's duties changed: risk points scoped at the post;
//   - an assignment of a post created, ended or deleted (its holder changed): risk points
//     scoped at the post;
//   - a flow published anew or deleted: risk points on its steps or on its power.
func (v *registryView) onChange(evs []informer.Event) {
	day := today(v.s.cfg.Now())
	for _, ev := range evs {
		switch {
		case isPost(ev.Obj) || isPost(ev.Prev):
			prev, _ := ev.Prev.(*registryv1.Post)
			next, _ := ev.Obj.(*registryv1.Post)
			if prev == nil || next == nil || prev.Duties == next.Duties {
				continue
			}
			org, _, _ := splitAny(next.Name)
			v.queue(mark{org: org, reason: day + " 岗位职责变更 post duties changed: " + next.Name, match: scopedAt(next.Name)})
		case isAssignment(ev.Obj) || isAssignment(ev.Prev):
			prev, _ := ev.Prev.(*registryv1.Assignment)
			next, _ := ev.Obj.(*registryv1.Assignment)
			a := next
			if a == nil {
				a = prev
			}
			if prev != nil && next != nil && prev.Person == next.Person && prev.EndDate == next.EndDate && prev.StartDate == next.StartDate {
				continue
			}
			org, _, _ := splitAny(a.Name)
			post := a.Post
			v.queue(mark{org: org, reason: day + " 岗位人员变动 post holder changed: " + post, match: scopedAt(post)})
		case isFlow(ev.Obj) || isFlow(ev.Prev):
			prev, _ := ev.Prev.(*registryv1.Flow)
			next, _ := ev.Obj.(*registryv1.Flow)
			f := next
			if f == nil {
				f = prev
			}
			if next != nil && (prev == nil || prev.PublishedRevision == next.PublishedRevision) {
				continue
			}
			org, _, _ := splitAny(f.Name)
			flow := f.Name
			power := flow[:len(flow)-len("/flows/"+idOf(flow))]
			v.queue(mark{org: org, reason: day + " 流程变更 flow changed: " + flow, match: func(r *riskv1.RiskPoint) bool {
				if slices.Contains(r.Powers, power) {
					return true
				}
				return slices.ContainsFunc(r.Steps, func(st *riskv1.StepRef) bool { return st.Flow == flow })
			}})
		}
	}
}

func isPost(o any) bool       { _, ok := o.(*registryv1.Post); return ok }
func isAssignment(o any) bool { _, ok := o.(*registryv1.Assignment); return ok }
func isFlow(o any) bool       { _, ok := o.(*registryv1.Flow); return ok }

func scopedAt(scope string) func(*riskv1.RiskPoint) bool {
	return func(r *riskv1.RiskPoint) bool { return r.Scope == scope }
}

func (v *registryView) queue(m mark) {
	select {
	case v.marks <- m:
	default:
		v.s.log.Error("review marks queue full: a registry change was not marked", "reason", m.reason)
	}
}

func (v *registryView) markLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-v.marks:
			if _, err := v.s.MarkForReview(ctx, m.org, m.reason, m.match); err != nil && ctx.Err() == nil {
				v.s.log.Error("marking risk points for review", "org", m.org, "reason", m.reason, "err", err)
			}
		}
	}
}
