package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/risk"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/tools/internal/demo"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// riskOrg is the demo org: the bench drafts its register on the demo bureau's real units,
// posts, heads and leaders, so every draft and step is decided by the rules as in use.
const riskOrg = "orgs/" + up.DemoOrg

// riskBench drafts n risk points (4 measures each) on the demo org through the API, in
// campaigns of at most risk.MaxCampaignRisks taken through the whole review cycle into
// force on a risk service whose clock is set to a past spring, then measures the register
// in force on the stack's own risk service: filtered lists (gRPC, REST) against raw etcd
// ranges of the same keys, the stats, the heat map, and the full 台账 exports (time and
// the process's heap growth while each is written).
func riskBench(ctx context.Context, n, conc int, d time.Duration) error {
	dir, err := os.MkdirTemp("", "fenquan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	s, err := up.Start(ctx, up.Options{DataDir: dir, Demo: true})
	if err != nil {
		return err
	}
	defer s.Stop()
	fmt.Fprintf(os.Stderr, "stack with the demo data up in %s\n", time.Since(t0).Round(time.Millisecond))

	org, err := demoOrg()
	if err != nil {
		return err
	}
	var tokMu sync.Mutex
	tokens := map[string]string{}
	as := func(person string) (context.Context, error) {
		tokMu.Lock()
		defer tokMu.Unlock()
		tok, ok := tokens[person]
		if !ok {
			if tok, err = s.Dev.Mint(person, up.StaffClaims(person), 4*time.Hour); err != nil {
				return nil, err
			}
			tokens[person] = tok
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), nil
	}

	// Play the campaigns on a risk service set to 2024.
	hist, stopHist, err := s.RiskAt(ctx)
	if err != nil {
		return err
	}
	hc := riskv1.NewRiskServiceClient(hist.Conn)
	day := time.Date(2024, 3, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	hist.SetDay(day)
	per := min(1000, risk.MaxCampaignRisks)
	var campaigns []string
	var seq atomic.Int64
	rid := func() string { return fmt.Sprintf("bench-%d", seq.Add(1)) }
	chairCtx, err := as(org.chair)
	if err != nil {
		return err
	}
	for i := 0; i*per < n; i++ {
		c, err := hc.CreateCampaign(chairCtx, &riskv1.CreateCampaignRequest{Parent: riskOrg, CampaignId: fmt.Sprintf("bench-2024-%d", i+1), RequestId: rid(),
			Campaign: &riskv1.Campaign{Title: fmt.Sprintf("2024年度廉政风险点排查（第%d批）", i+1), Year: 2024, PublicityDays: 5}})
		if err != nil {
			return fmt.Errorf("open campaign: %w", err)
		}
		campaigns = append(campaigns, c.Name)
	}
	t0 = time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, head := org.riskPoint(rnd, i, campaigns[i/per])
				hctx, err := as(head)
				if err == nil {
					_, err = hc.CreateRisk(hctx, &riskv1.CreateRiskRequest{Parent: riskOrg, RiskId: fmt.Sprintf("bench-%05d", i), Risk: r, RequestId: rid()})
				}
				if err != nil {
					errs <- fmt.Errorf("draft %d by %s: %w", i, head, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	draftTime := time.Since(t0)
	fmt.Fprintf(os.Stderr, "drafted %d risk points (%d measures) in %d campaigns in %s\n", n, 4*n, len(campaigns), draftTime.Round(time.Millisecond))

	review := func(by, name string, req *riskv1.ReviewCampaignRequest) (*riskv1.Campaign, error) {
		c, err := as(by)
		if err != nil {
			return nil, err
		}
		req.Name, req.RequestId = name, rid()
		return hc.ReviewCampaign(c, req, grpc.MaxCallRecvMsgSize(64<<20))
	}
	for _, c := range campaigns {
		for _, to := range []riskv1.Stage{riskv1.Stage_STAGE_COMMENTING, riskv1.Stage_STAGE_LEADER_REVIEW, riskv1.Stage_STAGE_COLLECTIVE} {
			if _, err := review(org.chair, c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_ADVANCE, ToStage: to}); err != nil {
				return fmt.Errorf("advance %s to %s: %w", c, to, err)
			}
		}
		got, err := review(org.chair, c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_CONVENE})
		if err != nil {
			return fmt.Errorf("convene: %w", err)
		}
		m := got.Meetings[len(got.Meetings)-1].Id
		if _, err := review(org.chair, c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_ATTEND, Meeting: m, Attendees: org.leaders}); err != nil {
			return fmt.Errorf("attend: %w", err)
		}
		for _, l := range org.leaders {
			if _, err := review(idOfName(l), c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_VOTE, Meeting: m, Vote: "yes"}); err != nil {
				return fmt.Errorf("vote: %w", err)
			}
		}
		if _, err := review(org.chair, c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING, Meeting: m, Text: "局长办公会集体审定，予以公示。"}); err != nil {
			return fmt.Errorf("close: %w", err)
		}
	}
	hist.SetDay(day.AddDate(0, 0, 10))
	var forceTimes []time.Duration
	for _, c := range campaigns {
		t := time.Now()
		if _, err := review(org.chair, c, &riskv1.ReviewCampaignRequest{Action: riskv1.ReviewAction_REVIEW_ACTION_ADVANCE, ToStage: riskv1.Stage_STAGE_IN_FORCE}); err != nil {
			return fmt.Errorf("into force %s: %w", c, err)
		}
		forceTimes = append(forceTimes, time.Since(t))
	}
	stopHist()

	// The stack's risk service learns of it all through its watch.
	conn, err := grpc.NewClient(s.GRPC["risk"], grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	rc := riskv1.NewRiskServiceClient(conn)
	rctx, err := as("he-wen")
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); ; {
		l, err := rc.ListRisks(rctx, &riskv1.ListRisksRequest{Parent: riskOrg, InForce: true, PageSize: 1, Level: riskv1.Level_LEVEL_POST, Kind: "岗位职责"})
		if err == nil {
			all, err2 := rc.GetRiskStats(rctx, &riskv1.GetRiskStatsRequest{Parent: riskOrg})
			if err2 == nil && int(all.Total) >= n {
				_ = l
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the register in force never reached %d risk points: %v", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stats, err := rc.GetRiskStats(rctx, &riskv1.GetRiskStatsRequest{Parent: riskOrg})
	if err != nil {
		return err
	}

	raw, err := etcdx.NewClient(etcdx.ClientConfig{Endpoints: s.Etcd.Endpoints})
	if err != nil {
		return err
	}
	defer raw.Close()
	inForcePrefix := up.KeyRoot + "/risk/" + up.DemoOrg + "/inforce/"

	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	tok := tokens["he-wen"]
	get := func(path string) ([]byte, error) {
		req, _ := http.NewRequest(http.MethodGet, s.GatewayURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := httpc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
		}
		return b, err
	}

	// A filter as the front ends send them: the register in force of a unit, a grade, a
	// kind at a level, or a unit and grade.
	grades := []riskv1.Grade{riskv1.Grade_GRADE_HIGH, riskv1.Grade_GRADE_MEDIUM, riskv1.Grade_GRADE_LOW}
	filtered := func(r *rand.Rand) *riskv1.ListRisksRequest {
		req := &riskv1.ListRisksRequest{Parent: riskOrg, InForce: true, PageSize: 50}
		switch r.IntN(4) {
		case 0:
			req.Unit = org.units[r.IntN(len(org.units))]
		case 1:
			req.Grade = grades[r.IntN(3)]
		case 2:
			req.Level, req.Kind = riskv1.Level_LEVEL_POST, riskKinds[r.IntN(len(riskKinds))]
		default:
			req.Unit, req.Grade = org.units[r.IntN(len(org.units))], grades[r.IntN(3)]
		}
		return req
	}
	restQuery := func(req *riskv1.ListRisksRequest) string {
		q := url.Values{"inForce": {"true"}, "pageSize": {"50"}}
		if req.Unit != "" {
			q.Set("unit", req.Unit)
		}
		if req.Grade != 0 {
			q.Set("grade", req.Grade.String())
		}
		if req.Kind != "" {
			q.Set("kind", req.Kind)
			q.Set("level", req.Level.String())
		}
		return "/v1/" + riskOrg + "/risks?" + q.Encode()
	}
	listRisks := "/" + riskv1.RiskService_ServiceDesc.ServiceName + "/ListRisks"

	type scenario struct {
		name string
		c    int
		op   load.Op
	}
	rawRange := func(ctx context.Context, _ int, r *rand.Rand) error {
		_, err := raw.Get(ctx, fmt.Sprintf("%sbench-%05d", inForcePrefix, r.IntN(n)), clientv3.WithRange(clientv3.GetPrefixRangeEnd(inForcePrefix)), clientv3.WithLimit(50))
		return err
	}
	grpcList := func(ctx context.Context, _ int, r *rand.Rand) error {
		var reply load.RawReply
		return load.Invoke(rctx, conn, listRisks, filtered(r), &reply)
	}
	restList := func(ctx context.Context, _ int, r *rand.Rand) error {
		_, err := get(restQuery(filtered(r)))
		return err
	}
	scenarios := []scenario{
		{"etcd Range 50 of the register (raw, baseline), 1 client", 1, rawRange},
		{"gRPC ListRisks page 50, filtered, 1 client", 1, grpcList},
		{"REST ListRisks page 50, filtered, 1 client", 1, restList},
		{fmt.Sprintf("etcd Range 50 of the register (raw, baseline), %d clients", conc), conc, rawRange},
		{fmt.Sprintf("gRPC ListRisks page 50, filtered, %d clients", conc), conc, grpcList},
		{fmt.Sprintf("REST ListRisks page 50, filtered, %d clients", conc), conc, restList},
		{"gRPC GetRiskStats (register in force), 1 client", 1, func(ctx context.Context, _ int, _ *rand.Rand) error {
			_, err := rc.GetRiskStats(rctx, &riskv1.GetRiskStatsRequest{Parent: riskOrg})
			return err
		}},
		{"gRPC RenderHeatMap (register in force), 1 client", 1, func(ctx context.Context, _ int, _ *rand.Rand) error {
			_, err := rc.RenderHeatMap(rctx, &riskv1.RenderHeatMapRequest{Parent: riskOrg})
			return err
		}},
	}
	var results []load.Result
	for _, sc := range scenarios {
		if scenarioFilter != "" && !strings.Contains(sc.name, scenarioFilter) {
			continue
		}
		r := load.Run(ctx, sc.name, sc.c, d, sc.op)
		if r.FirstError != nil {
			fmt.Fprintf(os.Stderr, "%s: %d errors, first: %v\n", sc.name, r.Errors, r.FirstError)
		}
		fmt.Fprintf(os.Stderr, "%-60s %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms\n", r.Name, r.OpsPerSec(),
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000)
		results = append(results, r)
	}

	// The exports, three times each: wall time, size, and the heap's growth over what it
	// held before (sampled every 2 ms; the service, the gateway and this client share the
	// process, so the figure bounds the service's own).
	type export struct {
		name string
		run  func() (int, error)
	}
	exportReq := func(f riskv1.ExportFormat) *riskv1.ExportRegisterRequest {
		return &riskv1.ExportRegisterRequest{Parent: riskOrg, Form: riskv1.Form_FORM_DEPARTMENT, Format: f}
	}
	exports := []export{
		{"etcd Get of the whole register in force (raw, baseline)", func() (int, error) {
			resp, err := raw.Get(ctx, inForcePrefix, clientv3.WithPrefix())
			if err != nil {
				return 0, err
			}
			size := 0
			for _, kv := range resp.Kvs {
				size += len(kv.Value)
			}
			return size, nil
		}},
		{"gRPC ExportRegister XLSX (附表1, register in force)", func() (int, error) {
			b, err := rc.ExportRegister(rctx, exportReq(riskv1.ExportFormat_EXPORT_FORMAT_XLSX))
			return len(b.GetData()), err
		}},
		{"gRPC ExportRegister CSV", func() (int, error) {
			b, err := rc.ExportRegister(rctx, exportReq(riskv1.ExportFormat_EXPORT_FORMAT_CSV))
			return len(b.GetData()), err
		}},
		{"REST export XLSX (download through the gateway)", func() (int, error) {
			b, err := get("/v1/" + riskOrg + "/risks:export?form=FORM_DEPARTMENT")
			return len(b), err
		}},
	}
	type exportResult struct {
		name       string
		times      []time.Duration
		size       int
		peakGrowth float64
	}
	var exResults []exportResult
	for _, ex := range exports {
		if scenarioFilter != "" && !strings.Contains(ex.name, scenarioFilter) {
			continue
		}
		er := exportResult{name: ex.name}
		for range 3 {
			runtime.GC()
			base := heapObjects()
			stop := make(chan struct{})
			peak := make(chan uint64)
			go func() {
				p := base
				tk := time.NewTicker(2 * time.Millisecond)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						peak <- max(p, heapObjects())
						return
					case <-tk.C:
						p = max(p, heapObjects())
					}
				}
			}()
			t := time.Now()
			size, err := ex.run()
			el := time.Since(t)
			close(stop)
			p := <-peak
			if err != nil {
				return fmt.Errorf("%s: %w", ex.name, err)
			}
			er.times = append(er.times, el)
			er.size = size
			er.peakGrowth = max(er.peakGrowth, float64(p-base)/(1<<20))
		}
		slices.Sort(er.times)
		fmt.Fprintf(os.Stderr, "%-60s median %s, %.0f KiB, heap growth ≤ %.0f MiB\n", er.name, er.times[1].Round(time.Millisecond), float64(er.size)/(1<<10), er.peakGrowth)
		exResults = append(exResults, er)
	}

	fmt.Printf("### Risk register: %d risk points, %d measures, %d concurrent clients, %s per scenario\n\n", n, 4*n, conc, d)
	fmt.Printf("Machine: %s. Command: `go run ./tools/bench risk -n %d -c %d -d %s`.\n\n", machine(), n, conc, d)
	fmt.Printf("The register: %d risk points in force (%d measures) on the demo bureau's %d units, drafted through the API by the units' heads in %d campaigns taken through the review cycle into force; grades %s.\n\n",
		stats.Total, stats.Measures, len(org.units), len(campaigns), countsText(stats.ByGrade))
	load.Table(os.Stdout, results, map[string]string{
		"gRPC ListRisks page 50, filtered, 1 client":                      "etcd Range 50 of the register (raw, baseline), 1 client",
		"REST ListRisks page 50, filtered, 1 client":                      "etcd Range 50 of the register (raw, baseline), 1 client",
		fmt.Sprintf("gRPC ListRisks page 50, filtered, %d clients", conc): fmt.Sprintf("etcd Range 50 of the register (raw, baseline), %d clients", conc),
		fmt.Sprintf("REST ListRisks page 50, filtered, %d clients", conc): fmt.Sprintf("etcd Range 50 of the register (raw, baseline), %d clients", conc),
		"gRPC GetRiskStats (register in force), 1 client":                 "etcd Range 50 of the register (raw, baseline), 1 client",
		"gRPC RenderHeatMap (register in force), 1 client":                "etcd Range 50 of the register (raw, baseline), 1 client",
	})
	fmt.Printf("\n| export of the whole register (%d rows) | median of 3 | fastest | size | heap growth while writing (max of 3) |\n|---|---|---|---|---|\n", n)
	for _, er := range exResults {
		fmt.Printf("| %s | %s | %s | %.0f KiB | %.0f MiB |\n", er.name, er.times[1].Round(time.Millisecond), er.times[0].Round(time.Millisecond), float64(er.size)/(1<<10), er.peakGrowth)
	}
	slices.Sort(forceTimes)
	fmt.Printf("\nDrafting %d risk points through CreateRisk (16 clients, each decided by `risk.draft` and graded by `risk.grade`): %s (%.0f/s). "+
		"Putting a campaign of %d into force (one transaction: %d writes): median %s. Process RSS after the run (etcd, every service, the gateway and the load generator together): %.0f MiB.\n",
		n, draftTime.Round(time.Millisecond), float64(n)/draftTime.Seconds(), min(per, n), 3*min(per, n)+1, forceTimes[len(forceTimes)/2].Round(time.Millisecond), rssMiB())
	return nil
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func countsText(cs []*riskv1.Count) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %d", c.Key, c.Count))
	}
	return strings.Join(parts, ", ")
}

