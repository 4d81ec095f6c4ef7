package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

const (
	benchHandlers = 64
	benchOfficers = 8
	benchFlow     = "orgs/" + benchOrg + "/powers/bf/flows/f"
)

var (
	createCase = "/" + approvalv1.CaseService_ServiceDesc.ServiceName + "/CreateCase"
	actCase    = "/" + approvalv1.CaseService_ServiceDesc.ServiceName + "/Act"
	listInbox  = "/" + approvalv1.CaseService_ServiceDesc.ServiceName + "/ListInbox"
)

// approvalBench measures case creation and sign-off at conc concurrent clients over gRPC
// and REST against raw etcd transactions of the same size, then (held > 0) loads that
// many cases and measures the inbox and the memory of a separate approval process.
func approvalBench(ctx context.Context, conc int, d time.Duration, held int) error {
	s, dir, admin, err := startStack(ctx, "bench-admin", "admin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer s.Stop()
	conn, err := grpc.NewClient(s.GRPC["registry"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := loadApprovalCatalog(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin), registryv1.NewCatalogServiceClient(conn)); err != nil {
		return err
	}
	// The catalogue reaches the decision point's facts through the registry's cache.
	for deadline := time.Now().Add(30 * time.Second); !s.PDP.Facts().Active(benchOrg, "r07"); {
		if time.Now().After(deadline) {
			return fmt.Errorf("the bench org never reached the decision point")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tokens := make([]string, benchHandlers)
	ctxs := make([]context.Context, benchHandlers)
	for i := range tokens {
		if tokens[i], err = s.Dev.Mint(handler(i), auth.Claims{Orgs: map[string]auth.Grant{benchOrg: {Person: handler(i), Roles: []string{"staff"}}}}, 2*time.Hour); err != nil {
			return err
		}
		ctxs[i] = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens[i])
	}
	conns := make([]*grpc.ClientConn, 4)
	for i := range conns {
		if conns[i], err = grpc.NewClient(s.GRPC["approval"], grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	raw, err := etcdx.NewClient(etcdx.ClientConfig{Endpoints: s.Etcd.Endpoints})
	if err != nil {
		return err
	}
	defer raw.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	post := func(w int, path string, body any) ([]byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tokens[w%benchHandlers])
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
		}
		return out, nil
	}

	// Cases created by each worker, signed by the same worker later (the applicant signs
	// the entry step of their own case: submission).
	var reqSeq atomic.Int64
	rid := func() string { return fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), reqSeq.Add(1)) }
	created := make([][]string, conc)
	restCreated := make([][]string, conc)
	signed := make([]int, conc)
	restSigned := make([]int, conc)
	newCase := func(w int) *approvalv1.Case {
		return &approvalv1.Case{
			Title: "基准测试拨付", Flow: benchFlow, A: personName(handler(w % benchHandlers)), B: personName(handler((w + 1) % benchHandlers)),
			Payload: &approvalv1.Payload{Amount: 120000, Fund: "ZX-BENCH", Indicator: "ZB-BENCH",
				Payee: &approvalv1.Payee{Name: "江城建设有限公司", Code: "91420100MA4K2XXXX1"}, Purpose: strings.Repeat("项目资金拨付。", 8)},
		}
	}
	var sizes writeSizes
	var results []load.Result
	run := func(name string, op load.Op) {
		if scenarioFilter != "" && !strings.Contains(name, scenarioFilter) {
			return
		}
		r := load.Run(ctx, name, conc, d, op)
		if r.FirstError != nil {
			fmt.Fprintf(os.Stderr, "%s: %d errors, first: %v\n", name, r.Errors, r.FirstError)
		}
		fmt.Fprintf(os.Stderr, "%-45s %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms\n", r.Name, r.OpsPerSec(),
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000)
		results = append(results, r)
	}
	run("gRPC CreateCase", func(_ context.Context, w int, _ *rand.Rand) error {
		var reply load.RawReply
		err := load.Invoke(ctxs[w%benchHandlers], conns[w%len(conns)], createCase,
			&approvalv1.CreateCaseRequest{Parent: "orgs/" + benchOrg, Case: newCase(w), RequestId: rid()}, &reply)
		if err == nil {
			created[w] = append(created[w], load.StringField(reply.Bytes, 1))
		}
		return err
	})
	run("gRPC Act sign", func(_ context.Context, w int, _ *rand.Rand) error {
		if signed[w] >= len(created[w]) {
			time.Sleep(time.Millisecond) // out of cases: count it, do not spin
			return fmt.Errorf("worker %d signed all %d cases it created", w, len(created[w]))
		}
		name := created[w][signed[w]]
		signed[w]++
		var reply load.RawReply
		return load.Invoke(ctxs[w%benchHandlers], conns[w%len(conns)], actCase,
			&approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: "jb", RequestId: rid()}, &reply)
	})
	// The write of a sign, as stored: measured on a case the gRPC scenario signed.
	if err := sizes.measure(ctx, raw, created); err != nil && scenarioFilter == "" {
		return err
	}
	fmt.Fprintf(os.Stderr, "a sign writes %s\n", &sizes)
	restCreate := func(w int) (string, error) {
		c := newCase(w)
		// The body is the case (AIP-133); the request id is a query parameter (AIP-155).
		b, err := post(w, "/v1/orgs/"+benchOrg+"/cases?requestId="+rid(), map[string]any{
			"title": c.Title, "flow": c.Flow, "a": c.A, "b": c.B,
			"payload": map[string]any{"amount": 120000, "fund": "ZX-BENCH", "indicator": "ZB-BENCH",
				"payee": map[string]any{"name": c.Payload.Payee.Name, "code": c.Payload.Payee.Code}, "purpose": c.Payload.Purpose},
		})
		if err != nil {
			return "", err
		}
		var out struct{ Name string }
		if err := json.Unmarshal(b, &out); err != nil || out.Name == "" {
			return "", fmt.Errorf("no case name in %s", b)
		}
		return out.Name, nil
	}
	run("REST CreateCase", func(_ context.Context, w int, _ *rand.Rand) error {
		name, err := restCreate(w)
		if err == nil {
			restCreated[w] = append(restCreated[w], name)
		}
		return err
	})
	run("REST Act sign", func(_ context.Context, w int, _ *rand.Rand) error {
		if restSigned[w] >= len(restCreated[w]) {
			time.Sleep(time.Millisecond)
			return fmt.Errorf("worker %d signed all %d cases it created", w, len(restCreated[w]))
		}
		name := restCreated[w][restSigned[w]]
		restSigned[w]++
		_, err := post(w, "/v1/"+name+":act", map[string]any{"action": "ACTION_SIGN", "step": "jb", "requestId": rid()})
		return err
	})
	run("etcd Txn, a sign's writes (raw, baseline)", func(ctx context.Context, _ int, r *rand.Rand) error {
		return sizes.rawTxn(ctx, raw, r)
	})
	fmt.Printf("### Approval: case creation and sign-off, %d concurrent clients, %s per scenario\n\n", conc, d)
	fmt.Printf("Machine: %s. Command: `go run ./tools/bench approval -c %d -d %s -held %d`. A sign writes %s in one "+
		"transaction guarded by the case's revision and the request id's absence; the baseline writes the same sizes "+
		"(one guard) straight to etcd.\n\n", machine(), conc, d, held, &sizes)
	load.Table(os.Stdout, results, map[string]string{
		"gRPC CreateCase": "etcd Txn, a sign's writes (raw, baseline)", "gRPC Act sign": "etcd Txn, a sign's writes (raw, baseline)",
		"REST CreateCase": "etcd Txn, a sign's writes (raw, baseline)", "REST Act sign": "etcd Txn, a sign's writes (raw, baseline)",
	})
	if held > 0 {
		return heldBench(ctx, s, dir, raw, ctxs, conc, d, held)
	}
	return nil
}

