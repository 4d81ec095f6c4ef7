package approval_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

func endOf(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 999e6, cst)
}

func dueOf(t *testing.T, c *approvalv1.Case, step string) time.Time {
	t.Helper()
	for _, a := range c.Active {
		if a.Step == step {
			return a.DueTime.AsTime().In(cst)
		}
	}
	t.Fatalf("step %s is not active (%v)", step, activeSteps(c))
	return time.Time{}
}

// 限时办结: limits count working days on the calendar — the day after the start is day
// one, weekends and official holidays rest, make-up working days work.
func TestTimeLimits(t *testing.T) {
	e := newEnv(t)

	// Opened Wednesday 30 September 2026, the eve of 国庆 (1–7 October): the two working
	// days of 支出计划 are Thursday 8 and Friday 9 October.
	e.clock.set(time.Date(2026, 9, 30, 10, 0, 0, 0, cst))
	c := e.mustOpen("feng", zjbf, 1000)
	if got, want := dueOf(t, c, "zcjh"), endOf(2026, 10, 9); !got.Equal(want) {
		t.Errorf("across 国庆: due %s, want %s", got, want)
	}
	// Signed on Friday 9 October: the one day of 审核 is Saturday 10 October, a make-up
	// working day (调休上班).
	e.clock.set(time.Date(2026, 10, 9, 16, 0, 0, 0, cst))
	c = e.mustSign("feng", c, "zcjh")
	if got, want := dueOf(t, c, "zgzr"), endOf(2026, 10, 10); !got.Equal(want) {
		t.Errorf("onto a make-up Saturday: due %s, want %s", got, want)
	}
	// Across a plain weekend: signed Friday 20 November, due Monday 23 November.
	e.clock.set(time.Date(2026, 11, 20, 17, 30, 0, 0, cst))
	c2 := e.mustOpen("feng", zjbf, 1000)
	c2 = e.mustSign("feng", c2, "zcjh")
	if got, want := dueOf(t, c2, "zgzr"), endOf(2026, 11, 23); !got.Equal(want) {
		t.Errorf("across a weekend: due %s, want %s", got, want)
	}

	// Overdue steps: on Tuesday 24 November the 审核 of c2 is a day late; the one of c
	// (due 10 October) even more, so it comes first.
	e.clock.set(time.Date(2026, 11, 24, 9, 0, 0, 0, cst))
	od, err := e.cases.ListOverdueSteps(e.person("xu"), &approvalv1.ListOverdueStepsRequest{Parent: "orgs/cz"})
	if err != nil {
		t.Fatal(describe(err))
	}
	if len(od.Steps) != 2 || od.Steps[0].Case.Name != c.Name || od.Steps[1].Case.Name != c2.Name || od.Steps[1].Step.Step != "zgzr" {
		t.Fatalf("overdue = %v", od.Steps)
	}
	// A page of one, then the next.
	p1, err := e.cases.ListOverdueSteps(e.person("xu"), &approvalv1.ListOverdueStepsRequest{Parent: "orgs/cz", PageSize: 1})
	if err != nil || len(p1.Steps) != 1 || p1.NextPageToken == "" {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	p2, err := e.cases.ListOverdueSteps(e.person("xu"), &approvalv1.ListOverdueStepsRequest{Parent: "orgs/cz", PageSize: 1, PageToken: p1.NextPageToken})
	if err != nil || len(p2.Steps) != 1 || p2.Steps[0].Case.Name != c2.Name {
		t.Fatalf("page 2: %v %v", p2, err)
	}
	// Cases by due date.
	due, err := e.cases.ListCases(e.person("xu"), &approvalv1.ListCasesRequest{Parent: "orgs/cz", DueBefore: timestamppb.New(time.Date(2026, 11, 1, 0, 0, 0, 0, cst))})
	if err != nil || len(due.Cases) != 1 || due.Cases[0].Name != c.Name {
		t.Fatalf("due before November: %v %v", due, err)
	}
	// Once signed, the step is no longer overdue.
	e.mustSign("he", c, "zgzr")
	od, _ = e.cases.ListOverdueSteps(e.person("xu"), &approvalv1.ListOverdueStepsRequest{Parent: "orgs/cz"})
	if len(od.Steps) != 1 || od.Steps[0].Case.Name != c2.Name {
		t.Fatalf("after signing, overdue = %v", od.Steps)
	}
}
