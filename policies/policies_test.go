package policies_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/fenquan/fenquan/policies"
)

// ruleIDs is the rule table of docs/POLICY.md, plus grading.out_of_scale (a risk whose
// likelihood, impact or factors are off the matrix cannot be graded, so it must deny).
var ruleIDs = []string{
	"input.unknown_action", "input.missing_field", "input.unexpected_field",
	"api.permission",
	"sod.ab_distinct", "sod.separated_steps", "sod.manage_handle", "sod.self_approval",
	"sod.conflict_of_interest", "sod.delegation_separation", "sod.indicator_setter",
	"sod.added_signer", "sod.added_signer_conflict", "sod.supervisor_involved",
	"signoff.not_holder", "signoff.level_skipped", "signoff.amount_band",
	"signoff.collective_required", "signoff.emergency_justification", "signoff.emergency_joint_review",
	"collective.not_member", "collective.not_present", "collective.recused",
	"collective.conflict_of_interest", "collective.version_mismatch", "collective.quorum",
	"collective.majority", "collective.convener", "collective.no_members", "collective.attendee_not_member",
	"case.not_applicant", "case.not_editor", "case.inactive_actor", "case.signer_inactive", "case.hold_permission",
	"discretion.no_tier", "discretion.out_of_range",
	"grading.out_of_scale",
	"risk.stage", "risk.not_in_scope", "risk.not_leader", "risk.self_review", "risk.stage_order",
	"risk.publicity_open", "risk.objections_open", "risk.publicity_over", "risk.unknown_kind",
	"risk.measure_order", "risk.not_responsible", "risk.self_verify", "risk.inactive_actor",
	"oversight.self_supervision", "oversight.transition", "oversight.disposition", "oversight.assignee_named",
	"oversight.self_link",
}

// load reads the embedded set the way the services do: every module and data file of FS,
// each data.json at data.<folder>.
func load(t testing.TB) (map[string]*ast.Module, map[string]any) {
	t.Helper()
	res, err := loader.NewFileLoader().
		WithFS(policies.FS).
		WithProcessAnnotation(true).
		All([]string{"."})
	if err != nil {
		t.Fatalf("load policies.FS: %v", err)
	}
	if len(res.Modules) == 0 {
		t.Fatal("policies.FS holds no modules")
	}
	return res.ParsedModules(), res.Documents
}

func compileStrict(t testing.TB, modules map[string]*ast.Module) *ast.Compiler {
	t.Helper()
	c := ast.NewCompiler().WithStrict(true)
	if c.Compile(modules); c.Failed() {
		t.Fatalf("strict compile: %v", c.Errors)
	}
	return c
}

// TestStrictCompile is `opa check --strict policies/` in process.
func TestStrictCompile(t *testing.T) {
	modules, _ := load(t)
	compileStrict(t, modules)
}

// TestRegoTests is `opa test policies/` in process: every test_ rule of the set must pass.
func TestRegoTests(t *testing.T) {
	ctx := context.Background()
	modules, docs := load(t)
	store := inmem.NewFromObject(docs)
	txn := storage.NewTransactionOrDie(ctx, store)
	defer store.Abort(ctx, txn)

	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithStrict(true)).
		SetStore(store).
		SetModules(modules).
		SetTimeout(time.Minute).
		RaiseBuiltinErrors(true). // as the PDP evaluates: rego.StrictBuiltinErrors(true)
		RunTests(ctx, txn)
	if err != nil {
		t.Fatalf("run rego tests: %v", err)
	}
	n, perPkg := 0, map[string]int{}
	for r := range ch {
		n++
		perPkg[r.Package]++
		switch {
		case r.Error != nil:
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		case r.Skip:
			t.Errorf("%s.%s: skipped (todo_ tests are not allowed in the set)", r.Package, r.Name)
		case r.Fail:
			t.Errorf("%s.%s: failed (%s)", r.Package, r.Name, r.Location)
		}
	}
	if n == 0 {
		t.Fatal("no rego tests ran")
	}
	pkgs := make([]string, 0, len(perPkg))
	for p := range perPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		t.Logf("%-32s %3d tests", p, perPkg[p])
	}
	t.Logf("%d rego tests", n)
}

// TestNoComprehensionIndex makes sure the compiler builds no comprehension index in the
// rules: an index is built by evaluating the comprehension for every value of the
// variable it closes over, which for a fact look-up (people[person]) means every person
// of the org, on every decision.
func TestNoComprehensionIndex(t *testing.T) {
	modules, _ := load(t)
	var debug strings.Builder
	c := ast.NewCompiler().WithStrict(true).WithDebug(&debug)
	if c.Compile(modules); c.Failed() {
		t.Fatalf("compile: %v", c.Errors)
	}
	for _, line := range strings.Split(debug.String(), "\n") {
		if strings.Contains(line, "comprehension index: built") && !strings.Contains(line, "_test.rego") {
			t.Errorf("comprehension index built: %s", line)
		}
	}
}

