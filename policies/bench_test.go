package policies_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// BenchmarkDecision evaluates data.fenquan.main.decision the way the PDP does (one
// prepared query, facts in an in-memory store returning AST values) for the scenarios of
// the fixtures, against the fixture org and against an org of 10,000 people and 1,000
// posts: the two must cost the same, since every fact is looked up by key. It reports
// ns/op and the p50/p99 latency of single evaluations; the target is p99 ≤ 100 µs for a
// full sod+signoff decision.
//
//	go test ./policies -run '^$' -bench Decision -benchtime 20000x
func BenchmarkDecision(b *testing.B) {
	ctx := context.Background()
	modules, docs := load(b)
	compiler := compileStrict(b, modules)

	// The fixtures give the scenarios' inputs and the small org; the large org wraps it.
	fixture := func(ref string) any {
		rs, err := rego.New(rego.Query(ref), rego.Compiler(compiler), rego.Store(inmem.NewFromObject(docs))).Eval(ctx)
		if err != nil || len(rs) == 0 {
			b.Fatalf("fixture %s: %v", ref, err)
		}
		return rs[0].Expressions[0].Value
	}
	orgs := []struct {
		name  string
		facts any
	}{
		{"org=fixture", fixture("data.fenquan.fixtures.facts")},
		{"org=10k", largeFacts(fixture("data.fenquan.fixtures.facts").(map[string]any), 10000, 1000)},
	}
	scenarios := []struct {
		name, input string
		allowed     bool
	}{
		{"sign/zfsh", "data.fenquan.fixtures.sign", true},
		{"sign/bfbl-last", "data.fenquan.fixtures.sign_last", true},
		{"sign/separated-denied", `object.union(data.fenquan.fixtures.sign_last, {"actor": data.fenquan.fixtures.actor("he-wen")})`, false},
		{"sign/chain-cz", `data.fenquan.fixtures.sign_chain("wu-gang", "cz", array.slice(data.fenquan.fixtures.chain_signatures, 0, 3))`, true},
		{"create", "data.fenquan.fixtures.create", true},
		{"claim", "data.fenquan.fixtures.claim", true},
		{"meeting-close", `data.fenquan.fixtures.close(object.union(data.fenquan.fixtures.meeting, {"votes": {p: "yes" | some p in data.fenquan.fixtures.members}}))`, true},
		{"api.access", `data.fenquan.fixtures.api("wang-jing", "registry.catalog.write", ["catalog-admin"], [])`, true},
		{"risk.grade", `data.fenquan.fixtures.risk(4, 5, {"importance": 5, "discretion": 4, "frequency": 3}, data.fenquan.fixtures.no_force)`, true},
	}
	inputs := make([]ast.Value, len(scenarios))
	for i, sc := range scenarios {
		v, err := ast.InterfaceToValue(fixture(sc.input))
		if err != nil {
			b.Fatal(err)
		}
		inputs[i] = v
	}

	for _, org := range orgs {
		docs["facts"] = org.facts
		store := inmem.NewFromObjectWithOpts(docs, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
		pq, err := rego.New(rego.Query("data.fenquan.main.decision"), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for i, sc := range scenarios {
			input := inputs[i]
			b.Run(org.name+"/"+sc.name, func(b *testing.B) {
				rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
				if err != nil || len(rs) == 0 {
					b.Fatalf("eval: %v", err)
				}
				if got := rs[0].Expressions[0].Value.(map[string]any)["allowed"]; got != sc.allowed {
					b.Fatalf("allowed = %v, want %v: %v", got, sc.allowed, rs[0].Expressions[0].Value)
				}
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					t0 := time.Now()
					if _, err := pq.Eval(ctx, rego.EvalParsedInput(input)); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

// largeFacts adds people, posts, assignments and declarations to the fixture org until it
// has n people and m posts, as the registry's fact stream would for a large bureau.
func largeFacts(small map[string]any, n, m int) map[string]any {
	org := small["orgs"].(map[string]any)["czj"].(map[string]any)
	people := org["people"].(map[string]any)
	posts := org["posts"].(map[string]any)
	holdings := org["holdings"].(map[string]any)
	holders := map[string]any{}
	conflicts := org["conflicts"].(map[string]any)
	managers := org["fund_managers"].(map[string]any)
	for i := 0; len(posts) < m; i++ {
		id := fmt.Sprintf("u%03d-p%d", i/10, i%10)
		fund := fmt.Sprintf("F-%d", i)
		posts[id] = map[string]any{
			"unit": fmt.Sprintf("u%03d", i/10), "rank_level": 1 + i%4, "key_post": i%3 == 0,
			"rotation_months": 60, "managed_funds": []any{fund},
		}
		managers[fund] = []any{id}
	}
	for i := 0; len(people) < n; i++ {
		id := fmt.Sprintf("person-%05d", i)
		post := fmt.Sprintf("u%03d-p%d", (i%990)/10, i%10)
		people[id] = map[string]any{"unit": fmt.Sprintf("u%03d", (i%990)/10), "inactive": i%97 == 0}
		holdings[id] = []any{
			map[string]any{"post": post, "ab_role": "A", "start": "2015-01-01", "end": "2020-12-31"},
			map[string]any{"post": post, "ab_role": "B", "start": "2021-01-01", "end": ""},
		}
		holders[post] = append(asSlice(holders[post]), map[string]any{"person": id, "ab_role": "B", "start": "2021-01-01", "end": ""})
		if i%10 == 0 {
			conflicts[id] = []any{map[string]any{"name": fmt.Sprintf("公司%d", i), "code": fmt.Sprintf("C%d", i), "relation": "CONFLICT_RELATION_OTHER", "from": "2025-01-01", "until": ""}}
		}
	}
	org["holders"] = holders
	return small
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
