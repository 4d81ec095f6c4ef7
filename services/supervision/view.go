package supervision

import (
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// caseView is what the consumer knows of every case from the event stream: the case as
// the last change left it (the event's case_after), the steps seen to be payment steps,
// and indexes for the related payments a rule compares a case with. It is rebuilt from the
// start of the stream whenever the consumer (re)connects.
type caseView struct {
	mu       sync.RWMutex
	cases    map[string]*caseRec
	byPayee  map[string]map[string]bool // org|payee → case names
	cashByOr map[string]map[string]bool // org → cash case names
	commit   map[string]float64         // org|indicator|year → committed amount
}

type caseRec struct {
	c            *approvalv1.Case
	paymentSteps map[string]bool
	// pay is the case as a related payment (an OPA value), createNs its creation time.
	pay      ast.Value
	createNs int64
}

func newCaseView() *caseView {
	return &caseView{cases: map[string]*caseRec{}, byPayee: map[string]map[string]bool{}, cashByOr: map[string]map[string]bool{}, commit: map[string]float64{}}
}

// payeeKey is how payments to the same payee are matched: the code, or else the name,
// normalised as the rules compare counterparties (trimmed, case-folded).
func payeeKey(p *approvalv1.Payee) string {
	if c := strings.ToLower(strings.TrimSpace(p.GetCode())); c != "" {
		return "c:" + c
	}
	if n := strings.ToLower(strings.TrimSpace(p.GetName())); n != "" {
		return "n:" + n
	}
	return ""
}

func orgOf(name string) string {
	rest := strings.TrimPrefix(name, "orgs/")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		return rest[:i]
	}
	return rest
}

// apply records the case as an event carries it after its change.
func (v *caseView) apply(c *approvalv1.Case) {
	if c == nil || c.Name == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	org := orgOf(c.Name)
	r := v.cases[c.Name]
	if r == nil {
		r = &caseRec{paymentSteps: map[string]bool{}}
		v.cases[c.Name] = r
	} else {
		if k := payeeKey(r.c.GetPayload().GetPayee()); k != "" {
			delete(v.byPayee[org+"|"+k], c.Name)
		}
		if k, amt := commitOf(r.c); k != "" {
			v.commit[k] -= amt
		}
	}
	if k, amt := commitOf(c); k != "" {
		v.commit[k] += amt
	}
	r.c = c
	for _, a := range c.Active {
		if a.Payment {
			r.paymentSteps[a.Step] = true
		}
	}
	r.createNs = ns(c.CreateTime)
	if payeeKey(c.GetPayload().GetPayee()) != "" && c.GetPayload().GetAmount() > 0 {
		r.pay = paymentValue(c, r.paymentSteps)
	}
	if k := payeeKey(c.GetPayload().GetPayee()); k != "" && c.GetPayload().GetAmount() > 0 {
		m := v.byPayee[org+"|"+k]
		if m == nil {
			m = map[string]bool{}
			v.byPayee[org+"|"+k] = m
		}
		m[c.Name] = true
	}
	if c.GetPayload().GetMethod() == approvalv1.PaymentMethod_PAYMENT_METHOD_CASH {
		m := v.cashByOr[org]
		if m == nil {
			m = map[string]bool{}
			v.cashByOr[org] = m
		}
		m[c.Name] = true
	} else if m := v.cashByOr[org]; m != nil {
		delete(m, c.Name)
	}
}

// get returns the case as last seen (shared: do not change it) and a copy of its payment
// steps (nil if unknown).
func (v *caseView) get(name string) (*approvalv1.Case, map[string]bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	r := v.cases[name]
	if r == nil {
		return nil, nil
	}
	return r.c, maps.Clone(r.paymentSteps)
}

// related lists the other cases of the org to the same payee, and (cash) the org's cash
// cases, each with a copy of its payment steps.
func (v *caseView) related(c *approvalv1.Case) (samePayee, cash []*caseRec) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	org := orgOf(c.Name)
	if k := payeeKey(c.GetPayload().GetPayee()); k != "" {
		for n := range v.byPayee[org+"|"+k] {
			if n != c.Name {
				r := v.cases[n]
				samePayee = append(samePayee, &caseRec{c: r.c, pay: r.pay, createNs: r.createNs})
			}
		}
	}
	for n := range v.cashByOr[org] {
		if n != c.Name {
			cash = append(cash, &caseRec{c: v.cases[n].c})
		}
	}
	return samePayee, cash
}

// open lists the open cases.
func (v *caseView) open() []*approvalv1.Case {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []*approvalv1.Case
	for _, r := range v.cases {
		if r.c.State == approvalv1.Case_STATE_OPEN {
			out = append(out, r.c)
		}
	}
	return out
}

// committed is what the org's live cases on the case's budget indicator created in year
// (China time) commit, the case included: a running sum kept by apply.
func (v *caseView) committed(c *approvalv1.Case, year int) float64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.commit[commitKey(c, year)]
}

// commitKey is org|indicator|year; commitOf is what a case adds to it.
func commitKey(c *approvalv1.Case, year int) string {
	return orgOf(c.Name) + "|" + c.GetPayload().GetIndicator() + "|" + strconv.Itoa(year)
}

func commitOf(c *approvalv1.Case) (string, float64) {
	if c == nil || c.GetPayload().GetIndicator() == "" || c.CreateTime == nil ||
		c.State == approvalv1.Case_STATE_WITHDRAWN || c.State == approvalv1.Case_STATE_REJECTED {
		return "", 0
	}
	return commitKey(c, c.CreateTime.AsTime().In(cst).Year()), c.GetPayload().GetAmount()
}

// stepStart is when step of the case became active, as the view shows the case before the
// event about it is applied (0 if unknown).
func (v *caseView) stepStart(caseName, step string) int64 {
	c, _ := v.get(caseName)
	for _, a := range c.GetActive() {
		if a.Step == step {
			return ns(a.StartTime)
		}
	}
	return 0
}
