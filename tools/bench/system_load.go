package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// The system benchmark's workload: every client (worker) runs a closed loop of a weighted
// mix of what the staff of the demo bureau do all day, and one paced submitter files
// public complaints beside them.

type sysOp int

const (
	opCreate sysOp = iota
	opSign
	opInbox
	opList
	opComplaint
	numSysOps
)

var sysOpNames = [numSysOps]string{"create case", "sign next step", "inbox (first page)", "list cases (first page)", "complaint (public intake)"}

// sysWeights is the closed loop's mix, in percent of the mix (create 20, sign 30,
// inbox 25, list 20); the remaining ~5 % are the complaints, paced apart (-complaint-rate).
var sysWeights = [numSysOps]int{opCreate: 20, opSign: 30, opInbox: 25, opList: 20}

const (
	sysOrg       = up.DemoOrg
	sysFlow      = "orgs/" + sysOrg + "/powers/zjbf/flows/internal"
	sysAmount    = 380000 // below the 处长 (50万) and 集体决策 (500万) thresholds: seven plain steps
	sysPageSize  = 20
	sysOpTimeout = 10 * time.Second
)

// sysChain is the order a case of the bench is signed in, and by whom ("" is the
// applicant): 支出计划 → 主管责任人 → 分管处长 → 预算指标 → 支付审核 → 拨付办理 → 会计核算,
// the chain of demo case demo-zjbf-03, whose separations it respects.
var sysChain = []struct{ step, by string }{
	{"zcjh", ""}, {"zgzr", "han-bing"}, {"fgcz", "tang-hui"}, {"zbsh", "xu-ting"},
	{"zfsh", "lin-xiaoyan"}, {"bfbl", "gao-jie"}, {"kjhs", "liang-xue"},
}

// sysApplicants hold the 支出计划 post (A and B of each other); worker w opens its cases as
// sysApplicants[w%2].
var sysApplicants = []string{"feng-yu", "cao-yang"}

// sysPeople are whose inbox or case list a worker reads: everyone on the chain.
var sysPeople = []string{"feng-yu", "cao-yang", "han-bing", "tang-hui", "xu-ting", "lin-xiaoyan", "gao-jie", "liang-xue"}

func sysPerson(p string) string { return "orgs/" + sysOrg + "/people/" + p }

// newSysCase is case n of the bench: a 资金拨付 of 38万元 to a payee of its own, so that
// the supervision rules on related payments (split, frequent, repeated pair) stay quiet.
func newSysCase(applicant string, n int64) *approvalv1.Case {
	b := sysApplicants[0]
	if applicant == b {
		b = sysApplicants[1]
	}
	return &approvalv1.Case{
		Title: fmt.Sprintf("系统基准测试：养老机构运营补贴拨付 %d", n), Flow: sysFlow, A: sysPerson(applicant), B: sysPerson(b),
		Payload: &approvalv1.Payload{Amount: sysAmount, Fund: "ZX-SHBZ-2026", Indicator: "ZB-2026-SB-0019",
			Payee:   &approvalv1.Payee{Name: fmt.Sprintf("江城市基准测试养老服务中心%08d", n), Code: fmt.Sprintf("52429001BENCH%08d", n), Account: fmt.Sprintf("4200 9999 %08d", n)},
			Purpose: "按核定床位数和入住率拨付运营补贴（系统基准测试）。"},
	}
}

// sysClient is one transport to the system.
type sysClient interface {
	create(ctx context.Context, applicant string, c *approvalv1.Case, requestID string) (string, error)
	sign(ctx context.Context, person, name, step, requestID string) error
	inbox(ctx context.Context, person string) error
	list(ctx context.Context, person string) error
	complaint(ctx context.Context, text string) error
}

// grpcSys calls the services directly: approval through conns dialled with the etcd
// discovery resolver (round robin over the live replicas), complaints to supervision.
type grpcSys struct {
	approval    []*grpc.ClientConn
	supervision *grpc.ClientConn
	bearer      map[string]string
	rr          atomic.Uint64
}

var (
	sysGetCase         = "/" + approvalv1.CaseService_ServiceDesc.ServiceName + "/GetCase"
	sysListCases       = "/" + approvalv1.CaseService_ServiceDesc.ServiceName + "/ListCases"
	sysSubmitComplaint = "/" + supervisionv1.ComplaintService_ServiceDesc.ServiceName + "/SubmitComplaint"
)

