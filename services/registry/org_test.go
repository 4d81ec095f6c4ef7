package registry_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

func TestOrgCRUDAndEtags(t *testing.T) {
	e := newEnv(t)
	created := e.mustOrg("cz")
	if created.Name != "orgs/cz" || created.Etag == "" || created.CreateTime == nil {
		t.Fatalf("CreateOrg = %+v", created)
	}
	_, err := e.org.CreateOrg(e.admin(), &registryv1.CreateOrgRequest{OrgId: "cz", Org: &registryv1.Org{DisplayName: "again"}})
	wantCode(t, err, codes.AlreadyExists)

	got, err := e.org.GetOrg(e.staff(), &registryv1.GetOrgRequest{Name: "orgs/cz"})
	if err != nil || got.Etag != created.Etag || got.DisplayName != created.DisplayName {
		t.Fatalf("GetOrg = %+v, %v; want etag %s", got, err, created.Etag)
	}

	upd, err := e.org.UpdateOrg(e.admin(), &registryv1.UpdateOrgRequest{
		Org:        &registryv1.Org{Name: "orgs/cz", DisplayName: "江城市财政局", Etag: created.Etag},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	if err != nil || upd.DisplayName != "江城市财政局" || upd.Etag == created.Etag {
		t.Fatalf("UpdateOrg = %+v, %v", upd, err)
	}
	// A stale etag is FAILED_PRECONDITION with reason STALE_ETAG, and writes nothing.
	_, err = e.org.UpdateOrg(e.admin(), &registryv1.UpdateOrgRequest{
		Org: &registryv1.Org{Name: "orgs/cz", DisplayName: "lost update", Etag: created.Etag},
	})
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "STALE_ETAG" {
		t.Fatalf("reason = %q, want STALE_ETAG", reason(err))
	}
	_, err = e.org.DeleteOrg(e.admin(), &registryv1.DeleteOrgRequest{Name: "orgs/cz", Etag: created.Etag})
	wantCode(t, err, codes.FailedPrecondition)
	got, _ = e.org.GetOrg(e.admin(), &registryv1.GetOrgRequest{Name: "orgs/cz"})
	if got.DisplayName != "江城市财政局" {
		t.Fatalf("after refused writes: %q", got.DisplayName)
	}
	// An update that changes nothing writes nothing: same etag back.
	same, err := e.org.UpdateOrg(e.admin(), &registryv1.UpdateOrgRequest{Org: &registryv1.Org{Name: "orgs/cz", DisplayName: "江城市财政局"}})
	if err != nil || same.Etag != upd.Etag {
		t.Fatalf("no-op update = %+v, %v; want etag %s", same, err, upd.Etag)
	}

	e.mustOrg("other")
	list, err := e.org.ListOrgs(e.staff(), &registryv1.ListOrgsRequest{})
	if err != nil || len(list.Orgs) != 1 || list.Orgs[0].Name != "orgs/cz" {
		t.Fatalf("staff of cz lists %v, %v", list.GetOrgs(), err)
	}
	list, err = e.org.ListOrgs(e.admin(), &registryv1.ListOrgsRequest{})
	if err != nil || len(list.Orgs) != 2 {
		t.Fatalf("platform admin lists %v, %v", list.GetOrgs(), err)
	}

	// A non-empty org cannot be deleted; an empty one can.
	e.apply(unitObj("other", "u1", "办公室", registryv1.UnitKind_UNIT_KIND_DIVISION, ""))
	_, err = e.org.DeleteOrg(e.admin(), &registryv1.DeleteOrgRequest{Name: "orgs/other"})
	wantCode(t, err, codes.FailedPrecondition)
	if _, err := e.org.DeleteUnit(e.admin(), &registryv1.DeleteUnitRequest{Name: "orgs/other/units/u1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.org.DeleteOrg(e.admin(), &registryv1.DeleteOrgRequest{Name: "orgs/other"}); err != nil {
		t.Fatal(describe(err))
	}
	_, err = e.org.GetOrg(e.admin(), &registryv1.GetOrgRequest{Name: "orgs/other"})
	wantCode(t, err, codes.NotFound)
}

func TestUnitTreeAndReferences(t *testing.T) {
	e := newEnv(t)
	e.mustOrg("cz")
	e.apply(
		unitObj("cz", "gkc", "国库处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		unitObj("cz", "zfk", "国库支付科", registryv1.UnitKind_UNIT_KIND_SECTION, "orgs/cz/units/gkc"),
		unitObj("cz", "zfk2", "支付二组", registryv1.UnitKind_UNIT_KIND_SECTION, "orgs/cz/units/zfk"),
	)
	// Re-parenting gkc below its grandchild would make a cycle.
	_, err := e.org.UpdateUnit(e.admin(), &registryv1.UpdateUnitRequest{
		Unit:       &registryv1.Unit{Name: "orgs/cz/units/gkc", Parent: "orgs/cz/units/zfk2"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"parent"}},
	})
	wantViolation(t, err, "unit.parent", "cycle")

	children, err := e.org.ListUnits(e.staff(), &registryv1.ListUnitsRequest{Parent: "orgs/cz", ParentUnit: "orgs/cz/units/gkc"})
	if err != nil || len(children.Units) != 1 || children.Units[0].Name != "orgs/cz/units/zfk" {
		t.Fatalf("children of gkc = %v, %v", children.GetUnits(), err)
	}

	// A post needs an existing unit of the same org.
	_, err = e.org.CreatePost(e.admin(), &registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "p1", Post: &registryv1.Post{
		DisplayName: "岗", Unit: "orgs/cz/units/nope", Rank: registryv1.Rank_RANK_HANDLER,
	}})
	wantViolation(t, err, "post.unit", "does not exist")
	_, err = e.org.CreatePost(e.admin(), &registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "p1", Post: &registryv1.Post{
		DisplayName: "岗", Unit: "orgs/other/units/gkc", Rank: registryv1.Rank_RANK_HANDLER,
	}})
	wantViolation(t, err, "post.unit", "org cz")

	if _, err := e.org.CreatePost(e.admin(), &registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "p1", Post: &registryv1.Post{
		DisplayName: "支付审核岗", Unit: "orgs/cz/units/zfk", Rank: registryv1.Rank_RANK_HANDLER,
	}}); err != nil {
		t.Fatal(describe(err))
	}
	// zfk is referred to by a unit and a post: it cannot be deleted.
	_, err = e.org.DeleteUnit(e.admin(), &registryv1.DeleteUnitRequest{Name: "orgs/cz/units/zfk"})
	wantCode(t, err, codes.FailedPrecondition)
	if reason(err) != "STILL_REFERENCED" || !strings.Contains(status.Convert(err).Message(), "posts/p1") {
		t.Fatalf("delete referenced unit: %v", describe(err))
	}
	// Moving the post away drops the reference; deleting the leaf first then works.
	if _, err := e.org.UpdatePost(e.admin(), &registryv1.UpdatePostRequest{
		Post: &registryv1.Post{Name: "orgs/cz/posts/p1", Unit: "orgs/cz/units/gkc"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"unit"}},
	}); err != nil {
		t.Fatal(describe(err))
	}
	for _, u := range []string{"zfk2", "zfk"} {
		if _, err := e.org.DeleteUnit(e.admin(), &registryv1.DeleteUnitRequest{Name: "orgs/cz/units/" + u}); err != nil {
			t.Fatalf("delete %s: %v", u, describe(err))
		}
	}
}

