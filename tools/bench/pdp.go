package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fenquan/fenquan/policies"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// pdpBench measures one full sod+signoff decision (approval.sign) with `people` people and
// `posts` posts in the store: in process through the embedded PDP, and the same policies
// and data served by the stock `opa run --server` over loopback REST.
func pdpBench(ctx context.Context, people, posts, n int) error {
	set, err := pdp.SetFromFS(policies.FS, "")
	if err != nil {
		return err
	}
	p := pdp.New(pdp.Config{Service: "bench", Log: discardLog{}, Timeout: time.Second})
	heap0 := heapMiB()
	events := syntheticFacts(people, posts)
	if err := p.Facts().Reset(ctx, events); err != nil {
		return err
	}
	if err := p.Load(ctx, set); err != nil {
		return err
	}
	heap1 := heapMiB()
	in := signInput(people, posts)
	d, err := p.Decide(ctx, "approval.sign", in)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return fmt.Errorf("the benchmark decision is denied: %+v", d.Violations)
	}
	deny := signInput(people, posts)
	deny["actor"] = map[string]any{"person": "p00001", "on_behalf_of": ""} // the applicant: self-approval
	if d, _ := p.Decide(ctx, "approval.sign", deny); d.Allowed {
		return fmt.Errorf("the self-approval input is allowed")
	}

	// The input as the approval service builds it: an AST object, no conversion per call.
	astIn, err := ast.InterfaceToValue(in)
	if err != nil {
		return err
	}
	embedded := measure(n, func() error {
		d, err := p.Decide(ctx, "approval.sign", astIn.(ast.Object))
		if err == nil && !d.Allowed {
			err = fmt.Errorf("denied")
		}
		return err
	})
	converted := measure(n/4, func() error {
		_, err := p.Decide(ctx, "approval.sign", in)
		return err
	})

	// The stock OPA server, same policies and data.
	srv, err := startOPAServer(ctx, set, p)
	if err != nil {
		return err
	}
	defer srv.stop()
	body, _ := json.Marshal(map[string]any{"input": withActionMap(in, "approval.sign")})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	check, err := srv.decide(client, body)
	if err != nil {
		return err
	}
	if !check {
		return fmt.Errorf("the OPA server denies what the embedded PDP allows")
	}
	server := measure(n/4, func() error {
		ok, err := srv.decide(client, body)
		if err == nil && !ok {
			err = fmt.Errorf("denied")
		}
		return err
	})

	mem100k := ""
	if people < 100000 {
		q := pdp.New(pdp.Config{Service: "bench", Log: discardLog{}})
		h0 := heapMiB()
		if err := q.Facts().Reset(ctx, syntheticFacts(100000, 10000)); err != nil {
			return err
		}
		if err := q.Load(ctx, set); err != nil {
			return err
		}
		mem100k = fmt.Sprintf("%.0f MiB", heapMiB()-h0)
		runtime.KeepAlive(q)
	}

	fmt.Printf("### Policy decision point: approval.sign (sod + signoff), %d people, %d posts\n\n", people, posts)
	fmt.Printf("Machine: %s. Command: `go run ./tools/bench pdp -people %d -posts %d -n %d`. One caller, sequential decisions.\n\n", machine(), people, posts, n)
	fmt.Println("| path | decisions | p50 | p90 | p99 | max | mean |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range []struct {
		name string
		l    latencies
	}{
		{"embedded PDP, input as AST (how services call it)", embedded},
		{"embedded PDP, input as Go map (converted per call)", converted},
		{"stock `opa run --server`, REST over loopback", server},
	} {
		fmt.Printf("| %s | %d | %s | %s | %s | %s | %s |\n", r.name, len(r.l), us(r.l.pct(50)), us(r.l.pct(90)), us(r.l.pct(99)), us(r.l.pct(100)), us(r.l.mean()))
	}
	fmt.Printf("\nEmbedded vs the OPA server: %.1f× faster at p50, %.1f× at p99.\n", float64(server.pct(50))/float64(embedded.pct(50)), float64(server.pct(99))/float64(embedded.pct(99)))
	fmt.Printf("\nHeap of the facts and the compiled set: %.0f MiB with %d people and %d posts", heap1-heap0, people, posts)
	if mem100k != "" {
		fmt.Printf("; %s with 100000 people and 10000 posts", mem100k)
	}
	fmt.Println(".")
	return nil
}

type discardLog struct{}

func (discardLog) Record(context.Context, pdp.Record) {}

type latencies []time.Duration

