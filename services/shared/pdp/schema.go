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
	fields map[string]bool
	// The objects the action requires, each with its checks, compiled to terms so a
	// decision allocates nothing to look them up.
	objs []objCheck
	// The source tables, for tests.
	required, nonEmpty map[string][]string
	types              map[string]map[string]string
}

type objCheck struct {
	at       []*ast.Term // its place in the input
	required []*ast.Term
	nonEmpty []*ast.Term
	types    []typedKey
}

type typedKey struct {
	key  *ast.Term
	want string
}

func terms(ss []string) []*ast.Term {
	out := make([]*ast.Term, len(ss))
	for i, s := range ss {
		out[i] = ast.StringTerm(s)
	}
	return out
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
		for path, keys := range as.required {
			at, known := s.objects[path]
			if !known {
				continue // the Rego leaves such a path undefined: no check applies to it
			}
			oc := objCheck{at: terms(at), required: terms(keys), nonEmpty: terms(as.nonEmpty[path])}
			for k, want := range as.types[path] {
				oc.types = append(oc.types, typedKey{key: ast.StringTerm(k), want: want})
			}
			as.objs = append(as.objs, oc)
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
	ok = true
	in.Foreach(func(k, _ *ast.Term) { // input.unexpected_field
		if key, isStr := k.Value.(ast.String); !isStr || !spec.fields[string(key)] {
			ok = false
		}
	})
	if !ok {
		return false
	}
	for i := range spec.objs {
		oc := &spec.objs[i]
		v := get(in, oc.at)
		if _, isNull := v.(ast.Null); isNull {
			continue // an absent object: its parent reports it if required
		}
		o, isObj := v.(ast.Object)
		if !isObj {
			return false // a required object of another type
		}
		for _, k := range oc.required {
			t := o.Get(k)
			if t == nil {
				return false
			}
			if _, isNull := t.Value.(ast.Null); isNull {
				return false
			}
		}
		for _, k := range oc.nonEmpty {
			if t := o.Get(k); t != nil {
				if str, isStr := t.Value.(ast.String); isStr && str == "" {
					return false
				}
			}
		}
		for _, tk := range oc.types {
			t := o.Get(tk.key)
			if t == nil {
				continue
			}
			if _, isNull := t.Value.(ast.Null); isNull {
				continue
			}
			if typeName(t.Value) != tk.want {
				return false
			}
		}
	}
	return true
}

// get is object.get(input, path, null).
func get(in ast.Object, path []*ast.Term) ast.Value {
	var v ast.Value = in
	for _, p := range path {
		o, ok := v.(ast.Object)
		if !ok {
			return ast.Null{}
		}
		t := o.Get(p)
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
