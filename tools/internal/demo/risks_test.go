package demo_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/tools/internal/demo"
	"github.com/fenquan/fenquan/tools/internal/up"
)

func riskClient(t *testing.T, s *up.Stack, person string) (riskv1.RiskServiceClient, context.Context) {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPC["risk"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tok, err := s.Dev.Mint(person, up.StaffClaims(person), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return riskv1.NewRiskServiceClient(conn), metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// `up --demo` loads the demo register: the 2025 campaign in force, the 2026 one carried
// forward from it in 公示, risk points at every level with measures in every phase; started
// again on the same data it creates nothing.
func TestDemoRisks(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, dir)
	points := len(demo.Risks2025) + len(demo.Risks2026)
	if s.DemoRisks.Campaigns != 2 || s.DemoRisks.Points != points {
		t.Fatalf("DemoRisks = %+v, want 2 campaigns, %d points", s.DemoRisks, points)
	}
	cl, ctx := riskClient(t, s, "wang-jing")

	stages := map[string]riskv1.Stage{}
	camps, err := cl.ListCampaigns(ctx, &riskv1.ListCampaignsRequest{Parent: demo.OrgName})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range camps.Campaigns {
		stages[c.Name] = c.Stage
	}
	if got := stages[demo.OrgName+"/campaigns/"+demo.Campaign2025]; got != riskv1.Stage_STAGE_IN_FORCE {
		t.Errorf("2025 campaign at %s, want IN_FORCE (%v)", got, stages)
	}
	if got := stages[demo.OrgName+"/campaigns/"+demo.Campaign2026]; got != riskv1.Stage_STAGE_PUBLICITY {
		t.Errorf("2026 campaign at %s, want PUBLICITY (%v)", got, stages)
	}
	if len(stages) != 2 {
		t.Errorf("campaigns: %v, want 2", stages)
	}

	// Every risk point is now in the 2026 campaign (carried forward, or new).
	var list *riskv1.ListRisksResponse
	deadline := time.Now().Add(10 * time.Second)
	for {
		if list, err = cl.ListRisks(ctx, &riskv1.ListRisksRequest{Parent: demo.OrgName, PageSize: 1000}); err != nil {
			t.Fatal(err)
		}
		if len(list.Risks) >= points || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(list.Risks) != points {
		t.Fatalf("%d risk points, want %d", len(list.Risks), points)
	}
	levels := map[riskv1.Level]int{}
	phases := map[riskv1.Phase]int{}
	forced := 0
	for _, r := range list.Risks {
		levels[r.Level]++
		if r.Campaign != demo.OrgName+"/campaigns/"+demo.Campaign2026 {
			t.Errorf("%s is in %s, want the 2026 campaign", r.Name, r.Campaign)
		}
		if r.GetGrading().GetGrade() == riskv1.Grade_GRADE_UNSPECIFIED {
			t.Errorf("%s is not graded", r.Name)
		}
		if len(r.GetGrading().GetForcedBy()) > 0 {
			forced++
		}
		if len(r.Measures) < 2 || len(r.Measures) > 4 {
			t.Errorf("%s has %d measures, want 2–4", r.Name, len(r.Measures))
		}
		for _, m := range r.Measures {
			phases[m.Phase]++
		}
	}
	for _, l := range []riskv1.Level{riskv1.Level_LEVEL_POST, riskv1.Level_LEVEL_UNIT, riskv1.Level_LEVEL_LEADERSHIP} {
		if levels[l] == 0 {
			t.Errorf("no risk point at %s (%v)", l, levels)
		}
	}
	for _, p := range []riskv1.Phase{riskv1.Phase_PHASE_PREVENTION, riskv1.Phase_PHASE_MONITORING, riskv1.Phase_PHASE_DISPOSAL} {
		if phases[p] == 0 {
			t.Errorf("no measure in %s (%v)", p, phases)
		}
	}
	if forced == 0 {
		t.Error("no risk point's grade is forced (past_case)")
	}

	// The 2025 history: in force after the publicity, the objection answered, one
	// anonymous comment, the leader's amendment.
	vs, err := cl.ListRiskVersions(ctx, &riskv1.ListRiskVersionsRequest{Name: demo.OrgName + "/risks/r-ysc-zbgl-01"})
	if err != nil {
		t.Fatal(err)
	}
	var inForce, answered bool
	for _, v := range vs.Versions {
		if v.InForce {
			inForce = true
		}
		for _, o := range v.Objections {
			if o.Answer != "" && o.AnsweredBy == demo.OrgName+"/people/li-minghua" {
				answered = true
			}
		}
	}
	if !inForce || !answered {
		t.Errorf("r-ysc-zbgl-01 versions: in force %v, objection answered %v", inForce, answered)
	}
	vs, err = cl.ListRiskVersions(ctx, &riskv1.ListRiskVersionsRequest{Name: demo.OrgName + "/risks/r-sbc-zcjh-01"})
	if err != nil {
		t.Fatal(err)
	}
	anon := false
	for _, v := range vs.Versions {
		for _, c := range v.Comments {
			if c.Anonymous && c.Person == "" {
				anon = true
			}
		}
	}
	if !anon {
		t.Error("r-sbc-zcjh-01: no anonymous comment in its history")
	}
	amended, err := cl.ListRiskVersions(ctx, &riskv1.ListRiskVersionsRequest{Name: demo.OrgName + "/risks/r-sbc-01"})
	if err != nil {
		t.Fatal(err)
	}
	byLeader := false
	for _, v := range amended.Versions {
		if v.ChangedBy == demo.OrgName+"/people/chen-zhigang" {
			byLeader = true
		}
	}
	if !byLeader {
		t.Error("r-sbc-01: no version by chen-zhigang (领导提)")
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startStack(t, dir)
	defer s2.Stop()
	if s2.DemoRisks != (demo.RiskLoad{}) {
		t.Errorf("second load created %+v, want nothing", s2.DemoRisks)
	}
}
