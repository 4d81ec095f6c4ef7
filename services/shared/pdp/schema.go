package pdp

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// RulesQuery is the decision without the input-schema checks; it is asked only for inputs
// the schema check below finds valid. Any other input is decided by Query, so every
// violation — including a malformed input's — is worded by the policy itself.
const RulesQuery = "data.fenquan.main.rules_decision"

// schema is the input schema of a set (data.input, policies/input/data.json), compiled to
// answer one question fast: does an input pass every check of the policy's input package?
// It mirrors fenquan.input exactly (TestSchemaMatchesRego proves it on a corpus): the
// Rego package walks ~40 fields per decision, which was half the cost of a decision.
type schema struct {
	objects map[string][]string // object path ("input.case.payee") → its place in the input
	actions map[string]*actionSchema
}

type actionSchema struct {
	fields   map[string]bool
	required map[string][]string
	nonEmpty map[string][]string
	types    map[string]map[string]string
}

// compileSchema reads data.input of a set; nil when the set has none (every input then
// takes the full query).
func compileSchema(data map[string]any) *schema {
	in, ok := data["input"].(map[string]any)
	if !ok {
		return nil
	}
	objs, ok1 := in["objects"].(map[string]any)
	acts, ok2 := in["actions"].(map[string]any)
	if !ok1 || !ok2 {
		return nil
	}
	s := &schema{objects: map[string][]string{}, actions: map[string]*actionSchema{}}
	for path, at := range objs {
		s.objects[path] = stringList(at)
	}
	for name, raw := range acts {
		a, ok := raw.(map[string]any)
		if !ok {
			return nil
		}
		as := &actionSchema{fields: map[string]bool{}, required: keyLists(a["required"]), nonEmpty: keyLists(a["non_empty"]), types: map[string]map[string]string{}}
		for _, f := range stringList(a["fields"]) {
			as.fields[f] = true
		}
		if ts, ok := a["types"].(map[string]any); ok {
			for path, keys := range ts {
				km, _ := keys.(map[string]any)
				as.types[path] = map[string]string{}
				for k, t := range km {
					as.types[path][k], _ = t.(string)
				}
			}
		}
		s.actions[name] = as
	}
	return s
}

func stringList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func keyLists(v any) map[string][]string {
	m, _ := v.(map[string]any)
	out := map[string][]string{}
	for path, keys := range m {
		out[path] = stringList(keys)
	}
	return out
}

// valid reports whether the input passes every check of the policy's input package.
func (s *schema) valid(in ast.Object, action string) bool {
	spec, ok := s.actions[action]
	if !ok {
		return false // input.unknown_action
	}
	// input.unexpected_field
	ok = true
	in.Foreach(func(k, _ *ast.Term) {
		if key, isStr := k.Value.(ast.String); !isStr || !spec.fields[string(key)] {
			ok = false
		}
	})
	if !ok {
		return false
	}
	// The objects the action requires, looked up once (null when absent).
	objs := make(map[string]ast.Value, len(spec.required))
	for path := range spec.required {
		at, known := s.objects[path]
		if !known {
			continue // the Rego leaves such a path undefined: no check applies to it
		}
		objs[path] = get(in, at)
	}
	for _, v := range objs {
		if _, isNull := v.(ast.Null); !isNull {
			if _, isObj := v.(ast.Object); !isObj {
				return false // a required object of another type
			}
		}
	}
	for path, keys := range spec.required {
		o, isObj := objs[path].(ast.Object)
		if !isObj {
			continue
		}
		for _, k := range keys {
			t := o.Get(ast.StringTerm(k))
			if t == nil {
				return false
			}
			if _, isNull := t.Value.(ast.Null); isNull {
				return false
			}
		}
	}
	for path, keys := range spec.nonEmpty {
		o, isObj := objs[path].(ast.Object)
		if !isObj {
			continue
		}
		for _, k := range keys {
			if t := o.Get(ast.StringTerm(k)); t != nil {
				if s, isStr := t.Value.(ast.String); isStr && s == "" {
					return false
				}
			}
		}
	}
	for path, keys := range spec.types {
		o, isObj := objs[path].(ast.Object)
		if !isObj {
			continue
		}
		for k, want := range keys {
			t := o.Get(ast.StringTerm(k))
			if t == nil {
				continue
			}
			if _, isNull := t.Value.(ast.Null); isNull {
				continue
			}
			if typeName(t.Value) != want {
				return false
			}
		}
	}
	return true
}

// get is object.get(input, path, null).
func get(in ast.Object, path []string) ast.Value {
	var v ast.Value = in
	for _, p := range path {
		o, ok := v.(ast.Object)
		if !ok {
			return ast.Null{}
		}
		t := o.Get(ast.StringTerm(p))
		if t == nil {
			return ast.Null{}
		}
		v = t.Value
	}
	return v
}

// typeName is Rego's type_name.
func typeName(v ast.Value) string {
	switch v.(type) {
	case ast.Null:
		return "null"
	case ast.Boolean:
		return "boolean"
	case ast.Number:
		return "number"
	case ast.String:
		return "string"
	case *ast.Array:
		return "array"
	case ast.Object:
		return "object"
	case ast.Set:
		return "set"
	}
	return ""
}
