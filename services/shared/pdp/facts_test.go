package pdp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// echo is a set whose decision outputs data.facts as the policies see them (the store).
func echo() *pdp.Set {
	return &pdp.Set{Revision: "echo", Files: map[string][]byte{
		"main/main.rego":      []byte("package fenquan.main\n\ndecision := {\"allowed\": true, \"violations\": [], \"output\": {\"facts\": data.facts}}\n"),
		"main/main_test.rego": []byte("package fenquan.main_test\n\nimport data.fenquan.main\n\ntest_ok if main.decision.allowed\n"),
	}}
}

// The facts in the store after any series of incremental changes equal the facts rebuilt
// from scratch: the indexes (holdings, holders, conflicts, fund managers, current,
// leadership) never drift.
func TestIncrementalFactsEqualRebuild(t *testing.T) {
	ctx := context.Background()
	p := pdp.New(pdp.Config{Service: "t"})
	if err := p.Load(ctx, echo()); err != nil {
		t.Fatal(err)
	}
	today := p.Facts().Today()
	rnd := rand.New(rand.NewPCG(1, 2))
	unit := func(i int) string { return fmt.Sprintf("orgs/o%d/units/u%d", i%2, i%3) }
	var history []pdp.FactEvent
	event := func() pdp.FactEvent {
		org := fmt.Sprintf("o%d", rnd.IntN(2))
		n := rnd.IntN(6)
		switch rnd.IntN(6) {
		case 0:
			name := fmt.Sprintf("orgs/%s/people/p%d", org, n)
			if rnd.IntN(5) == 0 {
				return pdp.FactEvent{Name: name, Delete: true}
			}
			return pdp.FactEvent{Name: name, Resource: &registryv1.Person{Name: name, Inactive: rnd.IntN(4) == 0, Unit: unit(n)}}
		case 1:
			name := fmt.Sprintf("orgs/%s/units/u%d", org, n%3)
			kind := registryv1.UnitKind_UNIT_KIND_DIVISION
			if rnd.IntN(2) == 0 {
				kind = registryv1.UnitKind_UNIT_KIND_LEADERSHIP
			}
			return pdp.FactEvent{Name: name, Resource: &registryv1.Unit{Name: name, Kind: kind}}
		case 2:
			name := fmt.Sprintf("orgs/%s/posts/s%d", org, n)
			if rnd.IntN(6) == 0 {
				return pdp.FactEvent{Name: name, Delete: true}
			}
			var funds []string
			for f := range rnd.IntN(3) {
				funds = append(funds, fmt.Sprintf("F%d", (n+f)%4))
			}
			return pdp.FactEvent{Name: name, Resource: &registryv1.Post{Name: name, Unit: fmt.Sprintf("orgs/%s/units/u%d", org, n%3),
				Rank: registryv1.Rank(1 + n%6), ManagedFunds: funds}}
		case 3, 4:
			name := fmt.Sprintf("orgs/%s/assignments/a%d", org, rnd.IntN(12))
			if rnd.IntN(6) == 0 {
				return pdp.FactEvent{Name: name, Delete: true}
			}
			end := ""
			switch rnd.IntN(3) {
			case 0:
				end = "2020-12-31" // ended long ago
			case 1:
				end = "2999-12-31"
			}
			return pdp.FactEvent{Name: name, Resource: &registryv1.Assignment{Name: name,
				Person: fmt.Sprintf("orgs/%s/people/p%d", org, rnd.IntN(6)), Post: fmt.Sprintf("orgs/%s/posts/s%d", org, rnd.IntN(6)),
				AbRole: registryv1.AbRole(1 + rnd.IntN(2)), StartDate: "2019-01-01", EndDate: end}}
		default:
			name := fmt.Sprintf("orgs/%s/conflictDeclarations/c%d", org, n)
			if rnd.IntN(4) == 0 {
				return pdp.FactEvent{Name: name, Delete: true}
			}
			return pdp.FactEvent{Name: name, Resource: &registryv1.ConflictDeclaration{Name: name,
				Person: fmt.Sprintf("orgs/%s/people/p%d", org, rnd.IntN(6)), CounterpartyName: fmt.Sprintf("公司%d", n), ValidFrom: "2020-01-01"}}
		}
	}
	for step := range 300 {
		batch := make([]pdp.FactEvent, 1+rnd.IntN(4))
		for i := range batch {
			batch[i] = event()
		}
		history = append(history, batch...)
		if err := p.Facts().Apply(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if step%25 != 24 {
			continue
		}
		d, err := p.Decide(ctx, "t", map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		got := normalize(t, d.Output["facts"])
		fresh := pdp.New(pdp.Config{Service: "t"})
		if err := fresh.Facts().Reset(ctx, history); err != nil {
			t.Fatal(err)
		}
		b, err := fresh.FactsJSON()
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %d events the store differs from a rebuild:\n%s", len(history), diff("facts", got, want))
		}
		if want.(map[string]any)["today"] != today {
			t.Fatalf("facts today = %v, want %s", want.(map[string]any)["today"], today)
		}
	}
}

func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diff lists the paths where two decoded JSON documents differ.
func diff(path string, a, b any) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		out := ""
		for k := range am {
			out += diff(path+"."+k, am[k], bm[k])
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				out += diff(path+"."+k, nil, bm[k])
			}
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return fmt.Sprintf("  %s: store %s, rebuild %s\n", path, ab, bb)
}
