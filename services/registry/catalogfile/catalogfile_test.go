package catalogfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []*registryv1.CatalogObject
	}{
		{
			name: "both key spellings and both enum forms",
			in: `kind: Post
name: orgs/czj/posts/gkc-zfsh
spec:
  displayName: 国库处支付审核岗
  unit: orgs/czj/units/gkc
  rank: RANK_HANDLER
  key_post: true
  rotationPeriodMonths: 60
  managed_funds: [ZX-SHBZ-2026]
---
kind: Unit
name: orgs/czj/units/gkc
spec:
  display_name: 国库处
  kind: DIVISION
`,
			want: []*registryv1.CatalogObject{
				{Object: &registryv1.CatalogObject_Post{Post: &registryv1.Post{
					Name: "orgs/czj/posts/gkc-zfsh", DisplayName: "国库处支付审核岗", Unit: "orgs/czj/units/gkc",
					Rank: registryv1.Rank_RANK_HANDLER, KeyPost: true, RotationPeriodMonths: 60, ManagedFunds: []string{"ZX-SHBZ-2026"},
				}}},
				{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{
					Name: "orgs/czj/units/gkc", DisplayName: "国库处", Kind: registryv1.UnitKind_UNIT_KIND_DIVISION,
				}}},
			},
		},
		{
			name: "empty documents are skipped",
			in: `---
# nothing here
---
kind: Person
name: orgs/czj/people/wang-li
spec: {displayName: 王丽}
---
`,
			want: []*registryv1.CatalogObject{
				{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: "orgs/czj/people/wang-li", DisplayName: "王丽"}}},
			},
		},
		{
			name: "dates and codes need no quotes, numbers take several forms",
			in: `kind: Assignment
name: orgs/czj/assignments/a1
spec:
  person: orgs/czj/people/wang-li
  post: orgs/czj/posts/ysc-zbgl
  abRole: 1
  startDate: 2019-07-01
  note: 001
---
kind: Power
name: orgs/czj/powers/kjcf
publish: true
spec:
  code: CZJ-CF-001
  displayName: 对违反会计法行为的行政处罚
  category: PENALTY
  actingUnit: orgs/czj/units/fgc
  discretionBenchmark:
    items:
      - id: kj-40
        violation: 不依法设置会计账簿
        tiers:
          - {id: minor, displayName: 轻微, minAmount: 0, maxAmount: 1e4, circumstanceCodes: [first_offence]}
          - {id: grave, displayName: 严重, minAmount: 200000.5, maxAmount: "1000000"}
`,
			want: []*registryv1.CatalogObject{
				{Object: &registryv1.CatalogObject_Assignment{Assignment: &registryv1.Assignment{
					Name: "orgs/czj/assignments/a1", Person: "orgs/czj/people/wang-li", Post: "orgs/czj/posts/ysc-zbgl",
					AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2019-07-01", Note: "001",
				}}},
				{Publish: true, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
					Name: "orgs/czj/powers/kjcf", Code: "CZJ-CF-001", DisplayName: "对违反会计法行为的行政处罚",
					Category: registryv1.PowerCategory_POWER_CATEGORY_PENALTY, ActingUnit: "orgs/czj/units/fgc",
					DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{{
						Id: "kj-40", Violation: "不依法设置会计账簿",
						Tiers: []*registryv1.DiscretionTier{
							{Id: "minor", DisplayName: "轻微", MaxAmount: 10000, CircumstanceCodes: []string{"first_offence"}},
							{Id: "grave", DisplayName: "严重", MinAmount: 200000.5, MaxAmount: 1000000},
						},
					}}},
				}}},
			},
		},
		{
			name: "oneof actor, spec.name equal to name, anchors",
			in: `kind: Flow
name: orgs/czj/powers/p/flows/f
spec:
  name: orgs/czj/powers/p/flows/f
  displayName: 流程
  kind: INTERNAL
  steps:
    - {id: a, displayName: 经办, rank: HANDLER, unit: orgs/czj/units/u, timeLimitDays: 2, materials: &m [申请表]}
    - {id: b, displayName: 审核, post: orgs/czj/posts/p, timeLimitDays: 1, materials: *m}
  transitions:
    - {from: start, to: a}
    - {from: a, to: b, condition: "amount >= 500000.0"}
    - {from: a, to: end}
    - {from: b, to: end}
`,
			want: []*registryv1.CatalogObject{
				{Object: &registryv1.CatalogObject_Flow{Flow: &registryv1.Flow{
					Name: "orgs/czj/powers/p/flows/f", DisplayName: "流程", Kind: registryv1.FlowKind_FLOW_KIND_INTERNAL,
					Steps: []*registryv1.FlowStep{
						{Id: "a", DisplayName: "经办", Actor: &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_HANDLER}, Unit: "orgs/czj/units/u", TimeLimitDays: 2, Materials: []string{"申请表"}},
						{Id: "b", DisplayName: "审核", Actor: &registryv1.FlowStep_Post{Post: "orgs/czj/posts/p"}, TimeLimitDays: 1, Materials: []string{"申请表"}},
					},
					Transitions: []*registryv1.Transition{
						{From: "start", To: "a"},
						{From: "a", To: "b", Condition: "amount >= 500000.0"},
						{From: "a", To: "end"},
						{From: "b", To: "end"},
					},
				}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("catalog.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, f.Objects, protocmp.Transform()); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	type wantErr struct {
		line, col int
		path      string
		msg       string // a substring of the message
	}
	tests := []struct {
		name string
		in   string
		want []wantErr
	}{
		{
			name: "unknown kind",
			in:   "kind: Posts\nname: orgs/czj/posts/a\n",
			want: []wantErr{{1, 7, "kind", `unknown kind "Posts": want one of Org, Unit, Post, Person, Assignment, ConflictDeclaration, Power, Flow`}},
		},
		{
			name: "missing kind",
			in:   "name: orgs/czj/posts/a\nspec: {}\n",
			want: []wantErr{{1, 1, "", "missing kind"}},
		},
		{
			name: "missing name",
			in:   "---\nkind: Post\nspec:\n  displayName: x\n",
			want: []wantErr{{2, 1, "", "missing name"}},
		},
		{
			name: "name of another kind",
			in:   "kind: Post\nname: orgs/czj/units/gkc\n",
			want: []wantErr{{2, 7, "name", `"orgs/czj/units/gkc" is not a Post name: want orgs/{org}/posts/{post}`}},
		},
		{
			name: "unknown top-level key",
			in:   "kind: Unit\nname: orgs/czj/units/a\ndisplayName: x\n",
			want: []wantErr{{3, 1, "", `unknown key "displayName"`}},
		},
		{
			name: "spec key that is not a field",
			in:   "kind: Post\nname: orgs/czj/posts/a\nspec:\n  displayName: x\n  keypost: true\n",
			want: []wantErr{{5, 3, "spec.keypost", `Post has no field "keypost"; did you mean "keyPost"?`}},
		},
		{
			name: "nested key that is not a field",
			in:   "kind: Flow\nname: orgs/czj/powers/p/flows/f\nspec:\n  steps:\n    - id: a\n      timeLimit: 2\n",
			want: []wantErr{{6, 7, "spec.steps[0].timeLimit", `FlowStep has no field "timeLimit"; its fields are id, displayName, post, rank, unit, timeLimitDays`}},
		},
		{
			name: "wrong value type: text for a number",
			in:   "kind: Flow\nname: orgs/czj/powers/p/flows/f\nspec:\n  steps:\n    - id: a\n    - id: b\n    - id: c\n      timeLimitDays: 三天\n",
			want: []wantErr{{8, 22, "spec.steps[2].timeLimitDays", `want a whole number, not the text "三天"`}},
		},
		{
			name: "wrong value type: list for text, mapping for a list, text for a bool",
			in:   "kind: Post\nname: orgs/czj/posts/a\nspec:\n  displayName: [a, b]\n  managedFunds: {a: b}\n  keyPost: \"true\"\n",
			want: []wantErr{
				{4, 16, "spec.displayName", "want text, not a list"},
				{5, 17, "spec.managedFunds", "want a list, not a mapping"},
				{6, 12, "spec.keyPost", `want true or false, not the text "true"`},
			},
		},
		{
			name: "wrong value type: text for a message",
			in:   "kind: Power\nname: orgs/czj/powers/p\nspec:\n  discretionBenchmark: 无\n",
			want: []wantErr{{4, 24, "spec.discretionBenchmark", `want a mapping of DiscretionBenchmark fields, not the text "无"`}},
		},
		{
			name: "number out of range",
			in:   "kind: Post\nname: orgs/czj/posts/a\nspec:\n  rotationPeriodMonths: 3000000000\n",
			want: []wantErr{{4, 25, "spec.rotationPeriodMonths", "3000000000 is out of range for a 32-bit integer"}},
		},
		{
			name: "unknown enum value lists the allowed ones",
			in:   "kind: Post\nname: orgs/czj/posts/a\nspec:\n  rank: 科员\n",
			want: []wantErr{{4, 9, "spec.rank", `unknown Rank "科员": want one of HANDLER, RESPONSIBLE_OFFICER, DEPUTY_DIRECTOR, DIRECTOR, LEADER_IN_CHARGE, PRINCIPAL_LEADER`}},
		},
		{
			name: "output-only fields",
			in:   "kind: Power\nname: orgs/czj/powers/p\nspec:\n  etag: \"12\"\n  state: PUBLISHED\n  publishedRevision: 2\n  has_unpublished_changes: false\n  createTime: {seconds: 1}\n  updateTime: {seconds: 1}\n",
			want: []wantErr{
				{4, 3, "spec.etag", "etag is output only"},
				{5, 3, "spec.state", "state is output only"},
				{6, 3, "spec.publishedRevision", "publishedRevision is output only"},
				{7, 3, "spec.has_unpublished_changes", "has_unpublished_changes is output only"},
				{8, 3, "spec.createTime", "createTime is output only"},
				{9, 3, "spec.updateTime", "updateTime is output only"},
			},
		},
		{
			name: "spec.name differs from name",
			in:   "kind: Unit\nname: orgs/czj/units/a\nspec:\n  name: orgs/czj/units/b\n",
			want: []wantErr{{4, 9, "spec.name", `spec.name is the text "orgs/czj/units/b" but the document's name is "orgs/czj/units/a"`}},
		},
		{
			name: "publish on a kind without revisions",
			in:   "kind: Unit\nname: orgs/czj/units/a\npublish: true\n",
			want: []wantErr{{3, 1, "publish", "publish applies only to Power and Flow"}},
		},
		{
			name: "publish that is not a bool",
			in:   "kind: Power\nname: orgs/czj/powers/a\npublish: yes\n",
			want: []wantErr{{3, 10, "publish", `want true or false, not the text "yes"`}},
		},
		{
			name: "duplicate names",
			in:   "kind: Unit\nname: orgs/czj/units/a\n---\nkind: Unit\nname: orgs/czj/units/a\n",
			want: []wantErr{{5, 7, "name", `duplicate name "orgs/czj/units/a": already used at line 2`}},
		},
		{
			name: "field given in both spellings",
			in:   "kind: Unit\nname: orgs/czj/units/a\nspec:\n  displayName: a\n  display_name: b\n",
			want: []wantErr{{5, 3, "spec.display_name", "display_name given twice (first at line 4"}},
		},
		{
			name: "both alternatives of a oneof",
			in:   "kind: Flow\nname: orgs/czj/powers/p/flows/f\nspec:\n  steps:\n    - id: a\n      post: orgs/czj/posts/x\n      rank: HANDLER\n",
			want: []wantErr{{7, 7, "spec.steps[0].rank", "post and rank are alternatives (one of post, rank); set only one"}},
		},
		{
			name: "spec that is not a mapping",
			in:   "kind: Unit\nname: orgs/czj/units/a\nspec: 国库处\n",
			want: []wantErr{{3, 7, "spec", "want the Unit's fields as a mapping"}},
		},
		{
			name: "document that is not a mapping",
			in:   "- kind: Unit\n",
			want: []wantErr{{1, 1, "", "a document must be a mapping"}},
		},
		{
			name: "YAML syntax error",
			in:   "kind: Unit\nname: orgs/czj/units/a\n---\nkind: Unit\nname: a: b\n",
			want: []wantErr{{5, 0, "", "invalid YAML: mapping values are not allowed in this context"}},
		},
		{
			name: "errors in several documents are all reported",
			in:   "kind: Unit\nname: orgs/czj/units/a\nspec: {kind: ROOM}\n---\nkind: Post\nname: orgs/czj/posts/b\nspec: {rank: 99}\n",
			want: []wantErr{
				{3, 14, "spec.kind", `unknown UnitKind "ROOM"`},
				{7, 14, "spec.rank", `unknown Rank "99"`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("catalog.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d objects, want errors", len(f.Objects))
			}
			got := flatten(err)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.File != "catalog.yaml" || g.Line != w.line || g.Column != w.col || g.Path != w.path || !strings.Contains(g.Msg, w.msg) {
					t.Errorf("error %d = %s:%d:%d path %q msg %q\nwant catalog.yaml:%d:%d path %q msg containing %q",
						i, g.File, g.Line, g.Column, g.Path, g.Msg, w.line, w.col, w.path, w.msg)
				}
			}
		})
	}
}

// flatten returns the *Error values inside err, which is one *Error or an errors.Join.
func flatten(err error) []*Error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range joined.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"full", &Error{File: "catalog.yaml", Line: 42, Column: 7, Path: "spec.steps[2].timeLimitDays", Msg: "want a whole number"}, "catalog.yaml:42:7: spec.steps[2].timeLimitDays: want a whole number"},
		{"no path", &Error{File: "catalog.yaml", Line: 3, Column: 1, Msg: "missing kind"}, "catalog.yaml:3:1: missing kind"},
		{"line only", &Error{File: "catalog.yaml", Line: 5, Msg: "invalid YAML"}, "catalog.yaml:5: invalid YAML"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

const locateFile = `kind: Unit
name: orgs/czj/units/fgc
spec:
  displayName: 法规监督处
  kind: DIVISION
---
kind: Power
name: orgs/czj/powers/kjcf
publish: true
spec:
  code: CZJ-CF-001
  displayName: 对违反会计法行为的行政处罚
  category: PENALTY
  actingUnit: orgs/czj/units/fgc
  legal_basis:
    - law: 中华人民共和国会计法
      article: 第四十条
  discretionBenchmark:
    items:
      - id: kj-40
        violation: 不依法设置会计账簿
        tiers:
          - id: minor
            displayName: 轻微
          - id: grave
            displayName: 严重
            maxAmount: 1000000
---
kind: Flow
name: orgs/czj/powers/kjcf/flows/internal
spec:
  displayName: 内部流程
  kind: INTERNAL
  steps:
    - id: la
      displayName: 立案
      timeLimitDays: 5
    - id: dc
      displayName: 调查
      post: orgs/czj/posts/fgc-jc
      timeLimitDays: 60
    - id: jd
      displayName: 决定
      timeLimitDays: 0
  transitions:
    - {from: start, to: la}
`

func TestLocate(t *testing.T) {
	f, err := Parse("catalog.yaml", []byte(locateFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name      string
		index     int
		path      string
		line, col int
	}{
		{"proto path into a list", 2, "flow.steps[2].time_limit_days", 44, 7},
		{"JSON path into a list", 2, "flow.steps[2].timeLimitDays", 44, 7},
		{"list item", 2, "flow.steps[1]", 38, 7},
		{"oneof member", 2, "flow.steps[1].post", 40, 7},
		{"flow-style item", 2, "flow.transitions[0].to", 46, 21},
		{"snake_case key in the file", 1, "power.legal_basis[0].law", 16, 7},
		{"deep benchmark path", 1, "power.discretion_benchmark.items[0].tiers[1].max_amount", 27, 13},
		{"field at its default: the enclosing item", 1, "power.discretion_benchmark.items[0].tiers[0].max_amount", 23, 13},
		{"index past the end: the list's key", 2, "flow.steps[7].id", 34, 3},
		{"field the file leaves out: the spec", 2, "flow.emergency.joint_review_group", 31, 1},
		{"name outside spec", 0, "unit.name", 2, 1},
		{"publish", 1, "publish", 9, 1},
		{"top field", 0, "unit.kind", 5, 3},
		{"whole object", 0, "unit", 3, 1},
		{"empty path: the document's start", 1, "", 7, 1},
		{"wrong kind: the document's start", 1, "flow.steps[0]", 7, 1},
		{"index out of range", 3, "unit", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, col := f.Locate(tc.index, tc.path)
			if line != tc.line || col != tc.col {
				t.Errorf("Locate(%d, %q) = %d:%d, want %d:%d", tc.index, tc.path, line, col, tc.line, tc.col)
			}
		})
	}
}

func TestParseStopsAfterManyErrors(t *testing.T) {
	var b strings.Builder
	for range 2 * maxErrors {
		b.WriteString("kind: Nothing\nname: orgs/czj/units/a\n---\n")
	}
	_, err := Parse("catalog.yaml", []byte(b.String()))
	got := flatten(err)
	if len(got) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d and a last word", len(got), maxErrors+1)
	}
	if last := got[len(got)-1]; !strings.Contains(last.Msg, "too many errors") {
		t.Errorf("last error = %q, want it to say there were too many", last.Msg)
	}
}
