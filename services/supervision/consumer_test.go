package supervision_test

import (
	"fmt"
	"google.golang.org/grpc/codes"
	"slices"
	"testing"
	"time"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// A signature within seconds of the step's arrival on a large case is a 黄牌 (fast_sign),
// one outside working hours a 提示 (off_hours): each raised once, however many events
// follow, with its evidence, notice and deadline.
func TestEventRulesRaiseOnce(t *testing.T) {
	e := newEnv(t)
	c := e.open("feng", 600000)
	c = e.sign("feng", c, "zcjh")           // at once: fast
	e.clock.set(monday.Add(10 * time.Hour)) // 20:00
	c = e.sign("he", c, "zgzr")             // 20:00, 10 hours after arrival: off hours, not fast
	e.clock.set(monday.Add(24 * time.Hour))
	e.sign("liu", c, "fgcz")
	e.settle()
	ws := e.warnings()
	if len(ws["fast_sign"]) != 1 || len(ws["off_hours"]) != 1 {
		t.Fatalf("warnings: %v", ruleCounts(ws))
	}
	f := ws["fast_sign"][0]
	if f.Severity != supervisionv1.Severity_SEVERITY_YELLOW || f.Subject != c.Name || f.Step != "zcjh" || f.State != supervisionv1.WarningState_WARNING_STATE_RAISED ||
		len(f.Evidence) != 1 || f.Evidence[0].Type != "signed" || f.RuleName == "" || f.Evidence[0].Actor != pn("feng") || f.Notice == "" || f.DueTime == nil || f.Unit == "" {
		t.Fatalf("fast_sign warning: %v", f)
	}
	// Owners by grade: a 黄牌 goes to the leaders in charge, a 提示 to the unit's head.
	if fmt.Sprint(f.Owners) != fmt.Sprint([]string{pn("li"), pn("qian"), pn("sun")}) {
		t.Fatalf("owners of a yellow card: %v", f.Owners)
	}
	o := ws["off_hours"][0]
	if fmt.Sprint(o.Owners) != fmt.Sprint([]string{pn("wu")}) {
		t.Fatalf("owners of a notice: %v", o.Owners)
	}
	if o.Severity != supervisionv1.Severity_SEVERITY_NOTICE || o.Evidence[0].Actor != pn("he") {
		t.Fatalf("off_hours warning: %v", o)
	}
	// A small case signed at once raises nothing (fast_sign's amount threshold).
	small := e.open("feng", 1000)
	e.sign("feng", small, "zcjh")
	e.settle()
	if got := ruleCounts(e.warnings()); got["fast_sign"] != 1 {
		t.Fatalf("after a small fast signature: %v", got)
	}
}

func ruleCounts(ws map[string][]*supervisionv1.Warning) map[string]int {
	out := map[string]int{}
	for r, l := range ws {
		out[r] = len(l)
	}
	return out
}

// Stopping the consumer in the middle of a stream of events and starting another loses
// no warning and repeats none: the warnings equal what a backtest of the same events
// counts, and each id is stored once.
func TestRestartMidStreamNoLossNoDuplicate(t *testing.T) {
	e := newEnv(t)
	var cases []*approvalv1.Case
	for i := range 6 {
		c := e.open("feng", float64(500000+i))
		cases = append(cases, e.sign("feng", c, "zcjh"))
		if i == 2 {
			// Stop in the middle; the events of the next cases are written while no
			// consumer runs.
			e.settle()
			e.stopSvc()
		}
	}
	e.clock.set(monday.Add(11 * time.Hour))
	for _, c := range cases[:3] {
		e.sign("he", c, "zgzr")
	}
	e.start()
	for _, c := range cases[3:] {
		e.sign("he", c, "zgzr")
	}
	e.settle()
	ws := e.warnings()
	if got := ruleCounts(ws); got["fast_sign"] != 6 || got["off_hours"] != 6 {
		t.Fatalf("after the restart: %v", got)
	}
	st, err := e.sup.GetConsumerStatus(e.as("ops", "platform:platform-admin"), &supervisionv1.GetConsumerStatusRequest{})
	if err != nil {
		t.Fatal(describe(err))
	}
	bt, err := e.sup.Backtest(e.as("xu", "cz:supervisor"), &supervisionv1.BacktestRequest{Parent: "orgs/cz", ToRevision: st.Checkpoint})
	if err != nil {
		t.Fatalf("backtest: %s", describe(err))
	}
	back := map[string]int{}
	for _, r := range bt.Rules {
		back[r.Rule] = int(r.Warnings)
	}
	if fmt.Sprint(back) != fmt.Sprint(ruleCounts(ws)) || bt.Events != st.Events {
		t.Fatalf("backtest %v over %d events, live %v over %d", back, bt.Events, ruleCounts(ws), st.Events)
	}
	// Pages of 5 list every warning once, and the last page has no token.
	total := 0
	for _, l := range ws {
		total += len(l)
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		resp, err := e.sup.ListWarnings(e.supervisor(), &supervisionv1.ListWarningsRequest{Parent: "orgs/cz", PageSize: 5, PageToken: token})
		if err != nil || int(resp.TotalSize) != total || len(resp.Warnings) > 5 || pages > total {
			t.Fatalf("page %d: %v %s", pages, resp, describe(err))
		}
		for _, w := range resp.Warnings {
			if seen[w.Name] {
				t.Fatalf("%s listed twice", w.Name)
			}
			seen[w.Name] = true
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != total {
		t.Fatalf("paged %d of %d warnings", len(seen), total)
	}
}

// The clock rules on a step's time limit: a reminder before it, a 黄牌 with a new deadline
// once it passes, a 红牌 once that passes too — each once, however often the clock ticks.
func TestOverdueLadder(t *testing.T) {
	e := newEnv(t)
	c := e.open("feng", 1000)
	e.settle()
	due := c.Active[0].DueTime.AsTime()
	tick := func(at time.Time) {
		t.Helper()
		e.clock.set(at)
		if _, err := e.svc.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick(due.Add(-48 * time.Hour))
	if got := ruleCounts(e.warnings()); len(got) != 0 {
		t.Fatalf("two days before the limit: %v", got)
	}
	tick(due.Add(-2 * time.Hour))
	tick(due.Add(-1 * time.Hour))
	if got := ruleCounts(e.warnings()); got["overdue_reminder"] != 1 || len(got) != 1 {
		t.Fatalf("just before the limit: %v", got)
	}
	tick(due.Add(time.Hour))
	ws := e.warnings()
	if got := ruleCounts(ws); got["overdue_yellow"] != 1 {
		t.Fatalf("past the limit: %v", got)
	}
	y := ws["overdue_yellow"][0]
	if y.Deadline == nil || !y.Deadline.AsTime().After(due) || y.Severity != supervisionv1.Severity_SEVERITY_YELLOW || y.Step != "zcjh" {
		t.Fatalf("yellow card: %v", y)
	}
	tick(y.Deadline.AsTime().Add(time.Hour))
	tick(y.Deadline.AsTime().Add(2 * time.Hour))
	if got := ruleCounts(e.warnings()); got["overdue_red"] != 1 || got["overdue_yellow"] != 1 || got["overdue_reminder"] != 1 {
		t.Fatalf("past the yellow card's deadline: %v", got)
	}
}

// A warning goes raised → reviewed → traced → rectified → closed, with dispositions; steps
// out of order are refused, and the person a warning is about may not act on it.
func TestWarningLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.open("feng", 600000)
	e.sign("feng", c, "zcjh")
	e.settle()
	w := e.warnings()["fast_sign"][0]
	act := func(who string, a supervisionv1.WarningAction, text string) (*supervisionv1.Warning, error) {
		return e.sup.ActOnWarning(e.as(who, "cz:supervisor"), &supervisionv1.ActOnWarningRequest{Name: w.Name, Action: a, Text: text, RequestId: e.rid()})
	}
	_, err := act("feng", supervisionv1.WarningAction_WARNING_ACTION_REVIEW, "")
	wantRule(t, err, "oversight.self_supervision")
	// Nor anyone else who took part in the case (cao is its B角).
	_, err = act("cao", supervisionv1.WarningAction_WARNING_ACTION_REVIEW, "")
	wantRule(t, err, "oversight.self_supervision")
	_, err = act("xu", supervisionv1.WarningAction_WARNING_ACTION_CLOSE, "办结")
	wantRule(t, err, "oversight.transition")
	_, err = e.sup.ActOnWarning(e.as("xu", "cz:supervisor"), &supervisionv1.ActOnWarningRequest{Name: w.Name, Action: supervisionv1.WarningAction_WARNING_ACTION_DISPOSE, Disposition: "罚款", Text: "x", RequestId: e.rid()})
	wantRule(t, err, "oversight.disposition")
	_, err = e.sup.ActOnWarning(e.person("he"), &supervisionv1.ActOnWarningRequest{Name: w.Name, Action: supervisionv1.WarningAction_WARNING_ACTION_REVIEW, RequestId: e.rid()})
	wantReason(t, err, codes.PermissionDenied, "POLICY_DENIED")
	for _, step := range []struct {
		a    supervisionv1.WarningAction
		text string
		want supervisionv1.WarningState
	}{
		{supervisionv1.WarningAction_WARNING_ACTION_REVIEW, "", supervisionv1.WarningState_WARNING_STATE_REVIEWED},
		{supervisionv1.WarningAction_WARNING_ACTION_DISPOSE, "约谈经办人", supervisionv1.WarningState_WARNING_STATE_REVIEWED},
		{supervisionv1.WarningAction_WARNING_ACTION_TRACE, "经办人未核对附件即签批", supervisionv1.WarningState_WARNING_STATE_TRACED},
		{supervisionv1.WarningAction_WARNING_ACTION_RECTIFY, "补充核对，重新签批", supervisionv1.WarningState_WARNING_STATE_RECTIFIED},
		{supervisionv1.WarningAction_WARNING_ACTION_CLOSE, "办结", supervisionv1.WarningState_WARNING_STATE_CLOSED},
	} {
		req := &supervisionv1.ActOnWarningRequest{Name: w.Name, Action: step.a, Text: step.text, RequestId: e.rid(), Etag: w.Etag}
		if step.a == supervisionv1.WarningAction_WARNING_ACTION_DISPOSE {
			req.Disposition = "风险提示"
		}
		if w, err = e.sup.ActOnWarning(e.supervisor(), req); err != nil {
			t.Fatalf("%s: %s", step.a, describe(err))
		}
		if w.State != step.want {
			t.Fatalf("%s: state %s, want %s", step.a, w.State, step.want)
		}
	}
	if len(w.History) != 4 || len(w.Dispositions) != 1 || w.Dispositions[0].By != pn("xu") || w.History[0].DecisionId == "" {
		t.Fatalf("history %v, dispositions %v", w.History, w.Dispositions)
	}
	if open, err := e.sup.ListWarnings(e.supervisor(), &supervisionv1.ListWarningsRequest{Parent: "orgs/cz", OpenOnly: true}); err != nil || slices.ContainsFunc(open.Warnings, func(x *supervisionv1.Warning) bool { return x.Name == w.Name }) {
		t.Fatalf("open warnings list the closed one: %v %v", open, err)
	}
}

// Rest days are the approval service's calendar: 10:00 on Thursday 1 October 2026 (国庆节)
// is outside working hours.
func TestHolidayFromTheCalendar(t *testing.T) {
	e := newEnv(t)
	e.clock.set(time.Date(2026, 10, 1, 9, 0, 0, 0, cst))
	c := e.open("feng", 1000)
	e.clock.set(time.Date(2026, 10, 1, 10, 0, 0, 0, cst))
	e.sign("feng", c, "zcjh")
	e.clock.set(time.Date(2026, 10, 9, 10, 0, 0, 0, cst)) // a Friday after the holiday: a working day
	e.sign("he", c, "zgzr")
	e.settle()
	ws := e.warnings()["off_hours"]
	if len(ws) != 1 || ws[0].Evidence[0].Actor != pn("feng") {
		t.Fatalf("off_hours: %v", ws)
	}
}