func measure(n int, op func() error) latencies {
	for range n / 10 { // warm up
		_ = op()
	}
	out := make(latencies, 0, n)
	for range n {
		t0 := time.Now()
		if err := op(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		out = append(out, time.Since(t0))
	}
	slices.Sort(out)
	return out
}

func (l latencies) pct(p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := len(l) * p / 100
	if i >= len(l) {
		i = len(l) - 1
	}
	return l[i]
}

func (l latencies) mean() time.Duration {
	var s time.Duration
	for _, d := range l {
		s += d
	}
	return s / time.Duration(max(len(l), 1))
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

func heapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// syntheticFacts: one org "bench" with 100 units, `posts` posts (ranks cycling 经办人 …
// 处长), `people` people each holding one post as A or B, and a conflict declaration for
// every tenth person.
func syntheticFacts(people, posts int) []pdp.FactEvent {
	var evs []pdp.FactEvent
	for u := range 100 {
		name := fmt.Sprintf("orgs/bench/units/u%02d", u)
		kind := registryv1.UnitKind_UNIT_KIND_DIVISION
		if u == 0 {
			kind = registryv1.UnitKind_UNIT_KIND_LEADERSHIP
		}
		evs = append(evs, pdp.FactEvent{Name: name, Resource: &registryv1.Unit{Name: name, Kind: kind}})
	}
	for i := range posts {
		name := fmt.Sprintf("orgs/bench/posts/s%05d", i)
		post := &registryv1.Post{Name: name, Unit: fmt.Sprintf("orgs/bench/units/u%02d", i%100), Rank: registryv1.Rank(1 + i%4)}
		if i%50 == 0 {
			post.ManagedFunds = []string{fmt.Sprintf("F-%03d", i/50)}
		}
		evs = append(evs, pdp.FactEvent{Name: name, Resource: post})
	}
	for i := range people {
		person := fmt.Sprintf("orgs/bench/people/p%05d", i)
		evs = append(evs, pdp.FactEvent{Name: person, Resource: &registryv1.Person{Name: person, Unit: fmt.Sprintf("orgs/bench/units/u%02d", i%100)}})
		a := fmt.Sprintf("orgs/bench/assignments/a%05d", i)
		role := registryv1.AbRole_AB_ROLE_A
		if (i/posts)%2 == 1 {
			role = registryv1.AbRole_AB_ROLE_B
		}
		evs = append(evs, pdp.FactEvent{Name: a, Resource: &registryv1.Assignment{
			Name: a, Person: person, Post: fmt.Sprintf("orgs/bench/posts/s%05d", i%posts), AbRole: role, StartDate: "2020-01-01",
		}})
		if i%10 == 0 {
			c := fmt.Sprintf("orgs/bench/conflictDeclarations/c%05d", i)
			evs = append(evs, pdp.FactEvent{Name: c, Resource: &registryv1.ConflictDeclaration{
				Name: c, Person: person, CounterpartyName: fmt.Sprintf("公司%05d", i), CounterpartyCode: fmt.Sprintf("9142%014d", i),
				Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, ValidFrom: "2024-01-01",
			}})
		}
	}
	return evs
}

// signInput is the 支付审核 step of a 1.2M case that has passed 经办人→主管责任人→分管处长→
// 处长 and a 集体决策: the most rules apply to it (separations, 管办分离, 回避, the chain,
// the amount band, 大额). The actor p00004 holds post s00004 (rank 1, the step's post).
func signInput(people, posts int) map[string]any {
	sig := func(step string, person string, level int) map[string]any {
		return map[string]any{"step": step, "person": person, "on_behalf_of": "", "payload_version": 3, "rank_level": level}
	}
	return map[string]any{
		"org":   "bench",
		"today": "2026-11-21",
		"actor": map[string]any{"person": "p00004", "on_behalf_of": ""},
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

func withActionMap(in map[string]any, action string) map[string]any {
	out := map[string]any{"action": action}
	for k, v := range in {
		out[k] = v
	}
	return out
}

type opaServer struct {
	cmd *exec.Cmd
	url string
	dir string
}

// startOPAServer builds the stock OPA CLI from the pinned module, writes the set and the
// facts into a folder and serves it with `opa run --server` on loopback.
func startOPAServer(ctx context.Context, set *pdp.Set, p *pdp.PDP) (*opaServer, error) {
	dir, err := os.MkdirTemp("", "fenquan-opa-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "opa")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/open-policy-agent/opa")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the OPA CLI: %w", err)
	}
	bundle := filepath.Join(dir, "bundle")
	for name, b := range set.Files {
		if err := os.MkdirAll(filepath.Join(bundle, filepath.Dir(name)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(bundle, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	facts, err := p.FactsJSON()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(bundle, "facts"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "facts", "data.json"), facts, 0o644); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check", bundle)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &opaServer{cmd: cmd, url: "http://" + addr + "/v1/data/fenquan/main/decision", dir: dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("opa server not healthy")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *opaServer) decide(c *http.Client, body []byte) (bool, error) {
	resp, err := c.Post(s.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	var out struct {
		Result struct {
			Allowed bool `json:"allowed"`
		} `json:"result"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return false, fmt.Errorf("opa server: %w: %.200s", err, b)
	}
	return out.Result.Allowed, nil
}

func (s *opaServer) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}