var riskKinds = []string{"岗位职责", "业务流程", "制度机制", "外部环境"}

// benchOrgShape is what the bench needs of the demo org: its units with a head and their
// posts, the leadership and its principal.
type benchOrgShape struct {
	units   []string            // units with a head and posts
	heads   map[string]string   // unit → a head (person id)
	posts   map[string][]string // unit → post names
	leaders []string            // person names
	chair   string              // person id of the principal
}

func demoOrg() (*benchOrgShape, error) {
	objs, err := demo.Objects()
	if err != nil {
		return nil, err
	}
	o := &benchOrgShape{heads: map[string]string{}, posts: map[string][]string{}}
	leadership := map[string]bool{}
	posts := map[string]*registryv1.Post{}
	for _, obj := range objs {
		switch {
		case obj.GetUnit() != nil && obj.GetUnit().Kind == registryv1.UnitKind_UNIT_KIND_LEADERSHIP:
			leadership[obj.GetUnit().Name] = true
		case obj.GetPost() != nil:
			posts[obj.GetPost().Name] = obj.GetPost()
		}
	}
	var topRank registryv1.Rank
	for _, obj := range objs {
		a := obj.GetAssignment()
		if a == nil || a.EndDate != "" {
			continue
		}
		p := posts[a.Post]
		if p == nil {
			continue
		}
		switch {
		case leadership[p.Unit]:
			if !slices.Contains(o.leaders, a.Person) {
				o.leaders = append(o.leaders, a.Person)
			}
			if p.Rank > topRank {
				topRank, o.chair = p.Rank, idOfName(a.Person)
			}
		case p.Rank >= registryv1.Rank_RANK_DIRECTOR && a.AbRole != registryv1.AbRole_AB_ROLE_B:
			if _, ok := o.heads[p.Unit]; !ok {
				o.heads[p.Unit] = idOfName(a.Person)
			}
		}
	}
	for _, p := range posts {
		if _, ok := o.heads[p.Unit]; ok && !leadership[p.Unit] {
			o.posts[p.Unit] = append(o.posts[p.Unit], p.Name)
		}
	}
	for u := range o.posts {
		o.units = append(o.units, u)
		slices.Sort(o.posts[u])
	}
	slices.Sort(o.units)
	slices.Sort(o.leaders)
	if len(o.units) == 0 || o.chair == "" || len(o.leaders) < 3 {
		return nil, fmt.Errorf("the demo org has no units with heads or no leadership")
	}
	return o, nil
}

