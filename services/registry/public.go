package registry

import (
	"context"
	"fmt"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/store"
)

// The public catalogue (晒权) is built only from published revisions of public powers and
// their external flows. The working copy, drafts, internal flows, posts, people,
// separations and conditions never reach it; a power that is not public is "not found".

// publishedPublic returns the latest published revision of a power if the public may see
// it: published (not retired), and public in that revision.
func (r *Registry) publishedPublic(p *registryv1.Power) (*registryv1.PowerRevision, bool) {
	if p.State != statePublished || p.PublishedRevision == 0 {
		return nil, false
	}
	m, _, ok := cacheView{r}.get(revisionName(p.Name, p.PublishedRevision))
	if !ok {
		return nil, false
	}
	rv := m.(*registryv1.PowerRevision)
	return rv, rv.Power.Public
}

// ListPublicPowers lists an org's public powers.
func (r *Registry) ListPublicPowers(ctx context.Context, req *registryv1.ListPublicPowersRequest) (*registryv1.ListPublicPowersResponse, error) {
	n, err := parseName(req.Parent)
	if err != nil {
		return nil, err
	}
	q := listQuery{
		prefix:      r.store.Keys.CollectionPrefix(n.org, collPowers),
		pageSize:    req.PageSize,
		pageToken:   req.PageToken,
		fingerprint: fmt.Sprint("public", req.Parent, req.Category),
	}
	if req.Category != registryv1.PowerCategory_POWER_CATEGORY_UNSPECIFIED {
		q.index, q.value = idxPowerCategory, categoryKey(n.org, req.Category)
	}
	powers, next, err := listAs(ctx, r, q, func(p *registryv1.Power) bool {
		_, ok := r.publishedPublic(p)
		return ok
	})
	if err != nil {
		return nil, err
	}
	out := &registryv1.ListPublicPowersResponse{NextPageToken: next}
	for _, p := range powers {
		rv, _ := r.publishedPublic(p)
		out.Powers = append(out.Powers, r.publicPower(rv))
	}
	return out, nil
}

// GetPublicPower returns one public power.
func (r *Registry) GetPublicPower(_ context.Context, name string) (*registryv1.PublicPower, error) {
	m, _, ok := cacheView{r}.get(name)
	p, isPower := m.(*registryv1.Power)
	if !ok || !isPower {
		return nil, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	rv, ok := r.publishedPublic(p)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	return r.publicPower(rv), nil
}

func (r *Registry) publicPower(rv *registryv1.PowerRevision) *registryv1.PublicPower {
	p := rv.Power
	out := &registryv1.PublicPower{
		Name:                p.Name,
		Code:                p.Code,
		DisplayName:         p.DisplayName,
		Category:            p.Category,
		Content:             p.Content,
		ActingUnit:          r.displayName(p.ActingUnit),
		LegalBasis:          p.LegalBasis,
		DiscretionBenchmark: p.DiscretionBenchmark,
		RevisionId:          rv.RevisionId,
		PublishTime:         rv.PublishTime,
	}
	n, _ := parseName(p.Name)
	r.cache.Ascend(r.store.Keys.Key(n.org, collFlows, n.ids[0])+"/", "", func(it *informer.Item) bool {
		f, ok := it.Obj.(*registryv1.Flow)
		if !ok {
			return true
		}
		if frv, ok := r.publicFlowRevision(f); ok {
			out.Flows = append(out.Flows, r.publicFlow(frv))
		}
		return true
	})
	return out
}

// publicFlowRevision returns the latest published revision of an external flow.
func (r *Registry) publicFlowRevision(f *registryv1.Flow) (*registryv1.FlowRevision, bool) {
	if f.PublishedRevision == 0 {
		return nil, false
	}
	m, _, ok := cacheView{r}.get(revisionName(f.Name, f.PublishedRevision))
	if !ok {
		return nil, false
	}
	rv := m.(*registryv1.FlowRevision)
	return rv, rv.Flow.Kind == registryv1.FlowKind_FLOW_KIND_EXTERNAL
}

func (r *Registry) publicFlow(rv *registryv1.FlowRevision) *registryv1.PublicFlow {
	f := rv.Flow
	out := &registryv1.PublicFlow{Name: f.Name, DisplayName: f.DisplayName, Description: f.Description, RevisionId: rv.RevisionId}
	steps := map[string]*registryv1.FlowStep{}
	for _, s := range f.Steps {
		steps[s.Id] = s
	}
	for _, id := range flowgraph.DefaultPath(f) {
		s, ok := steps[id]
		if !ok {
			continue
		}
		out.Steps = append(out.Steps, &registryv1.PublicStep{
			Id:            s.Id,
			DisplayName:   s.DisplayName,
			ActingUnit:    r.displayName(r.stepUnit(s)),
			TimeLimitDays: s.TimeLimitDays,
			Materials:     s.Materials,
			Standard:      s.Standard,
			Supervision:   s.Supervision,
		})
	}
	return out
}

// stepUnit is the unit that acts at a step: the step's unit, or its post's.
func (r *Registry) stepUnit(s *registryv1.FlowStep) string {
	if s.Unit != "" {
		return s.Unit
	}
	if post := s.GetPost(); post != "" {
		if m, _, ok := (cacheView{r}).get(post); ok {
			return m.(*registryv1.Post).Unit
		}
	}
	return ""
}

// RenderPublicFlow draws a public external flow without anything internal.
func (r *Registry) RenderPublicFlow(ctx context.Context, req *registryv1.RenderPublicFlowDiagramRequest) (*httpbody.HttpBody, error) {
	n, err := parseName(req.Name)
	if err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("%s: %w", req.Name, store.ErrNotFound)
	if _, err := r.GetPublicPower(ctx, childName(n.org, collPowers, n.ids[0])); err != nil {
		return nil, notFound
	}
	m, _, ok := cacheView{r}.get(req.Name)
	f, isFlow := m.(*registryv1.Flow)
	if !ok || !isFlow {
		return nil, notFound
	}
	rv, ok := r.publicFlowRevision(f)
	if !ok {
		return nil, notFound
	}
	return r.render(proto.Clone(rv.Flow).(*registryv1.Flow), req.Format, registryv1.FlowVariant_FLOW_VARIANT_NORMAL, true)
}
