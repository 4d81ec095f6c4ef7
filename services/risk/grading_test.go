package risk_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
)

// gradingData is the part of policies/grading/data.json the tests compare with.
type gradingData struct {
	Matrix [][]int `json:"matrix"`
	Bands  []struct {
		Grade    string `json:"grade"`
		MinScore int    `json:"min_score"`
	} `json:"bands"`
	Owners map[string]struct {
		RankLevel int32 `json:"rank_level"`
	} `json:"owners"`
}

func loadGrading(t *testing.T) gradingData {
	t.Helper()
	b, err := os.ReadFile("../../policies/grading/data.json")
	if err != nil {
		t.Fatal(err)
	}
	var g gradingData
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g gradingData) band(score int) string {
	for _, b := range g.Bands {
		if score >= b.MinScore {
			return b.Grade
		}
	}
	return ""
}

// TestGradingMatrix drafts a risk point in every cell of the 5×5 matrix and compares its
// grade, score and owner with the bands of policies/grading/data.json; then the forced
// cases and the raise by the factors.
func TestGradingMatrix(t *testing.T) {
	e := newEnv(t)
	g := loadGrading(t)
	c := e.mustCampaign("zhao", "grading")
	owners := map[string]string{"LOW": pn("wu"), "MEDIUM": pn("qian"), "HIGH": pn("zhao")}
	for l := int32(1); l <= 5; l++ {
		for i := int32(1); i <= 5; i++ {
			r := e.mustDraft("feng", newRisk(c.Name, l, i))
			score := g.Matrix[l-1][i-1]
			want := g.band(score)
			gr := r.GetGrading()
			if gr.GetGrade().String() != "GRADE_"+want || int(gr.GetScore()) != score {
				t.Errorf("l=%d i=%d: grade %s score %d, want %s %d", l, i, gr.GetGrade(), gr.GetScore(), want, score)
			}
			if gr.GetOwnerRankLevel() != g.Owners[want].RankLevel || r.GetOwner() != owners[want] {
				t.Errorf("l=%d i=%d (%s): owner %q rank %d, want %q rank %d", l, i, want, r.GetOwner(), gr.GetOwnerRankLevel(), owners[want], g.Owners[want].RankLevel)
			}
			if gr.GetCriteria() == nil || gr.GetMatrixVersion() == "" || gr.GetDecisionId() == "" {
				t.Errorf("l=%d i=%d: the grading lacks its criteria, matrix version or decision: %v", l, i, gr)
			}
			if r.GetVersion() != 1 || r.GetDraftedBy() != pn("feng") || r.GetUnit() != unit("sbc") {
				t.Errorf("l=%d i=%d: version %d drafted by %q unit %q", l, i, r.GetVersion(), r.GetDraftedBy(), r.GetUnit())
			}
		}
	}
	for _, k := range []string{"major_impact", "unlimited_discretion", "past_case"} {
		rp := newRisk(c.Name, 1, 1)
		rp.Forced[k] = true
		r := e.mustDraft("feng", rp)
		if r.GetGrading().GetGrade() != riskv1.Grade_GRADE_HIGH || !slices.Equal(r.GetGrading().GetForcedBy(), []string{k}) || r.GetOwner() != pn("zhao") {
			t.Errorf("forced %s: %v owner %s", k, r.GetGrading(), r.GetOwner())
		}
	}
	rp := newRisk(c.Name, 1, 1)
	rp.Factors = map[string]int32{"importance": 5, "discretion": 5, "frequency": 5}
	if r := e.mustDraft("feng", rp); r.GetGrading().GetGrade() != riskv1.Grade_GRADE_MEDIUM || r.GetGrading().GetFactorIndex() != 5 {
		t.Errorf("factors 5,5,5 on a LOW cell: %v, want MEDIUM (raised)", r.GetGrading())
	}
	// Off the scale: denied, nothing written.
	_, err := e.draft("feng", newRisk(c.Name, 6, 1))
	wantDenied(t, err, "grading.out_of_scale")
	// A missing factor is a field violation.
	rp = newRisk(c.Name, 1, 1)
	delete(rp.Factors, "frequency")
	_, err = e.draft("feng", rp)
	wantCode(t, err, 3)
}