func (g *grpcSys) conn() *grpc.ClientConn {
	return g.approval[g.rr.Add(1)%uint64(len(g.approval))]
}

func (g *grpcSys) as(ctx context.Context, person string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", g.bearer[person])
}

func (g *grpcSys) create(ctx context.Context, applicant string, c *approvalv1.Case, rid string) (string, error) {
	var reply load.RawReply
	if err := load.Invoke(g.as(ctx, applicant), g.conn(), createCase,
		&approvalv1.CreateCaseRequest{Parent: "orgs/" + sysOrg, Case: c, RequestId: rid}, &reply); err != nil {
		return "", err
	}
	name := load.StringField(reply.Bytes, 1)
	if name == "" {
		return "", errors.New("CreateCase answered no name")
	}
	return name, nil
}

func (g *grpcSys) sign(ctx context.Context, person, name, step, rid string) error {
	var reply load.RawReply
	return load.Invoke(g.as(ctx, person), g.conn(), actCase,
		&approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: step, RequestId: rid}, &reply)
}

func (g *grpcSys) inbox(ctx context.Context, person string) error {
	var reply load.RawReply
	return load.Invoke(g.as(ctx, person), g.conn(), listInbox,
		&approvalv1.ListInboxRequest{Parent: "orgs/" + sysOrg, PageSize: sysPageSize}, &reply)
}

func (g *grpcSys) list(ctx context.Context, person string) error {
	var reply load.RawReply
	return load.Invoke(g.as(ctx, person), g.conn(), sysListCases,
		&approvalv1.ListCasesRequest{Parent: "orgs/" + sysOrg, PageSize: sysPageSize}, &reply)
}

func (g *grpcSys) complaint(ctx context.Context, text string) error {
	var reply load.RawReply
	return load.Invoke(ctx, g.supervision, sysSubmitComplaint,
		&supervisionv1.SubmitComplaintRequest{Parent: "orgs/" + sysOrg, Text: text, About: "江城市财政局某处室"}, &reply)
}

// restSys goes through the gateway, as a browser or another system would.
type restSys struct {
	base   string
	httpc  *http.Client
	bearer map[string]string
}

// httpError is a non-200 answer.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// do sends a request as person ("" for a public call) and returns the body when keep.
func (r *restSys) do(ctx context.Context, method, path, person string, body any, keep bool) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return nil, err
	}
	if person != "" {
		req.Header.Set("Authorization", r.bearer[person])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if !keep {
		_, err = io.Copy(io.Discard, resp.Body)
		return nil, err
	}
	return io.ReadAll(resp.Body)
}

func (r *restSys) create(ctx context.Context, applicant string, c *approvalv1.Case, rid string) (string, error) {
	p := c.Payload
	// The body is the case (AIP-133); the request id is a query parameter (AIP-155).
	b, err := r.do(ctx, http.MethodPost, "/v1/orgs/"+sysOrg+"/cases?requestId="+rid, applicant, map[string]any{
		"title": c.Title, "flow": c.Flow, "a": c.A, "b": c.B,
		"payload": map[string]any{"amount": p.Amount, "fund": p.Fund, "indicator": p.Indicator, "purpose": p.Purpose,
			"payee": map[string]any{"name": p.Payee.Name, "code": p.Payee.Code, "account": p.Payee.Account}},
	}, true)
	if err != nil {
		return "", err
	}
	var out struct{ Name string }
	if err := json.Unmarshal(b, &out); err != nil || out.Name == "" {
		return "", fmt.Errorf("no case name in %.200s", b)
	}
	return out.Name, nil
}

func (r *restSys) sign(ctx context.Context, person, name, step, rid string) error {
	_, err := r.do(ctx, http.MethodPost, "/v1/"+name+":act", person, map[string]any{"action": "ACTION_SIGN", "step": step, "requestId": rid}, false)
	return err
}

func (r *restSys) inbox(ctx context.Context, person string) error {
	_, err := r.do(ctx, http.MethodGet, fmt.Sprintf("/v1/orgs/%s/inbox?pageSize=%d", sysOrg, sysPageSize), person, nil, false)
	return err
}

func (r *restSys) list(ctx context.Context, person string) error {
	_, err := r.do(ctx, http.MethodGet, fmt.Sprintf("/v1/orgs/%s/cases?pageSize=%d", sysOrg, sysPageSize), person, nil, false)
	return err
}

