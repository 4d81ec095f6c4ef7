package registry_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

func TestPowerLifecycle(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	ctx := e.admin()
	p, err := e.cat.CreatePower(ctx, &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "yszt", Power: &registryv1.Power{
		Code: "CZ-YS-002", DisplayName: "预算调整", Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE,
		ActingUnit: "orgs/cz/units/gkc", Content: "年度预算执行中的调整",
		// Output-only fields in a request are ignored.
		State: registryv1.PublicationState_PUBLICATION_STATE_PUBLISHED, PublishedRevision: 7,
	}})
	if err != nil {
		t.Fatal(describe(err))
	}
	if p.State != registryv1.PublicationState_PUBLICATION_STATE_DRAFT || p.PublishedRevision != 0 {
		t.Fatalf("new power = %v rev %d, want a draft", p.State, p.PublishedRevision)
	}
	p, err = e.cat.PublishPower(ctx, &registryv1.PublishPowerRequest{Name: p.Name, Etag: p.Etag, Note: "首次发布"})
	if err != nil || p.State != registryv1.PublicationState_PUBLICATION_STATE_PUBLISHED || p.PublishedRevision != 1 {
		t.Fatalf("publish = %v, %v", p, describe(err))
	}
	_, err = e.cat.PublishPower(ctx, &registryv1.PublishPowerRequest{Name: p.Name})
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "NOTHING_TO_PUBLISH" {
		t.Fatalf("reason = %q", reason(err))
	}

	content := func(text string) *registryv1.Power {
		p, err := e.cat.UpdatePower(ctx, &registryv1.UpdatePowerRequest{Power: &registryv1.Power{Name: "orgs/cz/powers/yszt", Content: text},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"content"}}})
		if err != nil {
			t.Fatal(describe(err))
		}
		return p
	}
	if p := content("调整须经集体决策"); !p.HasUnpublishedChanges {
		t.Fatal("edited published power does not show unpublished changes")
	}
	if p := content("年度预算执行中的调整"); p.HasUnpublishedChanges {
		t.Fatal("power edited back to its published content still shows unpublished changes")
	}
	content("调整须经集体决策")
	p, err = e.cat.PublishPower(ctx, &registryv1.PublishPowerRequest{Name: "orgs/cz/powers/yszt"})
	if err != nil || p.PublishedRevision != 2 {
		t.Fatalf("second publish = %v, %v", p, describe(err))
	}

	revs, err := e.cat.ListPowerRevisions(e.staff(), &registryv1.ListPowerRevisionsRequest{Name: "orgs/cz/powers/yszt"})
	if err != nil || len(revs.Revisions) != 2 || revs.Revisions[0].RevisionId != 2 || revs.Revisions[1].RevisionId != 1 {
		t.Fatalf("revisions = %v, %v", revs, err)
	}
	r1, err := e.cat.GetPowerRevision(e.staff(), &registryv1.GetPowerRevisionRequest{Name: "orgs/cz/powers/yszt/revisions/1"})
	if err != nil || r1.Power.Content != "年度预算执行中的调整" || r1.Note != "首次发布" || r1.PublishedBy != "orgs/cz/people/admin" {
		t.Fatalf("revision 1 = %v, %v", r1, err)
	}

	_, err = e.cat.DeletePower(ctx, &registryv1.DeletePowerRequest{Name: "orgs/cz/powers/yszt"})
	wantCode(t, err, codes.FailedPrecondition)

	p, err = e.cat.RetirePower(ctx, &registryv1.RetirePowerRequest{Name: "orgs/cz/powers/yszt", Note: "职能划转"})
	if err != nil || p.State != registryv1.PublicationState_PUBLICATION_STATE_RETIRED || p.PublishedRevision != 3 {
		t.Fatalf("retire = %v, %v", p, describe(err))
	}
	r3, err := e.cat.GetPowerRevision(e.staff(), &registryv1.GetPowerRevisionRequest{Name: "orgs/cz/powers/yszt/revisions/3"})
	if err != nil || r3.Power.State != registryv1.PublicationState_PUBLICATION_STATE_RETIRED || r3.Power.Content != "调整须经集体决策" {
		t.Fatalf("retirement revision = %v, %v", r3, err)
	}
	_, err = e.cat.UpdatePower(ctx, &registryv1.UpdatePowerRequest{Power: &registryv1.Power{Name: "orgs/cz/powers/yszt", DisplayName: "改"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	wantCode(t, err, codes.FailedPrecondition)

	// A never-published draft can be deleted.
	d, err := e.cat.CreatePower(ctx, &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "tmp", Power: &registryv1.Power{
		Code: "TMP", DisplayName: "草稿", Category: registryv1.PowerCategory_POWER_CATEGORY_OTHER_ADMINISTRATIVE, ActingUnit: "orgs/cz/units/gkc"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.DeletePower(ctx, &registryv1.DeletePowerRequest{Name: d.Name, Etag: d.Etag}); err != nil {
		t.Fatal(describe(err))
	}
	// Its code is free again.
	if _, err := e.cat.CreatePower(ctx, &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "tmp2", Power: &registryv1.Power{
		Code: "TMP", DisplayName: "草稿", Category: registryv1.PowerCategory_POWER_CATEGORY_OTHER_ADMINISTRATIVE, ActingUnit: "orgs/cz/units/gkc"}}); err != nil {
		t.Fatal(describe(err))
	}
}

func TestFlowValidationThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	for _, tc := range []struct {
		name   string
		mutate func(f *registryv1.Flow)
		field  string
		step   string
	}{
		{"missing post", func(f *registryv1.Flow) { f.Steps[3].Actor = &registryv1.FlowStep_Post{Post: "orgs/cz/posts/ghost"} }, "flow.steps[3].post", "zfsh"},
		{"rank nobody holds", func(f *registryv1.Flow) {
			f.Steps[2].Actor = &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_PRINCIPAL_LEADER}
			f.Steps[2].Unit = "orgs/cz/units/sbc"
		}, "flow.steps[2]", "fgcz"},
		{"cycle", func(f *registryv1.Flow) {
			f.Transitions = append(f.Transitions[:5], &registryv1.Transition{From: "bfbl", To: "zcjh", Condition: "amount > 1.0"}, f.Transitions[5])
		}, "flow.transitions", ""},
		{"unreachable step", func(f *registryv1.Flow) {
			f.Transitions[3] = &registryv1.Transition{From: "fgcz", To: "bfbl"}
		}, "flow.steps[3]", "zfsh"},
		{"bad condition", func(f *registryv1.Flow) {
			f.Transitions = append(f.Transitions[:3], &registryv1.Transition{From: "fgcz", To: "end", Condition: "amount >="}, f.Transitions[3])
		}, "flow.transitions[3].condition", ""},
		{"separation named once", func(f *registryv1.Flow) { f.Steps[4].Separations = nil }, "flow.separations[1]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := fundFlow("cz", "zjbf", "bad")
			tc.mutate(f)
			_, err := e.cat.CreateFlow(e.admin(), &registryv1.CreateFlowRequest{Parent: "orgs/cz/powers/zjbf", FlowId: "bad", Flow: f})
			wantCode(t, err, codes.InvalidArgument)
			for _, fv := range violations(err) {
				if strings.HasPrefix(fv.Field, tc.field) && strings.Contains(fv.Description, tc.step) {
					return
				}
			}
			t.Fatalf("no violation under %s naming %q: %v", tc.field, tc.step, describe(err))
		})
	}
	_, err := e.cat.GetFlow(e.admin(), &registryv1.GetFlowRequest{Name: "orgs/cz/powers/zjbf/flows/bad"})
	wantCode(t, err, codes.NotFound)
}

