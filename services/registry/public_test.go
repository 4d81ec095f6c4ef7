package registry_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// internal is what the public must never see of the demo bureau.
var internal = []string{
	"posts/", "people/", "sb-jb", "社保处经办岗", "国库处支付审核岗", "wang-li", "王立",
	"zjbf", "财政资金拨付", "separations", "分离", "condition", "etag", "hasUnpublishedChanges",
}

func TestPublicCatalogShowsNothingInternal(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	anon := context.Background() // no token at all
	list, err := e.pub.ListPublicPowers(anon, &registryv1.ListPublicPowersRequest{Parent: "orgs/cz"})
	if err != nil {
		t.Fatal(describe(err))
	}
	if len(list.Powers) != 1 || list.Powers[0].Name != "orgs/cz/powers/dljz" {
		t.Fatalf("public powers = %v", list.Powers)
	}
	p := list.Powers[0]
	if p.ActingUnit != "社会保障处" || len(p.Flows) != 1 || len(p.Flows[0].Steps) != 3 ||
		p.Flows[0].Steps[0].DisplayName != "受理" || p.Flows[0].Steps[0].ActingUnit != "社会保障处" ||
		len(p.Flows[0].Steps[0].Materials) != 2 {
		t.Fatalf("public power = %v", p)
	}
	js, _ := protojson.Marshal(list)
	for _, s := range internal {
		if strings.Contains(string(js), s) {
			t.Fatalf("public list leaks %q: %s", s, js)
		}
	}

	// The internal power is "not found", exactly like a missing one.
	_, err = e.pub.GetPublicPower(anon, &registryv1.GetPublicPowerRequest{Name: "orgs/cz/powers/zjbf"})
	wantCode(t, err, codes.NotFound)
	_, err = e.pub.RenderPublicFlowDiagram(anon, &registryv1.RenderPublicFlowDiagramRequest{Name: "orgs/cz/powers/zjbf/flows/internal"})
	wantCode(t, err, codes.NotFound)

	// Unpublished edits stay out until published.
	if _, err := e.cat.UpdatePower(e.admin(), &registryv1.UpdatePowerRequest{
		Power:      &registryv1.Power{Name: "orgs/cz/powers/dljz", DisplayName: "未发布的新名称"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := e.pub.GetPublicPower(anon, &registryv1.GetPublicPowerRequest{Name: "orgs/cz/powers/dljz"})
	if err != nil || got.DisplayName != "代理记账机构设立审批" || got.RevisionId != 1 {
		t.Fatalf("public power after an unpublished edit = %v, %v", got, err)
	}

	svg, err := e.pub.RenderPublicFlowDiagram(anon, &registryv1.RenderPublicFlowDiagramRequest{Name: "orgs/cz/powers/dljz/flows/external"})
	if err != nil {
		t.Fatal(describe(err))
	}
	for _, s := range []string{"社保处经办岗", "社保处主管责任人", "posts/"} {
		if strings.Contains(string(svg.Data), s) {
			t.Fatalf("public diagram leaks %q", s)
		}
	}
	if !strings.Contains(string(svg.Data), "受理") {
		t.Fatal("public diagram lacks its steps")
	}

	// Retired powers leave the public catalogue.
	if _, err := e.cat.RetirePower(e.admin(), &registryv1.RetirePowerRequest{Name: "orgs/cz/powers/dljz"}); err != nil {
		t.Fatal(err)
	}
	list, err = e.pub.ListPublicPowers(anon, &registryv1.ListPublicPowersRequest{Parent: "orgs/cz"})
	if err != nil || len(list.Powers) != 0 {
		t.Fatalf("after retirement = %v, %v", list.GetPowers(), err)
	}
}