func (r *restSys) complaint(ctx context.Context, text string) error {
	_, err := r.do(ctx, http.MethodPost, "/public/v1/orgs/"+sysOrg+"/complaints", "", map[string]any{"text": text, "about": "江城市财政局某处室"}, false)
	return err
}

// errCode classifies a failed request: the gRPC code, the HTTP status, or a timeout.
func errCode(err error) string {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("HTTP %d", he.status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	if s, ok := status.FromError(err); ok {
		return s.Code().String()
	}
	return "transport"
}

// benchCase is a case the bench opened and had acknowledged.
type benchCase struct {
	name, applicant string
	// signs acknowledged; uncertain once a sign failed (it may or may not have been
	// applied: the case is then only checked to exist).
	signs     int
	uncertain bool
}

// opStats are one operation's measured requests.
type opStats struct {
	lat      []time.Duration
	errs     map[string]int
	firstErr string
}

func (s *opStats) record(d time.Duration, err error) {
	if err == nil {
		s.lat = append(s.lat, d)
		return
	}
	if s.errs == nil {
		s.errs = map[string]int{}
	}
	s.errs[errCode(err)]++
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

func (s *opStats) merge(o *opStats) {
	s.lat = append(s.lat, o.lat...)
	for k, v := range o.errs {
		if s.errs == nil {
			s.errs = map[string]int{}
		}
		s.errs[k] += v
	}
	if s.firstErr == "" {
		s.firstErr = o.firstErr
	}
}

func (s *opStats) errors() int {
	n := 0
	for _, v := range s.errs {
		n += v
	}
	return n
}

// pct is the p-th percentile of the sorted latencies.
func (s *opStats) pct(p int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, len(s.lat)*p/100)]
}

// mixResult is one run of the mix.
type mixResult struct {
	transport string
	conc      int
	d         time.Duration
	ops       [numSysOps]opStats
	cases     []*benchCase
	// fallbacks are signs drawn while the worker had no open case: it created one instead.
	fallbacks int64
	// complaintsSkipped are paced complaints not sent because 16 were still in flight.
	complaintsSkipped int64
	// use is what the processes used in useWall, the measured window as the progress
	// ticks saw it (read at the first tick in it and the first after it).
	use     *usage
	useWall time.Duration
}

func (m *mixResult) opsPerSec(op sysOp) float64 { return float64(len(m.ops[op].lat)) / m.d.Seconds() }

func (m *mixResult) total() (ok, failed int) {
	for i := range m.ops {
		ok += len(m.ops[i].lat)
		failed += m.ops[i].errors()
	}
	return ok, failed
}