func handler(i int) string       { return fmt.Sprintf("h%02d", i) }
func officer(i int) string       { return fmt.Sprintf("r%02d", i) }
func personName(p string) string { return "orgs/" + benchOrg + "/people/" + p }

// writeSizes are the sizes of what one sign writes: the case, its events, the request
// record.
type writeSizes struct {
	caseBytes  int
	eventBytes []int
	reqBytes   int
	lease      clientv3.LeaseID
	seq        atomic.Int64
}

func (w *writeSizes) String() string {
	return fmt.Sprintf("a case of %d B, %d events of %v B and a request record of %d B", w.caseBytes, len(w.eventBytes), w.eventBytes, w.reqBytes)
}

func (w *writeSizes) measure(ctx context.Context, cli *clientv3.Client, created [][]string) error {
	var name string
	for _, c := range created {
		if len(c) > 0 {
			name = c[0]
			break
		}
	}
	if name == "" {
		return fmt.Errorf("no case was created")
	}
	id := name[strings.LastIndexByte(name, '/')+1:]
	cr, err := cli.Get(ctx, fmt.Sprintf("%s/approval/%s/cases/%s", up.KeyRoot, benchOrg, id))
	if err != nil || len(cr.Kvs) == 0 {
		return fmt.Errorf("read %s: %v", name, err)
	}
	w.caseBytes = len(cr.Kvs[0].Value)
	er, err := cli.Get(ctx, fmt.Sprintf("%s/approval-events/%s/%s/", up.KeyRoot, benchOrg, id), clientv3.WithPrefix())
	if err != nil {
		return err
	}
	// The sign's events: all but the creation's two (created, step_activated).
	for _, kv := range er.Kvs[min(2, len(er.Kvs)):] {
		w.eventBytes = append(w.eventBytes, len(kv.Value))
	}
	rr, err := cli.Get(ctx, fmt.Sprintf("%s/approval-requests/%s/", up.KeyRoot, benchOrg), clientv3.WithPrefix(), clientv3.WithLimit(1))
	if err != nil || len(rr.Kvs) == 0 {
		return fmt.Errorf("read a request record: %v", err)
	}
	w.reqBytes = len(rr.Kvs[0].Value)
	lr, err := cli.Grant(ctx, 3600)
	if err != nil {
		return err
	}
	w.lease = lr.ID
	return nil
}

