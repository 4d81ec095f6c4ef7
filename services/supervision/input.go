package supervision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// cst is the rules' calendar (China Standard Time).
var cst = time.FixedZone("CST", 8*3600)

func ns(t *timestamppb.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return t.AsTime().UnixNano()
}

func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func stateName(s approvalv1.Case_State) string { return strings.TrimPrefix(s.String(), "STATE_") }

func methodName(m approvalv1.PaymentMethod) string {
	if m == approvalv1.PaymentMethod_PAYMENT_METHOD_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(m.String(), "PAYMENT_METHOD_")
}

// collectivePassed: a closed, passed, not voided meeting bound to the current payload.
func collectivePassed(c *approvalv1.Case) bool {
	for _, m := range c.Meetings {
		if m.Closed && m.Passed && !m.Voided && m.ProposalVersion == c.GetPayload().GetVersion() {
			return true
		}
	}
	return false
}

// caseInput is a case as the rules read it (docs/SUPERVISION.md, "Input").
func caseInput(c *approvalv1.Case, paymentSteps map[string]bool) map[string]any {
	p := c.GetPayload()
	pending, paid := false, false
	var active []any
	for _, a := range c.Active {
		if a.Payment && !a.Signed {
			pending = true
		}
		active = append(active, map[string]any{
			"step": a.Step, "payment": a.Payment, "start_ns": ns(a.StartTime), "due_ns": ns(a.DueTime), "claimed_by": a.ClaimedBy,
		})
	}
	var sigs []any
	for _, sg := range c.Signatures {
		if paymentSteps[sg.Step] {
			paid = true
		}
		sigs = append(sigs, map[string]any{"step": sg.Step, "person": sg.Person, "duty": sg.Duty, "time_ns": ns(sg.Time)})
	}
	return map[string]any{
		"name": c.Name, "unit": c.Unit, "power": c.Power, "state": stateName(c.State), "held": c.Held,
		"applicant": c.Applicant, "a": c.A, "b": c.B,
		"amount": p.GetAmount(), "fund": p.GetFund(), "indicator": p.GetIndicator(), "item": p.GetItem(),
		"method":            methodName(p.GetMethod()),
		"payee":             map[string]any{"code": p.GetPayee().GetCode(), "name": p.GetPayee().GetName(), "is_person": p.GetPayee().GetIsPerson()},
		"collective_passed": collectivePassed(c), "payment_pending": pending, "paid": paid,
		"create_ns": ns(c.CreateTime), "active": orEmpty(active), "signatures": orEmpty(sigs),
	}
}

