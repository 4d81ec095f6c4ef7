// Package pdp is Fenquan's policy decision point: OPA embedded as a library, asked by
// every state-changing call before it writes (docs/POLICY.md).
//
//	d, err := p.Decide(ctx, "approval.sign", input)
//
// The active policy set is compiled once and its query prepared; the org facts (people,
// posts, assignments, conflict declarations) are kept in OPA's store as AST values, fed by
// the registry's watch, so an input carries only the action's own facts. A new set is
// compiled and its own tests run before it is swapped in, atomically; a set that fails is
// refused and the last good one keeps deciding.
//
// Deny by default: no set, an evaluation error, a timeout or an undefined result deny.
// Every decision is logged (DecisionLog) with its id, the policy revision and a digest of
// its input.
package pdp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/prometheus/client_golang/prometheus"
)

// Violation is one rule a request breaks.
type Violation struct {
	Rule       string `json:"rule"`
	Zh         string `json:"zh"`
	En         string `json:"en"`
	Basis      string `json:"basis,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
}

// Decision is the answer to one request.
type Decision struct {
	Allowed        bool
	Violations     []Violation
	Output         map[string]any
	PolicyRevision string
	DecisionID     string
	Duration       time.Duration

	input ast.Object
}

// InputDigest is the SHA-256 of the canonical input the decision was made on (computed
// on demand: the decision log computes it off the decision path).
func (d Decision) InputDigest() string {
	if d.input == nil {
		return ""
	}
	return digest(d.input)
}

// Rule ids of denials the PDP itself gives (not from a policy).
const (
	RuleNoPolicy  = "pdp.no_policy"
	RuleError     = "pdp.evaluation_error"
	RuleUndefined = "pdp.undefined"
	RuleTimeout   = "pdp.timeout"
)

// Config configures a PDP.
type Config struct {
	// Service names the caller in decision records ("registry", "approval", …).
	Service string
	// Timeout bounds one evaluation; default 500ms (decisions take tens of microseconds;
	// this only stops a runaway policy). A timeout denies.
	Timeout  time.Duration
	Log      DecisionLog
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Now is the clock of decision records; default time.Now.
	Now func() time.Time
}

// PDP decides. Safe for concurrent use.
type PDP struct {
	cfg   Config
	cur   atomic.Pointer[engine]
	facts *Facts

	swapMu  sync.Mutex // serialises Load; facts writes take facts.mu
	refused atomic.Pointer[SetError]

	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	swaps     *prometheus.CounterVec
}

// New returns a PDP with no set loaded (every decision denies until Load succeeds).
func New(cfg Config) *PDP {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Log == nil {
		cfg.Log = LogToSlog(cfg.Logger)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &PDP{
		cfg: cfg,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenquan_pdp_decisions_total", Help: "Policy decisions by action and result.",
		}, []string{"action", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fenquan_pdp_decision_seconds", Help: "Time to decide.",
			Buckets: []float64{.00002, .00005, .0001, .0002, .0005, .001, .0025, .005, .01, .05},
		}, []string{"action"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenquan_pdp_policy_loads_total", Help: "Policy set loads by result (activated, refused).",
		}, []string{"result"}),
	}
	p.facts = newFacts(p)
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(p.decisions, p.latency, p.swaps)
	}
	return p
}

// Facts returns the PDP's org facts, to be fed from the registry.
func (p *PDP) Facts() *Facts { return p.facts }

// Revision is the revision of the active set ("" when none).
func (p *PDP) Revision() string {
	if e := p.cur.Load(); e != nil {
		return e.set.Revision
	}
	return ""
}

// Refused returns the last set refused since the active one was loaded, if any.
func (p *PDP) Refused() *SetError { return p.refused.Load() }

// Load compiles set, runs its tests and, if all pass, swaps it in. On failure the
// active set keeps serving and the error (a *SetError) says why.
func (p *PDP) Load(ctx context.Context, set *Set) error {
	p.swapMu.Lock()
	defer p.swapMu.Unlock()
	if cur := p.cur.Load(); cur != nil && cur.set.Digest() == set.Digest() {
		if cur.set.Revision != set.Revision {
			// Same content published under another revision: only the name changes.
			e := *cur
			e.set = set
			p.cur.Store(&e)
		}
		return nil
	}
	e, err := p.facts.buildEngine(ctx, set)
	if err == nil {
		err = verify(ctx, e)
	}
	if err != nil {
		var se *SetError
		if !errors.As(err, &se) {
			se = &SetError{Revision: set.Revision, Stage: "load", Problems: []string{err.Error()}}
		}
		p.refused.Store(se)
		p.swaps.WithLabelValues("refused").Inc()
		p.cfg.Logger.Error("policy set refused; the last good set keeps deciding", "revision", set.Revision,
			"active", p.Revision(), "stage", se.Stage, "problems", se.Problems)
		return se
	}
	p.facts.activate(e)
	p.refused.Store(nil)
	p.swaps.WithLabelValues("activated").Inc()
	p.cfg.Logger.Info("policy set active", "revision", set.Revision)
	return nil
}

// Decide evaluates action for input. input is an ast.Object (fastest: no conversion; do
// not change it afterwards: the decision log reads it), or any value that marshals to a
// JSON object. The action is set into the input. An error is
// returned only for a malformed input or a canceled context; every other failure is a
// denial with a violation saying why.
func (p *PDP) Decide(ctx context.Context, action string, input any) (Decision, error) {
	start := time.Now()
	obj, err := toObject(input)
	if err != nil {
		return Decision{}, err
	}
	obj = withAction(obj, action)
	d := Decision{DecisionID: newID(p.cfg.Now())}
	e := p.cur.Load()
	switch {
	case e == nil:
		d.Violations = []Violation{{Rule: RuleNoPolicy, Zh: "未加载任何制度规则，默认拒绝", En: "no policy set is loaded: denied by default"}}
	default:
		d.PolicyRevision = e.set.Revision
		p.facts.refreshIfNewDay(ctx)
		ectx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		q := e.query
		if e.rules != nil && e.schema.valid(obj, action) {
			q = *e.rules
		}
		rs, err := q.Eval(ectx, rego.EvalParsedInput(obj))
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return Decision{}, ctx.Err()
		case err != nil && errors.Is(ectx.Err(), context.DeadlineExceeded):
			p.cfg.Logger.Error("policy evaluation timed out; denied", "action", action, "timeout", p.cfg.Timeout)
			d.Violations = []Violation{{Rule: RuleTimeout, Zh: "规则求值超时，默认拒绝", En: fmt.Sprintf("policy evaluation took longer than %s: denied by default", p.cfg.Timeout)}}
		case err != nil:
			p.cfg.Logger.Error("policy evaluation failed; denied", "action", action, "err", err)
			d.Violations = []Violation{{Rule: RuleError, Zh: "规则求值失败，默认拒绝", En: "policy evaluation failed: denied by default"}}
		case len(rs) == 0 || len(rs[0].Expressions) == 0:
			d.Violations = []Violation{{Rule: RuleUndefined, Zh: "规则未给出结论，默认拒绝", En: "the policy gave no decision: denied by default"}}
		default:
			d.Allowed, d.Violations, d.Output = parseDecision(rs[0].Expressions[0].Value)
		}
	}
	d.Duration = time.Since(start)
	d.input = obj
	result := "deny"
	if d.Allowed {
		result = "allow"
	}
	label := action
	if !utf8.ValidString(label) {
		label = "invalid" // a metric label must be UTF-8 (the client library panics otherwise)
	}
	p.decisions.WithLabelValues(label, result).Inc()
	p.latency.WithLabelValues(label).Observe(d.Duration.Seconds())
	p.cfg.Log.Record(ctx, Record{
		ID: d.DecisionID, Time: p.cfg.Now().UTC(), Service: p.cfg.Service, Action: action,
		Org: stringAt(obj, "org"), Actor: stringAt(obj, "actor", "person"), Resource: resourceOf(obj),
		PolicyRevision: d.PolicyRevision, Input: obj, Allowed: d.Allowed,
		Violations: d.Violations, Micros: d.Duration.Microseconds(),
	})
	return d, nil
}

// verified holds the digests of sets whose tests passed in this process: a set's tests
// depend only on its content and this binary, so they run once per process per set (a
// restart, a new binary or a new set runs them again).
var verified sync.Map

func verify(ctx context.Context, e *engine) error {
	d := e.set.Digest()
	if _, ok := verified.Load(d); ok {
		return nil
	}
	if err := e.test(ctx); err != nil {
		return err
	}
	verified.Store(d, true)
	return nil
}

// parseDecision reads {"allowed", "violations", "output"}; anything else denies.
func parseDecision(v any) (bool, []Violation, map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		return false, []Violation{{Rule: RuleUndefined, Zh: "规则结论格式无效，默认拒绝", En: "the policy's decision is malformed: denied by default"}}, nil
	}
	var vs []Violation
	if raw, ok := m["violations"].([]any); ok {
		for _, r := range raw {
			vm, _ := r.(map[string]any)
			vs = append(vs, Violation{
				Rule: str(vm["rule"]), Zh: str(vm["zh"]), En: str(vm["en"]),
				Basis: str(vm["basis"]), LegalBasis: str(vm["legal_basis"]),
			})
		}
	}
	allowed, _ := m["allowed"].(bool)
	if allowed && len(vs) > 0 {
		allowed = false // a policy that says both is read as a denial
	}
	if !allowed && len(vs) == 0 {
		vs = []Violation{{Rule: RuleUndefined, Zh: "规则拒绝但未说明原因", En: "the policy denied without saying why"}}
	}
	out, _ := m["output"].(map[string]any)
	return allowed, vs, out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// toObject turns an input into an AST object.
func toObject(input any) (ast.Object, error) {
	switch x := input.(type) {
	case ast.Object:
		return x, nil
	case nil:
		return ast.NewObject(), nil
	}
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, fmt.Errorf("pdp: input: %w", err)
	}
	if err := jsonNumbers(v); err != nil {
		return nil, err
	}
	obj, ok := v.(ast.Object)
	if !ok {
		// Structs convert through JSON.
		b, err := json.Marshal(input)
		if err != nil {
			return nil, fmt.Errorf("pdp: input: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("pdp: input must be an object: %w", err)
		}
		v, err = ast.InterfaceToValue(m)
		if err != nil {
			return nil, err
		}
		obj = v.(ast.Object)
	}
	return obj, nil
}

// jsonNumbers refuses an input holding a number JSON cannot spell (NaN, ±Inf, from a Go
// float): the decision log could not record it, and Rego would compare it unlike any
// number.
func jsonNumbers(v ast.Value) error {
	var bad ast.Number
	ast.WalkTerms(v, func(t *ast.Term) bool {
		if n, ok := t.Value.(ast.Number); ok && !json.Valid([]byte(n)) {
			bad = n
		}
		return bad != ""
	})
	if bad != "" {
		return fmt.Errorf("pdp: input: %s is not a finite number", string(bad))
	}
	return nil
}

// withAction returns obj with "action" set (a copy if obj already has another action).
func withAction(obj ast.Object, action string) ast.Object {
	key := ast.StringTerm("action")
	if t := obj.Get(key); t != nil {
		if s, ok := t.Value.(ast.String); ok && string(s) == action {
			return obj
		}
	}
	out := ast.NewObject()
	obj.Foreach(func(k, v *ast.Term) {
		if !k.Equal(key) {
			out.Insert(k, v)
		}
	})
	out.Insert(key, ast.StringTerm(action))
	return out
}

func stringAt(obj ast.Object, path ...string) string {
	var t *ast.Term = ast.NewTerm(obj)
	for _, p := range path {
		o, ok := t.Value.(ast.Object)
		if !ok {
			return ""
		}
		if t = o.Get(ast.StringTerm(p)); t == nil {
			return ""
		}
	}
	s, _ := t.Value.(ast.String)
	return string(s)
}

// resourceOf names what the decision is about, for the record.
func resourceOf(obj ast.Object) string {
	for _, p := range [][]string{{"case", "id"}, {"resource"}, {"permission"}, {"risk", "id"}} {
		if s := stringAt(obj, p...); s != "" {
			return s
		}
	}
	return ""
}

func digest(obj ast.Object) string {
	h := sha256.Sum256([]byte(obj.String())) // ast renders objects in key order: canonical
	return hex.EncodeToString(h[:])
}

// newID is time-ordered (so decision logs sort by time) and unique.
func newID(t time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%013x%s", t.UnixMilli(), hex.EncodeToString(b))
}

// DeniedMessage renders violations for a status message: every rule, English.
func DeniedMessage(vs []Violation) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.En)
	}
	slices.Sort(parts)
	return "denied by policy: " + strings.Join(parts, "; ")
}
