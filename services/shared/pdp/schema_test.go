package pdp_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fenquan/fenquan/services/shared/pdp"
)

// The Go schema check must pass exactly the inputs the policy's input package passes: it
// decides which query a decision takes, so a disagreement would let a malformed input
// skip the checks the policy makes on it. Every action, a valid input generated from the
// schema, then every way of breaking it the schema names.
func TestSchemaMatchesRego(t *testing.T) {
	const dir = "../../../policies"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("the policies folder is not beside this module")
	}
	set, err := pdp.SetFromFS(os.DirFS(dir), "repo")
	if err != nil {
		t.Fatal(err)
	}
	actions, objects := pdp.SchemaActions(set)
	if len(actions) == 0 {
		t.Fatal("the policy set has no input schema")
	}
	ctx := context.Background()
	checker, err := pdp.NewSchemaChecker(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(actions))
	for n := range actions {
		names = append(names, n)
	}
	sort.Strings(names)
	cases := 0
	for _, action := range names {
		spec := actions[action]
		base := func() map[string]any { return validInput(action, spec, objects) }
		check := func(name string, in map[string]any, wantValid *bool) {
			t.Helper()
			v, err := ast.InterfaceToValue(in)
			if err != nil {
				t.Fatal(err)
			}
			goValid, regoValid, err := checker.Verdicts(ctx, v.(ast.Object))
			if err != nil {
				t.Fatal(err)
			}
			cases++
			if goValid != regoValid {
				t.Errorf("%s / %s: Go says valid=%v, the policy's input package says valid=%v", action, name, goValid, regoValid)
			}
			if wantValid != nil && regoValid != *wantValid {
				t.Errorf("%s / %s: valid=%v, want %v (test generator)", action, name, regoValid, *wantValid)
			}
		}
		yes, no := true, false
		check("generated valid input", base(), &yes)
		in := base()
		in["unexpected"] = 1
		check("unexpected top-level field", in, &no)
		in = base()
		in["action"] = action + ".nope"
		check("unknown action", in, &no)
		for path, keys := range spec.Required {
			for _, k := range keys {
				in := base()
				delete(objectAt(in, objects[path]), k)
				check(fmt.Sprintf("%s.%s missing", path, k), in, nil)
				in = base()
				objectAt(in, objects[path])[k] = nil
				check(fmt.Sprintf("%s.%s null", path, k), in, nil)
			}
			if len(objects[path]) > 0 {
				in := base()
				parent := objectAt(in, objects[path][:len(objects[path])-1])
				parent[objects[path][len(objects[path])-1]] = "not an object"
				check(path+" not an object", in, nil)
			}
		}
		for path, keys := range spec.NonEmpty {
			for _, k := range keys {
				in := base()
				if o := objectAt(in, objects[path]); o != nil {
					o[k] = ""
				}
				check(fmt.Sprintf("%s.%s empty", path, k), in, nil)
			}
		}
		for path, keys := range spec.Types {
			for k, want := range keys {
				in := base()
				if o := objectAt(in, objects[path]); o != nil {
					o[k] = wrongType(want)
				}
				check(fmt.Sprintf("%s.%s not %s", path, k, want), in, nil)
			}
		}
	}
	t.Logf("%d inputs over %d actions", cases, len(names))
}

// validInput fills every required key with a value of the right kind.
func validInput(action string, spec pdp.ActionSpec, objects map[string][]string) map[string]any {
	in := map[string]any{"action": action}
	paths := make([]string, 0, len(spec.Required))
	for p := range spec.Required {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(objects[paths[i]]) < len(objects[paths[j]]) })
	for _, path := range paths {
		o := ensureObject(in, objects[path])
		for _, k := range spec.Required[path] {
			if _, set := o[k]; set {
				continue
			}
			want := spec.Types[path][k]
			if want == "" {
				want = "string"
			}
			o[k] = rightType(want)
		}
	}
	return in
}

func ensureObject(in map[string]any, at []string) map[string]any {
	cur := in
	for _, k := range at {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	return cur
}

func objectAt(in map[string]any, at []string) map[string]any {
	cur := in
	for _, k := range at {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func rightType(t string) any {
	switch t {
	case "array":
		return []any{}
	case "boolean":
		return false
	case "object":
		return map[string]any{}
	case "number":
		return 1
	}
	return "x"
}

func wrongType(t string) any {
	if t == "string" {
		return 7
	}
	return "wrong"
}