func TestAssignmentABRules(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz") // gk-sh: wang-li is A, li-na is B, since 2021-03-01
	e.apply(personObj("cz", "zhao-min", "赵敏"), personObj("cz", "sun-hao", "孙浩"))

	for _, tc := range []struct {
		name          string
		person, role  string
		start, end    string
		field, detail string
	}{
		{"second A at the same time", "zhao-min", "A", "2024-01-01", "", "assignment.ab_role", "wang-li"},
		{"B holder also A", "li-na", "A", "2024-01-01", "", "assignment.ab_role", "two different people"},
		{"end before start", "zhao-min", "A", "2024-01-01", "2023-01-01", "assignment.end_date", "before"},
		{"not a date", "zhao-min", "A", "2024-02-30", "", "assignment.start_date", "not a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role := registryv1.AbRole_AB_ROLE_A
			if tc.role == "B" {
				role = registryv1.AbRole_AB_ROLE_B
			}
			_, err := e.org.CreateAssignment(e.admin(), &registryv1.CreateAssignmentRequest{Parent: "orgs/cz", AssignmentId: "x", Assignment: &registryv1.Assignment{
				Person: "orgs/cz/people/" + tc.person, Post: "orgs/cz/posts/gk-sh", AbRole: role, StartDate: tc.start, EndDate: tc.end,
			}})
			wantViolation(t, err, tc.field, tc.detail)
		})
	}
	// Ending wang-li's tenure lets zhao-min take over as A from the next day: the move
	// history is kept.
	if _, err := e.org.UpdateAssignment(e.admin(), &registryv1.UpdateAssignmentRequest{
		Assignment: &registryv1.Assignment{Name: "orgs/cz/assignments/a1", EndDate: "2025-06-30"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"end_date"}},
	}); err != nil {
		t.Fatal(describe(err))
	}
	if _, err := e.org.CreateAssignment(e.admin(), &registryv1.CreateAssignmentRequest{Parent: "orgs/cz", AssignmentId: "a3", Assignment: &registryv1.Assignment{
		Person: "orgs/cz/people/zhao-min", Post: "orgs/cz/posts/gk-sh", AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2025-07-01",
	}}); err != nil {
		t.Fatal(describe(err))
	}
	hist, err := e.org.ListAssignments(e.staff(), &registryv1.ListAssignmentsRequest{Parent: "orgs/cz", Post: "orgs/cz/posts/gk-sh"})
	if err != nil || len(hist.Assignments) != 3 {
		t.Fatalf("history of gk-sh = %v, %v", hist.GetAssignments(), err)
	}
	now, err := e.org.ListAssignments(e.staff(), &registryv1.ListAssignmentsRequest{Parent: "orgs/cz", Post: "orgs/cz/posts/gk-sh", OnDate: "2025-08-01"})
	if err != nil || len(now.Assignments) != 2 {
		t.Fatalf("holders on 2025-08-01 = %v, %v", now.GetAssignments(), err)
	}
}

