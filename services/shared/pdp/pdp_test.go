package pdp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// set builds a small policy set: the action "t.act" is allowed when the actor is a
// person of the org in the facts and "t.tag" is not "bad"; every violation carries tag.
func set(rev, tag string) *pdp.Set {
	return &pdp.Set{Revision: rev, Files: map[string][]byte{
		"main/main.rego": []byte(`package fenquan.main

violations contains v if {
	not data.facts.orgs[input.org].people[input.actor.person]
	v := {"rule": "t.unknown_person", "zh": "人员不存在", "en": sprintf("%s is not a person of %s", [input.actor.person, input.org]), "basis": data.t.tag}
}

violations contains v if {
	input.t == "bad"
	v := {"rule": "t.bad", "zh": "坏", "en": "bad input", "basis": data.t.tag}
}

decision := {"allowed": count(violations) == 0, "violations": [v | some v in violations], "output": {"tag": data.t.tag}}
`),
		"main/main_test.rego": []byte(`package fenquan.main_test

import data.fenquan.main

test_allows_a_person if {
	main.decision.allowed with input as {"org": "o", "actor": {"person": "p"}}
		with data.facts as {"orgs": {"o": {"people": {"p": {}}}}}
}

test_denies_a_stranger if {
	not main.decision.allowed with input as {"org": "o", "actor": {"person": "x"}}
		with data.facts as {"orgs": {"o": {"people": {"p": {}}}}}
}
`),
		"t/data.json": []byte(fmt.Sprintf(`{"tag": %q}`, tag)),
	}}
}

func newPDP(t *testing.T) *pdp.PDP {
	t.Helper()
	return newPDPWith(t, pdp.Config{Service: "test", Timeout: 10 * time.Second})
}

