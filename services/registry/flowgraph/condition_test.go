package flowgraph_test

import (
	"strings"
	"testing"

	"github.com/fenquan/fenquan/services/registry/flowgraph"
)

func TestCompileConditionErrors(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"not boolean", "amount * 2.0", "must be boolean, but it is double"},
		{"string result", "fund", "must be boolean, but it is string"},
		{"unknown variable", "amout >= 1.0", "undeclared reference to 'amout'"},
		{"type mismatch", "amount + 1 > 2.0", "found no matching overload"},
		{"syntax", "amount >=", "1:10"},
		{"too long", strings.Repeat("true && ", 200) + "true", "size"},
		// Nested comprehensions: cheap to write, expensive to run.
		{"too expensive", "[" + strings.Repeat("1,", 99) + "1].all(x, [" + strings.Repeat("1,", 99) + "1].all(y, [" + strings.Repeat("1,", 99) + "1].all(z, x + y + z > 0)))", "too expensive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := flowgraph.CompileCondition(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CompileCondition(%.40q) = %v, %v, want an error containing %q", tt.expr, c, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines; violations want one", err)
			}
		})
	}
}

func TestConditionEval(t *testing.T) {
	tests := []struct {
		expr string
		vars flowgraph.Vars
		want bool
	}{
		{"", flowgraph.Vars{}, true},
		{"  ", flowgraph.Vars{}, true},
		{"amount >= 500000.0", flowgraph.Vars{Amount: 500000}, true},
		{"amount >= 500000.0", flowgraph.Vars{Amount: 499999.5}, false},
		{"amount >= 500000", flowgraph.Vars{Amount: 500000}, true}, // an int literal compares too
		{"emergency && !payee_is_person", flowgraph.Vars{Emergency: true}, true},
		{"payee_is_person", flowgraph.Vars{PayeeIsPerson: true}, true},
		{`fund.startsWith("zx") || indicator in ["2024-01", "2024-02"]`, flowgraph.Vars{Indicator: "2024-02"}, true},
		{`fund == "jc" && amount < 1000.0`, flowgraph.Vars{Fund: "jc", Amount: 1000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := flowgraph.CompileCondition(tt.expr)
			if err != nil {
				t.Fatalf("CompileCondition: %v", err)
			}
			got, err := c.Eval(tt.vars)
			if err != nil || got != tt.want {
				t.Errorf("Eval(%+v) = %v, %v, want %v", tt.vars, got, err, tt.want)
			}
		})
	}
}

func TestCompileConditionCaches(t *testing.T) {
	a, err := flowgraph.CompileCondition("amount > 1.0 && emergency")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := flowgraph.CompileCondition("amount > 1.0 && emergency")
	if a != b {
		t.Error("compiling the same expression twice gave two conditions, want the cached one")
	}
}

func TestConditionEvalFailsAtRuntime(t *testing.T) {
	// Type-checks, but fails on these values: Eval reports rather than guessing.
	c, err := flowgraph.CompileCondition(`int(fund) > 3`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Eval(flowgraph.Vars{Fund: "zx"}); err == nil {
		t.Errorf("Eval = %v, nil, want an error", got)
	}
}
