package registry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
	"github.com/fenquan/fenquan/services/shared/store"
)

// handler implements the registry's gRPC services. Each method checks what the proto
// rules cannot express, calls the domain, and maps the error; access (org scope and
// permission) was already decided by the server's interceptor from the method's rule.
type handler struct {
	registryv1.UnimplementedOrgServiceServer
	registryv1.UnimplementedCatalogServiceServer
	registryv1.UnimplementedPublicCatalogServiceServer
	registryv1.UnimplementedFactsServiceServer
	r   *Registry
	log *slog.Logger
}

type fieldMask = *fieldmaskpb.FieldMask

var errSlowConsumer = apierr.New(codes.ResourceExhausted, "SLOW_CONSUMER", "the client fell behind the facts stream: reconnect for a new snapshot", nil)

// status maps a domain error to a gRPC status, logging what it hides.
func (h *handler) status(ctx context.Context, err error) error {
	return apierr.Reply(ctx, h.log, err)
}

func created[T proto.Message](h *handler, ctx context.Context, m T, name, field string) (T, error) {
	setMeta(m, name, "")
	out, err := h.r.create(ctx, m, field)
	if err != nil {
		var zero T
		return zero, h.status(ctx, err)
	}
	return out.(T), nil
}

func updated[T proto.Message](h *handler, ctx context.Context, m T, mask fieldMask, field string) (T, error) {
	out, err := h.r.update(ctx, m, mask, field)
	if err != nil {
		var zero T
		return zero, h.status(ctx, err)
	}
	return out.(T), nil
}

func got[T proto.Message](h *handler, ctx context.Context, name string) (T, error) {
	out, err := getAs[T](ctx, h.r, name)
	return out, h.status(ctx, err)
}

func (h *handler) deleted(ctx context.Context, name, etag string, check func(proto.Message) error) (*emptypb.Empty, error) {
	if err := h.r.remove(ctx, name, etag, check); err != nil {
		return nil, h.status(ctx, err)
	}
	return &emptypb.Empty{}, nil
}

// list pages one collection of the parent org.
func list[T proto.Message](h *handler, ctx context.Context, parent, coll string, q listQuery, keep func(T) bool) ([]T, string, error) {
	n, err := parseName(parent)
	if err != nil {
		return nil, "", h.status(ctx, apierr.Field("parent", err.Error(), "上级资源名无效"))
	}
	if q.prefix == "" {
		q.prefix = h.r.store.Keys.CollectionPrefix(n.org, coll)
	}
	items, next, err := listAs(ctx, h.r, q, keep)
	return items, next, h.status(ctx, err)
}

// --- Orgs ---

func (h *handler) CreateOrg(ctx context.Context, req *registryv1.CreateOrgRequest) (*registryv1.Org, error) {
	return created(h, ctx, req.Org, orgName(req.OrgId), "org")
}

func (h *handler) GetOrg(ctx context.Context, req *registryv1.GetOrgRequest) (*registryv1.Org, error) {
	return got[*registryv1.Org](h, ctx, req.Name)
}

func (h *handler) ListOrgs(ctx context.Context, req *registryv1.ListOrgsRequest) (*registryv1.ListOrgsResponse, error) {
	p := auth.FromContext(ctx)
	all := p.HasPlatformRole("platform-admin")
	orgs, next, err := listAs(ctx, h.r, listQuery{
		prefix: h.r.store.Keys.CollectionPrefix(store.PlatformOrg, collOrgs), pageSize: req.PageSize,
		pageToken: req.PageToken, fingerprint: "orgs",
	}, func(o *registryv1.Org) bool {
		_, granted := p.Grant(strings.TrimPrefix(o.Name, "orgs/"))
		return all || granted
	})
	if err != nil {
		return nil, h.status(ctx, err)
	}
	return &registryv1.ListOrgsResponse{Orgs: orgs, NextPageToken: next}, nil
}

func (h *handler) UpdateOrg(ctx context.Context, req *registryv1.UpdateOrgRequest) (*registryv1.Org, error) {
	return updated(h, ctx, req.Org, req.UpdateMask, "org")
}

