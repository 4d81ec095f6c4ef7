package registry

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/diagram"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

const (
	stateDraft     = registryv1.PublicationState_PUBLICATION_STATE_DRAFT
	statePublished = registryv1.PublicationState_PUBLICATION_STATE_PUBLISHED
	stateRetired   = registryv1.PublicationState_PUBLICATION_STATE_RETIRED
)

func revisionName(name string, n int32) string { return fmt.Sprintf("%s/revisions/%d", name, n) }

func failed(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, store.ErrFailedPrecondition)...)
}

// planPublishPower returns the power as published and its new revision.
func (r *Registry) planPublishPower(ctx context.Context, v view, b *batch, p *registryv1.Power, note string) (*registryv1.Power, *registryv1.PowerRevision, error) {
	switch {
	case p.State == stateRetired:
		return nil, nil, failed("%s is retired", p.Name)
	case p.State == statePublished && !p.HasUnpublishedChanges:
		return nil, nil, fmt.Errorf("%s: revision %d is current: %w", p.Name, p.PublishedRevision, errNothingToPublish)
	}
	if err := r.validate(v, b, p, nil, ""); err != nil {
		return nil, nil, err
	}
	now := timestamppb.New(r.now())
	next := proto.Clone(p).(*registryv1.Power)
	next.State, next.PublishedRevision, next.HasUnpublishedChanges, next.UpdateTime = statePublished, p.PublishedRevision+1, false, now
	return next, r.powerRevision(ctx, next, note, now), nil
}

func (r *Registry) powerRevision(ctx context.Context, p *registryv1.Power, note string, now *timestamppb.Timestamp) *registryv1.PowerRevision {
	snap := proto.Clone(p).(*registryv1.Power)
	snap.Etag = ""
	n, _ := parseName(p.Name)
	return &registryv1.PowerRevision{
		Name:        revisionName(p.Name, p.PublishedRevision),
		RevisionId:  p.PublishedRevision,
		Power:       snap,
		PublishTime: now,
		PublishedBy: actor(ctx, n.org),
		Note:        note,
	}
}

// publish writes a new published revision of a power or flow, planned by plan from the
// stored working copy.
func (r *Registry) publish(ctx context.Context, name, etag string,
	plan func(v view, b *batch, cur proto.Message) (next, revision proto.Message, err error),
) (proto.Message, error) {
	var out proto.Message
	rev, err := r.mutate(ctx, func(v view, b *batch) error {
		cur, curRev, err := r.readForWrite(ctx, v, name, etag)
		if err != nil {
			return err
		}
		next, revision, err := plan(v, b, cur)
		if err != nil {
			return err
		}
		out = next
		if err := b.put(next, cur, curRev, etag != "", ""); err != nil {
			return err
		}
		return b.put(revision, nil, 0, false, "")
	})
	if err != nil {
		if errors.Is(err, errNothingToPublish) {
			return nil, apierr.New(codes.FailedPrecondition, "NOTHING_TO_PUBLISH", err.Error(), nil)
		}
		return nil, err
	}
	setMeta(out, name, store.FormatEtag(rev))
	return out, nil
}

// PublishPower publishes the working copy of a power as a new revision.
func (r *Registry) PublishPower(ctx context.Context, name, etag, note string) (*registryv1.Power, error) {
	out, err := r.publish(ctx, name, etag, func(v view, b *batch, cur proto.Message) (proto.Message, proto.Message, error) {
		return r.planPublishPower(ctx, v, b, cur.(*registryv1.Power), note)
	})
	if err != nil {
		return nil, err
	}
	return out.(*registryv1.Power), nil
}

// RetirePower retires a published power: it stays readable, with a final revision
// recording the retirement, and can no longer be changed or exercised.
func (r *Registry) RetirePower(ctx context.Context, name, etag, note string) (*registryv1.Power, error) {
	var out *registryv1.Power
	rev, err := r.mutate(ctx, func(v view, b *batch) error {
		cur, curRev, err := r.readForWrite(ctx, v, name, etag)
		if err != nil {
			return err
		}
		p := cur.(*registryv1.Power)
		switch p.State {
		case stateRetired:
			return failed("%s is already retired", name)
		case stateDraft:
			return failed("%s was never published: delete the draft instead", name)
		}
		now := timestamppb.New(r.now())
		next := proto.Clone(p).(*registryv1.Power)
		next.State, next.PublishedRevision, next.UpdateTime = stateRetired, p.PublishedRevision+1, now
		// The retirement revision records the last published content, not unpublished edits.
		if last, _, ok := v.get(revisionName(name, p.PublishedRevision)); ok {
			snap := proto.Clone(last.(*registryv1.PowerRevision).Power).(*registryv1.Power)
			snap.State, snap.PublishedRevision = stateRetired, next.PublishedRevision
			next.HasUnpublishedChanges = !sameContent(next, snap)
			revision := r.powerRevision(ctx, snap, note, now)
			revision.Power.Name = name
			if err := b.put(revision, nil, 0, false, ""); err != nil {
				return err
			}
		}
		out = next
		return b.put(next, cur, curRev, etag != "", "")
	})
	if err != nil {
		return nil, err
	}
	setMeta(out, name, store.FormatEtag(rev))
	return out, nil
}

