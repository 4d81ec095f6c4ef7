package registry_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

func TestApplyIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	before, err := e.cat.GetPower(e.admin(), &registryv1.GetPowerRequest{Name: "orgs/cz/powers/zjbf"})
	if err != nil {
		t.Fatal(err)
	}
	// The same file again changes nothing and publishes nothing.
	resp := e.apply(bureauObjects("cz")...)
	if resp.Revision != 0 {
		t.Fatalf("re-apply wrote at revision %d", resp.Revision)
	}
	for _, c := range resp.Changes {
		if c.Action != registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED || c.Published {
			t.Fatalf("re-apply changed %s: %v", c.Name, c)
		}
	}
	after, _ := e.cat.GetPower(e.admin(), &registryv1.GetPowerRequest{Name: "orgs/cz/powers/zjbf"})
	if after.Etag != before.Etag || after.PublishedRevision != 1 {
		t.Fatalf("power changed: %v → %v", before, after)
	}
}

func TestApplyDryRunShowsTheDiff(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	changed := postObj("cz", "gk-sh", "国库处支付审核岗（重点）", "gkc", registryv1.Rank_RANK_HANDLER)
	added := personObj("cz", "new-one", "新人")
	resp, err := e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{DryRun: true, Objects: []*registryv1.CatalogObject{changed, added}})
	if err != nil {
		t.Fatal(describe(err))
	}
	if resp.Revision != 0 || len(resp.Changes) != 2 {
		t.Fatalf("dry run = %v", resp)
	}
	upd, add := resp.Changes[0], resp.Changes[1]
	if upd.Action != registryv1.ChangeAction_CHANGE_ACTION_UPDATE || len(upd.Diff) != 1 ||
		upd.Diff[0] != "display_name: 国库处支付审核岗 → 国库处支付审核岗（重点）" {
		t.Fatalf("update change = %v", upd)
	}
	if add.Action != registryv1.ChangeAction_CHANGE_ACTION_CREATE || add.Kind != "Person" {
		t.Fatalf("create change = %v", add)
	}
	// Nothing was written.
	_, err = e.org.GetPerson(e.admin(), &registryv1.GetPersonRequest{Name: "orgs/cz/people/new-one"})
	wantCode(t, err, codes.NotFound)
	p, _ := e.org.GetPost(e.admin(), &registryv1.GetPostRequest{Name: "orgs/cz/posts/gk-sh"})
	if p.DisplayName != "国库处支付审核岗" {
		t.Fatalf("dry run wrote the post: %q", p.DisplayName)
	}
}

func TestFailedApplyWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.mustOrg("cz")
	bad := fundFlow("cz", "zjbf", "internal")
	bad.Steps[1].TimeLimitDays = 0 // the proto forbids it, and the whole file is refused
	objs := []*registryv1.CatalogObject{
		unitObj("cz", "gkc", "国库处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		unitObj("cz", "sbc", "社会保障处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		postObj("cz", "sb-jb", "经办", "sbc", registryv1.Rank_RANK_HANDLER),
		postObj("cz", "sb-zg", "主管", "sbc", registryv1.Rank_RANK_RESPONSIBLE_OFFICER),
		postObj("cz", "sb-fc", "分管处长", "sbc", registryv1.Rank_RANK_DEPUTY_DIRECTOR),
		postObj("cz", "gk-sh", "审核", "gkc", registryv1.Rank_RANK_HANDLER),
		postObj("cz", "gk-bf", "拨付", "gkc", registryv1.Rank_RANK_HANDLER),
		powerObj("cz", "zjbf", "CZ-CW-001", "财政资金拨付", "gkc", registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, false, true),
		flowObj(bad, true),
	}
	_, err := e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: objs})
	wantViolation(t, err, "objects[8].flow.steps[1].time_limit_days")

	// A semantic failure (a post of a unit the file does not define) is refused the same way.
	objs[8] = flowObj(fundFlow("cz", "zjbf", "internal"), true)
	objs = append(objs, postObj("cz", "orphan", "孤岗", "nowhere", registryv1.Rank_RANK_HANDLER))
	_, err = e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: objs})
	wantViolation(t, err, "objects[9].post.unit", "does not exist")

	units, err := e.org.ListUnits(e.admin(), &registryv1.ListUnitsRequest{Parent: "orgs/cz"})
	if err != nil || len(units.Units) != 0 {
		t.Fatalf("a refused apply left units behind: %v, %v", units.GetUnits(), err)
	}
	powers, _ := e.cat.ListPowers(e.admin(), &registryv1.ListPowersRequest{Parent: "orgs/cz"})
	if len(powers.Powers) != 0 {
		t.Fatalf("a refused apply left powers behind: %v", powers.Powers)
	}
}

func TestApplyInAnyOrderAndDuplicates(t *testing.T) {
	e := newEnv(t)
	e.mustOrg("cz")
	// The flow comes first, the units it depends on last.
	resp := e.apply(
		flowObj(fundFlow("cz", "zjbf", "internal"), true),
		powerObj("cz", "zjbf", "CZ-CW-001", "财政资金拨付", "gkc", registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, false, true),
		postObj("cz", "sb-jb", "经办", "sbc", registryv1.Rank_RANK_HANDLER),
		postObj("cz", "sb-zg", "主管", "sbc", registryv1.Rank_RANK_RESPONSIBLE_OFFICER),
		postObj("cz", "sb-fc", "分管处长", "sbc", registryv1.Rank_RANK_DEPUTY_DIRECTOR),
		postObj("cz", "gk-sh", "审核", "gkc", registryv1.Rank_RANK_HANDLER),
		postObj("cz", "gk-bf", "拨付", "gkc", registryv1.Rank_RANK_HANDLER),
		unitObj("cz", "gkc", "国库处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		unitObj("cz", "sbc", "社会保障处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
	)
	if !resp.Changes[0].Published || !resp.Changes[1].Published {
		t.Fatalf("power and flow not published: %v", resp.Changes[:2])
	}
	_, err := e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{
		personObj("cz", "a", "甲"), personObj("cz", "a", "甲二"),
	}})
	wantViolation(t, err, "objects[1].person.name", "twice")
	_, err = e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{
		{Publish: true, Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: "orgs/cz/people/b", DisplayName: "乙"}}},
	}})
	wantViolation(t, err, "objects[0].publish")
	_, err = e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{
		{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: "orgs/cz/units/b", DisplayName: "乙"}}},
	}})
	wantViolation(t, err, "objects[0].person.name", "not a Person")
	if !strings.Contains(describe(err), "orgs/cz/units/b") {
		t.Fatalf("message does not quote the name: %v", describe(err))
	}
}