func (h *handler) DeleteOrg(ctx context.Context, req *registryv1.DeleteOrgRequest) (*emptypb.Empty, error) {
	// Deleting needs the platform permission (checked by the rule) and the org granted.
	org, _ := authz.OrgOf(req.Name)
	if _, ok := auth.FromContext(ctx).Grant(org); !ok {
		return nil, authz.NotFound(req.Name)
	}
	if err := h.r.DeleteOrg(ctx, req.Name, req.Etag); err != nil {
		return nil, h.status(ctx, err)
	}
	return &emptypb.Empty{}, nil
}

// --- Units ---

func (h *handler) CreateUnit(ctx context.Context, req *registryv1.CreateUnitRequest) (*registryv1.Unit, error) {
	return created(h, ctx, req.Unit, req.Parent+"/units/"+req.UnitId, "unit")
}

func (h *handler) GetUnit(ctx context.Context, req *registryv1.GetUnitRequest) (*registryv1.Unit, error) {
	return got[*registryv1.Unit](h, ctx, req.Name)
}

func (h *handler) ListUnits(ctx context.Context, req *registryv1.ListUnitsRequest) (*registryv1.ListUnitsResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.ParentUnit, req.Kind)}
	if req.ParentUnit != "" {
		q.index, q.value = idxUnitParent, req.ParentUnit
	}
	units, next, err := list(h, ctx, req.Parent, collUnits, q, func(u *registryv1.Unit) bool {
		return req.Kind == 0 || u.Kind == req.Kind
	})
	if err != nil {
		return nil, err
	}
	return &registryv1.ListUnitsResponse{Units: units, NextPageToken: next}, nil
}

func (h *handler) UpdateUnit(ctx context.Context, req *registryv1.UpdateUnitRequest) (*registryv1.Unit, error) {
	return updated(h, ctx, req.Unit, req.UpdateMask, "unit")
}

func (h *handler) DeleteUnit(ctx context.Context, req *registryv1.DeleteUnitRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, nil)
}

// --- Posts ---

func (h *handler) CreatePost(ctx context.Context, req *registryv1.CreatePostRequest) (*registryv1.Post, error) {
	return created(h, ctx, req.Post, req.Parent+"/posts/"+req.PostId, "post")
}

func (h *handler) GetPost(ctx context.Context, req *registryv1.GetPostRequest) (*registryv1.Post, error) {
	return got[*registryv1.Post](h, ctx, req.Name)
}

func (h *handler) ListPosts(ctx context.Context, req *registryv1.ListPostsRequest) (*registryv1.ListPostsResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.Unit, req.Rank, req.KeyPostsOnly)}
	if req.Unit != "" {
		q.index, q.value = idxPostUnit, req.Unit
	}
	posts, next, err := list(h, ctx, req.Parent, collPosts, q, func(p *registryv1.Post) bool {
		return (req.Rank == 0 || p.Rank == req.Rank) && (!req.KeyPostsOnly || p.KeyPost)
	})
	if err != nil {
		return nil, err
	}
	return &registryv1.ListPostsResponse{Posts: posts, NextPageToken: next}, nil
}

func (h *handler) UpdatePost(ctx context.Context, req *registryv1.UpdatePostRequest) (*registryv1.Post, error) {
	return updated(h, ctx, req.Post, req.UpdateMask, "post")
}

func (h *handler) DeletePost(ctx context.Context, req *registryv1.DeletePostRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, nil)
}

// --- People ---

func (h *handler) CreatePerson(ctx context.Context, req *registryv1.CreatePersonRequest) (*registryv1.Person, error) {
	return created(h, ctx, req.Person, req.Parent+"/people/"+req.PersonId, "person")
}

func (h *handler) GetPerson(ctx context.Context, req *registryv1.GetPersonRequest) (*registryv1.Person, error) {
	return got[*registryv1.Person](h, ctx, req.Name)
}

func (h *handler) ListPeople(ctx context.Context, req *registryv1.ListPeopleRequest) (*registryv1.ListPeopleResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.Unit)}
	if req.Unit != "" {
		q.index, q.value = idxPersonUnit, req.Unit
	}
	people, next, err := list[*registryv1.Person](h, ctx, req.Parent, collPeople, q, nil)
	if err != nil {
		return nil, err
	}
	return &registryv1.ListPeopleResponse{People: people, NextPageToken: next}, nil
}

func (h *handler) UpdatePerson(ctx context.Context, req *registryv1.UpdatePersonRequest) (*registryv1.Person, error) {
	return updated(h, ctx, req.Person, req.UpdateMask, "person")
}