// planPublishFlow returns the flow as published and its new revision. The power must be
// published (and not retired) in the same view.
func (r *Registry) planPublishFlow(ctx context.Context, v view, b *batch, f *registryv1.Flow, note string) (*registryv1.Flow, *registryv1.FlowRevision, error) {
	n, _ := parseName(f.Name)
	powerName := childName(n.org, collPowers, n.ids[0])
	pm, powerRev, ok := v.get(powerName)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w", powerName, store.ErrNotFound)
	}
	power := pm.(*registryv1.Power)
	switch {
	case power.State == stateRetired:
		return nil, nil, failed("%s is retired", powerName)
	case power.State != statePublished:
		return nil, nil, failed("publish %s before its flows", powerName)
	case f.State == statePublished && !f.HasUnpublishedChanges:
		return nil, nil, fmt.Errorf("%s: revision %d is current: %w", f.Name, f.PublishedRevision, errNothingToPublish)
	}
	if powerRev > 0 {
		b.expectRead(powerName, powerRev)
	}
	if err := r.validate(v, b, f, nil, ""); err != nil {
		return nil, nil, err
	}
	now := timestamppb.New(r.now())
	next := proto.Clone(f).(*registryv1.Flow)
	next.State, next.PublishedRevision, next.HasUnpublishedChanges, next.UpdateTime = statePublished, f.PublishedRevision+1, false, now
	snap := proto.Clone(next).(*registryv1.Flow)
	snap.Etag = ""
	return next, &registryv1.FlowRevision{
		Name:          revisionName(f.Name, next.PublishedRevision),
		RevisionId:    next.PublishedRevision,
		Flow:          snap,
		PowerRevision: power.PublishedRevision,
		PublishTime:   now,
		PublishedBy:   actor(ctx, n.org),
		Note:          note,
	}, nil
}

// PublishFlow publishes the working copy of a flow as a new revision.
func (r *Registry) PublishFlow(ctx context.Context, name, etag, note string) (*registryv1.Flow, error) {
	out, err := r.publish(ctx, name, etag, func(v view, b *batch, cur proto.Message) (proto.Message, proto.Message, error) {
		return r.planPublishFlow(ctx, v, b, cur.(*registryv1.Flow), note)
	})
	if err != nil {
		return nil, err
	}
	return out.(*registryv1.Flow), nil
}

// refuseIfPublished keeps published powers and flows: their history must stay readable.
func refuseIfPublished(cur proto.Message) error {
	switch x := cur.(type) {
	case *registryv1.Power:
		if x.PublishedRevision > 0 {
			return failed("%s has been published: retire it instead of deleting it", x.Name)
		}
	case *registryv1.Flow:
		if x.PublishedRevision > 0 {
			return failed("%s has been published: its revisions are kept", x.Name)
		}
	}
	return nil
}

// DeleteOrg deletes an org that holds no resources any more.
func (r *Registry) DeleteOrg(ctx context.Context, name, etag string) error {
	n, err := parseName(name)
	if err != nil {
		return err
	}
	_, err = r.mutate(ctx, func(v view, b *batch) error {
		_, rev, err := r.readForWrite(ctx, v, name, etag)
		if err != nil {
			return err
		}
		for _, coll := range []string{collUnits, collPosts, collPeople, collAssignments, collConflicts, collPowers, collFlows} {
			b.txn.ExpectNone(r.store.Keys.CollectionPrefix(n.org, coll), fmt.Sprintf("%s is not empty (%s)", name, coll))
		}
		key := r.key(n)
		if etag != "" {
			b.txn.ExpectEtag(key, rev, name)
		} else {
			b.txn.ExpectRevision(key, rev, name)
		}
		b.txn.Delete(key)
		b.txn.DeletePrefix(r.store.Keys.OrgPrefix(n.org)) // bookkeeping left behind (guards)
		return nil
	})
	return err
}

// RenderFlow draws a flow (its working copy, or a published revision).
func (r *Registry) RenderFlow(ctx context.Context, req *registryv1.RenderFlowDiagramRequest) (*httpbody.HttpBody, error) {
	var f *registryv1.Flow
	if req.RevisionId > 0 {
		rv, err := getAs[*registryv1.FlowRevision](ctx, r, revisionName(req.Name, req.RevisionId))
		if err != nil {
			return nil, err
		}
		f = rv.Flow
	} else {
		var err error
		if f, err = getAs[*registryv1.Flow](ctx, r, req.Name); err != nil {
			return nil, err
		}
	}
	return r.render(f, req.Format, req.Variant, false)
}

func (r *Registry) render(f *registryv1.Flow, format registryv1.DiagramFormat, variant registryv1.FlowVariant, public bool) (*httpbody.HttpBody, error) {
	opts := diagram.Options{Public: public, Title: f.DisplayName, Names: r.displayName}
	if variant == registryv1.FlowVariant_FLOW_VARIANT_EMERGENCY {
		if f.Emergency == nil {
			return nil, apierr.Field("variant", f.Name+" has no emergency variant (绿色通道)", f.Name+" 未设置应急流程（绿色通道）")
		}
		opts.Variant = diagram.Emergency
	}
	if format == registryv1.DiagramFormat_DIAGRAM_FORMAT_MERMAID {
		text, err := diagram.Mermaid(f, opts)
		if err != nil {
			return nil, apierr.Field("name", "the flow cannot be drawn: "+err.Error(), "流程无法绘制："+err.Error())
		}
		return &httpbody.HttpBody{ContentType: "text/vnd.mermaid; charset=utf-8", Data: []byte(text)}, nil
	}
	svg, err := diagram.SVG(f, opts)
	if err != nil {
		return nil, apierr.Field("name", "the flow cannot be drawn: "+err.Error(), "流程无法绘制："+err.Error())
	}
	return &httpbody.HttpBody{ContentType: "image/svg+xml", Data: svg}, nil
}

// displayName resolves a post or unit name to its display name ("" if unknown).
func (r *Registry) displayName(name string) string {
	m, _, ok := cacheView{r}.get(name)
	if !ok {
		return ""
	}
	switch x := m.(type) {
	case *registryv1.Post:
		return x.DisplayName
	case *registryv1.Unit:
		return x.DisplayName
	}
	return ""
}