// Concurrent creations of the A role of one post: exactly one wins, however they race.
func TestAssignmentRaceKeepsOneA(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	e.apply(postObj("cz", "gk-hs", "会计核算岗", "gkc", registryv1.Rank_RANK_HANDLER))
	const n = 12
	var objs []*registryv1.CatalogObject
	for i := range n {
		objs = append(objs, personObj("cz", fmt.Sprintf("p%02d", i), fmt.Sprintf("人员%02d", i)))
	}
	e.apply(objs...)
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.org.CreateAssignment(e.admin(), &registryv1.CreateAssignmentRequest{Parent: "orgs/cz", AssignmentId: fmt.Sprintf("r%02d", i), Assignment: &registryv1.Assignment{
				Person: fmt.Sprintf("orgs/cz/people/p%02d", i), Post: "orgs/cz/posts/gk-hs", AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2026-01-01",
			}})
			switch status.Code(err) {
			case codes.OK:
				ok.Add(1)
			case codes.InvalidArgument:
				refused.Add(1)
			default:
				t.Errorf("unexpected: %v", describe(err))
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != n-1 {
		t.Fatalf("%d succeeded and %d were refused; want 1 and %d", ok.Load(), refused.Load(), n-1)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	e.bureau("other")
	outsider := e.as("spy", "cz:catalog-admin")
	// Reading another org's resource looks exactly like reading one that does not exist.
	_, errExisting := e.org.GetPost(outsider, &registryv1.GetPostRequest{Name: "orgs/other/posts/gk-sh"})
	_, errMissing := e.org.GetPost(outsider, &registryv1.GetPostRequest{Name: "orgs/ghost/posts/gk-sh"})
	wantCode(t, errExisting, codes.NotFound)
	wantCode(t, errMissing, codes.NotFound)
	if strings.ReplaceAll(status.Convert(errExisting).Message(), "other", "X") != strings.ReplaceAll(status.Convert(errMissing).Message(), "ghost", "X") {
		t.Fatalf("messages differ: %q vs %q", status.Convert(errExisting).Message(), status.Convert(errMissing).Message())
	}
	for name, call := range map[string]func() error{
		"list": func() error {
			_, err := e.org.ListPeople(outsider, &registryv1.ListPeopleRequest{Parent: "orgs/other"})
			return err
		},
		"create": func() error {
			_, err := e.org.CreatePerson(outsider, &registryv1.CreatePersonRequest{Parent: "orgs/other", PersonId: "mole", Person: &registryv1.Person{DisplayName: "内线"}})
			return err
		},
		"apply": func() error {
			_, err := e.cat.ApplyCatalog(outsider, &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{
				personObj("cz", "fine", "本单位"), personObj("other", "mole", "内线"),
			}})
			return err
		},
		"revisions": func() error {
			_, err := e.cat.ListPowerRevisions(outsider, &registryv1.ListPowerRevisionsRequest{Name: "orgs/other/powers/zjbf"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), codes.NotFound) })
	}
	// Nothing of the refused apply was written, not even its object in cz.
	_, err := e.org.GetPerson(e.admin(), &registryv1.GetPersonRequest{Name: "orgs/cz/people/fine"})
	wantCode(t, err, codes.NotFound)
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	if _, err := e.org.GetPost(e.staff(), &registryv1.GetPostRequest{Name: "orgs/cz/posts/gk-sh"}); err != nil {
		t.Fatalf("staff cannot read: %v", err)
	}
	_, err := e.org.CreatePerson(e.staff(), &registryv1.CreatePersonRequest{Parent: "orgs/cz", PersonId: "x", Person: &registryv1.Person{DisplayName: "某"}})
	wantCode(t, err, codes.PermissionDenied)
	if reason(err) != "POLICY_DENIED" || !strings.Contains(status.Convert(err).Message(), "catalog-admin") {
		t.Fatalf("denial does not say which role grants it: %v", describe(err))
	}
	_, err = e.cat.PublishPower(e.staff(), &registryv1.PublishPowerRequest{Name: "orgs/cz/powers/zjbf"})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.org.CreateOrg(e.as("admin", "cz:catalog-admin"), &registryv1.CreateOrgRequest{OrgId: "new", Org: &registryv1.Org{DisplayName: "新"}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.org.GetPost(t.Context(), &registryv1.GetPostRequest{Name: "orgs/cz/posts/gk-sh"})
	wantCode(t, err, codes.Unauthenticated)
}

func TestValidationViolations(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	post := func(p *registryv1.Post) error {
		_, err := e.org.CreatePost(e.admin(), &registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "np", Post: p})
		return err
	}
	power := func(p *registryv1.Power) error {
		_, err := e.cat.CreatePower(e.admin(), &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "np", Power: p})
		return err
	}
	unit := "orgs/cz/units/gkc"
	penalty := registryv1.PowerCategory_POWER_CATEGORY_PENALTY
	tier := func(id string, lo, hi float64) *registryv1.DiscretionTier {
		return &registryv1.DiscretionTier{Id: id, DisplayName: id, MinAmount: lo, MaxAmount: hi, Unit: "元"}
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"org id pattern", func() error {
			_, err := e.org.CreateOrg(e.admin(), &registryv1.CreateOrgRequest{OrgId: "Bad_ID", Org: &registryv1.Org{DisplayName: "x"}})
			return err
		}, "org_id"},
		{"missing display name", func() error { return post(&registryv1.Post{Unit: unit, Rank: registryv1.Rank_RANK_HANDLER}) }, "post.display_name"},
		{"update emptying a required field", func() error {
			_, err := e.org.UpdatePost(e.admin(), &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/gk-sh"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"unit"}}})
			return err
		}, "post.unit"},
		{"rank unspecified", func() error { return post(&registryv1.Post{DisplayName: "岗", Unit: unit}) }, "post.rank"},
		{"key post without rotation", func() error {
			return post(&registryv1.Post{DisplayName: "岗", Unit: unit, Rank: registryv1.Rank_RANK_HANDLER, KeyPost: true})
		}, "post.rotation_period_months"},
		{"conflict declaration of nobody", func() error {
			_, err := e.org.CreateConflictDeclaration(e.admin(), &registryv1.CreateConflictDeclarationRequest{Parent: "orgs/cz", ConflictDeclarationId: "c1",
				ConflictDeclaration: &registryv1.ConflictDeclaration{Person: "orgs/cz/people/nobody", CounterpartyName: "某公司",
					Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, ValidFrom: "2026-01-01"}})
			return err
		}, "conflict_declaration.person"},
		{"duplicate power code", func() error {
			return power(&registryv1.Power{Code: "CZ-CW-001", DisplayName: "重复", Category: registryv1.PowerCategory_POWER_CATEGORY_OTHER_ADMINISTRATIVE, ActingUnit: unit})
		}, "power.code"},
		{"benchmark on a licence", func() error {
			return power(&registryv1.Power{Code: "X-1", DisplayName: "许可", Category: registryv1.PowerCategory_POWER_CATEGORY_LICENSING, ActingUnit: unit,
				DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{Id: "i1", Violation: "违法", Tiers: []*registryv1.DiscretionTier{tier("t1", 0, 10)}}}}})
		}, "power.discretion_benchmark"},
		{"tier min above max", func() error {
			return power(&registryv1.Power{Code: "X-2", DisplayName: "处罚", Category: penalty, ActingUnit: unit,
				DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{Id: "i1", Violation: "违法", Tiers: []*registryv1.DiscretionTier{tier("t1", 5000, 1000)}}}}})
		}, "power.discretion_benchmark.items[0].tiers[0].max_amount"},
		{"tiers out of order", func() error {
			return power(&registryv1.Power{Code: "X-3", DisplayName: "处罚", Category: penalty, ActingUnit: unit,
				DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{Id: "i1", Violation: "违法",
					Tiers: []*registryv1.DiscretionTier{tier("t1", 1000, 20000), tier("t2", 0, 5000)}}}}})
		}, "power.discretion_benchmark.items[0].tiers[1].max_amount"},
		{"unknown update_mask path", func() error {
			_, err := e.org.UpdatePost(e.admin(), &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/gk-sh", DisplayName: "x"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"no_such_field"}}})
			return err
		}, "update_mask.paths[0]"},
		{"bad etag", func() error {
			_, err := e.org.UpdatePost(e.admin(), &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/gk-sh", DisplayName: "x", Etag: "W/abc"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
			return err
		}, "etag"},
		{"bad page token", func() error {
			_, err := e.org.ListPosts(e.staff(), &registryv1.ListPostsRequest{Parent: "orgs/cz", PageToken: "garbage!"})
			return err
		}, "page_token"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantViolation(t, tc.call(), tc.field) })
	}
}

func TestOversizedRequestRefused(t *testing.T) {
	e := newEnv(t)
	e.mustOrg("cz")
	_, err := e.org.CreateUnit(e.admin(), &registryv1.CreateUnitRequest{Parent: "orgs/cz", UnitId: "big", Unit: &registryv1.Unit{
		DisplayName: "大", Kind: registryv1.UnitKind_UNIT_KIND_DIVISION, Duties: strings.Repeat("职", 2<<20),
	}})
	wantCode(t, err, codes.ResourceExhausted)
	_, err = e.org.GetUnit(e.admin(), &registryv1.GetUnitRequest{Name: "orgs/cz/units/big"})
	wantCode(t, err, codes.NotFound)
}
