package policies_test

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// BenchmarkDecision evaluates data.fenquan.main.decision and rules_decision (decision
// without the input schema, which the PDP checks in Go) the way the PDP does (one prepared
// query, facts in an in-memory store returning AST values, strict builtin errors) for the
// scenarios of the fixtures, against the fixture org and against an org of 10,000 people
// and 1,000 posts, without and with the day's indexes (data.facts.today, orgs[org].current):
// the orgs must cost the same, since every fact is looked up by key. It reports ns/op and
// the p50/p99 latency of single evaluations; the target is p99 ≤ 100 µs for a full
// sod+signoff decision.
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
	today := fixture("data.fenquan.fixtures.today").(string)
	large := largeFacts(fixture("data.fenquan.fixtures.facts").(map[string]any), 10000, 1000)
	orgs := []struct {
		name  string
		facts any
	}{
		{"org=fixture", fixture("data.fenquan.fixtures.facts")},
		{"org=10k", large},
		{"org=10k-indexed", indexFacts(large, today)},
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
		for _, query := range []string{"data.fenquan.main.decision", "data.fenquan.main.rules_decision"} {
			pq, err := rego.New(rego.Query(query), rego.Compiler(compiler), rego.Store(store),
				rego.StoreReadAST(true), rego.StrictBuiltinErrors(true)).PrepareForEval(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for i, sc := range scenarios {
				b.Run(org.name+"/"+strings.TrimPrefix(query, "data.fenquan.main.")+"/"+sc.name, func(b *testing.B) {
					benchEval(ctx, b, pq, inputs[i], sc.allowed)
				})
			}
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

// BenchmarkSign is the decision of tools/bench (`go run ./tools/bench pdp`): approval.sign
// of the 支付审核 step of a 1.2M case, in an org of 10,000 people and 1,000 posts built as
// the PDP builds it from the registry's stream (benchFacts mirrors syntheticFacts of
// tools/bench/pdp.go), evaluated like the PDP (prepared query, AST store and input, strict
// builtin errors). It runs rules_decision (what the PDP asks once it has checked the
// input schema in Go) and decision (schema included), each on the facts without and with
// the day's indexes (data.facts.today and orgs[org].current).
//
//	go test ./policies -run '^$' -bench Sign -benchtime 20000x
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	modules, docs := load(b)
	compiler := compileStrict(b, modules)
	const people, posts, today = 10000, 1000, "2026-11-21"
	plain := benchFacts(people, posts)
	for _, facts := range []struct {
		name  string
		facts map[string]any
	}{
		{"facts=plain", plain},
		{"facts=indexed", indexFacts(plain, today)},
	} {
		docs["facts"] = facts.facts
		store := inmem.NewFromObjectWithOpts(docs, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
		for _, query := range []string{"data.fenquan.main.rules_decision", "data.fenquan.main.decision"} {
			pq, err := rego.New(rego.Query(query), rego.Compiler(compiler), rego.Store(store),
				rego.StoreReadAST(true), rego.StrictBuiltinErrors(true)).PrepareForEval(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, sc := range []struct {
				name    string
				input   map[string]any
				allowed bool
			}{
				{"allowed", benchSignInput(today), true},
				{"self-approval", benchSignInput(today, "p00001"), false},
			} {
				v, err := ast.InterfaceToValue(sc.input)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(facts.name+"/"+strings.TrimPrefix(query, "data.fenquan.main.")+"/"+sc.name, func(b *testing.B) {
					benchEval(ctx, b, pq, v, sc.allowed)
				})
			}
		}
	}
}

// benchEval checks the decision once, then reports ns/op and the p50/p99 latency of single
// evaluations.
func benchEval(ctx context.Context, b *testing.B, pq rego.PreparedEvalQuery, input ast.Value, allowed bool) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil || len(rs) == 0 {
		b.Fatalf("eval: %v", err)
	}
	if got := rs[0].Expressions[0].Value.(map[string]any)["allowed"]; got != allowed {
		b.Fatalf("allowed = %v, want %v: %v", got, allowed, rs[0].Expressions[0].Value)
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
}

// benchFacts is data.facts as the PDP writes it for syntheticFacts(people, posts) of
// tools/bench: one org "bench" with 100 units (u00 the leadership), posts s00000… (ranks
// cycling 1–4, every 50th managing a fund F-nnn), people p00000… each holding one post
// since 2020-01-01 (A or B), and a conflict declaration for every tenth person.
func benchFacts(people, posts int) map[string]any {
	units, postDocs, funds := map[string]any{}, map[string]any{}, map[string]any{}
	for u := range 100 {
		kind := "UNIT_KIND_DIVISION"
		if u == 0 {
			kind = "UNIT_KIND_LEADERSHIP"
		}
		units[fmt.Sprintf("u%02d", u)] = map[string]any{"kind": kind, "parent": ""}
	}
	for i := range posts {
		id := fmt.Sprintf("s%05d", i)
		managed := []any{}
		if i%50 == 0 {
			fund := fmt.Sprintf("F-%03d", i/50)
			managed = append(managed, fund)
			funds[fund] = []any{id}
		}
		postDocs[id] = map[string]any{
			"unit": fmt.Sprintf("u%02d", i%100), "rank_level": 1 + i%4, "key_post": false,
			"rotation_months": 0, "managed_funds": managed,
		}
	}
	peopleDocs, holdings, holders, conflicts, leadership := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	for i := range people {
		id, post, role := fmt.Sprintf("p%05d", i), fmt.Sprintf("s%05d", i%posts), "A"
		if (i/posts)%2 == 1 {
			role = "B"
		}
		peopleDocs[id] = map[string]any{"unit": fmt.Sprintf("u%02d", i%100), "inactive": false}
		holdings[id] = []any{map[string]any{"post": post, "ab_role": role, "start": "2020-01-01", "end": ""}}
		holders[post] = append(asSlice(holders[post]), map[string]any{"person": id, "ab_role": role, "start": "2020-01-01", "end": ""})
		if (i%posts)%100 == 0 {
			leadership[id] = true
		}
		if i%10 == 0 {
			conflicts[id] = []any{map[string]any{
				"name": fmt.Sprintf("公司%05d", i), "code": fmt.Sprintf("9142%014d", i),
				"relation": "CONFLICT_RELATION_RELATIVE", "from": "2024-01-01", "until": "",
			}}
		}
	}
	return map[string]any{"orgs": map[string]any{"bench": map[string]any{
		"people": peopleDocs, "units": units, "posts": postDocs, "holdings": holdings, "holders": holders,
		"conflicts": conflicts, "fund_managers": funds, "leadership": leadership,
	}}}
}

// benchSignInput is signInput of tools/bench with its action: p00004 (holder of s00004,
// rank 1) signs the 支付审核 step of a 1.2M case past the chain and a 集体决策; with an
// actor given, that person signs instead.
func benchSignInput(today string, actor ...string) map[string]any {
	person := "p00004"
	if len(actor) > 0 {
		person = actor[0]
	}
	sig := func(step, person string, level int) map[string]any {
		return map[string]any{"step": step, "person": person, "on_behalf_of": "", "payload_version": 3, "rank_level": level}
	}
	return map[string]any{
		"action": "approval.sign",
		"org":    "bench",
		"today":  today,
		"actor":  map[string]any{"person": person, "on_behalf_of": ""},
		"case": map[string]any{
			"id": "c-bench", "power": "zjbf", "category": "POWER_CATEGORY_INTERNAL_FINANCE",
			"applicant": "p00001", "a": "p00001", "b": "p00101",
			"amount": 1200000.0, "fund": "F-007", "indicator": "ZB-2026-0012",
			"payee":            map[string]any{"name": "某某建设有限公司", "code": "91420100MA4K2XXXX", "is_person": false},
			"payload_version":  3,
			"emergency":        map[string]any{"active": false, "justification": "", "joint_review_passed": false},
			"indicator_set_by": []any{"p00900"},
			"signatures": []any{
				sig("zcjh", "p00001", 1), sig("zgzr", "p00002", 2), sig("fgcz", "p00003", 3), sig("cz", "p00007", 4),
			},
			"path_rank_levels": []any{1, 2, 3, 4},
			"collective":       map[string]any{"passed": true, "payload_version": 3},
		},
		"step": map[string]any{
			"id": "zfsh", "duty": "支付审核", "entry": false, "last": false,
			"post": "s00004", "rank_level": 0, "unit": "u04",
			"control": "HANDLE", "payment": false, "collective_decision": false,
			"separations": []any{
				map[string]any{"id": "zfbf", "kind": "INCOMPATIBLE_DUTIES", "name": "支付审核与拨付办理分离", "steps": []any{"zfsh", "bfbl"}},
				map[string]any{"id": "jsh", "kind": "INCOMPATIBLE_DUTIES", "name": "经办/审核/审批分离", "steps": []any{"zcjh", "zgzr", "fgcz", "zfsh"}},
			},
		},
		"power":   map[string]any{"legal_basis": "《中华人民共和国预算法》第五十三条"},
		"penalty": nil,
		"meeting": nil,
	}
}

// indexFacts returns facts with the day's indexes the PDP adds (docs/POLICY.md, "Org
// facts"): data.facts.today, and per org current[person] = {"posts": {post: true},
// "seats": {"<unit>|<rank_level>": true}, "funds": {code: true}} for every person known
// in the org, not inactive, holding on today at least one post (start ≤ today ≤ end, an
// empty end open). A post is listed even if the org does not know it (as the holdings
// list it); only known posts give seats and funds. facts is not modified.
func indexFacts(facts map[string]any, today string) map[string]any {
	orgs := map[string]any{}
	for name, o := range facts["orgs"].(map[string]any) {
		org := o.(map[string]any)
		people, posts := org["people"].(map[string]any), org["posts"].(map[string]any)
		current := map[string]any{}
		for person, hs := range org["holdings"].(map[string]any) {
			p, ok := people[person].(map[string]any)
			if !ok || p["inactive"] == true {
				continue
			}
			held, seats, funds := map[string]any{}, map[string]any{}, map[string]any{}
			for _, h := range hs.([]any) {
				h := h.(map[string]any)
				start, end := h["start"].(string), h["end"].(string)
				if start > today || (end != "" && end < today) {
					continue
				}
				held[h["post"].(string)] = true
				if post, ok := posts[h["post"].(string)].(map[string]any); ok {
					seats[fmt.Sprintf("%v|%v", post["unit"], post["rank_level"])] = true
					for _, f := range post["managed_funds"].([]any) {
						funds[f.(string)] = true
					}
				}
			}
			if len(held) > 0 {
				current[person] = map[string]any{"posts": held, "seats": seats, "funds": funds}
			}
		}
		indexed := maps.Clone(org)
		indexed["current"] = current
		orgs[name] = indexed
	}
	return map[string]any{"today": today, "orgs": orgs}
}
