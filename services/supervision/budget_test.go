package supervision_test

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// With the org's budget table published, a case that takes its indicator past the month's
// schedule (November: 92% + 10 points) raises ahead_of_budget, once per indicator and
// month.
func TestAheadOfBudget(t *testing.T) {
	e := newEnv(t)
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(def.Files["supervision/data.json"], &data); err != nil {
		t.Fatal(err)
	}
	data["indicator_budgets"] = map[string]any{"cz": map[string]any{"ZB-1": 1000000}}
	b, _ := json.Marshal(data)
	set := &pdp.Set{Revision: "budgets", Files: maps.Clone(def.Files)}
	set.Files["supervision/data.json"] = b
	if err := e.p.Load(e.ctx, set); err != nil {
		t.Fatal(err)
	}
	e.open("feng", 600000) // 60%: within the schedule
	e.settle()
	if got := ruleCounts(e.warnings())["ahead_of_budget"]; got != 0 {
		t.Fatalf("60%% of the budget raised %d", got)
	}
	e.open("feng", 430000) // 103%: past 102%
	e.open("feng", 1000)
	e.settle()
	ws := e.warnings()["ahead_of_budget"]
	if len(ws) != 1 || ws[0].Key != "ahead_of_budget|cz|ZB-1|2026-11" {
		t.Fatalf("ahead_of_budget: %v", ws)
	}
}
