package flowgraph

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
)

// Vars are the facts of a case that transition conditions may test.
type Vars struct {
	Amount        float64 // amount, in 元
	Emergency     bool    // emergency: the case runs the emergency channel (绿色通道)
	PayeeIsPerson bool    // payee_is_person: the payee is a natural person
	Fund          string  // fund: the fund code
	Indicator     string  // indicator: the budget indicator (预算指标) code
}

// Condition is a compiled transition condition. It is safe for concurrent use.
type Condition struct {
	expr string
	prg  cel.Program // nil: the empty condition, always true
}

const (
	// maxCost bounds both the estimated worst case (at compile time, so an author learns
	// about it when saving the flow) and the actual cost of one evaluation (so that an
	// expression that slips past the estimate still cannot hold a server).
	maxCost = 10_000
	// maxStringVar is what the estimate assumes of fund and indicator codes.
	maxStringVar = 1_000
	// maxExprLen matches the proto's limit on Transition.condition.
	maxExprLen = 1_000
	// maxCached bounds the cache: expressions come from users, and a cache that only
	// grows must not become a way to exhaust memory. Past the bound, compiles still work.
	maxCached = 4_096
)

var (
	celEnv = sync.OnceValues(func() (*cel.Env, error) {
		return cel.NewEnv(
			cel.Variable("amount", cel.DoubleType),
			cel.Variable("emergency", cel.BoolType),
			cel.Variable("payee_is_person", cel.BoolType),
			cel.Variable("fund", cel.StringType),
			cel.Variable("indicator", cel.StringType),
			cel.ParserExpressionSizeLimit(maxExprLen),
			// Authors write "amount >= 500000" as often as "amount >= 500000.0"; both mean
			// the same, so let the checker accept comparing the double with an int.
			cel.CrossTypeNumericComparisons(true),
		)
	})
	// compiled caches *Condition by expression text: the approval service evaluates a
	// condition at every step of every case, and compiling is far dearer than evaluating.
	compiled    sync.Map
	cachedCount atomic.Int64
)

// always is the empty condition.
var always = &Condition{}

// CompileCondition compiles a transition condition: a CEL expression over amount, emergency,
// payee_is_person, fund and indicator that must be boolean. The empty string is the
// condition that always holds. The error describes what is wrong in one line, fit for a
// field violation.
func CompileCondition(expr string) (*Condition, error) {
	if strings.TrimSpace(expr) == "" {
		return always, nil
	}
	if c, ok := compiled.Load(expr); ok {
		return c.(*Condition), nil
	}
	c, err := compile(expr)
	if err != nil {
		return nil, err
	}
	if cachedCount.Load() < maxCached {
		if _, loaded := compiled.LoadOrStore(expr, c); !loaded {
			cachedCount.Add(1)
		}
	}
	return c, nil
}

func compile(expr string) (*Condition, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("condition environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, errors.New(oneLine(iss))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("the condition must be boolean, but it is %s", t)
	}
	est, err := env.EstimateCost(ast, sizes{})
	if err != nil {
		return nil, fmt.Errorf("estimating the cost: %w", err)
	}
	if est.Max > maxCost {
		return nil, fmt.Errorf("the condition is too expensive to evaluate (estimated cost up to %d, at most %d allowed)", est.Max, maxCost)
	}
	prg, err := env.Program(ast, cel.CostLimit(maxCost))
	if err != nil {
		return nil, err
	}
	return &Condition{expr: expr, prg: prg}, nil
}

// oneLine renders CEL's issues without the source snippets, which span lines.
func oneLine(iss *cel.Issues) string {
	var parts []string
	for _, e := range iss.Errors() {
		if l := e.Location; l != nil && l.Line() > 0 {
			parts = append(parts, fmt.Sprintf("%d:%d: %s", l.Line(), l.Column()+1, e.Message))
		} else {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// sizes tells the cost estimate how long the string variables can be; without it every
// string operation would be estimated as unbounded.
type sizes struct{}

func (sizes) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if p := n.Path(); len(p) == 1 && (p[0] == "fund" || p[0] == "indicator") {
		return &checker.SizeEstimate{Min: 0, Max: maxStringVar}
	}
	return nil
}

func (sizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// String is the expression the condition was compiled from ("" for always).
func (c *Condition) String() string { return c.expr }

// Eval reports whether the condition holds for v.
func (c *Condition) Eval(v Vars) (bool, error) {
	if c == nil || c.prg == nil {
		return true, nil
	}
	out, _, err := c.prg.Eval(map[string]any{
		"amount":          v.Amount,
		"emergency":       v.Emergency,
		"payee_is_person": v.PayeeIsPerson,
		"fund":            v.Fund,
		"indicator":       v.Indicator,
	})
	if err != nil {
		return false, fmt.Errorf("evaluating %q: %w", c.expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluating %q: got %s, want a boolean", c.expr, out.Type())
	}
	return b, nil
}

// andConditions joins two conditions as docs/FLOWS.md's contraction does: "(c1) && (c2)",
// with an empty condition counting as true.
func andConditions(c1, c2 string) string {
	c1, c2 = strings.TrimSpace(c1), strings.TrimSpace(c2)
	switch {
	case c1 == "":
		return c2
	case c2 == "":
		return c1
	}
	return "(" + c1 + ") && (" + c2 + ")"
}