func (h *handler) DeletePerson(ctx context.Context, req *registryv1.DeletePersonRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, nil)
}

// --- Assignments ---

func (h *handler) CreateAssignment(ctx context.Context, req *registryv1.CreateAssignmentRequest) (*registryv1.Assignment, error) {
	return created(h, ctx, req.Assignment, req.Parent+"/assignments/"+req.AssignmentId, "assignment")
}

func (h *handler) GetAssignment(ctx context.Context, req *registryv1.GetAssignmentRequest) (*registryv1.Assignment, error) {
	return got[*registryv1.Assignment](h, ctx, req.Name)
}

func (h *handler) ListAssignments(ctx context.Context, req *registryv1.ListAssignmentsRequest) (*registryv1.ListAssignmentsResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.Person, req.Post, req.OnDate)}
	switch {
	case req.Person != "":
		q.index, q.value = idxAssignmentPers, req.Person
	case req.Post != "":
		q.index, q.value = idxAssignmentPost, req.Post
	}
	as, next, err := list(h, ctx, req.Parent, collAssignments, q, func(a *registryv1.Assignment) bool {
		if req.Post != "" && a.Post != req.Post {
			return false
		}
		return req.OnDate == "" || (a.StartDate <= req.OnDate && (a.EndDate == "" || req.OnDate <= a.EndDate))
	})
	if err != nil {
		return nil, err
	}
	return &registryv1.ListAssignmentsResponse{Assignments: as, NextPageToken: next}, nil
}

func (h *handler) UpdateAssignment(ctx context.Context, req *registryv1.UpdateAssignmentRequest) (*registryv1.Assignment, error) {
	return updated(h, ctx, req.Assignment, req.UpdateMask, "assignment")
}

func (h *handler) DeleteAssignment(ctx context.Context, req *registryv1.DeleteAssignmentRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, nil)
}

// --- Conflict declarations ---

func (h *handler) CreateConflictDeclaration(ctx context.Context, req *registryv1.CreateConflictDeclarationRequest) (*registryv1.ConflictDeclaration, error) {
	return created(h, ctx, req.ConflictDeclaration, req.Parent+"/conflictDeclarations/"+req.ConflictDeclarationId, "conflict_declaration")
}

func (h *handler) GetConflictDeclaration(ctx context.Context, req *registryv1.GetConflictDeclarationRequest) (*registryv1.ConflictDeclaration, error) {
	return got[*registryv1.ConflictDeclaration](h, ctx, req.Name)
}

func (h *handler) ListConflictDeclarations(ctx context.Context, req *registryv1.ListConflictDeclarationsRequest) (*registryv1.ListConflictDeclarationsResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.Person)}
	if req.Person != "" {
		q.index, q.value = idxConflictPerson, req.Person
	}
	ds, next, err := list[*registryv1.ConflictDeclaration](h, ctx, req.Parent, collConflicts, q, nil)
	if err != nil {
		return nil, err
	}
	return &registryv1.ListConflictDeclarationsResponse{ConflictDeclarations: ds, NextPageToken: next}, nil
}

func (h *handler) UpdateConflictDeclaration(ctx context.Context, req *registryv1.UpdateConflictDeclarationRequest) (*registryv1.ConflictDeclaration, error) {
	return updated(h, ctx, req.ConflictDeclaration, req.UpdateMask, "conflict_declaration")
}

func (h *handler) DeleteConflictDeclaration(ctx context.Context, req *registryv1.DeleteConflictDeclarationRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, nil)
}

// --- Powers ---

func (h *handler) CreatePower(ctx context.Context, req *registryv1.CreatePowerRequest) (*registryv1.Power, error) {
	return created(h, ctx, req.Power, req.Parent+"/powers/"+req.PowerId, "power")
}

func (h *handler) GetPower(ctx context.Context, req *registryv1.GetPowerRequest) (*registryv1.Power, error) {
	return got[*registryv1.Power](h, ctx, req.Name)
}

