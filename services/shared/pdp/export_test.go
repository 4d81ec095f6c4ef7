package pdp

import (
	"context"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// SchemaChecker compares the Go schema check with the policy's own input package.
type SchemaChecker struct{ e *engine }

// NewSchemaChecker compiles set once.
func NewSchemaChecker(ctx context.Context, set *Set) (*SchemaChecker, error) {
	e, err := build(ctx, set, nil)
	return &SchemaChecker{e: e}, err
}

// Verdicts returns whether the Go check passes input and whether the policy's input
// package (data.fenquan.input.deny) finds nothing.
func (c *SchemaChecker) Verdicts(ctx context.Context, input ast.Object) (goValid, regoValid bool, err error) {
	e := c.e
	action, _ := input.Get(ast.StringTerm("action")).Value.(ast.String)
	goValid = e.schema != nil && e.schema.valid(input, string(action))
	rs, err := rego.New(rego.Query("count(data.fenquan.input.deny) == 0"), rego.Compiler(e.compiler), rego.Store(e.store),
		rego.ParsedInput(input)).Eval(ctx)
	if err != nil {
		return false, false, err
	}
	return goValid, len(rs) == 1 && rs[0].Expressions[0].Value == true, nil
}

// SchemaActions lists the actions of a set's input schema with their required object
// paths and keys, non-empty keys and typed keys (for generating inputs).
func SchemaActions(set *Set) (map[string]ActionSpec, map[string][]string) {
	e, err := build(context.Background(), set, nil)
	if err != nil || e.schema == nil {
		return nil, nil
	}
	out := map[string]ActionSpec{}
	for name, a := range e.schema.actions {
		fields := make([]string, 0, len(a.fields))
		for f := range a.fields {
			fields = append(fields, f)
		}
		out[name] = ActionSpec{Fields: fields, Required: a.required, NonEmpty: a.nonEmpty, Types: a.types}
	}
	return out, e.schema.objects
}

// ActionSpec is an action's schema.
type ActionSpec struct {
	Fields   []string
	Required map[string][]string
	NonEmpty map[string][]string
	Types    map[string]map[string]string
}