// rawTxn writes what a sign writes, to fresh keys, in one transaction with a guard.
func (w *writeSizes) rawTxn(ctx context.Context, cli *clientv3.Client, r *rand.Rand) error {
	n := w.seq.Add(1)
	key := fmt.Sprintf("/bench-raw/cases/%012d", n)
	ops := []clientv3.Op{clientv3.OpPut(key, string(randBytes(r, w.caseBytes)))}
	for i, sz := range w.eventBytes {
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("/bench-raw/events/%012d/%d", n, i), string(randBytes(r, sz))))
	}
	ops = append(ops, clientv3.OpPut(fmt.Sprintf("/bench-raw/requests/%012d", n), string(randBytes(r, w.reqBytes)), clientv3.WithLease(w.lease)))
	_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", 0)).Then(ops...).Commit()
	return err
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return b
}

// loadApprovalCatalog creates the bench org for the approval benchmark: one division
// with 64 handler posts (one person each) and 8 responsible officers, and a published
// power with a two-step flow (经办 → 审核) on ranks of the division.
func loadApprovalCatalog(ctx context.Context, cat registryv1.CatalogServiceClient) error {
	unit := "orgs/" + benchOrg + "/units/u"
	objs := []*registryv1.CatalogObject{
		{Object: &registryv1.CatalogObject_Org{Org: &registryv1.Org{Name: "orgs/" + benchOrg, DisplayName: "基准测试单位"}}},
		{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{Name: unit, DisplayName: "业务处", Kind: registryv1.UnitKind_UNIT_KIND_DIVISION}}},
	}
	add := func(person, post string, rank registryv1.Rank) {
		objs = append(objs,
			&registryv1.CatalogObject{Object: &registryv1.CatalogObject_Post{Post: &registryv1.Post{Name: "orgs/" + benchOrg + "/posts/" + post, DisplayName: post, Unit: unit, Rank: rank}}},
			&registryv1.CatalogObject{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{Name: personName(person), DisplayName: person, Unit: unit}}},
			&registryv1.CatalogObject{Object: &registryv1.CatalogObject_Assignment{Assignment: &registryv1.Assignment{
				Name: "orgs/" + benchOrg + "/assignments/" + person, Person: personName(person), Post: "orgs/" + benchOrg + "/posts/" + post,
				AbRole: registryv1.AbRole_AB_ROLE_A, StartDate: "2020-01-01"}}})
	}
	for i := range benchHandlers {
		add(handler(i), "p-"+handler(i), registryv1.Rank_RANK_HANDLER)
	}
	for i := range benchOfficers {
		add(officer(i), "p-"+officer(i), registryv1.Rank_RANK_RESPONSIBLE_OFFICER)
	}
	objs = append(objs,
		&registryv1.CatalogObject{Publish: true, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
			Name: "orgs/" + benchOrg + "/powers/bf", Code: "BENCH-CW-001", DisplayName: "资金拨付", Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE,
			ActingUnit: unit, LegalBasis: []*registryv1.LegalBasis{{Law: "中华人民共和国预算法", Article: "第五十三条"}},
		}}},
		&registryv1.CatalogObject{Publish: true, Object: &registryv1.CatalogObject_Flow{Flow: &registryv1.Flow{
			Name: benchFlow, DisplayName: "拨付流程", Kind: registryv1.FlowKind_FLOW_KIND_INTERNAL,
			Steps: []*registryv1.FlowStep{
				{Id: "jb", DisplayName: "经办", Actor: &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_HANDLER}, Unit: unit, Duty: "经办", TimeLimitDays: 2, Separations: []string{"s"}},
				{Id: "sh", DisplayName: "审核", Actor: &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_RESPONSIBLE_OFFICER}, Unit: unit, Duty: "审核", TimeLimitDays: 1, Separations: []string{"s"}},
			},
			Transitions: []*registryv1.Transition{{From: "start", To: "jb"}, {From: "jb", To: "sh"}, {From: "sh", To: "end"}},
			Separations: []*registryv1.Separation{{Id: "s", DisplayName: "经办与审核分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES}},
		}}},
	)
	_, err := cat.ApplyCatalog(ctx, &registryv1.ApplyCatalogRequest{Objects: objs})
	return err
}