func (h *handler) ListPowers(ctx context.Context, req *registryv1.ListPowersRequest) (*registryv1.ListPowersResponse, error) {
	q := listQuery{pageSize: req.PageSize, pageToken: req.PageToken,
		fingerprint: fmt.Sprint(req.Parent, req.Category, req.State, req.ActingUnit, req.Query)}
	org, _ := authz.OrgOf(req.Parent)
	switch {
	case req.ActingUnit != "":
		q.index, q.value = idxPowerUnit, req.ActingUnit
	case req.Category != 0:
		q.index, q.value = idxPowerCategory, categoryKey(org, req.Category)
	}
	query := strings.ToLower(req.Query)
	powers, next, err := list(h, ctx, req.Parent, collPowers, q, func(p *registryv1.Power) bool {
		return (req.Category == 0 || p.Category == req.Category) &&
			(req.State == 0 || p.State == req.State) &&
			(query == "" || strings.Contains(strings.ToLower(p.Code), query) || strings.Contains(strings.ToLower(p.DisplayName), query))
	})
	if err != nil {
		return nil, err
	}
	if req.View != registryv1.PowerView_POWER_VIEW_FULL {
		slab := make([]registryv1.Power, len(powers)) // one allocation for the page
		for i, p := range powers {
			powers[i] = basicPower(p, &slab[i])
		}
	}
	return &registryv1.ListPowersResponse{Powers: powers, NextPageToken: next}, nil
}

func (h *handler) UpdatePower(ctx context.Context, req *registryv1.UpdatePowerRequest) (*registryv1.Power, error) {
	return updated(h, ctx, req.Power, req.UpdateMask, "power")
}

func (h *handler) DeletePower(ctx context.Context, req *registryv1.DeletePowerRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, refuseIfPublished)
}

func (h *handler) PublishPower(ctx context.Context, req *registryv1.PublishPowerRequest) (*registryv1.Power, error) {
	p, err := h.r.PublishPower(ctx, req.Name, req.Etag, req.Note)
	return p, h.status(ctx, err)
}

func (h *handler) RetirePower(ctx context.Context, req *registryv1.RetirePowerRequest) (*registryv1.Power, error) {
	p, err := h.r.RetirePower(ctx, req.Name, req.Etag, req.Note)
	return p, h.status(ctx, err)
}

func (h *handler) GetPowerRevision(ctx context.Context, req *registryv1.GetPowerRevisionRequest) (*registryv1.PowerRevision, error) {
	return got[*registryv1.PowerRevision](h, ctx, req.Name)
}