func TestFlowRevisionsArePinned(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz") // zjbf/internal published as revision 1 with the power's revision 1
	ctx := e.admin()
	f, err := e.cat.GetFlow(ctx, &registryv1.GetFlowRequest{Name: "orgs/cz/powers/zjbf/flows/internal"})
	if err != nil || f.PublishedRevision != 1 || f.HasUnpublishedChanges {
		t.Fatalf("flow = %v, %v", f, err)
	}
	changed := proto.Clone(f).(*registryv1.Flow)
	changed.Steps[3].TimeLimitDays = 3
	f2, err := e.cat.UpdateFlow(ctx, &registryv1.UpdateFlowRequest{Flow: changed})
	if err != nil || !f2.HasUnpublishedChanges {
		t.Fatalf("update = %v, %v", f2, describe(err))
	}
	r1, err := e.cat.GetFlowRevision(ctx, &registryv1.GetFlowRevisionRequest{Name: "orgs/cz/powers/zjbf/flows/internal/revisions/1"})
	if err != nil || r1.Flow.Steps[3].TimeLimitDays != 1 || r1.PowerRevision != 1 {
		t.Fatalf("revision 1 changed under an edit: %v, %v", r1, err)
	}
	if f3, err := e.cat.PublishFlow(ctx, &registryv1.PublishFlowRequest{Name: f.Name, Etag: f2.Etag}); err != nil || f3.PublishedRevision != 2 {
		t.Fatalf("publish = %v, %v", f3, describe(err))
	}
	// A flow of a power that was never published cannot be published.
	if _, err := e.cat.CreatePower(ctx, &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "draft", Power: &registryv1.Power{
		Code: "D-1", DisplayName: "草稿职权", Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, ActingUnit: "orgs/cz/units/gkc"}}); err != nil {
		t.Fatal(err)
	}
	df := fundFlow("cz", "draft", "f")
	if _, err := e.cat.CreateFlow(ctx, &registryv1.CreateFlowRequest{Parent: "orgs/cz/powers/draft", FlowId: "f", Flow: df}); err != nil {
		t.Fatal(describe(err))
	}
	_, err = e.cat.PublishFlow(ctx, &registryv1.PublishFlowRequest{Name: df.Name})
	wantCode(t, err, codes.FailedPrecondition)
	// A power with a flow cannot be deleted; the post a flow uses cannot either.
	_, err = e.cat.DeletePower(ctx, &registryv1.DeletePowerRequest{Name: "orgs/cz/powers/draft"})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.org.DeletePost(ctx, &registryv1.DeletePostRequest{Name: "orgs/cz/posts/gk-bf"})
	wantCode(t, err, codes.FailedPrecondition)

	flows, err := e.cat.ListFlows(e.staff(), &registryv1.ListFlowsRequest{Parent: "orgs/cz/powers/-", Kind: registryv1.FlowKind_FLOW_KIND_INTERNAL})
	if err != nil || len(flows.Flows) != 2 {
		t.Fatalf("internal flows of every power = %v, %v", flows.GetFlows(), err)
	}
}

