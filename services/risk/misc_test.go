package risk_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
)

// TestTenantIsolation: a person of another org neither reads nor writes cz's register,
// and the answer is the one for a resource that does not exist.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	r := e.mustDraft("feng", newRisk(c.Name, 3, 4))
	outsider := e.as("zhao", "hb:staff") // the same subject name, another org's grant
	_, err := e.risks.GetRisk(outsider, &riskv1.GetRiskRequest{Name: r.Name})
	wantCode(t, err, codes.NotFound)
	whole := proto.Clone(r).(*riskv1.RiskPoint)
	whole.Impact = 1
	_, err = e.risks.UpdateRisk(outsider, &riskv1.UpdateRiskRequest{Risk: whole, UpdateMask: []string{"impact"}})
	wantCode(t, err, codes.NotFound)
	_, err = e.risks.ListRisks(outsider, &riskv1.ListRisksRequest{Parent: "orgs/cz"})
	wantCode(t, err, codes.NotFound)
	_, err = e.risks.GetCampaign(outsider, &riskv1.GetCampaignRequest{Name: c.Name})
	wantCode(t, err, codes.NotFound)
	_, err = e.risks.ReviewCampaign(outsider, &riskv1.ReviewCampaignRequest{Name: c.Name, Action: advance})
	wantCode(t, err, codes.NotFound)
	// Nor does a cz person reach into another org through a name in the body.
	rp := newRisk("orgs/hb/campaigns/2026", 1, 1)
	_, err = e.draft("feng", rp)
	wantCode(t, err, codes.InvalidArgument)
	// Unknown in cz: not found.
	_, err = e.risks.GetRisk(e.person("feng"), &riskv1.GetRiskRequest{Name: "orgs/cz/risks/none"})
	wantCode(t, err, codes.NotFound)
}

// TestRequestReplay: a retried request returns the first result without writing again;
// the same id for another request is refused; ids are the caller's own.
func TestRequestReplay(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	req := &riskv1.CreateRiskRequest{Parent: "orgs/cz", Risk: newRisk(c.Name, 3, 4), RequestId: "same"}
	first, err := e.risks.CreateRisk(e.person("feng"), req)
	if err != nil {
		t.Fatal(describe(err))
	}
	again, err := e.risks.CreateRisk(e.person("feng"), req)
	if err != nil {
		t.Fatal(describe(err))
	}
	if again.Name != first.Name || again.Etag != first.Etag {
		t.Fatalf("replay: %s@%s, first %s@%s", again.Name, again.Etag, first.Name, first.Etag)
	}
	other := proto.Clone(req).(*riskv1.CreateRiskRequest)
	other.Risk.Impact = 1
	_, err = e.risks.CreateRisk(e.person("feng"), other)
	wantCode(t, err, codes.AlreadyExists)
	if reason(err) != "REQUEST_ID_REUSED" {
		t.Fatalf("reason %q", reason(err))
	}
	// wu's "same" is not feng's.
	w, err := e.risks.CreateRisk(e.person("wu"), req)
	if err != nil || w.Name == first.Name {
		t.Fatalf("another caller's id: %v %s", w, describe(err))
	}
	list, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz"})
	if err != nil || list.TotalSize != 2 {
		t.Fatalf("risk points written: %d (%s)", list.GetTotalSize(), describe(err))
	}
	vs, _ := e.risks.ListRiskVersions(e.person("he"), &riskv1.ListRiskVersionsRequest{Name: first.Name})
	if len(vs.GetVersions()) != 1 {
		t.Fatalf("versions after a replay: %d", len(vs.GetVersions()))
	}
	// A replayed review answers with the first result too.
	rr := &riskv1.ReviewCampaignRequest{Name: c.Name, Action: advance, RequestId: "adv"}
	c1, err := e.risks.ReviewCampaign(e.person("zhao"), rr)
	if err != nil {
		t.Fatal(describe(err))
	}
	c2, err := e.risks.ReviewCampaign(e.person("zhao"), rr)
	if err != nil || c2.Stage != riskv1.Stage_STAGE_COMMENTING || c2.Etag != c1.Etag {
		t.Fatalf("replayed advance: %v %s", c2, describe(err))
	}
}