func (h *handler) ListPowerRevisions(ctx context.Context, req *registryv1.ListPowerRevisionsRequest) (*registryv1.ListPowerRevisionsResponse, error) {
	n, _ := parseName(req.Name)
	revs, next, err := list[*registryv1.PowerRevision](h, ctx, req.Name, "", listQuery{
		prefix:   h.r.store.Keys.Key(n.org, collPowerRevisions, n.ids[0]) + "/",
		pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: req.Name, descending: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	return &registryv1.ListPowerRevisionsResponse{Revisions: revs, NextPageToken: next}, nil
}

// basicPower fills out, a fresh message, with the BASIC view of a cached power (sharing
// its immutable fields).
func basicPower(p, out *registryv1.Power) *registryv1.Power {
	out.Name, out.Code, out.DisplayName, out.Category, out.ActingUnit = p.Name, p.Code, p.DisplayName, p.Category, p.ActingUnit
	out.Public, out.State, out.PublishedRevision, out.HasUnpublishedChanges = p.Public, p.State, p.PublishedRevision, p.HasUnpublishedChanges
	out.Etag, out.CreateTime, out.UpdateTime = p.Etag, p.CreateTime, p.UpdateTime
	return out
}

// basicFlow fills out with the BASIC view of a cached flow: no graph.
func basicFlow(f, out *registryv1.Flow) *registryv1.Flow {
	out.Name, out.DisplayName, out.Kind, out.Description = f.Name, f.DisplayName, f.Kind, f.Description
	out.State, out.PublishedRevision, out.HasUnpublishedChanges = f.State, f.PublishedRevision, f.HasUnpublishedChanges
	out.Etag, out.CreateTime, out.UpdateTime = f.Etag, f.CreateTime, f.UpdateTime
	return out
}

// --- Flows ---

func (h *handler) CreateFlow(ctx context.Context, req *registryv1.CreateFlowRequest) (*registryv1.Flow, error) {
	return created(h, ctx, req.Flow, req.Parent+"/flows/"+req.FlowId, "flow")
}

func (h *handler) GetFlow(ctx context.Context, req *registryv1.GetFlowRequest) (*registryv1.Flow, error) {
	return got[*registryv1.Flow](h, ctx, req.Name)
}

func (h *handler) ListFlows(ctx context.Context, req *registryv1.ListFlowsRequest) (*registryv1.ListFlowsResponse, error) {
	org, _ := authz.OrgOf(req.Parent)
	power := req.Parent[strings.LastIndex(req.Parent, "/")+1:]
	prefix := h.r.store.Keys.CollectionPrefix(org, collFlows)
	if power != "-" {
		prefix = h.r.store.Keys.Key(org, collFlows, power) + "/"
	}
	flows, next, err := list(h, ctx, orgName(org), collFlows, listQuery{
		prefix: prefix, pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: fmt.Sprint(req.Parent, req.Kind),
	}, func(f *registryv1.Flow) bool { return req.Kind == 0 || f.Kind == req.Kind })
	if err != nil {
		return nil, err
	}
	if req.View != registryv1.FlowView_FLOW_VIEW_FULL {
		slab := make([]registryv1.Flow, len(flows))
		for i, f := range flows {
			flows[i] = basicFlow(f, &slab[i])
		}
	}
	return &registryv1.ListFlowsResponse{Flows: flows, NextPageToken: next}, nil
}

func (h *handler) UpdateFlow(ctx context.Context, req *registryv1.UpdateFlowRequest) (*registryv1.Flow, error) {
	return updated(h, ctx, req.Flow, req.UpdateMask, "flow")
}

func (h *handler) DeleteFlow(ctx context.Context, req *registryv1.DeleteFlowRequest) (*emptypb.Empty, error) {
	return h.deleted(ctx, req.Name, req.Etag, refuseIfPublished)
}

func (h *handler) PublishFlow(ctx context.Context, req *registryv1.PublishFlowRequest) (*registryv1.Flow, error) {
	f, err := h.r.PublishFlow(ctx, req.Name, req.Etag, req.Note)
	return f, h.status(ctx, err)
}

func (h *handler) GetFlowRevision(ctx context.Context, req *registryv1.GetFlowRevisionRequest) (*registryv1.FlowRevision, error) {
	return got[*registryv1.FlowRevision](h, ctx, req.Name)
}

func (h *handler) ListFlowRevisions(ctx context.Context, req *registryv1.ListFlowRevisionsRequest) (*registryv1.ListFlowRevisionsResponse, error) {
	n, _ := parseName(req.Name)
	revs, next, err := list[*registryv1.FlowRevision](h, ctx, req.Name, "", listQuery{
		prefix:   h.r.store.Keys.Key(n.org, collFlowRevisions, n.ids...) + "/",
		pageSize: req.PageSize, pageToken: req.PageToken, fingerprint: req.Name, descending: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	return &registryv1.ListFlowRevisionsResponse{Revisions: revs, NextPageToken: next}, nil
}

func (h *handler) RenderFlowDiagram(ctx context.Context, req *registryv1.RenderFlowDiagramRequest) (*httpbody.HttpBody, error) {
	body, err := h.r.RenderFlow(ctx, req)
	return body, h.status(ctx, err)
}

func (h *handler) ApplyCatalog(ctx context.Context, req *registryv1.ApplyCatalogRequest) (*registryv1.ApplyCatalogResponse, error) {
	resp, err := h.r.Apply(ctx, req)
	return resp, h.status(ctx, err)
}

// --- Public catalogue (晒权) ---

func (h *handler) ListPublicPowers(ctx context.Context, req *registryv1.ListPublicPowersRequest) (*registryv1.ListPublicPowersResponse, error) {
	resp, err := h.r.ListPublicPowers(ctx, req)
	return resp, h.status(ctx, err)
}

func (h *handler) GetPublicPower(ctx context.Context, req *registryv1.GetPublicPowerRequest) (*registryv1.PublicPower, error) {
	p, err := h.r.GetPublicPower(ctx, req.Name)
	return p, h.status(ctx, err)
}

func (h *handler) RenderPublicFlowDiagram(ctx context.Context, req *registryv1.RenderPublicFlowDiagramRequest) (*httpbody.HttpBody, error) {
	body, err := h.r.RenderPublicFlow(ctx, req)
	return body, h.status(ctx, err)
}
