package registry_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/structpb"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	auditv1 "github.com/fenquan/fenquan/proto/fenquan/audit/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
)

// Every method that needs a permission, called by someone without it: PERMISSION_DENIED
// from the policy, and not a byte written to etcd. The table must cover every such
// method of the registry's services, so a new method cannot be added without its row.
func TestEveryStateChangeIsDecidedFirst(t *testing.T) {
	e := newEnv(t)
	e.bureau("cz")
	clerk := e.as("clerk", "cz:staff") // a member of cz with no administrative role
	cli := etcdtest.Client(t)
	ctx := context.Background()
	power := "orgs/cz/powers/zjbf"
	flow := power + "/flows/internal"
	calls := map[string]func(context.Context) error{
		"CreateOrg": func(c context.Context) error {
			_, err := e.org.CreateOrg(c, &registryv1.CreateOrgRequest{OrgId: "x", Org: &registryv1.Org{DisplayName: "x"}})
			return err
		},
		"UpdateOrg": func(c context.Context) error {
			_, err := e.org.UpdateOrg(c, &registryv1.UpdateOrgRequest{Org: &registryv1.Org{Name: "orgs/cz", DisplayName: "改"}})
			return err
		},
		"DeleteOrg": func(c context.Context) error {
			_, err := e.org.DeleteOrg(c, &registryv1.DeleteOrgRequest{Name: "orgs/cz"})
			return err
		},
		"CreateUnit": func(c context.Context) error {
			_, err := e.org.CreateUnit(c, &registryv1.CreateUnitRequest{Parent: "orgs/cz", UnitId: "u9", Unit: &registryv1.Unit{DisplayName: "新处", Kind: registryv1.UnitKind_UNIT_KIND_DIVISION}})
			return err
		},
		"UpdateUnit": func(c context.Context) error {
			_, err := e.org.UpdateUnit(c, &registryv1.UpdateUnitRequest{Unit: &registryv1.Unit{Name: "orgs/cz/units/gkc", DisplayName: "改", Kind: registryv1.UnitKind_UNIT_KIND_DIVISION}})
			return err
		},
		"DeleteUnit": func(c context.Context) error {
			_, err := e.org.DeleteUnit(c, &registryv1.DeleteUnitRequest{Name: "orgs/cz/units/gkc"})
			return err
		},
		"CreatePost": func(c context.Context) error {
			_, err := e.org.CreatePost(c, &registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "p9", Post: &registryv1.Post{DisplayName: "岗", Unit: "orgs/cz/units/gkc", Rank: registryv1.Rank_RANK_HANDLER}})
			return err
		},
		"UpdatePost": func(c context.Context) error {
			_, err := e.org.UpdatePost(c, &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/gk-sh", DisplayName: "改", Unit: "orgs/cz/units/gkc", Rank: registryv1.Rank_RANK_HANDLER}})
			return err
		},
		"DeletePost": func(c context.Context) error {
			_, err := e.org.DeletePost(c, &registryv1.DeletePostRequest{Name: "orgs/cz/posts/gk-sh"})
			return err
		},
		"CreatePerson": func(c context.Context) error {
			_, err := e.org.CreatePerson(c, &registryv1.CreatePersonRequest{Parent: "orgs/cz", PersonId: "x", Person: &registryv1.Person{DisplayName: "某"}})
			return err
		},
		"UpdatePerson": func(c context.Context) error {
			_, err := e.org.UpdatePerson(c, &registryv1.UpdatePersonRequest{Person: &registryv1.Person{Name: "orgs/cz/people/wang-li", DisplayName: "改"}})
			return err
		},
		"DeletePerson": func(c context.Context) error {
			_, err := e.org.DeletePerson(c, &registryv1.DeletePersonRequest{Name: "orgs/cz/people/wang-li"})
			return err
		},
		"CreateAssignment": func(c context.Context) error {
			_, err := e.org.CreateAssignment(c, &registryv1.CreateAssignmentRequest{Parent: "orgs/cz", AssignmentId: "a9", Assignment: &registryv1.Assignment{
				Person: "orgs/cz/people/wang-li", Post: "orgs/cz/posts/gk-bf", AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2026-01-01"}})
			return err
		},
		"UpdateAssignment": func(c context.Context) error {
			_, err := e.org.UpdateAssignment(c, &registryv1.UpdateAssignmentRequest{Assignment: &registryv1.Assignment{
				Name: "orgs/cz/assignments/a1", Person: "orgs/cz/people/wang-li", Post: "orgs/cz/posts/gk-sh", AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2021-03-01", EndDate: "2026-01-01"}})
			return err
		},
		"DeleteAssignment": func(c context.Context) error {
			_, err := e.org.DeleteAssignment(c, &registryv1.DeleteAssignmentRequest{Name: "orgs/cz/assignments/a1"})
			return err
		},
		"CreateConflictDeclaration": func(c context.Context) error {
			_, err := e.org.CreateConflictDeclaration(c, &registryv1.CreateConflictDeclarationRequest{Parent: "orgs/cz", ConflictDeclarationId: "c1",
				ConflictDeclaration: &registryv1.ConflictDeclaration{Person: "orgs/cz/people/wang-li", CounterpartyName: "某公司",
					Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, ValidFrom: "2026-01-01"}})
			return err
		},
		"UpdateConflictDeclaration": func(c context.Context) error {
			_, err := e.org.UpdateConflictDeclaration(c, &registryv1.UpdateConflictDeclarationRequest{ConflictDeclaration: &registryv1.ConflictDeclaration{
				Name: "orgs/cz/conflictDeclarations/c0", Person: "orgs/cz/people/wang-li", CounterpartyName: "某公司",
				Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, ValidFrom: "2026-01-01"}})
			return err
		},
		"DeleteConflictDeclaration": func(c context.Context) error {
			_, err := e.org.DeleteConflictDeclaration(c, &registryv1.DeleteConflictDeclarationRequest{Name: "orgs/cz/conflictDeclarations/c0"})
			return err
		},
		"CreatePower": func(c context.Context) error {
			_, err := e.cat.CreatePower(c, &registryv1.CreatePowerRequest{Parent: "orgs/cz", PowerId: "p9", Power: &registryv1.Power{
				Code: "X-9", DisplayName: "新职权", Category: registryv1.PowerCategory_POWER_CATEGORY_OTHER_ADMINISTRATIVE, ActingUnit: "orgs/cz/units/gkc"}})
			return err
		},
		"UpdatePower": func(c context.Context) error {
			_, err := e.cat.UpdatePower(c, &registryv1.UpdatePowerRequest{Power: &registryv1.Power{Name: power, Code: "CZ-CW-001", DisplayName: "改",
				Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, ActingUnit: "orgs/cz/units/gkc"}})
			return err
		},
		"DeletePower": func(c context.Context) error {
			_, err := e.cat.DeletePower(c, &registryv1.DeletePowerRequest{Name: power})
			return err
		},
		"PublishPower": func(c context.Context) error {
			_, err := e.cat.PublishPower(c, &registryv1.PublishPowerRequest{Name: power})
			return err
		},
		"RetirePower": func(c context.Context) error {
			_, err := e.cat.RetirePower(c, &registryv1.RetirePowerRequest{Name: power})
			return err
		},
		"CreateFlow": func(c context.Context) error {
			_, err := e.cat.CreateFlow(c, &registryv1.CreateFlowRequest{Parent: power, FlowId: "f9", Flow: fundFlow("cz", "zjbf", "f9")})
			return err
		},
		"UpdateFlow": func(c context.Context) error {
			_, err := e.cat.UpdateFlow(c, &registryv1.UpdateFlowRequest{Flow: fundFlow("cz", "zjbf", "internal")})
			return err
		},
		"DeleteFlow": func(c context.Context) error {
			_, err := e.cat.DeleteFlow(c, &registryv1.DeleteFlowRequest{Name: flow})
			return err
		},
		"PublishFlow": func(c context.Context) error {
			_, err := e.cat.PublishFlow(c, &registryv1.PublishFlowRequest{Name: flow})
			return err
		},
		"ApplyCatalog": func(c context.Context) error {
			_, err := e.cat.ApplyCatalog(c, &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{personObj("cz", "mole", "内线")}})
			return err
		},
		"WatchFacts": func(c context.Context) error {
			s, err := registryv1.NewFactsServiceClient(e.conn).WatchFacts(c, &registryv1.WatchFactsRequest{})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"ProposePolicySet": func(c context.Context) error {
			_, err := e.policy.ProposePolicySet(c, &policyv1.ProposePolicySetRequest{Files: map[string][]byte{"a/a.rego": []byte("package a\n")}, Note: "x"})
			return err
		},
		"ApprovePolicySet": func(c context.Context) error {
			_, err := e.policy.ApprovePolicySet(c, &policyv1.ApprovePolicySetRequest{Name: "policySets/00000001"})
			return err
		},
		"RejectPolicySet": func(c context.Context) error {
			_, err := e.policy.RejectPolicySet(c, &policyv1.RejectPolicySetRequest{Name: "policySets/00000001", Reason: "x"})
			return err
		},
		"RollbackPolicySet": func(c context.Context) error {
			_, err := e.policy.RollbackPolicySet(c, &policyv1.RollbackPolicySetRequest{Name: "policySets/00000001", Reason: "x"})
			return err
		},
		"GetPolicySet": func(c context.Context) error {
			_, err := e.policy.GetPolicySet(c, &policyv1.GetPolicySetRequest{Name: "policySets/00000001"})
			return err
		},
		"ListPolicySets": func(c context.Context) error {
			_, err := e.policy.ListPolicySets(c, &policyv1.ListPolicySetsRequest{})
			return err
		},
		"GetPolicyStatus": func(c context.Context) error {
			_, err := e.policy.GetPolicyStatus(c, &policyv1.GetPolicyStatusRequest{})
			return err
		},
		"VerifyAuditLog": func(c context.Context) error {
			_, err := auditv1.NewAuditServiceClient(e.conn).VerifyAuditLog(c, &auditv1.VerifyAuditLogRequest{Parent: "orgs/cz"})
			return err
		},
		"ExportAuditLog": func(c context.Context) error {
			_, err := auditv1.NewAuditServiceClient(e.conn).ExportAuditLog(c, &auditv1.ExportAuditLogRequest{Parent: "orgs/cz"})
			return err
		},
		"CheckPolicy": func(c context.Context) error {
			_, err := e.policy.CheckPolicy(c, &policyv1.CheckPolicyRequest{Action: "api.access", Input: &structpb.Struct{}})
			return err
		},
	}

	// Every method whose access rule names a permission has a row.
	var needed []string
	for _, svc := range registry.GRPCServices {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			acc, _ := proto.GetExtension(md.Options(), apiv1.E_Access).(*apiv1.Access)
			if acc.GetPermission() != "" {
				needed = append(needed, string(md.Name()))
			}
		}
	}
	sort.Strings(needed)
	for _, m := range needed {
		if calls[m] == nil {
			t.Errorf("%s needs a permission but has no row in this test", m)
		}
	}

	for _, name := range needed {
		call := calls[name]
		if call == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			before, err := cli.Get(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			err = call(clerk)
			wantCode(t, err, codes.PermissionDenied)
			if reason(err) != "POLICY_DENIED" || !strings.Contains(describe(err), "grants the permission") {
				t.Fatalf("not the policy's denial: %v", describe(err))
			}
			after, err := cli.Get(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			if after.Header.Revision != before.Header.Revision {
				t.Fatalf("a denied %s moved etcd from revision %d to %d", name, before.Header.Revision, after.Header.Revision)
			}
		})
	}
}