func TestRenderFlowDiagram(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	name := "orgs/cz/powers/zjbf/flows/internal"
	svg, err := e.cat.RenderFlowDiagram(e.staff(), &registryv1.RenderFlowDiagramRequest{Name: name})
	if err != nil {
		t.Fatal(describe(err))
	}
	if svg.ContentType != "image/svg+xml" {
		t.Fatalf("content type %q", svg.ContentType)
	}
	if err := xml.Unmarshal(svg.Data, new(struct{})); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	for _, want := range []string{"支付审核", "拨付办理", "国库处支付审核岗"} {
		if !strings.Contains(string(svg.Data), want) {
			t.Fatalf("SVG lacks %q", want)
		}
	}
	mm, err := e.cat.RenderFlowDiagram(e.staff(), &registryv1.RenderFlowDiagramRequest{Name: name, Format: registryv1.DiagramFormat_DIAGRAM_FORMAT_MERMAID, RevisionId: 1})
	if err != nil || !strings.Contains(string(mm.Data), "\nflowchart TD\n") || !strings.Contains(mm.ContentType, "mermaid") {
		t.Fatalf("mermaid = %q (%s), %v", mm.GetData(), mm.GetContentType(), err)
	}
	_, err = e.cat.RenderFlowDiagram(e.staff(), &registryv1.RenderFlowDiagramRequest{Name: name, Variant: registryv1.FlowVariant_FLOW_VARIANT_EMERGENCY})
	wantViolation(t, err, "variant", "emergency")
	_, err = e.cat.RenderFlowDiagram(e.staff(), &registryv1.RenderFlowDiagramRequest{Name: name, RevisionId: 9})
	wantCode(t, err, codes.NotFound)
}

func TestListPowersFilters(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	for _, tc := range []struct {
		name string
		req  *registryv1.ListPowersRequest
		want []string
	}{
		{"all", &registryv1.ListPowersRequest{}, []string{"dljz", "zjbf"}},
		{"category", &registryv1.ListPowersRequest{Category: registryv1.PowerCategory_POWER_CATEGORY_LICENSING}, []string{"dljz"}},
		{"acting unit", &registryv1.ListPowersRequest{ActingUnit: "orgs/cz/units/gkc"}, []string{"zjbf"}},
		{"query by code", &registryv1.ListPowersRequest{Query: "cz-cw"}, []string{"zjbf"}},
		{"query by name", &registryv1.ListPowersRequest{Query: "代理记账"}, []string{"dljz"}},
		{"state", &registryv1.ListPowersRequest{State: registryv1.PublicationState_PUBLICATION_STATE_DRAFT}, nil},
		{"full view", &registryv1.ListPowersRequest{View: registryv1.PowerView_POWER_VIEW_FULL, Category: registryv1.PowerCategory_POWER_CATEGORY_LICENSING}, []string{"dljz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Parent = "orgs/cz"
			resp, err := e.cat.ListPowers(e.staff(), tc.req)
			if err != nil {
				t.Fatal(describe(err))
			}
			var got []string
			for _, p := range resp.Powers {
				got = append(got, p.Name[strings.LastIndex(p.Name, "/")+1:])
				if full := tc.req.View == registryv1.PowerView_POWER_VIEW_FULL; full != (len(p.LegalBasis) != 0 && p.Content != "") {
					t.Fatalf("view %v: content of %s present = %v", tc.req.View, p.Name, !full)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