func newPDPWith(t *testing.T, cfg pdp.Config) *pdp.PDP {
	t.Helper()
	p := pdp.New(cfg)
	if err := p.Facts().Reset(context.Background(), []pdp.FactEvent{
		{Name: "orgs/o/people/p", Resource: &registryv1.Person{Name: "orgs/o/people/p"}},
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func input(person string) map[string]any {
	return map[string]any{"org": "o", "actor": map[string]any{"person": person}}
}

func TestDenyByDefaultWithoutASet(t *testing.T) {
	p := newPDP(t)
	d, err := p.Decide(context.Background(), "t.act", input("p"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || len(d.Violations) != 1 || d.Violations[0].Rule != pdp.RuleNoPolicy || d.DecisionID == "" {
		t.Fatalf("decision without a set = %+v", d)
	}
}

func TestDecideWithFacts(t *testing.T) {
	ctx := context.Background()
	p := newPDP(t)
	if err := p.Load(ctx, set("r1", "A")); err != nil {
		t.Fatal(err)
	}
	d, err := p.Decide(ctx, "t.act", input("p"))
	if err != nil || !d.Allowed || d.PolicyRevision != "r1" || d.Output["tag"] != "A" || len(d.InputDigest()) != 64 {
		t.Fatalf("allowed decision = %+v, %v", d, err)
	}
	d, _ = p.Decide(ctx, "t.act", input("q"))
	if d.Allowed || d.Violations[0].Rule != "t.unknown_person" || !strings.Contains(d.Violations[0].En, "q is not a person of o") {
		t.Fatalf("denied decision = %+v", d)
	}
	// Facts change: q becomes a person of o; p leaves.
	if err := p.Facts().Apply(ctx, []pdp.FactEvent{
		{Name: "orgs/o/people/q", Resource: &registryv1.Person{Name: "orgs/o/people/q"}},
		{Name: "orgs/o/people/p", Delete: true},
	}); err != nil {
		t.Fatal(err)
	}
	if d, _ := p.Decide(ctx, "t.act", input("q")); !d.Allowed {
		t.Fatalf("after q joined: %+v", d)
	}
	if d, _ := p.Decide(ctx, "t.act", input("p")); d.Allowed {
		t.Fatalf("after p left: %+v", d)
	}
	// Two violations at once are both reported.
	in := input("x")
	in["t"] = "bad"
	if d, _ := p.Decide(ctx, "t.act", in); len(d.Violations) != 2 {
		t.Fatalf("violations = %+v", d.Violations)
	}
}

// A policy that runs too long is denied, not waited for.
func TestTimeoutDenies(t *testing.T) {
	ctx := context.Background()
	p := newPDPWith(t, pdp.Config{Service: "test", Timeout: time.Millisecond})
	slow := set("slow", "S")
	slow.Files["main/slow.rego"] = []byte("package fenquan.main\n\nslow contains n if {\n\tinput.slow\n\tsome n in numbers.range(1, 100000000)\n\tn == -1\n}\n")
	slow.Files["main/main.rego"] = []byte(strings.Replace(string(slow.Files["main/main.rego"]),
		`decision := {"allowed": count(violations) == 0,`, `decision := {"allowed": count(violations) == count(slow),`, 1))
	if err := p.Load(ctx, slow); err != nil {
		t.Fatal(err)
	}
	in := input("p")
	in["slow"] = true
	d, err := p.Decide(ctx, "t.act", in)
	if err != nil || d.Allowed || d.Violations[0].Rule != pdp.RuleTimeout {
		t.Fatalf("slow decision = %+v, %v", d, err)
	}
}

func TestBrokenSetsAreRefused(t *testing.T) {
	ctx := context.Background()
	p := newPDP(t)
	if err := p.Load(ctx, set("good", "A")); err != nil {
		t.Fatal(err)
	}
	noCompile := set("nocompile", "B")
	noCompile.Files["main/main.rego"] = []byte("package fenquan.main\n\ndecision := {\"allowed\": undefined_thing}\n")
	failingTest := set("failing", "B")
	failingTest.Files["main/extra_test.rego"] = []byte("package fenquan.extra_test\n\ntest_fails if {\n\t1 == 2\n}\n")
	noTests := set("notests", "B")
	delete(noTests.Files, "main/main_test.rego")
	reservedFacts := set("facts", "B")
	reservedFacts.Files["facts/data.json"] = []byte(`{"orgs": {}}`)
	for _, tc := range []struct {
		set   *pdp.Set
		stage string
	}{
		{noCompile, "compile"}, {failingTest, "test"}, {noTests, "test"}, {reservedFacts, "data"},
	} {
		t.Run(tc.set.Revision, func(t *testing.T) {
			err := p.Load(ctx, tc.set)
			var se *pdp.SetError
			if !errors.As(err, &se) || se.Stage != tc.stage || se.Revision != tc.set.Revision {
				t.Fatalf("Load = %v, want refusal at %s", err, tc.stage)
			}
			if p.Revision() != "good" || p.Refused() == nil || p.Refused().Revision != tc.set.Revision {
				t.Fatalf("after refusal: active %q, refused %+v", p.Revision(), p.Refused())
			}
			if d, _ := p.Decide(ctx, "t.act", input("p")); !d.Allowed || d.PolicyRevision != "good" {
				t.Fatalf("the last good set stopped deciding: %+v", d)
			}
		})
	}
	if _, err := pdp.Validate(ctx, noCompile); err == nil {
		t.Fatal("Validate accepted a set that does not compile")
	}
	if n, err := pdp.Validate(ctx, set("v", "A")); err != nil || n != 2 {
		t.Fatalf("Validate = %d, %v", n, err)
	}
}

// Swapping sets while decisions run: no decision fails, and every decision comes whole
// from one set (its revision and its output agree).
func TestHotSwapUnderConcurrentDecisions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPDP(t)
	if err := p.Load(ctx, set("rev-0", "tag-0")); err != nil {
		t.Fatal(err)
	}
	var decided, mixed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				d, err := p.Decide(context.Background(), "t.act", input("p"))
				if err != nil || !d.Allowed {
					t.Errorf("decision failed during swaps: %+v %v", d, err)
					return
				}
				if "tag-"+strings.TrimPrefix(d.PolicyRevision, "rev-") != d.Output["tag"] {
					mixed.Add(1)
				}
				decided.Add(1)
			}
		}()
	}
	for i := 1; i <= 10; i++ {
		if err := p.Load(ctx, set(fmt.Sprintf("rev-%d", i), fmt.Sprintf("tag-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if mixed.Load() != 0 || decided.Load() == 0 {
		t.Fatalf("%d of %d decisions mixed two sets", mixed.Load(), decided.Load())
	}
}

func TestFollowPublishedSets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	p := newPDP(t)
	if err := p.Follow(ctx, pdp.FollowConfig{Etcd: cli, Root: root, Service: "test", Instance: "i1", Default: set("embedded", "E")}); err != nil {
		t.Fatal(err)
	}
	if p.Revision() != "embedded" {
		t.Fatalf("before publishing: %q", p.Revision())
	}
	publish := func(id string, s *pdp.Set) {
		t.Helper()
		ps := &policyv1.PolicySet{Name: "policySets/" + id, Files: s.Files}
		b, _ := proto.Marshal(ps)
		act, _ := json.Marshal(pdp.Activation{Set: "policySets/" + id, Time: time.Now()})
		if _, err := cli.Put(ctx, pdp.SetsPrefix(root)+id, string(b)); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Put(ctx, pdp.ActiveKey(root), string(act)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (active %q)", what, p.Revision())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	publish("00000001", set("x", "P1"))
	waitFor("set 1", func() bool { return p.Revision() == "policySets/00000001" })

	broken := set("x", "P2")
	broken.Files["main/main.rego"] = []byte("package fenquan.main\n\ndecision := 1 +\n")
	publish("00000002", broken)
	waitFor("the refusal", func() bool { return p.Refused() != nil && p.Refused().Revision == "policySets/00000002" })
	if p.Revision() != "policySets/00000001" {
		t.Fatalf("a broken set displaced the good one: %q", p.Revision())
	}
	// The refusal is reported in etcd for the policy service to show.
	waitFor("the status report", func() bool {
		resp, err := cli.Get(ctx, pdp.StatusPrefix(root)+"test/i1")
		if err != nil || len(resp.Kvs) == 0 {
			return false
		}
		var st pdp.InstanceStatus
		return json.Unmarshal(resp.Kvs[0].Value, &st) == nil && st.RefusedRevision == "policySets/00000002" && st.Revision == "policySets/00000001"
	})
}