func orEmpty(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

// relatedInput lists the payments a case is compared with: the org's other cases to the
// same payee created within the lookback, and its cash payments of the year.
func (s *Service) relatedInput(view *caseView, c *approvalv1.Case, now time.Time) map[string]any {
	same, cash := view.related(c)
	since := now.Add(-s.cfg.Lookback).UnixNano()
	year := now.In(cst).Year()
	var payments, cashes []any
	live := func(x *approvalv1.Case) bool {
		return x.State != approvalv1.Case_STATE_WITHDRAWN && x.State != approvalv1.Case_STATE_REJECTED && x.GetPayload().GetAmount() > 0
	}
	for _, r := range same {
		x := r.c
		if !live(x) || r.createNs < since {
			continue
		}
		payments = append(payments, r.pay) // an ast.Value, made once per change of the case
	}
	for _, r := range cash {
		x := r.c
		if !live(x) || x.CreateTime.AsTime().In(cst).Year() != year {
			continue
		}
		cashes = append(cashes, map[string]any{"case": x.Name, "unit": x.Unit, "amount": x.GetPayload().GetAmount(), "time_ns": ns(x.CreateTime)})
	}
	return map[string]any{"payments": orEmpty(payments), "cash": orEmpty(cashes)}
}

// conflictsInput is the 回避 declarations of the case's signers and claimants.
func (s *Service) conflictsInput(c *approvalv1.Case, day string) map[string]any {
	org := orgOf(c.Name)
	people := []string{c.Applicant, c.A, c.B}
	for _, sg := range c.Signatures {
		people = append(people, sg.Person)
	}
	for _, a := range c.Active {
		if a.ClaimedBy != "" {
			people = append(people, a.ClaimedBy)
		}
	}
	out := map[string]any{}
	for _, p := range people {
		if _, done := out[p]; done || p == "" {
			continue
		}
		var list []any
		for _, v := range s.cfg.PDP.Facts().Conflicts(org, idOf(p), day) {
			list = append(list, v)
		}
		out[p] = orEmpty(list)
	}
	return out
}

// baseInput is what every evaluation starts from.
func (s *Service) baseInput(trigger, org string, now time.Time) map[string]any {
	return map[string]any{
		"trigger": trigger, "org": org, "now_ns": now.UnixNano(), "day": now.In(cst).Format(time.DateOnly),
		"rest_day": s.cal.restDay(now), "working_hours": s.cal.workingHours(now),
	}
}

// eventInput is the input for one case event, with the case as the view holds it.
func (s *Service) eventInput(view *caseView, ev *approvalv1.CaseEvent, c *approvalv1.Case, paymentSteps map[string]bool, stepStart int64) map[string]any {
	t := ev.Time.AsTime()
	in := s.baseInput("event", orgOf(ev.Case), t)
	in["event"] = map[string]any{
		"type": ev.Type, "actor": ev.Actor, "step": ev.Step, "payment": paymentSteps[ev.Step], "seq": ev.Seq,
		"time_ns": t.UnixNano(), "step_start_ns": stepStart,
	}
	in["case"] = caseInput(c, paymentSteps)
	if ev.CaseAfter == nil {
		// An event before the last of its change sees the case as the previous change
		// left it, whose related payments, declarations and budget were weighed at that
		// change's last event: only its own facts (the event's type, actor, time) are new.
		in["related"] = map[string]any{"payments": []any{}, "cash": []any{}}
		in["conflicts"] = map[string]any{}
		return in
	}
	in["related"] = s.relatedInput(view, c, t)
	if c.GetPayload().GetIndicator() != "" {
		// What the indicator has committed this year; the annual budget is the rules'
		// table (data.supervision.indicator_budgets).
		l := t.In(cst)
		in["budget"] = map[string]any{"spent": view.committed(c, l.Year()), "month": int(l.Month())}
	}
	in["conflicts"] = s.conflictsInput(c, t.In(cst).Format(time.DateOnly))
	return in
}

// finding is one element of data.fenquan.supervision.findings.
type finding struct {
	Rule, Name, Severity, Action, Subject, Person, Key, Zh, En, Basis string
	RespondDays                                                       int
	DeadlineNs                                                        int64
}

func parseFindings(raw []any) ([]finding, error) {
	out := make([]finding, 0, len(raw))
	for _, x := range raw {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a finding is %T, not an object", x)
		}
		str := func(k string) string { v, _ := m[k].(string); return v }
		num := func(k string) int64 {
			switch v := m[k].(type) {
			case float64:
				return int64(v)
			case int64:
				return v
			case interface{ Int64() (int64, error) }:
				n, _ := v.Int64()
				return n
			}
			return 0
		}
		f := finding{Rule: str("rule"), Name: str("name"), Severity: str("severity"), Action: str("action"), Subject: str("subject"), Person: str("person"),
			Key: str("key"), Zh: str("zh"), En: str("en"), Basis: str("basis"), RespondDays: int(num("respond_days")), DeadlineNs: num("deadline_ns")}
		if f.Rule == "" || f.Key == "" {
			return nil, fmt.Errorf("a finding without rule or key: %v", m)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b finding) int { return strings.Compare(a.Rule+a.Key, b.Rule+b.Key) })
	return out, nil
}

