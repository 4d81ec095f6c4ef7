package pdp_test

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fenquan/fenquan/services/shared/pdp"
)

// BenchmarkTrivialPolicy is the floor of a decision: the PDP's own work and OPA's
// evaluation machinery around a policy that does nothing (docs/BENCHMARKS.md).
func BenchmarkTrivialPolicy(b *testing.B) {
	p := pdp.New(pdp.Config{Service: "t", Log: nopLog{}})
	s := &pdp.Set{Revision: "floor", Files: map[string][]byte{
		"main/main.rego":      []byte("package fenquan.main\n\ndecision := {\"allowed\": true, \"violations\": [], \"output\": {}}\n"),
		"main/main_test.rego": []byte("package fenquan.main_test\n\nimport data.fenquan.main\n\ntest_ok if main.decision.allowed\n"),
	}}
	if err := p.Load(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	in, _ := ast.InterfaceToValue(map[string]any{"org": "o", "actor": map[string]any{"person": "p"}, "case": map[string]any{"a": 1, "b": []any{1, 2, 3}}})
	b.ReportAllocs()
	for b.Loop() {
		if d, err := p.Decide(context.Background(), "x", in.(ast.Object)); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

type nopLog struct{}

func (nopLog) Record(context.Context, pdp.Record) {}
