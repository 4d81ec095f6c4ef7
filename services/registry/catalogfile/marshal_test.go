package catalogfile

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// roundTripObjects touches every kind and every value shape: enums, oneofs, nested and
// repeated messages, doubles, multi-line text and text YAML would read as something else.
func roundTripObjects() []*registryv1.CatalogObject {
	return []*registryv1.CatalogObject{
		{Object: &registryv1.CatalogObject_Org{Org: &registryv1.Org{Name: "orgs/czj", DisplayName: "江城市财政局", Region: "江城市"}}},
		{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{
			Name: "orgs/czj/units/gkc-zfk", DisplayName: "国库支付科", Kind: registryv1.UnitKind_UNIT_KIND_SECTION,
			Parent: "orgs/czj/units/gkc", Duties: "负责国库集中支付的审核。\n负责支付信息的动态监控。\n",
		}}},
		{Object: &registryv1.CatalogObject_Post{Post: &registryv1.Post{
			Name: "orgs/czj/posts/ysc-zbgl", DisplayName: "预算处指标管理岗", Unit: "orgs/czj/units/ysc",
			Rank: registryv1.Rank_RANK_HANDLER, KeyPost: true, RotationPeriodMonths: 60,
			ManagedFunds: []string{"ZX-SHBZ-2026", "001", "true", "null"},
		}}},
		{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: "orgs/czj/people/yang-guoping", DisplayName: "杨国平", Inactive: true, EmployeeNumber: "0042"}}},
		{Object: &registryv1.CatalogObject_Assignment{Assignment: &registryv1.Assignment{
			Name: "orgs/czj/assignments/a1", Person: "orgs/czj/people/wang-li", Post: "orgs/czj/posts/ysc-zbgl",
			AbRole: registryv1.AbRole_AB_ROLE_B, StartDate: "2019-07-01", EndDate: "2023-02-28", Note: "  leading spaces: and a colon",
		}}},
		{Object: &registryv1.CatalogObject_ConflictDeclaration{ConflictDeclaration: &registryv1.ConflictDeclaration{
			Name: "orgs/czj/conflictDeclarations/c1", Person: "orgs/czj/people/cao-yang", CounterpartyName: "江城市康宁养老服务有限公司",
			CounterpartyCode: "91429001MA49K3XT6B", Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, ValidFrom: "2024-03-01",
		}}},
		{Publish: true, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
			Name: "orgs/czj/powers/kjcf", Code: "CZJ-CF-001", DisplayName: "对违反会计法行为的行政处罚",
			Category: registryv1.PowerCategory_POWER_CATEGORY_PENALTY, ActingUnit: "orgs/czj/units/fgc", Public: true,
			LegalBasis: []*registryv1.LegalBasis{{Law: "中华人民共和国会计法", Article: "第四十条", ClauseText: "违反本法规定……"}},
			DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{
				Id: "kj-40", Violation: "不依法设置会计账簿",
				Tiers: []*registryv1.DiscretionTier{
					{Id: "minor", DisplayName: "轻微", CircumstanceCodes: []string{"first_offence", "corrected_promptly"}, Unit: "元"},
					{Id: "grave", DisplayName: "严重", MinAmount: 200000, MaxAmount: 1e6, Unit: "元"},
					{Id: "odd", DisplayName: "奇", MinAmount: 0.1, MaxAmount: 1.5e22},
				},
			}}},
		}}},
		{Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
			Name: "orgs/czj/powers/empty-benchmark", Code: "X", DisplayName: "空", Category: registryv1.PowerCategory_POWER_CATEGORY_PENALTY,
			ActingUnit: "orgs/czj/units/fgc", DiscretionBenchmark: &registryv1.DiscretionBenchmark{},
		}}},
		{Publish: true, Object: &registryv1.CatalogObject_Flow{Flow: &registryv1.Flow{
			Name: "orgs/czj/powers/zjbf/flows/internal", DisplayName: "资金拨付内部流程", Kind: registryv1.FlowKind_FLOW_KIND_INTERNAL,
			Steps: []*registryv1.FlowStep{
				{Id: "zcjh", DisplayName: "支出计划", Actor: &registryv1.FlowStep_Post{Post: "orgs/czj/posts/sbc-zcjh"}, TimeLimitDays: 2, Separations: []string{"jbshsp"}},
				{Id: "zgzr", DisplayName: "主管责任人审核", Actor: &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_RESPONSIBLE_OFFICER}, Unit: "orgs/czj/units/sbc", TimeLimitDays: 1},
				{Id: "bfbl", DisplayName: "拨付办理", Actor: &registryv1.FlowStep_Post{Post: ""}, Control: registryv1.StepControl_STEP_CONTROL_HANDLE, Payment: true, TimeLimitDays: 1},
				{Id: "x", DisplayName: "未定", Actor: &registryv1.FlowStep_Rank{}, TimeLimitDays: 1},
			},
			ParallelGroups: []*registryv1.ParallelGroup{{Id: "lhhs", DisplayName: "联合会审", Mode: registryv1.ParallelMode_PARALLEL_MODE_ALL, Veto: true}},
			Transitions: []*registryv1.Transition{
				{From: "start", To: "zcjh"},
				{From: "zcjh", To: "zgzr", Condition: `amount >= 500000.0 && fund == "ZX-SHBZ-2026"`, Label: "50万元以上"},
			},
			Emergency: &registryv1.EmergencyVariant{
				StepLimits:       []*registryv1.EmergencyStepLimit{{Step: "zcjh", Hours: 4}},
				SkipSteps:        []string{"zgzr"},
				JointReviewGroup: "lhhs",
			},
		}}},
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	want := roundTripObjects()
	data, err := Marshal(want)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	f, err := Parse("out.yaml", data)
	if err != nil {
		t.Fatalf("Parse(Marshal(x)): %v\n%s", err, data)
	}
	if diff := cmp.Diff(want, f.Objects, protocmp.Transform()); diff != "" {
		t.Errorf("Parse(Marshal(x)) (-want +got):\n%s\nfile:\n%s", diff, data)
	}
}