// TestWarnings: a warning counts once per id, is attributed by step or power, suggests
// re-grading from three, counts as a catch of the monitoring measures in place, and a
// measure in place for 180 days without a catch reads as possibly ineffective.
func TestWarnings(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	r := e.mustDraft("feng", newRisk(c.Name, 3, 4))
	off := newRisk(c.Name, 2, 2)
	off.Powers, off.Steps = nil, []*riskv1.StepRef{{Flow: zjbf, Step: "kjhs"}}
	o := e.mustDraft("feng", off)
	for _, m := range r.Measures {
		if _, err := e.risks.UpdateMeasure(e.person("feng"), &riskv1.UpdateMeasureRequest{Name: r.Name, Measure: m.Id, Status: riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE, Evidence: []string{"制度文件"}}); err != nil {
			t.Fatalf("measure %s in place: %s", m.Id, describe(err))
		}
	}
	w := func(id, step string) *riskv1.RecordWarningResponse {
		t.Helper()
		resp, err := e.risks.RecordWarning(e.as("xu", "cz:supervisor"), &riskv1.RecordWarningRequest{Parent: "orgs/cz", Warning: &riskv1.Warning{Id: id, Flow: zjbf, Step: step, Rule: "r1"}})
		if err != nil {
			t.Fatalf("warning %s: %s", id, describe(err))
		}
		return resp
	}
	// Only who is granted risk.warnings.write records warnings.
	_, err := e.risks.RecordWarning(e.person("feng"), &riskv1.RecordWarningRequest{Parent: "orgs/cz", Warning: &riskv1.Warning{Id: "x", Flow: zjbf, Step: "zcjh"}})
	wantDenied(t, err, "api.permission")
	first := w("w1", "zcjh")
	if !slices.Equal(first.Risks, []string{r.Name}) || len(first.RegradeSuggested) != 0 {
		t.Fatalf("w1 attributed to %v", first)
	}
	for range 2 {
		if again := w("w1", "zcjh"); !slices.Equal(again.Risks, first.Risks) {
			t.Fatalf("w1 again: %v", again)
		}
	}
	if cur := e.get(r.Name, 0); cur.WarningCount != 1 || cur.RegradeSuggested {
		t.Fatalf("after w1 ×3: count %d", cur.WarningCount)
	}
	// By power: a warning on another step of the flow reaches r (its power) but not o
	// (which is on step kjhs only).
	w("w2", "bfbl")
	last := w("w3", "zfsh")
	if !slices.Equal(last.RegradeSuggested, []string{r.Name}) {
		t.Fatalf("w3: %v", last)
	}
	cur := e.get(r.Name, 0)
	if cur.WarningCount != 3 || !cur.RegradeSuggested || cur.Version != r.Version+2 {
		t.Fatalf("after three warnings: count %d regrade %v v%d", cur.WarningCount, cur.RegradeSuggested, cur.Version)
	}
	if got := e.get(o.Name, 0); got.WarningCount != 0 {
		t.Fatalf("o counted %d warnings", got.WarningCount)
	}
	catches := map[riskv1.Phase]int32{}
	for _, m := range cur.Measures {
		catches[m.Phase] = m.Catches
	}
	if catches[riskv1.Phase_PHASE_MONITORING] != 3 || catches[riskv1.Phase_PHASE_PREVENTION] != 0 {
		t.Fatalf("catches %v", catches)
	}
	list, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", NeedsReview: true})
	if err != nil || list.TotalSize != 1 || list.Risks[0].Name != r.Name {
		t.Fatalf("needs review: %v %s", list, describe(err))
	}
	// 180 days on, the prevention measure (no catch) reads as possibly ineffective.
	e.clock.add(181 * 24 * time.Hour)
	for _, m := range e.get(r.Name, 0).Measures {
		if m.PossiblyIneffective != (m.Phase == riskv1.Phase_PHASE_PREVENTION) {
			t.Fatalf("measure %s (%s): possibly ineffective %v", m.Id, m.Phase, m.PossiblyIneffective)
		}
	}
}

// TestMarkForReview: marking appends a reason once; a registry change of a post's duties
// marks the risk points scoped at it.
func TestMarkForReview(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	r := e.mustDraft("feng", newRisk(c.Name, 3, 4))
	u := newRisk(c.Name, 2, 2)
	u.Level, u.Scope = riskv1.Level_LEVEL_UNIT, unit("sbc")
	other := e.mustDraft("wu", u)
	match := func(x *riskv1.RiskPoint) bool { return x.Scope == post("sbc-zcjh") }
	for range 2 {
		n, err := e.svc.MarkForReview(context.Background(), "cz", "test reason", match)
		if err != nil {
			t.Fatal(err)
		}
		_ = n
	}
	if got := e.get(r.Name, 0); !slices.Equal(got.ReviewReasons, []string{"test reason"}) {
		t.Fatalf("reasons %v", got.ReviewReasons)
	}
	if got := e.get(other.Name, 0); len(got.ReviewReasons) != 0 {
		t.Fatalf("the unit risk point was marked: %v", got.ReviewReasons)
	}
	// The registry: sbc-zcjh's duties change.
	objs := readCatalog(t, "testdata/catalog.yaml")
	var changed []*registryv1.CatalogObject
	for _, o := range objs {
		if o.GetPost().GetName() == post("sbc-zcjh") {
			o = proto.Clone(o).(*registryv1.CatalogObject)
			o.GetPost().Duties = "编制支出计划；新增：审核预算调整"
			changed = append(changed, o)
		}
	}
	if len(changed) != 1 {
		t.Fatalf("no post object for sbc-zcjh in the catalogue")
	}
	e.apply(changed)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.get(r.Name, 0)
		if len(got.ReviewReasons) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the duties change never marked %s: %v", r.Name, got.ReviewReasons)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A revision answers the review reasons.
	e2 := e.get(r.Name, 0)
	up, err := e.update("feng", r.Name, func(x *riskv1.RiskPoint) { x.Description = "已按新职责修订" }, "description")
	if err != nil || len(up.ReviewReasons) != 0 || up.Version != e2.Version+1 {
		t.Fatalf("revision: %v %s", up, describe(err))
	}
}