var severities = map[string]supervisionv1.Severity{
	"NOTICE": supervisionv1.Severity_SEVERITY_NOTICE, "YELLOW": supervisionv1.Severity_SEVERITY_YELLOW, "RED": supervisionv1.Severity_SEVERITY_RED,
}

var noticeTitle = map[supervisionv1.Severity]string{
	supervisionv1.Severity_SEVERITY_NOTICE: "预警提示单",
	supervisionv1.Severity_SEVERITY_YELLOW: "黄牌督办通知书",
	supervisionv1.Severity_SEVERITY_RED:    "红牌整改通知书",
}

// warning is the warning a finding raises, at now, from the given evidence.
func (s *Service) warning(f finding, org, unit, flow, step string, now time.Time, revision string, ev ...*supervisionv1.Evidence) *supervisionv1.Warning {
	sev := severities[f.Severity]
	due := s.cal.addWorkingDays(now, max(f.RespondDays, 1))
	w := &supervisionv1.Warning{
		Name: warningName(org, warningID(f.Rule, f.Key)), Rule: f.Rule, RuleName: f.Name, Severity: sev, Action: f.Action,
		Subject: f.Subject, Person: f.Person, Unit: unit, Flow: flow, Step: step, Zh: f.Zh, En: f.En, Basis: f.Basis, Key: f.Key,
		Evidence: ev, State: supervisionv1.WarningState_WARNING_STATE_RAISED, DueTime: timestamppb.New(due),
		PolicyRevision: revision, RaiseTime: timestamppb.New(now), UpdateTime: timestamppb.New(now),
	}
	if f.DeadlineNs > 0 {
		w.Deadline = timestamppb.New(time.Unix(0, f.DeadlineNs))
	}
	if f.Action == "hold" {
		w.Hold = holdPending
	}
	w.Owners = s.owners(org, unit, sev, now)
	act := "反馈处理情况"
	if sev == supervisionv1.Severity_SEVERITY_RED {
		act = "完成整改并报送整改报告"
	}
	w.Notice = fmt.Sprintf("%s\n%s\n依据：%s\n请于 %s 前%s。", noticeTitle[sev], f.Zh, f.Basis, due.In(cst).Format("2006年01月02日"), act)
	return w
}

// findings evaluates the active rule set for an input. An evaluation that ran past the
// decision point's bound (a loaded machine, a long GC pause) is tried again, up to three
// times, before it fails: a failure ends the consumer's stream, and the restart replays
// every event to rebuild the view.
func (s *Service) findings(ctx context.Context, in map[string]any) ([]finding, string, error) {
	raw, rev, err := s.cfg.PDP.Findings(ctx, in)
	for try := 0; err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && try < 3; try++ {
		raw, rev, err = s.cfg.PDP.Findings(ctx, in)
	}
	if err != nil {
		return nil, "", err
	}
	fs, err := parseFindings(raw)
	return fs, rev, err
}

// paymentValue is a case as the rules read a related payment, as an OPA value: made once
// when the case changes (apply), not on every evaluation it is related to.
func paymentValue(x *approvalv1.Case, paymentSteps map[string]bool) ast.Value {
	paid := false
	var signers []any
	for _, sg := range x.Signatures {
		paid = paid || paymentSteps[sg.Step]
		signers = append(signers, map[string]any{"person": sg.Person, "duty": sg.Duty})
	}
	p := x.GetPayload()
	v, err := ast.InterfaceToValue(map[string]any{
		"case": x.Name, "payee_code": p.GetPayee().GetCode(), "payee_name": p.GetPayee().GetName(), "is_person": p.GetPayee().GetIsPerson(),
		"fund": p.GetFund(), "amount": p.GetAmount(), "method": methodName(p.GetMethod()), "time_ns": ns(x.CreateTime),
		"paid": paid, "signers": orEmpty(signers),
	})
	if err != nil {
		panic(err) // only strings, numbers, booleans, lists and maps: cannot fail
	}
	return v
}