func TestMarshalFormat(t *testing.T) {
	tests := []struct {
		name string
		objs []*registryv1.CatalogObject
		want string
	}{
		{
			name: "output-only fields become a comment; enums by full name",
			objs: []*registryv1.CatalogObject{{Publish: true, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
				Name: "orgs/czj/powers/zjbf", Code: "CZJ-CW-003", DisplayName: "财政资金拨付",
				Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, ActingUnit: "orgs/czj/units/gkc",
				State: registryv1.PublicationState_PUBLICATION_STATE_PUBLISHED, PublishedRevision: 3, Etag: "812",
				UpdateTime: timestamppb.New(time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)),
			}}}},
			want: `# state: PUBLICATION_STATE_PUBLISHED, publishedRevision: 3, etag: 812, updateTime: 2026-01-05T09:30:00Z
kind: Power
name: orgs/czj/powers/zjbf
publish: true
spec:
  code: CZJ-CW-003
  displayName: 财政资金拨付
  category: POWER_CATEGORY_INTERNAL_FINANCE
  actingUnit: orgs/czj/units/gkc
`,
		},
		{
			name: "documents separated, amounts written plainly",
			objs: []*registryv1.CatalogObject{
				{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: "orgs/czj/people/a"}}},
				{Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
					Name: "orgs/czj/powers/p", DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{
						Tiers: []*registryv1.DiscretionTier{{MinAmount: 200000, MaxAmount: math.Inf(1)}},
					}}},
				}}},
			},
			want: `kind: Person
name: orgs/czj/people/a
---
kind: Power
name: orgs/czj/powers/p
spec:
  discretionBenchmark:
    items:
      - tiers:
          - minAmount: 200000
            maxAmount: .inf
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Marshal(tc.objs)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  *registryv1.CatalogObject
		want string
	}{
		{"no object", &registryv1.CatalogObject{}, "no object set"},
		{"no name", &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{DisplayName: "x"}}}, "Unit without a name"},
		{"publish on a unit", &registryv1.CatalogObject{Publish: true, Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{Name: "orgs/a/units/b"}}}, "publish applies only to Power and Flow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal([]*registryv1.CatalogObject{tc.obj})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Marshal error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
