package registry

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// factCollections are the collections the policies read as org facts.
var factCollections = map[string]bool{
	collPeople: true, collUnits: true, collPosts: true, collAssignments: true, collConflicts: true,
}

// factFeed passes changes of the org facts to subscribers: the PDP of this process and the
// WatchFacts streams of other services. A subscriber gets a snapshot, then every change
// after it (a change may also be in the snapshot: applying it again is harmless, as every
// event is an upsert or a delete of a whole resource).
type factFeed struct {
	r    *Registry
	mu   sync.Mutex
	subs map[*factSub]bool
}

type factSub struct {
	fn     func([]pdp.FactEvent) bool // false: the subscriber is gone
	closed bool
}

func newFactFeed(r *Registry) *factFeed {
	return &factFeed{r: r, subs: map[*factSub]bool{}}
}

// onChange is the cache's change handler.
func (f *factFeed) onChange(evs []informer.Event) {
	var out []pdp.FactEvent
	for _, ev := range evs {
		n, ok := f.r.nameOfKey(ev.Key)
		if !ok || !factCollections[n.coll] {
			continue
		}
		fe := pdp.FactEvent{Name: n.String(), Delete: ev.Type == informer.Delete}
		if !fe.Delete {
			fe.Resource, _ = ev.Obj.(proto.Message)
		}
		out = append(out, fe)
	}
	if len(out) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if !s.fn(out) {
			s.closed = true
			delete(f.subs, s)
		}
	}
}

// snapshot lists every fact resource held now.
func (f *factFeed) snapshot() []pdp.FactEvent {
	var out []pdp.FactEvent
	f.r.cache.Ascend(f.r.store.Keys.Prefix(), "", func(it *informer.Item) bool {
		if n, ok := f.r.nameOfKey(it.Key); ok && factCollections[n.coll] {
			out = append(out, pdp.FactEvent{Name: n.String(), Resource: it.Obj.(proto.Message)})
		}
		return true
	})
	return out
}

// subscribe calls reset with a snapshot, then fn with each later batch of changes, until
// fn returns false or cancel is called.
func (f *factFeed) subscribe(reset func([]pdp.FactEvent), fn func([]pdp.FactEvent) bool) (cancel func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reset(f.snapshot())
	s := &factSub{fn: fn}
	f.subs[s] = true
	return func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}
}

// feedPDP keeps a PDP's facts current from this registry.
func (f *factFeed) feedPDP(ctx context.Context, p *pdp.PDP) {
	cancel := f.subscribe(
		func(snap []pdp.FactEvent) { _ = p.Facts().Reset(ctx, snap) },
		func(evs []pdp.FactEvent) bool {
			if err := p.Facts().Apply(ctx, evs); err != nil {
				f.r.log.Error("policy facts update failed", "err", err)
			}
			return ctx.Err() == nil
		})
	go func() { <-ctx.Done(); cancel() }()
}

// WatchFacts streams the facts to another service's PDP.
func (h *handler) WatchFacts(_ *registryv1.WatchFactsRequest, stream registryv1.FactsService_WatchFactsServer) error {
	ctx := stream.Context()
	ch := make(chan []pdp.FactEvent, 1024)
	var snap []pdp.FactEvent
	cancel := h.r.feed.subscribe(
		func(s []pdp.FactEvent) { snap = s },
		func(evs []pdp.FactEvent) bool {
			select {
			case ch <- evs:
				return true
			default:
				// The client is too slow: end its stream; it reconnects with a snapshot.
				close(ch)
				return false
			}
		})
	defer cancel()
	rev := h.r.cache.Revision()
	if err := stream.Send(&registryv1.FactsEvent{Revision: rev, Event: &registryv1.FactsEvent_SnapshotBegin{SnapshotBegin: true}}); err != nil {
		return err
	}
	for _, ev := range snap {
		if err := stream.Send(&registryv1.FactsEvent{Revision: rev, Event: &registryv1.FactsEvent_Change{Change: factChange(ev)}}); err != nil {
			return err
		}
	}
	if err := stream.Send(&registryv1.FactsEvent{Revision: rev, Event: &registryv1.FactsEvent_SnapshotEnd{SnapshotEnd: true}}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case evs, ok := <-ch:
			if !ok {
				return errSlowConsumer
			}
			rev := h.r.cache.Revision()
			for _, ev := range evs {
				if err := stream.Send(&registryv1.FactsEvent{Revision: rev, Event: &registryv1.FactsEvent_Change{Change: factChange(ev)}}); err != nil {
					return err
				}
			}
		}
	}
}

func factChange(ev pdp.FactEvent) *registryv1.FactChange {
	c := &registryv1.FactChange{Name: ev.Name, Deleted: ev.Delete}
	switch x := ev.Resource.(type) {
	case *registryv1.Person:
		c.Resource = &registryv1.FactChange_Person{Person: x}
	case *registryv1.Unit:
		c.Resource = &registryv1.FactChange_Unit{Unit: x}
	case *registryv1.Post:
		c.Resource = &registryv1.FactChange_Post{Post: x}
	case *registryv1.Assignment:
		c.Resource = &registryv1.FactChange_Assignment{Assignment: x}
	case *registryv1.ConflictDeclaration:
		c.Resource = &registryv1.FactChange_ConflictDeclaration{ConflictDeclaration: x}
	}
	return c
}