// TestStatsAndPaging: counts from the cache; pages and total size.
func TestStatsAndPaging(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	for _, li := range [][2]int32{{1, 1}, {3, 4}, {5, 5}, {5, 5}} {
		e.mustDraft("feng", newRisk(c.Name, li[0], li[1]))
	}
	st, err := e.risks.GetRiskStats(e.person("he"), &riskv1.GetRiskStatsRequest{Parent: "orgs/cz", Campaign: c.Name})
	if err != nil {
		t.Fatal(describe(err))
	}
	grades := map[string]int32{}
	for _, g := range st.ByGrade {
		grades[g.Key] = g.Count
	}
	if st.Total != 4 || grades["HIGH"] != 2 || grades["MEDIUM"] != 1 || grades["LOW"] != 1 || st.Measures != 8 || len(st.Cells) != 3 {
		t.Fatalf("stats %v", st)
	}
	var names []string
	tok := ""
	for {
		p, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", PageSize: 3, PageToken: tok, Grade: 0})
		if err != nil {
			t.Fatal(describe(err))
		}
		if p.TotalSize != 4 {
			t.Fatalf("total %d", p.TotalSize)
		}
		for _, r := range p.Risks {
			names = append(names, r.Name)
		}
		if tok = p.NextPageToken; tok == "" {
			break
		}
	}
	if len(names) != 4 {
		t.Fatalf("paged %d", len(names))
	}
	high, err := e.risks.ListRisks(e.person("he"), &riskv1.ListRisksRequest{Parent: "orgs/cz", Grade: riskv1.Grade_GRADE_HIGH, Unit: unit("sbc")})
	if err != nil || high.TotalSize != 2 {
		t.Fatalf("high of sbc: %v %s", high, describe(err))
	}
}

// TestExports: the register as CSV and XLSX, and the heat map.
func TestExports(t *testing.T) {
	e := newEnv(t)
	c := e.mustCampaign("zhao", "2026-cz")
	e.mustDraft("feng", newRisk(c.Name, 5, 5))
	e.mustDraft("feng", newRisk(c.Name, 1, 2))
	csv, err := e.risks.ExportRegister(e.person("he"), &riskv1.ExportRegisterRequest{Parent: "orgs/cz", Campaign: c.Name, Form: riskv1.Form_FORM_DEPARTMENT, Format: riskv1.ExportFormat_EXPORT_FORMAT_CSV})
	if err != nil {
		t.Fatal(describe(err))
	}
	if csv.ContentType != "text/csv; charset=utf-8" || !strings.Contains(string(csv.Data), "支出计划编制不规范") || !strings.Contains(string(csv.Data), "社保处支出计划岗") {
		t.Fatalf("csv %s:\n%s", csv.ContentType, csv.Data)
	}
	x, err := e.risks.ExportRegister(e.person("he"), &riskv1.ExportRegisterRequest{Parent: "orgs/cz", Campaign: c.Name, Form: riskv1.Form_FORM_PERSONAL, Person: pn("feng")})
	if err != nil {
		t.Fatal(describe(err))
	}
	if !strings.HasPrefix(x.ContentType, "application/vnd.openxmlformats") || !strings.HasPrefix(string(x.Data), "PK") {
		t.Fatalf("xlsx %s, %d bytes", x.ContentType, len(x.Data))
	}
	svg, err := e.risks.RenderHeatMap(e.person("he"), &riskv1.RenderHeatMapRequest{Parent: "orgs/cz", Campaign: c.Name})
	if err != nil {
		t.Fatal(describe(err))
	}
	if svg.ContentType != "image/svg+xml" || !strings.Contains(string(svg.Data), "<svg") {
		t.Fatalf("svg %s", svg.ContentType)
	}
	// The register in force is empty until the campaign is in force.
	empty, err := e.risks.ExportRegister(e.person("he"), &riskv1.ExportRegisterRequest{Parent: "orgs/cz", Form: riskv1.Form_FORM_DEPARTMENT, Format: riskv1.ExportFormat_EXPORT_FORMAT_CSV})
	if err != nil || strings.Contains(string(empty.Data), "支出计划编制不规范") {
		t.Fatalf("register in force: %s", describe(err))
	}
}