// runMix drives the mix with conc workers for d after a warm-up of d/5 (not counted),
// printing a progress line every second to stderr. sample, if set, reads what the
// processes used at the start and end of the measured window.
func runMix(ctx context.Context, label, transport string, cl sysClient, conc int, d time.Duration, complaintRate float64, sample func() *usage) *mixResult {
	var (
		start     = time.Now()
		measureAt = start.Add(d / 5)
		stopAt    = measureAt.Add(d)
		seq       atomic.Int64
		done      atomic.Int64
		failed    atomic.Int64
		fallbacks atomic.Int64
		mu        sync.Mutex
		wg        sync.WaitGroup
	)
	res := &mixResult{transport: transport, conc: conc, d: d}
	runID := start.UnixNano()
	rid := func() string { return fmt.Sprintf("sys-%d-%d", runID, seq.Add(1)) }
	var total [numSysOps]int
	for i, w := range sysWeights {
		total[i] = w
		if i > 0 {
			total[i] += total[i-1]
		}
	}
	pick := func(r *rand.Rand) sysOp {
		x := r.IntN(total[numSysOps-1])
		for i, t := range total {
			if x < t {
				return sysOp(i)
			}
		}
		return opList
	}

	// Progress, and the CPU readings at the window's edges.
	progressDone := make(chan struct{})
	var use0, use1 *usage
	var useT0, useT1 time.Time
	go func() {
		defer close(progressDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		measuring := false
		var atMeasure int64
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				n := done.Load()
				phase := "warm-up"
				if !now.Before(measureAt) {
					if !measuring {
						measuring = true
						atMeasure = n
						if sample != nil {
							use0, useT0 = sample(), time.Now()
						}
					}
					phase = fmt.Sprintf("%3.0f%% measured, %6.0f ops/s so far", 100*min(1, now.Sub(measureAt).Seconds()/d.Seconds()),
						float64(n-atMeasure)/max(1e-3, now.Sub(measureAt).Seconds()))
				}
				if now.After(stopAt) {
					if use0 != nil {
						use1, useT1 = sample(), time.Now()
					}
					fmt.Fprintf(os.Stderr, "%s %s: %3.0fs done; waiting for the last requests\n", label, transport, now.Sub(start).Seconds())
					return
				}
				fmt.Fprintf(os.Stderr, "%s %s: %3.0fs %s | last 1s %6d ops | %d errors\n", label, transport, now.Sub(start).Seconds(), phase, n-last, failed.Load())
				last = n
			}
		}
	}()

	// The paced complaints (open loop).
	var complaints opStats
	var skipped atomic.Int64
	if complaintRate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 16)
			var inflight sync.WaitGroup
			defer inflight.Wait()
			t := time.NewTicker(time.Duration(float64(time.Second) / complaintRate))
			defer t.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case t0 := <-t.C:
					if t0.After(stopAt) {
						return
					}
					select {
					case sem <- struct{}{}:
					default:
						if !t0.Before(measureAt) {
							skipped.Add(1)
						}
						continue
					}
					inflight.Add(1)
					go func() {
						defer inflight.Done()
						defer func() { <-sem }()
						cctx, cancel := context.WithTimeout(ctx, sysOpTimeout)
						t0 := time.Now()
						err := cl.complaint(cctx, fmt.Sprintf("基准测试举报：某处室办理资金拨付拖延，请核查（第 %d 件）。", n))
						el := time.Since(t0)
						cancel()
						if err == nil {
							done.Add(1)
						} else {
							failed.Add(1)
						}
						if !t0.Before(measureAt) {
							mu.Lock()
							complaints.record(el, err)
							mu.Unlock()
						}
					}()
				}
			}
		}()
	}

	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(runID)))
			applicant := sysApplicants[w%len(sysApplicants)]
			var stats [numSysOps]opStats
			var cases, open []*benchCase
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(stopAt) {
					break
				}
				op := pick(rnd)
				if op == opSign && len(open) == 0 {
					op = opCreate
					fallbacks.Add(1)
				}
				cctx, cancel := context.WithTimeout(ctx, sysOpTimeout)
				var err error
				switch op {
				case opCreate:
					var name string
					if name, err = cl.create(cctx, applicant, newSysCase(applicant, seq.Add(1)), rid()); err == nil {
						bc := &benchCase{name: name, applicant: applicant}
						cases = append(cases, bc)
						open = append(open, bc)
					}
				case opSign:
					i := rnd.IntN(len(open))
					bc := open[i]
					st := sysChain[bc.signs]
					by := st.by
					if by == "" {
						by = bc.applicant
					}
					if err = cl.sign(cctx, by, bc.name, st.step, rid()); err == nil {
						bc.signs++
					} else {
						bc.uncertain = true
					}
					if err != nil || bc.signs == len(sysChain) {
						open[i] = open[len(open)-1]
						open = open[:len(open)-1]
					}
				case opInbox:
					err = cl.inbox(cctx, sysPeople[rnd.IntN(len(sysPeople))])
				case opList:
					err = cl.list(cctx, sysPeople[rnd.IntN(len(sysPeople))])
				}
				el := time.Since(t0)
				cancel()
				if err == nil {
					done.Add(1)
				} else {
					failed.Add(1)
				}
				if !t0.Before(measureAt) {
					stats[op].record(el, err)
				}
			}
			mu.Lock()
			for i := range stats {
				res.ops[i].merge(&stats[i])
			}
			res.cases = append(res.cases, cases...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	<-progressDone
	res.ops[opComplaint].merge(&complaints)
	for i := range res.ops {
		slices.Sort(res.ops[i].lat)
	}
	res.fallbacks, res.complaintsSkipped = fallbacks.Load(), skipped.Load()
	if use0 != nil && use1 != nil {
		res.use, res.useWall = use1.sub(use0), useT1.Sub(useT0)
	}
	for i, s := range res.ops {
		if s.firstErr != "" {
			fmt.Fprintf(os.Stderr, "%s %s: %s: %d errors, first: %.300s\n", label, transport, sysOpNames[i], s.errors(), s.firstErr)
		}
	}
	return res
}
