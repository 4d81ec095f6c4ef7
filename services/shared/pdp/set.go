package pdp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"sigs.k8s.io/yaml"
)

// Query is what every decision evaluates.
const Query = "data.fenquan.main.decision"

// Set is a policy set: Rego modules and data files by path (e.g. "sod/sod.rego",
// "sod/data.json"), and the revision that names it.
type Set struct {
	Revision string
	Files    map[string][]byte
}

// SetFromFS reads every .rego, .json and .yaml file of fsys into a set. Its revision is
// "<prefix>:<digest>" unless given.
func SetFromFS(fsys fs.FS, revision string) (*Set, error) {
	s := &Set{Files: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Ext(p) {
		case ".rego", ".json", ".yaml", ".yml":
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			s.Files[p] = b
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.Files) == 0 {
		return nil, errors.New("pdp: the policy set has no files")
	}
	s.Revision = revision
	if s.Revision == "" {
		s.Revision = "sha256:" + s.Digest()[:16]
	}
	return s, nil
}

// Digest is a hash of the set's files, for "is this the same set".
func (s *Set) Digest() string {
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.Files[n]))
		h.Write(s.Files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// engine is a compiled set with its store and prepared query: immutable once built,
// swapped as a whole.
type engine struct {
	set          *Set
	factsVersion uint64 // the Facts version its store was built with
	modules      map[string]*ast.Module
	compiler     *ast.Compiler
	store        storage.Store
	query        rego.PreparedEvalQuery
	// rules answers schema-valid inputs faster (RulesQuery); nil if the set lacks it.
	rules  *rego.PreparedEvalQuery
	schema *schema
	// findings evaluates the supervision rules (FindingsQuery); nil if the set has none.
	findings *rego.PreparedEvalQuery
}

// SetError says why a set was refused: it did not parse, compile or pass its tests.
type SetError struct {
	Revision string
	Stage    string // "parse", "compile", "data", "test"
	Problems []string
}

func (e *SetError) Error() string {
	const max = 8
	ps := e.Problems
	more := ""
	if len(ps) > max {
		more = fmt.Sprintf(" (and %d more)", len(ps)-max)
		ps = ps[:max]
	}
	return fmt.Sprintf("policy set %s refused at %s: %s%s", e.Revision, e.Stage, strings.Join(ps, "; "), more)
}

// build parses and compiles the set in strict mode, loads its data files and the given
// facts into a fresh store, and prepares the decision query.
func build(ctx context.Context, s *Set, facts ast.Value) (*engine, error) {
	e := &engine{set: s, modules: map[string]*ast.Module{}}
	data := map[string]any{}
	var problems []string
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b := s.Files[name]
		switch path.Ext(name) {
		case ".rego":
			m, err := ast.ParseModuleWithOpts(name, string(b), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			e.modules[name] = m
		default:
			var doc any
			var err error
			if path.Ext(name) == ".json" {
				err = json.Unmarshal(b, &doc)
			} else {
				err = yaml.Unmarshal(b, &doc)
			}
			if err != nil {
				problems = append(problems, name+": "+err.Error())
				continue
			}
			if err := mergeAt(data, path.Dir(name), doc); err != nil {
				problems = append(problems, name+": "+err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return nil, &SetError{Revision: s.Revision, Stage: "parse", Problems: problems}
	}
	if len(e.modules) == 0 {
		return nil, &SetError{Revision: s.Revision, Stage: "parse", Problems: []string{"no Rego modules"}}
	}
	if _, ok := data["facts"]; ok {
		return nil, &SetError{Revision: s.Revision, Stage: "data", Problems: []string{"data.facts is reserved for the org facts the services maintain"}}
	}
	e.compiler = ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
	if e.compiler.Compile(e.modules); e.compiler.Failed() {
		for _, err := range e.compiler.Errors {
			problems = append(problems, err.Error())
		}
		return nil, &SetError{Revision: s.Revision, Stage: "compile", Problems: problems}
	}
	root, err := ast.InterfaceToValue(data)
	if err != nil {
		return nil, &SetError{Revision: s.Revision, Stage: "data", Problems: []string{err.Error()}}
	}
	obj := root.(ast.Object)
	if facts == nil {
		facts = ast.NewObject()
	}
	obj.Insert(ast.StringTerm("facts"), ast.NewTerm(facts))
	e.store = inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	if err := storage.WriteOne(ctx, e.store, storage.AddOp, storage.RootPath, obj); err != nil {
		return nil, &SetError{Revision: s.Revision, Stage: "data", Problems: []string{err.Error()}}
	}
	prepare := func(q string) (rego.PreparedEvalQuery, error) {
		return rego.New(
			rego.Query(q),
			rego.Compiler(e.compiler),
			rego.Store(e.store),
			rego.StoreReadAST(true),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
	}
	if e.query, err = prepare(Query); err != nil {
		return nil, &SetError{Revision: s.Revision, Stage: "compile", Problems: []string{err.Error()}}
	}
	if len(e.compiler.GetRules(ast.MustParseRef(FindingsQuery))) > 0 {
		q, err := prepare(FindingsQuery)
		if err != nil {
			return nil, &SetError{Revision: s.Revision, Stage: "compile", Problems: []string{err.Error()}}
		}
		e.findings = &q
	}
	if e.schema = compileSchema(data); e.schema != nil && len(e.compiler.GetRules(ast.MustParseRef(RulesQuery))) > 0 {
		q, err := prepare(RulesQuery)
		if err != nil {
			return nil, &SetError{Revision: s.Revision, Stage: "compile", Problems: []string{err.Error()}}
		}
		e.rules = &q
	}
	return e, nil
}

// mergeAt places doc at the data path of folder dir ("sod" → data.sod; "." → data).
func mergeAt(data map[string]any, dir string, doc any) error {
	cur := data
	if dir != "." && dir != "" {
		for _, seg := range strings.Split(dir, "/") {
			next, ok := cur[seg].(map[string]any)
			if !ok {
				if cur[seg] != nil {
					return fmt.Errorf("data path %s is not an object", dir)
				}
				next = map[string]any{}
				cur[seg] = next
			}
			cur = next
		}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return errors.New("a data file must hold an object")
	}
	for k, v := range obj {
		if _, dup := cur[k]; dup {
			return fmt.Errorf("data key %q defined twice", k)
		}
		cur[k] = v
	}
	return nil
}

// testTimeout bounds each of a set's tests (OPA's default is 5 s).
const testTimeout = 30 * time.Second

// test runs the set's own Rego tests against its compiled modules and data.
func (e *engine) test(ctx context.Context) error {
	_, err := e.countTests(ctx)
	return err
}

// countTests runs the set's tests and returns how many passed (an error if any failed).
func (e *engine) countTests(ctx context.Context) (int, error) {
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		return 0, err
	}
	defer e.store.Abort(ctx, txn)
	// Each test may take up to testTimeout: the tests prove rules over whole tables and a
	// busy machine (a cluster starting, CI) is slower than a policy officer's laptop. A test
	// that times out refuses the set, as a failing one does.
	ch, err := tester.NewRunner().SetTimeout(testTimeout).SetCompiler(e.compiler).SetStore(e.store).SetModules(e.modules).RunTests(ctx, txn)
	if err != nil {
		return 0, &SetError{Revision: e.set.Revision, Stage: "test", Problems: []string{err.Error()}}
	}
	var failed []string
	ran := 0
	for r := range ch {
		ran++
		switch {
		case r.Error != nil:
			failed = append(failed, fmt.Sprintf("%s.%s: %v", r.Package, r.Name, r.Error))
		case r.Fail:
			failed = append(failed, fmt.Sprintf("%s.%s failed", r.Package, r.Name))
		}
	}
	if len(failed) > 0 {
		return ran, &SetError{Revision: e.set.Revision, Stage: "test", Problems: failed}
	}
	if ran == 0 {
		return 0, &SetError{Revision: e.set.Revision, Stage: "test", Problems: []string{"the set has no tests"}}
	}
	return ran, nil
}