// TestDenyRulesAnnotated checks the rule contract of POLICY.md: every deny rule has a
// METADATA block (title, description, custom.id, custom.basis); its id is <pkg>.<rule>
// and the violation it builds carries that id and that basis; all but the input schema
// are guarded by the actions they apply to; the ids are exactly the table's; and every
// id is named by some test.
func TestDenyRulesAnnotated(t *testing.T) {
	modules, docs := load(t)
	seen := map[string]bool{}
	var tests strings.Builder
	for _, m := range modules {
		if strings.HasSuffix(m.Package.Location.File, "_test.rego") {
			tests.Write(m.Package.Location.Text)
			for _, r := range m.Rules {
				tests.Write(r.Location.Text)
			}
		}
	}
	for name, m := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.fenquan.")
		for _, r := range m.Rules {
			if r.Head.Name.String() != "deny" && !(len(r.Head.Ref()) > 0 && r.Head.Ref()[0].Value.String() == "deny") {
				continue
			}
			where := fmt.Sprintf("%s:%d", name, r.Location.Row)
			var a *ast.Annotations
			for _, x := range r.Annotations {
				if x.Scope == "rule" {
					a = x
				}
			}
			if a == nil {
				t.Errorf("%s: deny rule without a METADATA block", where)
				continue
			}
			id, _ := a.Custom["id"].(string)
			basis, _ := a.Custom["basis"].(string)
			if a.Title == "" || a.Description == "" || id == "" || basis == "" {
				t.Errorf("%s: METADATA needs title, description, custom.id and custom.basis", where)
				continue
			}
			if !strings.HasPrefix(id, pkg+".") {
				t.Errorf("%s: id %s is not in package %s", where, id, pkg)
			}
			text := string(r.Location.Text)
			if !strings.Contains(text, `"`+id+`"`) || !strings.Contains(text, `"`+basis+`"`) {
				t.Errorf("%s: the violation does not carry the METADATA id %s and basis", where, id)
			}
			if pkg != "input" {
				// The guard is a look-up in the scope table (an object keyed by action),
				// never `input.action in <array>`: a search per rule per decision.
				first, rule := r.Body[0].String(), strings.TrimPrefix(id, pkg+".")
				switch first {
				case fmt.Sprintf("data.%s.rule_actions.%s[input.action]", pkg, rule):
					if _, ok := scope(docs, pkg, "rule_actions", rule); !ok {
						t.Errorf("%s: %s: data.%s.rule_actions.%s is missing or not an object of actions", where, id, pkg, rule)
					}
				case fmt.Sprintf("data.%s.actions[input.action]", pkg):
				default:
					t.Errorf("%s: %s is not guarded by the actions it applies to: its first expression must be data.%s.rule_actions.%s[input.action] (got %s)", where, id, pkg, rule, first)
				}
			}
			seen[id] = true
		}
	}
	var got []string
	for id := range seen {
		got = append(got, id)
		if !strings.Contains(tests.String(), `"`+id+`"`) {
			t.Errorf("rule %s is named by no test", id)
		}
	}
	want := slices.Clone(ruleIDs)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("rule ids:\n got  %v\n want %v", got, want)
	}
}

// scope reads data.<pkg>.<key>[.<rule>]: an object whose keys are the actions in scope.
// Every value must be true (a guard is data.<pkg>.rule_actions.<rule>[input.action], so a
// false would read as out of scope while looking listed); ok is false for anything else.
func scope(docs map[string]any, pkg string, key ...string) ([]string, bool) {
	var v any = docs[pkg]
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = m[k]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	actions := make([]string, 0, len(m))
	for a, on := range m {
		if on != true {
			return nil, false
		}
		actions = append(actions, a)
	}
	sort.Strings(actions)
	return actions, true
}

// TestScopesNameKnownActions checks that every action a package's scope names is an
// action of data.input.actions (a typo would silently switch a rule off), and that every
// rule's scope lies inside its package's.
func TestScopesNameKnownActions(t *testing.T) {
	_, docs := load(t)
	known := docs["input"].(map[string]any)["actions"].(map[string]any)
	for _, pkg := range []string{"api", "case", "sod", "signoff", "collective", "discretion", "grading", "risk", "oversight"} {
		actions, ok := scope(docs, pkg, "actions")
		if !ok || len(actions) == 0 {
			t.Errorf("data.%s.actions is missing, empty or not an object of actions (action: true)", pkg)
		}
		lists := [][]string{actions}
		if ra, ok := docs[pkg].(map[string]any)["rule_actions"].(map[string]any); ok {
			for rule := range ra {
				l, ok := scope(docs, pkg, "rule_actions", rule)
				if !ok {
					t.Errorf("data.%s.rule_actions.%s is not an object of actions (action: true)", pkg, rule)
				}
				for _, a := range l {
					if !slices.Contains(actions, a) {
						t.Errorf("data.%s.rule_actions.%s names %v, which is not in data.%s.actions", pkg, rule, a, pkg)
					}
				}
				lists = append(lists, l)
			}
		}
		for _, l := range lists {
			for _, a := range l {
				if _, ok := known[a]; !ok {
					t.Errorf("data.%s names the unknown action %v", pkg, a)
				}
			}
		}
	}
}

// TestEmbedded checks that FS holds every package folder.
func TestEmbedded(t *testing.T) {
	for _, pkg := range []string{"main", "input", "api", "case", "sod", "signoff", "collective", "discretion", "grading", "risk", "oversight", "lib"} {
		if _, err := fs.Stat(policies.FS, pkg+"/"+pkg+".rego"); err != nil {
			t.Errorf("%s/%s.rego not embedded: %v", pkg, pkg, err)
		}
		if _, err := fs.Stat(policies.FS, pkg+"/"+pkg+"_test.rego"); err != nil {
			t.Errorf("%s/%s_test.rego not embedded: %v", pkg, pkg, err)
		}
	}
}
