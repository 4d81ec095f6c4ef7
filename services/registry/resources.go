package registry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/fieldmask"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/services/shared/validate"
)

// Registry is the registry's domain: the org structure and the catalogue, kept in etcd and
// served from a watch-fed cache.
type Registry struct {
	store *store.Store
	cache *informer.Cache
	feed  *factFeed
	log   *slog.Logger
	now   func() time.Time
}

// Output-only fields: never taken from a request.
var (
	outputOnly            = []string{"name", "etag", "create_time", "update_time"}
	publicationOutputOnly = append(slices.Clone(outputOnly), "state", "published_revision", "has_unpublished_changes")
)

func outputOnlyOf(m proto.Message) []string {
	switch m.(type) {
	case *registryv1.Power, *registryv1.Flow:
		return publicationOutputOnly
	}
	return outputOnly
}

// content is m without its output-only fields: what a user wrote.
func content(m proto.Message) proto.Message {
	c := proto.Clone(m)
	rm := c.ProtoReflect()
	for _, f := range outputOnlyOf(m) {
		if fd := rm.Descriptor().Fields().ByName(protoreflect.Name(f)); fd != nil {
			rm.Clear(fd)
		}
	}
	return c
}

func sameContent(a, b proto.Message) bool { return proto.Equal(content(a), content(b)) }

// actor names the caller in org for history fields (published_by).
func actor(ctx context.Context, org string) string {
	p := auth.FromContext(ctx)
	if name := p.PersonName(org); name != "" {
		return name
	}
	if p != nil {
		return "sub:" + p.Subject
	}
	return ""
}

// fresh waits until the cache holds every write this process made.
func (r *Registry) fresh(ctx context.Context) error {
	return r.cache.WaitFor(ctx, r.store.LastWrite())
}

// create stores m, a new resource whose name is set. field is its request field.
func (r *Registry) create(ctx context.Context, m proto.Message, field string) (proto.Message, error) {
	now := timestamppb.New(r.now())
	setTimes(m, now, now)
	initPublication(m)
	rev, err := r.mutate(ctx, func(v view, b *batch) error {
		if err := r.validate(v, b, m, nil, field+"."); err != nil {
			return err
		}
		return b.put(m, nil, 0, false, field+".")
	})
	if err != nil {
		return nil, err
	}
	setMeta(m, nameOf(m), store.FormatEtag(rev))
	return m, nil
}

func initPublication(m proto.Message) {
	switch x := m.(type) {
	case *registryv1.Power:
		x.State, x.PublishedRevision, x.HasUnpublishedChanges = registryv1.PublicationState_PUBLICATION_STATE_DRAFT, 0, false
	case *registryv1.Flow:
		x.State, x.PublishedRevision, x.HasUnpublishedChanges = registryv1.PublicationState_PUBLICATION_STATE_DRAFT, 0, false
	}
}

// getAs returns a resource from the cache (after this process's own writes).
func getAs[T proto.Message](ctx context.Context, r *Registry, name string) (T, error) {
	var zero T
	if err := r.fresh(ctx); err != nil {
		return zero, err
	}
	m, _, ok := cacheView{r}.get(name)
	t, isT := m.(T)
	if !ok || !isT {
		return zero, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	return t, nil
}

// update applies the fields of in named by mask to the stored resource. An update that
// changes nothing writes nothing and returns the stored resource.
func (r *Registry) update(ctx context.Context, in proto.Message, mask *fieldmaskpb.FieldMask, field string) (proto.Message, error) {
	name := nameOf(in)
	etag := in.ProtoReflect().Get(in.ProtoReflect().Descriptor().Fields().ByName("etag")).String()
	var out proto.Message
	rev, err := r.mutate(ctx, func(v view, b *batch) error {
		cur, curRev, err := r.readForWrite(ctx, v, name, etag)
		if err != nil {
			return err
		}
		next := proto.Clone(cur)
		if err := fieldmask.Apply(next, in, mask, outputOnlyOf(in)...); err != nil {
			return err
		}
		if sameContent(next, cur) {
			out = cur
			return nil
		}
		if err := validate.Message(next, field+"."); err != nil {
			return err // the merged resource, after a partial update
		}
		setTimes(next, nil, timestamppb.New(r.now()))
		r.markUnpublished(v, next)
		if err := r.validate(v, b, next, cur, field+"."); err != nil {
			return err
		}
		out = next
		return b.put(next, cur, curRev, etag != "", field+".")
	})
	if err != nil {
		return nil, err
	}
	if rev > 0 {
		setMeta(out, name, store.FormatEtag(rev))
	}
	return out, nil
}

// markUnpublished sets has_unpublished_changes on a power or flow that has been published:
// true while its working copy differs from its latest published revision.
func (r *Registry) markUnpublished(v view, m proto.Message) {
	switch x := m.(type) {
	case *registryv1.Power:
		if x.PublishedRevision > 0 {
			rv, _, ok := v.get(fmt.Sprintf("%s/revisions/%d", x.Name, x.PublishedRevision))
			x.HasUnpublishedChanges = !ok || !sameContent(x, rv.(*registryv1.PowerRevision).Power)
		}
	case *registryv1.Flow:
		if x.PublishedRevision > 0 {
			rv, _, ok := v.get(fmt.Sprintf("%s/revisions/%d", x.Name, x.PublishedRevision))
			x.HasUnpublishedChanges = !ok || !sameContent(x, rv.(*registryv1.FlowRevision).Flow)
		}
	}
}

// remove deletes a resource nothing refers to. check may refuse it for its state.
func (r *Registry) remove(ctx context.Context, name, etag string, check func(cur proto.Message) error) error {
	_, err := r.mutate(ctx, func(v view, b *batch) error {
		cur, rev, err := r.readForWrite(ctx, v, name, etag)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(cur); err != nil {
				return err
			}
		}
		return b.del(cur, rev, etag != "")
	})
	return err
}

// listQuery pages over one collection prefix of the cache, through an index if given.
type listQuery struct {
	prefix       string
	index, value string // optional secondary index
	pageSize     int32
	pageToken    string
	// fingerprint identifies the query (parent and filters) so a token is only valid for
	// the query that issued it.
	fingerprint string
	descending  bool
}

// listAs returns one page of T matching keep, and the next page token.
func listAs[T proto.Message](ctx context.Context, r *Registry, q listQuery, keep func(T) bool) ([]T, string, error) {
	after, err := page.Decode(q.pageToken, q.prefix, q.fingerprint)
	if err != nil {
		return nil, "", err
	}
	if err := r.fresh(ctx); err != nil {
		return nil, "", err
	}
	size := page.Size(q.pageSize)
	out := make([]T, 0, min(size, 64))
	var last string
	more := false
	visit := func(it *informer.Item) bool {
		t, ok := it.Obj.(T)
		if !ok || (keep != nil && !keep(t)) {
			return true
		}
		if len(out) == size {
			more = true
			return false
		}
		out = append(out, t)
		last = it.Key
		return true
	}
	switch {
	case q.index != "":
		r.cache.AscendIndex(q.index, q.value, q.prefix, after, visit)
	case q.descending:
		r.cache.Descend(q.prefix, after, visit)
	default:
		r.cache.Ascend(q.prefix, after, visit)
	}
	next := ""
	if more {
		next = page.Encode(q.prefix, last, q.fingerprint)
	}
	return out, next, nil
}
