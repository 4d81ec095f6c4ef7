package pdp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// FindingsQuery is the supervision rules' query: the set of findings (warnings to raise)
// for an input describing a case event or a clock tick (docs/SUPERVISION.md).
const FindingsQuery = "data.fenquan.supervision.findings"

// ErrNoFindingsRules: the set has no supervision rules.
var ErrNoFindingsRules = errors.New("the policy set has no supervision rules (" + FindingsQuery + ")")

// Findings evaluates the supervision rules of the active set for input (an ast.Object,
// or a value that marshals to a JSON object) and returns the findings as JSON-like values,
// with the revision of the set that produced them. Findings are not decisions: nothing is
// logged here; the supervision service records what it raises.
func (p *PDP) Findings(ctx context.Context, input any) ([]any, string, error) {
	e := p.cur.Load()
	if e == nil {
		return nil, "", errors.New("no policy set is loaded")
	}
	out, err := e.evalFindings(ctx, input, p.cfg.Timeout)
	return out, e.set.Revision, err
}

// Candidate is a policy set compiled beside the active one (with the same org facts), to
// evaluate its supervision rules without activating it: a backtest.
type Candidate struct {
	e       *engine
	timeout time.Duration
}

// Candidate compiles set with the PDP's current facts. Its tests are not run here: a
// proposed set's tests run when it is validated or published.
func (p *PDP) Candidate(ctx context.Context, set *Set) (*Candidate, error) {
	e, err := p.facts.buildEngine(ctx, set)
	if err != nil {
		return nil, err
	}
	return &Candidate{e: e, timeout: p.cfg.Timeout}, nil
}

// Revision is the candidate set's revision.
func (c *Candidate) Revision() string { return c.e.set.Revision }

// Findings evaluates the candidate's supervision rules for input.
func (c *Candidate) Findings(ctx context.Context, input any) ([]any, error) {
	return c.e.evalFindings(ctx, input, c.timeout)
}

func (e *engine) evalFindings(ctx context.Context, input any, timeout time.Duration) ([]any, error) {
	if e.findings == nil {
		return nil, ErrNoFindingsRules
	}
	obj, err := toObject(input)
	if err != nil {
		return nil, err
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rs, err := e.findings.Eval(ectx, rego.EvalParsedInput(obj))
	if err != nil {
		if ectx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("supervision rules: one evaluation took longer than %s: %w", timeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("supervision rules: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	set, _ := rs[0].Expressions[0].Value.([]any)
	return set, nil
}
