package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/tools/internal/cluster"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// sysBasePort numbers the bench's cluster ports, away from `fenquanctl dev cluster`'s
// default (17000) so that a cluster started by hand does not collide with it.
const sysBasePort = 17500

// sysEnv is a running system to measure: the single process (`up`) or a cluster.
type sysEnv struct {
	label    string
	target   string
	replicas int // approval replicas
	members  int // etcd members
	gateway  string
	// approvalAddrs are the approval replicas' gRPC addresses (probed directly).
	approvalAddrs []string
	etcd          *clientv3.Client
	mint          func(sub string, c auth.Claims) (string, error)
	// procs are the processes whose CPU time is read ("self" for this one), by name.
	procs func() map[string]string
	// etcdURLs are the members' client URLs, by member name (their /metrics).
	etcdURLs map[string]string
	setup    time.Duration
	stop     func()
}

// sysRun is what one environment measured.
type sysRun struct {
	env      *sysEnv
	mixes    []*mixResult
	checks   []string
	sizes    *writeSizes
	raw      []load.Result
	rawUse   []*usage
	rawWalls []time.Duration
	wall     time.Duration
}

func (r *sysRun) rawTxn() float64 {
	if len(r.raw) == 0 {
		return 0
	}
	return r.raw[0].OpsPerSec()
}

