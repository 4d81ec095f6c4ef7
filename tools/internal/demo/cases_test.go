package demo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/tools/internal/demo"
	"github.com/fenquan/fenquan/tools/internal/up"
)

func startStack(t *testing.T, dir string) *up.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := up.Start(ctx, up.Options{DataDir: dir, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client calls the approval service as a member of the demo org.
func client(t *testing.T, s *up.Stack, person string) (approvalv1.CaseServiceClient, context.Context) {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPC["approval"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tok, err := s.Dev.Mint(person, up.StaffClaims(person), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return approvalv1.NewCaseServiceClient(conn), metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// listAll lists the demo org's cases, waiting (briefly) for the service's list cache to
// catch up with want cases.
func listAll(t *testing.T, cl approvalv1.CaseServiceClient, ctx context.Context, want int) []*approvalv1.Case {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := cl.ListCases(ctx, &approvalv1.ListCasesRequest{Parent: demo.OrgName, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Cases) >= want || time.Now().After(deadline) {
			return resp.Cases
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func activeSteps(c *approvalv1.Case) []string {
	var out []string
	for _, a := range c.Active {
		out = append(out, a.Step)
	}
	return out
}

// `up --demo` opens the demo cases and plays them to where the demo shows them; started
// again on the same data it creates none.
func TestDemoCases(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir)
	want := len(demo.Cases)
	if s.DemoCases != want {
		t.Fatalf("DemoCases = %d, want %d", s.DemoCases, want)
	}
	cl, ctx := client(t, s, "wang-jing")
	list := listAll(t, cl, ctx, want)
	if len(list) != want {
		t.Fatalf("%d cases listed, want %d", len(list), want)
	}
	states := map[approvalv1.Case_State]int{}
	flows := map[string]bool{}
	held := 0
	for _, c := range list {
		states[c.State]++
		flows[c.Flow] = true
		if c.Held {
			held++
		}
	}
	if states[approvalv1.Case_STATE_COMPLETED] == 0 || states[approvalv1.Case_STATE_REJECTED] == 0 || states[approvalv1.Case_STATE_OPEN] == 0 {
		t.Errorf("states %v: want open, completed and rejected cases", states)
	}
	if held == 0 {
		t.Error("no case is held")
	}
	if len(flows) < 4 {
		t.Errorf("cases on %d flows, want at least 4", len(flows))
	}

	// Where each case stands: its state and the steps it waits at.
	open, completed := approvalv1.Case_STATE_OPEN, approvalv1.Case_STATE_COMPLETED
	wantAt := map[string]struct {
		state  approvalv1.Case_State
		active []string
	}{
		"demo-zjbf-01": {open, []string{"jtjc"}},
		"demo-zjbf-02": {open, []string{"zfsh"}},
		"demo-zjbf-03": {completed, nil},
		"demo-zjbf-04": {open, []string{"bfbl"}},
		"demo-zjbf-05": {approvalv1.Case_STATE_REJECTED, nil},
		"demo-zjbf-06": {open, []string{"zcjh"}},
		"demo-zjbf-07": {completed, nil},
		"demo-ystz-01": {open, []string{"fgcz"}},
		"demo-ystz-02": {completed, nil},
		"demo-cgfs-01": {completed, nil},
		"demo-cgfs-02": {open, []string{"cz"}},
		"demo-jgcg-01": {completed, nil},
		"demo-jgcg-02": {approvalv1.Case_STATE_WITHDRAWN, nil},
		"demo-dljz-01": {open, []string{"jd"}},
	}
	if len(wantAt) != want {
		t.Errorf("%d demo cases, %d expected here", want, len(wantAt))
	}
	for _, c := range list {
		id := c.Name[len(demo.OrgName+"/cases/"):]
		w, ok := wantAt[id]
		if !ok {
			t.Errorf("unexpected case %s", c.Name)
			continue
		}
		if c.State != w.state || !slices.Equal(activeSteps(c), w.active) {
			t.Errorf("%s: %s at %v, want %s at %v", id, c.State, activeSteps(c), w.state, w.active)
		}
	}

	get := func(id string) *approvalv1.Case {
		t.Helper()
		c, err := cl.GetCase(ctx, &approvalv1.GetCaseRequest{Name: demo.OrgName + "/cases/" + id})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return c
	}
	// 500万 and over: waits for the leadership's 集体决策, convened, not decided.
	large := get("demo-zjbf-01")
	if large.Payload.Amount < 5000000 || large.State != approvalv1.Case_STATE_OPEN || !slices.Equal(activeSteps(large), []string{"jtjc"}) {
		t.Errorf("large case: %.0f元, %s, active %v; want ≥ 500万 open at jtjc", large.Payload.Amount, large.State, activeSteps(large))
	}
	if len(large.Meetings) != 1 || large.Meetings[0].Closed {
		t.Errorf("large case meetings: %v; want one open meeting", large.Meetings)
	}
	// 绿色通道: past its 联合会审.
	em := get("demo-zjbf-02")
	if !em.Emergency.GetActive() || em.Emergency.Justification == "" || !em.Emergency.JointReviewPassed || em.State != approvalv1.Case_STATE_OPEN {
		t.Errorf("emergency case: %v, %s", em.Emergency, em.State)
	}
	for _, a := range em.Active {
		if a.Node == "lhhs" {
			t.Errorf("emergency case still at the joint review: %v", activeSteps(em))
		}
	}
	// Held by the discipline office; supervision, consuming the events, may hold it too
	// (its B角 declared a relation with the payee: related_payee).
	h := get("demo-zjbf-06")
	byOffice := 0
	for _, x := range h.Holds {
		switch {
		case x.HeldBy == demo.OrgName+"/people/cheng-gang" && x.Reason != "":
			byOffice++
		case x.Rule != "supervision.related_payee":
			t.Errorf("held case: a hold neither by the office nor by supervision: %v", x)
		}
	}
	if !h.Held || byOffice != 1 {
		t.Errorf("held case: held %v, holds %v", h.Held, h.Holds)
	}
	ret := get("demo-zjbf-04")
	if !slices.ContainsFunc(ret.Signatures, func(s *approvalv1.Signature) bool { return s.Voided }) {
		t.Error("the returned case has no voided signature")
	}
	if d := get("demo-ystz-01"); len(d.Active) != 1 || d.Active[0].Delegate == "" {
		t.Errorf("delegated case: active %v", d.Active)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// Again on the same data: nothing new.
	s2 := startStack(t, dir)
	defer s2.Stop()
	if s2.DemoCases != 0 {
		t.Fatalf("restart created %d demo cases, want 0", s2.DemoCases)
	}
	cl2, ctx2 := client(t, s2, "wang-jing")
	if got := listAll(t, cl2, ctx2, want); len(got) != want {
		t.Fatalf("after the restart %d cases, want %d", len(got), want)
	}
}