// riskPoint is the i-th bench risk point: a post of a unit (round robin), drafted by the
// unit's head, with likelihood, impact and factors drawn at random and four measures.
func (o *benchOrgShape) riskPoint(r *rand.Rand, i int, campaign string) (*riskv1.RiskPoint, string) {
	unit := o.units[i%len(o.units)]
	posts := o.posts[unit]
	head := o.heads[unit]
	by := "orgs/" + up.DemoOrg + "/people/" + head
	m := func(ph riskv1.Phase, text, freq string) *riskv1.Measure {
		return &riskv1.Measure{Phase: ph, Text: text, Responsible: by, Frequency: freq}
	}
	return &riskv1.RiskPoint{
		Title: fmt.Sprintf("岗位廉政风险点 %05d：审核把关不严、违规办理", i), Level: riskv1.Level_LEVEL_POST,
		Scope: posts[(i/len(o.units))%len(posts)], Kind: riskKinds[r.IntN(len(riskKinds))],
		Description:    "该岗位负责相关业务的受理、审核和办理，掌握审核通过与否、办理时限和办理方式的决定权，可能因利益驱动或把关不严导致权力滥用。",
		Manifestations: "对不符合条件的申请降低标准予以通过；收受服务对象好处，加快或拖延办理；与服务对象串通，虚报、冒领财政资金；泄露应保密的信息。",
		Likelihood:     1 + r.Int32N(5), Impact: 1 + r.Int32N(5),
		Factors:  map[string]int32{"importance": 1 + r.Int32N(5), "discretion": 1 + r.Int32N(5), "frequency": 1 + r.Int32N(5)},
		Campaign: campaign,
		Measures: []*riskv1.Measure{
			m(riskv1.Phase_PHASE_PREVENTION, "实行A、B角双人审核，审核要点清单化，逐笔核对依据、金额与收款人。", "每笔"),
			m(riskv1.Phase_PHASE_MONITORING, "系统对超标准、超进度办理自动预警，处长每周抽查预警处理情况。", "每周"),
			m(riskv1.Phase_PHASE_MONITORING, "每季度对办理结果随机抽查不少于10%，结果在处室内通报。", "每季度"),
			m(riskv1.Phase_PHASE_DISPOSAL, "对违规办理事项责令纠正、追回资金，移送纪检监察室追究责任。", "发现即办"),
		},
	}, head
}