// systemBench runs the mixed workload against the single process or the cluster (once
// per approval replica count), with the raw etcd baseline on the same etcd, and prints
// the Markdown section.
func systemBench(ctx context.Context, target, replicaList, transport string, conc int, d time.Duration, complaintRate float64) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var transports []string
	switch transport {
	case "grpc", "rest":
		transports = []string{transport}
	case "both":
		transports = []string{"grpc", "rest"}
	default:
		return fmt.Errorf("-transport: grpc, rest or both, not %q", transport)
	}
	var replicas []int
	switch target {
	case "up":
		replicas = []int{1}
	case "cluster":
		for _, f := range strings.Split(replicaList, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 9 {
				return fmt.Errorf("-replicas: a list of counts from 1 to 9, not %q", replicaList)
			}
			replicas = append(replicas, n)
		}
	default:
		return fmt.Errorf("-target: up or cluster, not %q", target)
	}
	cmd := fmt.Sprintf("go run ./tools/bench system -target %s", target)
	if target == "cluster" {
		cmd += " -replicas " + replicaList
	}
	cmd += fmt.Sprintf(" -transport %s -c %d -d %s -complaint-rate %g", transport, conc, d, complaintRate)

	// The cluster runs share one folder: each starts with fresh data (etcd, keys, logs)
	// but keeps the binaries, which go build then only checks (no relinking).
	var dir string
	if target == "cluster" {
		var err error
		if dir, err = os.MkdirTemp("", "fenquan-bench-cluster-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	var runs []*sysRun
	var firstErr error
	for _, n := range replicas {
		r, err := systemRun(ctx, target, dir, n, transports, conc, d, complaintRate)
		if r != nil && len(r.mixes) > 0 {
			runs = append(runs, r)
		}
		if err != nil {
			firstErr = err
			break
		}
	}
	if len(runs) > 0 {
		printSystem(os.Stdout, cmd, target, conc, d, complaintRate, runs)
	}
	return firstErr
}

// systemRun starts one environment, runs the mix on each transport, checks the cases
// and measures the raw etcd baseline; the environment is stopped whatever happens.
func systemRun(ctx context.Context, target, dir string, replicas int, transports []string, conc int, d time.Duration, complaintRate float64) (*sysRun, error) {
	t0 := time.Now()
	var env *sysEnv
	var err error
	if target == "up" {
		env, err = startUpEnv(ctx)
	} else {
		env, err = startClusterEnv(ctx, dir, replicas)
	}
	if err != nil {
		return nil, err
	}
	defer env.stop()
	env.setup = time.Since(t0)
	fmt.Fprintf(os.Stderr, "%s: ready after %.0fs\n", env.label, env.setup.Seconds())
	run := &sysRun{env: env}
	defer func() { run.wall = time.Since(t0) }()

	bearer := map[string]string{}
	for _, p := range append(slices.Clone(sysPeople), "wang-jing") {
		claims := up.StaffClaims(p)
		if p == "wang-jing" {
			claims = up.AdminClaims() // the auditor's view, for the check
		}
		tok, err := env.mint(p, claims)
		if err != nil {
			return nil, err
		}
		bearer[p] = "Bearer " + tok
	}
	res := &discovery.Builder{Client: env.etcd, Root: up.KeyRoot}
	g := &grpcSys{bearer: bearer}
	for range 4 {
		c, err := discovery.Dial(res, "approval", insecure.NewCredentials())
		if err != nil {
			return nil, err
		}
		defer c.Close()
		g.approval = append(g.approval, c)
	}
	if g.supervision, err = discovery.Dial(res, "supervision", insecure.NewCredentials()); err != nil {
		return nil, err
	}
	defer g.supervision.Close()
	tr := &http.Transport{MaxIdleConns: 4 * conc, MaxIdleConnsPerHost: conc + 16, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	rs := &restSys{base: env.gateway, httpc: &http.Client{Transport: tr}, bearer: bearer}
	if err := waitSystem(ctx, env, g, rs); err != nil {
		return run, err
	}

	for _, t := range transports {
		var cl sysClient = g
		if t == "rest" {
			cl = rs
		}
		m := runMix(ctx, env.label, t, cl, conc, d, complaintRate, env.sample)
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		run.mixes = append(run.mixes, m)
		run.checks = append(run.checks, checkCases(ctx, g, m.cases))
		fmt.Fprintf(os.Stderr, "%s %s: %s\n", env.label, t, run.checks[len(run.checks)-1])
	}

	// The raw etcd baseline, sized as what a sign of this run wrote.
	var all []*benchCase
	for _, m := range run.mixes {
		all = append(all, m.cases...)
	}
	sizes, err := measureSign(ctx, env.etcd, all)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: no raw etcd baseline: %v\n", env.label, err)
		return run, nil
	}
	run.sizes = sizes
	fmt.Fprintf(os.Stderr, "%s: a sign writes %s\n", env.label, sizes)
	rawRun := func(name string, op load.Op) {
		var n atomic.Int64
		stopProgress := progress(ctx, env.label+" "+name, d+d/5, &n)
		u0, w0 := env.sample(), time.Now()
		r := load.Run(ctx, name, conc, d, func(ctx context.Context, w int, rnd *rand.Rand) error {
			err := op(ctx, w, rnd)
			n.Add(1)
			return err
		})
		u1, w1 := env.sample(), time.Now()
		stopProgress()
		if r.FirstError != nil {
			fmt.Fprintf(os.Stderr, "%s: %d errors, first: %v\n", name, r.Errors, r.FirstError)
		}
		run.raw, run.rawUse, run.rawWalls = append(run.raw, r), append(run.rawUse, u1.sub(u0)), append(run.rawWalls, w1.Sub(w0))
	}
	rawRun("etcd Txn: a sign's writes, revision guard (raw)", func(ctx context.Context, _ int, r *rand.Rand) error {
		return sizes.rawTxn(ctx, env.etcd, r)
	})
	rawRun(fmt.Sprintf("etcd Range: %d keys of a case's size (raw, linearizable)", sysPageSize), func(ctx context.Context, _ int, r *rand.Rand) error {
		// A range of exactly the page's keys: a wider range with a limit would make etcd
		// count every key to its end.
		n := 1 + r.Int64N(max(1, sizes.seq.Load()-sysPageSize))
		_, err := env.etcd.Get(ctx, fmt.Sprintf("/bench-raw/cases/%012d", n), clientv3.WithRange(fmt.Sprintf("/bench-raw/cases/%012d", n+sysPageSize)))
		return err
	})
	return run, ctx.Err()
}

// progress prints a line a second for a raw run; the returned func stops it.
func progress(ctx context.Context, label string, d time.Duration, n *atomic.Int64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case now := <-t.C:
				c := n.Load()
				fmt.Fprintf(os.Stderr, "%s: %3.0fs of %s | last 1s %6d ops\n", label, now.Sub(start).Seconds(), d, c-last)
				last = c
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func startUpEnv(ctx context.Context) (*sysEnv, error) {
	dir, err := os.MkdirTemp("", "fenquan-bench-system-")
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(os.Stderr, "up: starting the single process with the demo data")
	s, err := up.Start(ctx, up.Options{DataDir: dir, Demo: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cli, err := etcdx.NewClient(etcdx.ClientConfig{Endpoints: s.Etcd.Endpoints})
	if err != nil {
		s.Stop()
		os.RemoveAll(dir)
		return nil, err
	}
	return &sysEnv{
		label: "up", target: "up", replicas: 1, members: 1, gateway: s.GatewayURL,
		approvalAddrs: []string{s.GRPC["approval"]}, etcd: cli,
		mint:     func(sub string, c auth.Claims) (string, error) { return s.Dev.Mint(sub, c, 2*time.Hour) },
		procs:    func() map[string]string { return map[string]string{"fenquan up and the bench (one process)": "self"} },
		etcdURLs: map[string]string{"etcd": s.Etcd.Endpoints[0]},
		stop: func() {
			cli.Close()
			s.Stop()
			os.RemoveAll(dir)
		},
	}, nil
}

func startClusterEnv(ctx context.Context, dir string, replicas int) (*sysEnv, error) {
	for _, sub := range []string{"etcd", "logs", "dev"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return nil, err
		}
	}
	label := fmt.Sprintf("cluster, %d approval", replicas)
	fmt.Fprintf(os.Stderr, "%s: building and starting the cluster in %s\n", label, dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := cluster.Start(ctx, cluster.Options{Dir: dir, BasePort: sysBasePort, Approval: replicas, Supervision: 2, Log: log})
	if err != nil {
		return nil, err
	}
	stop := c.Stop
	if err := c.ApplyDemo(ctx); err != nil {
		stop()
		return nil, err
	}
	env := &sysEnv{
		label: label, target: "cluster", replicas: replicas, members: len(c.Etcd), gateway: c.GatewayURL, etcd: c.EtcdClient,
		mint: func(sub string, cl auth.Claims) (string, error) { return c.Dev.Mint(sub, cl, 2*time.Hour) },
		stop: stop,
	}
	for _, p := range c.Procs() {
		if strings.HasPrefix(p.Name, "approval") {
			env.approvalAddrs = append(env.approvalAddrs, p.GRPC)
		}
	}
	env.procs = func() map[string]string {
		out := map[string]string{"bench (load generator)": "self"}
		for _, p := range c.Procs() {
			if pid := p.Pid(); pid > 0 {
				out[p.Name] = strconv.Itoa(pid)
			}
		}
		return out
	}
	env.etcdURLs = map[string]string{}
	for i, u := range c.Etcd {
		env.etcdURLs[fmt.Sprintf("etcd%d", i+1)] = u
	}
	return env, nil
}

// cpuSeconds is the user and system CPU time of /proc/<pid> (0 if unreadable).
func cpuSeconds(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 of stat (utime, stime), in clock ticks of 1/100 s on Linux.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// waitSystem waits until each approval replica opens a case of the demo flow (the
// catalogue reached it), the gateway answers an inbox, and the discovery conns see every
// replica.
func waitSystem(ctx context.Context, env *sysEnv, g *grpcSys, rs *restSys) error {
	deadline := time.Now().Add(2 * time.Minute)
	try := func(what string, f func(context.Context) error) error {
		for {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := f(cctx)
			cancel()
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %s not ready after 2 minutes: %v", env.label, what, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	for i, addr := range env.approvalAddrs {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		direct := &grpcSys{approval: []*grpc.ClientConn{conn}, bearer: g.bearer}
		err = try("approval replica "+addr, func(ctx context.Context) error {
			_, err := direct.create(ctx, sysApplicants[0], newSysCase(sysApplicants[0], -int64(i+1)), fmt.Sprintf("sys-probe-%d-%d", time.Now().UnixNano(), i))
			return err
		})
		conn.Close()
		if err != nil {
			return err
		}
	}
	if err := try("the gateway", func(ctx context.Context) error { return rs.inbox(ctx, sysApplicants[0]) }); err != nil {
		return err
	}
	// Every conn's round robin has a ready sub-connection per replica once each answered.
	for _, c := range g.approval {
		one := &grpcSys{approval: []*grpc.ClientConn{c}, bearer: g.bearer}
		for range 2 * env.replicas {
			if err := try("approval through discovery", func(ctx context.Context) error { return one.inbox(ctx, sysApplicants[0]) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCases reads back every case the run opened and had acknowledged: it must exist
// and, unless a sign of it failed, wait at the step after its last acknowledged sign (or
// be completed after the seventh).
func checkCases(ctx context.Context, g *grpcSys, cases []*benchCase) string {
	var (
		missing, wrong, failed, completed, uncertain atomic.Int64
		mu                                           sync.Mutex
		examples                                     []string
		next                                         atomic.Int64
		wg                                           sync.WaitGroup
	)
	cl := approvalv1.NewCaseServiceClient(g.approval[0])
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", g.bearer["wang-jing"])
	note := func(s string) {
		mu.Lock()
		if len(examples) < 3 {
			examples = append(examples, s)
		}
		mu.Unlock()
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cases) {
					return
				}
				bc := cases[i]
				if bc.uncertain {
					uncertain.Add(1)
				}
				var problem string
				for attempt := 0; attempt < 3; attempt++ { // a replica's view may lag a moment
					if attempt > 0 {
						time.Sleep(time.Second)
					}
					cctx, cancel := context.WithTimeout(actx, sysOpTimeout)
					c, err := cl.GetCase(cctx, &approvalv1.GetCaseRequest{Name: bc.name})
					cancel()
					problem = ""
					switch {
					case err != nil && errCode(err) == "NotFound":
						problem = "missing"
					case err != nil:
						problem = "error"
						note(fmt.Sprintf("%s: %v", bc.name, err))
					case bc.uncertain:
					case bc.signs == len(sysChain):
						if c.GetState() != approvalv1.Case_STATE_COMPLETED {
							problem = "wrong"
							note(fmt.Sprintf("%s: 7 signs acknowledged, state %s", bc.name, c.GetState()))
						}
					default:
						want := sysChain[bc.signs].step
						if c.GetState() != approvalv1.Case_STATE_OPEN || len(c.GetActive()) != 1 || c.GetActive()[0].GetStep() != want {
							problem = "wrong"
							var at []string
							for _, a := range c.GetActive() {
								at = append(at, a.GetStep())
							}
							note(fmt.Sprintf("%s: %d signs acknowledged, want it at %s, it is %s at %v", bc.name, bc.signs, want, c.GetState(), at))
						}
					}
					if problem == "" {
						break
					}
				}
				switch problem {
				case "missing":
					missing.Add(1)
					note(bc.name + ": acknowledged, not found")
				case "wrong":
					wrong.Add(1)
				case "error":
					failed.Add(1)
				default:
					if !bc.uncertain && bc.signs == len(sysChain) {
						completed.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	s := fmt.Sprintf("%d cases acknowledged (%d completed all 7 steps, %d with a failed sign checked for existence only): %d missing, %d not at the step their acknowledged signs put them, %d unreadable",
		len(cases), completed.Load(), uncertain.Load(), missing.Load(), wrong.Load(), failed.Load())
	if len(examples) > 0 {
		s += " — e.g. " + strings.Join(examples, "; ")
	}
	return s
}

// measureSign reads what one sign wrote: the case after a single sign, its sign's events
// and a request record.
func measureSign(ctx context.Context, cli *clientv3.Client, cases []*benchCase) (*writeSizes, error) {
	var name string
	for _, bc := range cases {
		if bc.signs == 1 && !bc.uncertain {
			name = bc.name
			break
		}
	}
	if name == "" {
		return nil, fmt.Errorf("no case was signed exactly once")
	}
	id := name[strings.LastIndexByte(name, '/')+1:]
	w := &writeSizes{}
	cr, err := cli.Get(ctx, fmt.Sprintf("%s/approval/%s/cases/%s", up.KeyRoot, sysOrg, id))
	if err != nil || len(cr.Kvs) == 0 {
		return nil, fmt.Errorf("read %s: %v", name, err)
	}
	w.caseBytes = len(cr.Kvs[0].Value)
	er, err := cli.Get(ctx, fmt.Sprintf("%s/approval-events/%s/%s/", up.KeyRoot, sysOrg, id), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	// The sign's events: all but the creation's two (created, step_activated).
	for _, kv := range er.Kvs[min(2, len(er.Kvs)):] {
		w.eventBytes = append(w.eventBytes, len(kv.Value))
	}
	rr, err := cli.Get(ctx, fmt.Sprintf("%s/approval-requests/%s/", up.KeyRoot, sysOrg), clientv3.WithPrefix(), clientv3.WithLimit(1))
	if err != nil || len(rr.Kvs) == 0 {
		return nil, fmt.Errorf("read a request record: %v", err)
	}
	w.reqBytes = len(rr.Kvs[0].Value)
	lr, err := cli.Grant(ctx, 3600)
	if err != nil {
		return nil, err
	}
	w.lease = lr.ID
	return w, nil
}

// printSystem writes the Markdown section.
func printSystem(w io.Writer, cmd, target string, conc int, d time.Duration, complaintRate float64, runs []*sysRun) {
	where := "the single process (`fenquan up`: every service, the gateway and a one-member embedded etcd in one process, with the load generator)"
	if target == "cluster" {
		where = "the cluster on loopback (`fenquanctl dev cluster`: three etcd members, each service its own process, approval replicas as given, two supervision replicas, the gateway; the load generator is one more process on the same machine)"
	}
	fmt.Fprintf(w, "### System: the mixed workload over gRPC and REST, %s, %d clients, %s per run\n\n", target, conc, d)
	fmt.Fprintf(w, "Machine: %s. Command: `%s`. Run on %s.\n\n", machine(), cmd, where)
	fmt.Fprintf(w, "The mix: each of the %d clients runs a closed loop (the next request as soon as the last answered) of "+
		"create a case %d, sign the next step of one of the client's own open cases %d, an inbox %d, list cases %d (weights; of the loop's requests %.0f/%.0f/%.0f/%.0f %%). "+
		"A case is a 资金拨付 on `%s` of %d 元 (below the 处长 and 集体决策 thresholds) to a payee of its own, opened by 冯雨 or 曹阳 (A and B of each other) "+
		"and signed in seven steps: %s. A sign drawn while the client has no open case creates one (counted as a create). "+
		"The inbox is a random one of the eight people on the chain, first page of %d; list cases is the org's first page of %d (basic view) as one of them. "+
		"Complaints (信访举报) are not in the loop: one paced submitter files %g per second (open loop, up to 16 in flight) — gRPC straight to supervision, "+
		"REST through the gateway's public route, which allows 10 per second (burst 20) per client address, and every request of the bench comes from 127.0.0.1: "+
		"a higher rate would be answered 429 and counted as errors. gRPC calls approval through the etcd discovery resolver (round robin over the live replicas, 4 connections); "+
		"REST goes through the gateway. With both transports REST runs second, on a store that holds the gRPC run's cases too. Each run warms up for %s (not counted). "+
		"Per operation, ops/s counts the successful requests of the measured window; errors are by gRPC code or HTTP status. "+
		"Afterwards every case the run had acknowledged is read back (GetCase): it must exist and wait at the step after its last acknowledged sign.\n\n",
		conc, sysWeights[opCreate], sysWeights[opSign], sysWeights[opInbox], sysWeights[opList],
		pctOf(sysWeights[opCreate]), pctOf(sysWeights[opSign]), pctOf(sysWeights[opInbox]), pctOf(sysWeights[opList]),
		sysFlow, sysAmount, chainText(), sysPageSize, sysPageSize, complaintRate, d/5)
	fmt.Fprintf(w, "The raw etcd baseline runs in the same run on the same etcd, after the mix: %d clients each writing, in one transaction guarded by a revision compare, "+
		"what one sign of the run wrote (sizes below), then reading a range of %d such keys (linearizable, like a list page would from the store).\n\n", conc, sysPageSize)

	for _, r := range runs {
		fmt.Fprintf(w, "#### %s\n\n", r.env.label)
		fmt.Fprintf(w, "Setup (build, start, demo data) %.0f s; start to finish %.0f s.", r.env.setup.Seconds(), r.wall.Seconds())
		if r.sizes != nil {
			fmt.Fprintf(w, " A sign writes %s.", r.sizes)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| transport | operation | requests | ops/s | p50 | p95 | p99 | max | errors |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
		for _, m := range r.mixes {
			for op := range numSysOps {
				s := &m.ops[op]
				name := sysOpNames[op]
				if op == opComplaint {
					name = fmt.Sprintf("%s, paced %g/s", name, complaintRate)
				}
				fmt.Fprintf(w, "| %s | %s | %d | %.0f | %s | %s | %s | %s | %s |\n", m.transport, name, len(s.lat), m.opsPerSec(op),
					msText(s.pct(50)), msText(s.pct(95)), msText(s.pct(99)), msText(s.pct(100)), errText(s))
			}
			ok, failed := m.total()
			fmt.Fprintf(w, "| %s | **all** | %d | **%.0f** | | | | | %d |\n", m.transport, ok, float64(ok)/m.d.Seconds(), failed)
			fmt.Fprintf(w, "| %s | **writes (create + sign)** | %d | **%.0f** | | | | | |\n", m.transport,
				len(m.ops[opCreate].lat)+len(m.ops[opSign].lat), m.opsPerSec(opCreate)+m.opsPerSec(opSign))
		}
		for _, x := range r.raw {
			fmt.Fprintf(w, "| etcd | %s | %d | **%.0f** | %s | %s | %s | %s | %d |\n", x.Name, x.Ops, x.OpsPerSec(), msText(x.P50), msText(x.P95), msText(x.P99), msText(x.Max), x.Errors)
		}
		fmt.Fprintln(w)
		for i, m := range r.mixes {
			if raw := r.rawTxn(); raw > 0 {
				fmt.Fprintf(w, "- %s: writes %.0f ops/s = **%.0f %%** of the raw etcd Txn rate (%.0f/s).", m.transport,
					m.opsPerSec(opCreate)+m.opsPerSec(opSign), 100*(m.opsPerSec(opCreate)+m.opsPerSec(opSign))/raw, raw)
			} else {
				fmt.Fprintf(w, "- %s: no raw baseline.", m.transport)
			}
			if m.fallbacks > 0 || m.complaintsSkipped > 0 {
				fmt.Fprintf(w, " %d signs found no open case and created one; %d paced complaints were skipped (16 in flight).", m.fallbacks, m.complaintsSkipped)
			}
			fmt.Fprintf(w, " Check: %s.\n", r.checks[i])
		}
		fmt.Fprintln(w)
		printCPU(w, r)
	}

	if target == "cluster" {
		fmt.Fprintln(w, "#### Throughput by approval replicas, beside the raw etcd baseline")
	} else {
		fmt.Fprintln(w, "#### Summary, beside the raw etcd baseline")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | approval replicas | etcd members | transport | all ops/s | writes ops/s | sign p99 | inbox p99 | raw etcd Txn ops/s | writes / raw Txn | cores: approval | cores: etcd | cores: gateway | cores: all | etcd WAL fsync busy (busiest member, fsyncs/s) | same, raw Txn |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		for _, m := range r.mixes {
			ok, _ := m.total()
			writes := m.opsPerSec(opCreate) + m.opsPerSec(opSign)
			ratio := "—"
			if raw := r.rawTxn(); raw > 0 {
				ratio = fmt.Sprintf("%.0f %%", 100*writes/raw)
			}
			rawWAL := "—"
			if len(r.rawUse) > 0 {
				rawWAL = walText(r.rawUse[0], r.rawWalls[0])
			}
			fmt.Fprintf(w, "| %s | %d | %d | %s | %.0f | %.0f | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", r.env.target, r.env.replicas, r.env.members, m.transport,
				float64(ok)/m.d.Seconds(), writes, msText(m.ops[opSign].pct(99)), msText(m.ops[opInbox].pct(99)), r.rawTxn(), ratio,
				cores(m, "approval"), cores(m, "etcd"), cores(m, "gateway"), cores(m, ""), walText(m.use, m.useWall), rawWAL)
		}
	}
	fmt.Fprintln(w)
	if target == "up" {
		fmt.Fprintln(w, "In the single process the services, etcd and the load generator share one process: its cores are under \"all\".")
		fmt.Fprintln(w)
	}
}

func pctOf(weight int) float64 {
	t := 0
	for _, w := range sysWeights {
		t += w
	}
	return 100 * float64(weight) / float64(t)
}

func chainText() string {
	var parts []string
	for _, s := range sysChain {
		by := s.by
		if by == "" {
			by = "the applicant"
		}
		parts = append(parts, s.step+" ("+by+")")
	}
	return strings.Join(parts, " → ")
}

func errText(s *opStats) string {
	n := s.errors()
	if n == 0 {
		return "0"
	}
	var codes []string
	for k := range s.errs {
		codes = append(codes, k)
	}
	sort.Slice(codes, func(i, j int) bool { return s.errs[codes[i]] > s.errs[codes[j]] })
	var parts []string
	for _, k := range codes {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.errs[k]))
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
}

// cores is the CPU used in the measured window by the processes whose name starts with
// prefix ("" for all), in cores.
func cores(m *mixResult, prefix string) string {
	if m.use == nil || m.useWall <= 0 {
		return "—"
	}
	var s float64
	found := false
	for k, v := range m.use.cpu {
		if strings.HasPrefix(k, prefix) {
			s += v
			found = true
		}
	}
	if !found {
		return "—"
	}
	return fmt.Sprintf("%.2f", s/m.useWall.Seconds())
}

// walBusy is the busiest member's share of the window spent in WAL fsync, and the
// fsyncs per second of that member.
func walBusy(u *usage, wall time.Duration) (busy, perSec float64, ok bool) {
	if u == nil || wall <= 0 {
		return 0, 0, false
	}
	for k, secs := range u.walSecs {
		if u.walN[k] <= 0 {
			continue
		}
		ok = true
		if b := secs / wall.Seconds(); b >= busy {
			busy, perSec = b, u.walN[k]/wall.Seconds()
		}
	}
	return busy, perSec, ok
}

func walText(u *usage, wall time.Duration) string {
	busy, perSec, ok := walBusy(u, wall)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.0f %% (%.0f/s)", 100*busy, perSec)
}

// printCPU writes the CPU each process used and each etcd member's fsyncs, in the mix's
// measured window and in the raw runs (warm-up included).
func printCPU(w io.Writer, r *sysRun) {
	if len(r.mixes) == 0 || r.mixes[0].use == nil {
		return
	}
	uses := []*usage{}
	walls := []time.Duration{}
	header := "| process |"
	for _, m := range r.mixes {
		uses, walls = append(uses, m.use), append(walls, m.useWall)
		header += fmt.Sprintf(" %s mix |", m.transport)
	}
	for i := range r.raw {
		uses, walls = append(uses, r.rawUse[i]), append(walls, r.rawWalls[i])
		header += fmt.Sprintf(" raw %s |", []string{"Txn", "Range"}[min(i, 1)])
	}
	rule := "|---|" + strings.Repeat("---:|", len(uses))
	fmt.Fprintln(w, "CPU by process, in cores (CPU seconds / wall seconds; the mixes over their measured window, the raw runs over their whole run with the warm-up):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	var names []string
	for k := range r.mixes[0].use.cpu {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "| %s |", n)
		for i, u := range uses {
			fmt.Fprintf(w, " %.2f |", u.cpu[n]/walls[i].Seconds())
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	var members []string
	for k := range r.mixes[0].use.walN {
		members = append(members, k)
	}
	sort.Strings(members)
	if len(members) == 0 {
		return
	}
	fmt.Fprintln(w, "etcd's disk, per member: WAL fsyncs per second, their mean duration, and the share of the wall time spent in them (raft fsyncs one batch at a time: near 100 % the member's disk is the limit); then the backend commits likewise:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.Replace(header, "process", "member", 1))
	fmt.Fprintln(w, rule)
	for _, n := range members {
		fmt.Fprintf(w, "| %s WAL fsync |", n)
		for i, u := range uses {
			fmt.Fprintf(w, " %s |", diskText(u.walN[n], u.walSecs[n], walls[i]))
		}
		fmt.Fprintln(w)
	}
	for _, n := range members {
		fmt.Fprintf(w, "| %s backend commit |", n)
		for i, u := range uses {
			fmt.Fprintf(w, " %s |", diskText(u.commitN[n], u.commS[n], walls[i]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func diskText(n, secs float64, wall time.Duration) string {
	if n <= 0 || wall <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f/s, %.2f ms, %.0f %%", n/wall.Seconds(), 1000*secs/n, 100*secs/wall.Seconds())
}

func msText(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
