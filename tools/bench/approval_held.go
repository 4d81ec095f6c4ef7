package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/load"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// heldBench writes `held` open cases straight into etcd (copies of a case opened through
// the API, spread over the 64 handlers: half claimed by one of them, half waiting for the
// rank), starts a separate approval process on the same etcd, and measures how long it
// takes to load them, its memory, and the inbox page latency against it.
func heldBench(ctx context.Context, s *up.Stack, dir string, raw *clientv3.Client, ctxs []context.Context, conc int, d time.Duration, held int) error {
	tmpl, err := approvalv1.NewCaseServiceClient(mustConn(s.GRPC["approval"])).CreateCase(ctxs[0], &approvalv1.CreateCaseRequest{
		Parent: "orgs/" + benchOrg, RequestId: "held-template", Case: &approvalv1.Case{
			Title: "基准测试拨付", Flow: benchFlow, A: personName(handler(0)), B: personName(handler(1)),
			Payload: &approvalv1.Payload{Amount: 120000, Fund: "ZX-BENCH", Indicator: "ZB-BENCH",
				Payee: &approvalv1.Payee{Name: "江城建设有限公司", Code: "91420100MA4K2XXXX1"}, Purpose: strings.Repeat("项目资金拨付。", 8)},
		}})
	if err != nil {
		return err
	}
	t0 := time.Now()
	const batch = 1000
	base := tmpl.CreateTime.AsTime()
	for lo := 0; lo < held; lo += batch {
		ops := make([]clientv3.Op, 0, batch)
		for i := lo; i < min(lo+batch, held); i++ {
			c := proto.Clone(tmpl).(*approvalv1.Case)
			c.Name, c.Etag = "", ""
			c.Applicant, c.A, c.B = personName(handler(i%benchHandlers)), personName(handler(i%benchHandlers)), personName(handler((i+1)%benchHandlers))
			c.CreateTime = timestamppb.New(base.Add(time.Duration(i) * time.Millisecond))
			c.UpdateTime = c.CreateTime
			c.Active[0].StartTime = c.CreateTime
			c.Active[0].DueTime = timestamppb.New(base.Add(time.Duration(i%(30*24)) * time.Hour))
			if i%2 == 0 {
				c.Active[0].ClaimedBy = personName(handler((i / 2) % benchHandlers))
			}
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%s/approval/%s/cases/held-%08d", up.KeyRoot, benchOrg, i), string(store.Marshal(c))))
		}
		if _, err := raw.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("bulk load at %d: %w", lo, err)
		}
		if lo%100000 == 0 && lo > 0 {
			fmt.Fprintf(os.Stderr, "  %d cases written (%s)\n", lo, time.Since(t0).Round(time.Second))
		}
	}
	writeTime := time.Since(t0)
	fmt.Fprintf(os.Stderr, "wrote %d cases into etcd in %s\n", held, writeTime.Round(time.Millisecond))

	// A separate approval process, so its memory is its own.
	bin := filepath.Join(dir, "approval")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./services/approval/cmd/approval")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the approval binary (run the benchmark from the repository root): %w", err)
	}
	svcTok, err := s.Dev.Mint("svc-approval", auth.Claims{PlatformRoles: []string{"service"}}, 2*time.Hour)
	if err != nil {
		return err
	}
	tokFile := filepath.Join(dir, "service-token")
	if err := os.WriteFile(tokFile, []byte(svcTok), 0o600); err != nil {
		return err
	}
	grpcAddr, httpAddr := freeAddr(), freeAddr()
	cmd := exec.CommandContext(ctx, bin,
		"--etcd-endpoints", strings.Join(s.Etcd.Endpoints, ","), "--key-root", up.KeyRoot,
		"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--dev-jwks-file", s.Dev.JWKSPath(),
		"--service-token-file", tokFile, "--log-level", "warn",
		// As in a container limited to 2 GiB: the service's soft limit is 90% of it.
		"--memory-limit", strconv.FormatInt(heldMemoryLimit, 10))
	cmd.Stderr = os.Stderr
	t1 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	conn := mustConn(grpcAddr)
	defer conn.Close()
	cases := approvalv1.NewCaseServiceClient(conn)
	for {
		r, err := cases.ListInbox(ctxs[1], &approvalv1.ListInboxRequest{Parent: "orgs/" + benchOrg, PageSize: 50})
		if err == nil && len(r.Items) == 50 {
			break
		}
		if time.Since(t1) > 10*time.Minute {
			return fmt.Errorf("the approval process did not serve its inbox within 10 minutes: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	loadTime := time.Since(t1)
	rssLoaded := procRSS(cmd.Process.Pid)
	heapLoaded := heapInuse(httpAddr)
	fmt.Fprintf(os.Stderr, "separate approval process serving %d cases after %s: RSS %.0f MiB, heap in use %.0f MiB\n", held, loadTime.Round(time.Millisecond), rssLoaded, heapLoaded)

	if memProfile != "" {
		// The in-process approval service follows the same etcd: once its inbox shows the
		// held cases, its cache holds them.
		inproc := approvalv1.NewCaseServiceClient(mustConn(s.GRPC["approval"]))
		for {
			r, err := inproc.ListInbox(ctxs[1], &approvalv1.ListInboxRequest{Parent: "orgs/" + benchOrg, PageSize: 1, PageToken: ""})
			if err == nil && len(r.Items) > 0 && strings.HasPrefix(idOfName(r.Items[0].Case.Name), "held-") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		runtime.GC()
		if f, err := os.Create(memProfile); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	var results []load.Result
	tokens := make([]string, benchHandlers)
	for i := range tokens {
		tokens[i] = ""
	}
	for _, sc := range []struct {
		name string
		conc int
		op   load.Op
	}{
		{"gRPC ListInbox page 50 (first page, one client)", 1, func(_ context.Context, w int, r *rand.Rand) error {
			var reply load.RawReply
			return load.Invoke(ctxs[r.IntN(benchHandlers)], conn, listInbox, &approvalv1.ListInboxRequest{Parent: "orgs/" + benchOrg, PageSize: 50}, &reply)
		}},
		{"gRPC ListInbox page 50 (first page)", conc, func(_ context.Context, w int, r *rand.Rand) error {
			var reply load.RawReply
			return load.Invoke(ctxs[r.IntN(benchHandlers)], conn, listInbox, &approvalv1.ListInboxRequest{Parent: "orgs/" + benchOrg, PageSize: 50}, &reply)
		}},
		{"gRPC ListInbox page 50 (walking the pages)", conc, func(_ context.Context, w int, _ *rand.Rand) error {
			var reply load.RawReply
			h := w % benchHandlers
			err := load.Invoke(ctxs[h], conn, listInbox, &approvalv1.ListInboxRequest{Parent: "orgs/" + benchOrg, PageSize: 50, PageToken: tokens[h]}, &reply)
			if err == nil {
				tokens[h] = load.StringField(reply.Bytes, 2)
			}
			return err
		}},
	} {
		r := load.Run(ctx, sc.name, sc.conc, d, sc.op)
		if r.FirstError != nil {
			fmt.Fprintf(os.Stderr, "%s: %d errors, first: %v\n", sc.name, r.Errors, r.FirstError)
		}
		fmt.Fprintf(os.Stderr, "%-45s %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms\n", r.Name, r.OpsPerSec(),
			float64(r.P50.Microseconds())/1000, float64(r.P99.Microseconds())/1000)
		results = append(results, r)
	}
	rssAfter := procRSS(cmd.Process.Pid)
	fmt.Printf("\n### Approval: the inbox with %d cases held\n\n", held)
	fmt.Printf("%d open cases written straight into etcd (copies of a case opened through the API; %d handlers, half the cases "+
		"claimed by one of them, half waiting for the handler rank of the unit, so every inbox holds about %d cases), then a "+
		"separate `approval` process started on the same etcd with `--memory-limit %d` (90%% of a 2 GiB container); it loaded them and served in %s. Its RSS once loaded: "+
		"**%.0f MiB** (Go heap in use %.0f MiB); after the inbox runs: %.0f MiB. Writing the cases took %s.\n\n",
		held, benchHandlers, held/2+held/2/benchHandlers, heldMemoryLimit, loadTime.Round(time.Second), rssLoaded, heapLoaded, rssAfter, writeTime.Round(time.Second))
	load.Table(os.Stdout, results, nil)
	return nil
}

// heldMemoryLimit is the approval process's soft memory limit in the held benchmark: 90%
// of a 2 GiB container, what the service sets itself from the cgroup's limit.
const heldMemoryLimit = 2 << 30 / 10 * 9

func idOfName(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func mustConn(addr string) *grpc.ClientConn {
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	return c
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// procRSS is a process's resident memory in MiB.
func procRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// heapInuse reads go_memstats_heap_inuse_bytes from a process's /metrics, in MiB.
func heapInuse(addr string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "go_memstats_heap_inuse_bytes ") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v / (1 << 20)
		}
	}
	return 0
}
