package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/services/supervision"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// supervisionBench measures the supervision service of an `up` stack with the demo data:
//
//   - event → warning latency: cases of 60万 opened and their first step signed at once
//     (four events each, the signature a 黄牌 fast_sign) at a paced rate of events, the
//     warning's arrival seen by a watch on the warning keys;
//   - catch-up: a second supervision instance on a fresh checkpoint (its own key root)
//     consumes every event in the store, timed until its checkpoint reaches the head;
//   - backtest of the rule set over all of those events.
func supervisionBench(ctx context.Context, rate int, d time.Duration, total, payees int, catchUp bool, load, profile string) error {
	dir, err := os.MkdirTemp("", "fenquan-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := up.Start(ctx, up.Options{DataDir: dir, Demo: true})
	if err != nil {
		return err
	}
	defer s.Stop()
	conn, err := grpc.NewClient(s.GRPC["approval"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	cases := approvalv1.NewCaseServiceClient(conn)
	mint := func(person string, c auth.Claims) (context.Context, error) {
		tok, err := s.Dev.Mint(person, c, 4*time.Hour)
		if err != nil {
			return nil, err
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), nil
	}
	feng, err := mint("feng-yu", up.StaffClaims("feng-yu"))
	if err != nil {
		return err
	}
	var seq atomic.Int64
	// one case: opened and its first step signed at once → 4 events, 1 fast_sign.
	one := func() (string, time.Time, error) {
		n := seq.Add(1)
		c, err := cases.CreateCase(feng, &approvalv1.CreateCaseRequest{Parent: "orgs/czj", RequestId: fmt.Sprintf("sb-%d", n), Case: &approvalv1.Case{
			Title: "电子监察基准测试拨付", Flow: "orgs/czj/powers/zjbf/flows/internal", A: "orgs/czj/people/feng-yu", B: "orgs/czj/people/cao-yang",
			Payload: &approvalv1.Payload{Amount: 600000, Fund: "ZX-2026-SB", Indicator: "ZB-2026-SB-0031",
				Payee: &approvalv1.Payee{Name: fmt.Sprintf("收款单位%d", n%int64(payees)), Code: fmt.Sprintf("BENCH%06d", n%int64(payees))}, Purpose: "基准测试"},
		}})
		if err != nil {
			return "", time.Time{}, err
		}
		if _, err := cases.Act(feng, &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_SIGN, Step: "zcjh", RequestId: fmt.Sprintf("sbs-%d", n)}); err != nil {
			return "", time.Time{}, err
		}
		return c.Name, time.Now(), nil
	}

	// The warnings as they are committed.
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	prefix := up.KeyRoot + "/supervision/czj/warnings/"
	wch := s.Etcd.Client.Watch(wctx, prefix, clientv3.WithPrefix())
	go func() {
		for resp := range wch {
			now := time.Now()
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypePut || ev.Kv.CreateRevision != ev.Kv.ModRevision {
					continue
				}
				w := &supervisionv1.Warning{}
				if store.Unmarshal(ev.Kv.Value, w) == nil && w.Rule == "fast_sign" {
					mu.Lock()
					arrived[w.Subject] = now
					mu.Unlock()
				}
			}
		}
	}()

	// Paced load: rate events/s = rate/4 cases/s, from as many workers as needed.
	perSec := max(rate/4, 1)
	interval := time.Second / time.Duration(perSec)
	type sent struct {
		name string
		at   time.Time
	}
	var sentMu sync.Mutex
	var all []sent
	var errs atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	end := time.Now().Add(d)
	sem := make(chan struct{}, 64)
	for time.Now().Before(end) {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name, at, err := one()
			if err != nil {
				errs.Add(1)
				return
			}
			sentMu.Lock()
			all = append(all, sent{name, at})
			sentMu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	time.Sleep(2 * time.Second)
	var lat []time.Duration
	missing := 0
	mu.Lock()
	for _, x := range all {
		if a, ok := arrived[x.name]; ok {
			lat = append(lat, max(a.Sub(x.at), 0))
		} else {
			missing++
		}
	}
	mu.Unlock()
	slices.Sort(lat)
	pct := func(p int) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, len(lat)*p/100)]
	}
	achieved := float64(4*len(all)) / d.Seconds()
	fmt.Fprintf(os.Stderr, "latency: %d cases (%.0f events/s), p50 %s p99 %s max %s, %d without a warning, %d errors\n",
		len(all), achieved, pct(50), pct(99), pct(100), missing, errs.Load())

	// More events for the catch-up: through the API, as fast as the stack takes them, or
	// written straight into etcd as copies of the first case's events (-load direct).
	t0 := time.Now()
	loadRow := ""
	if load == "direct" && len(all) > 0 {
		more := max(total-4*len(all), 0)
		id := all[0].name[strings.LastIndexByte(all[0].name, '/')+1:]
		wrote, took, err := loadEventsDirect(ctx, s.Etcd.Client, id, more, payees)
		if err != nil {
			return fmt.Errorf("direct load: %w", err)
		}
		fmt.Fprintf(os.Stderr, "wrote %d more events straight into etcd in %s\n", wrote, took.Round(time.Millisecond))
		loadRow = fmt.Sprintf(" The events after the latency run (%d) are copies of its first case's events written straight into etcd (`-load direct`), each copy a new case.", wrote)
	} else {
		more := max(total/4-len(all), 0)
		var next atomic.Int64
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(more) {
					if _, _, err := one(); err != nil {
						errs.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Fprintf(os.Stderr, "wrote %d more cases in %s\n", more, time.Since(t0).Round(time.Millisecond))
	}
	head, err := s.Etcd.Client.Get(ctx, "/bench-head")
	if err != nil {
		return err
	}
	events, err := s.Etcd.Client.Get(ctx, up.KeyRoot+"/approval-events/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return err
	}

	// Catch-up: a fresh consumer (its own key root, so its own checkpoint and warnings).
	svcTok, err := s.Dev.Mint("bench-supervision", auth.Claims{PlatformRoles: []string{"service"}}, 4*time.Hour)
	if err != nil {
		return err
	}
	callCtx := func(c context.Context) context.Context {
		return metadata.AppendToOutgoingContext(c, "authorization", "Bearer "+svcTok)
	}
	var lastEvent int64
	if r, err := s.Etcd.Client.Get(ctx, up.KeyRoot+"/approval-events/", clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(1), clientv3.WithRev(head.Header.Revision)); err == nil && len(r.Kvs) > 0 {
		lastEvent = r.Kvs[0].ModRevision
	}
	catchUpRow := "| catch-up: a fresh consumer over every event in the store | not run (-catchup=false) |"
	if catchUp {
		cctx, ccancel := context.WithCancel(ctx)
		defer ccancel()
		if profile != "" {
			f, err := os.Create(profile)
			if err != nil {
				return err
			}
			_ = pprof.StartCPUProfile(f)
		}
		t0 = time.Now()
		fresh, err := supervision.New(cctx, supervision.Config{Etcd: s.Etcd.Client, KeyRoot: "/bench-catchup", Logger: discardLogger(), PDP: s.PDP,
			Approval: conn, CallCtx: callCtx, Tick: -1})
		if err != nil {
			return err
		}
		for fresh.Status().Checkpoint < lastEvent {
			if time.Since(t0) > 10*time.Minute {
				return fmt.Errorf("catch-up did not finish in 10 minutes (at %d of %d)", fresh.Status().Checkpoint, lastEvent)
			}
			time.Sleep(50 * time.Millisecond)
		}
		took := time.Since(t0)
		if profile != "" {
			pprof.StopCPUProfile()
			runtime.GC()
			if f, err := os.Create(profile + ".heap"); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		st := fresh.Status()
		ccancel()
		fmt.Fprintf(os.Stderr, "catch-up of %d events (%d in the store): %s, %d warnings\n", st.Events, events.Count, took.Round(time.Millisecond), st.Warnings)
		catchUpRow = fmt.Sprintf("| catch-up: a fresh consumer over every event in the store | %d events in %s (%.0f events/s), %d warnings |", st.Events, took.Round(time.Millisecond), float64(st.Events)/took.Seconds(), st.Warnings)
	}

	// Backtest of the rule set over the same events, through the API.
	sup := supervisionv1.NewSupervisionServiceClient(mustConn(s.GRPC["supervision"]))
	xu, err := mint("cheng-gang", up.StaffClaims("cheng-gang", "supervisor"))
	if err != nil {
		return err
	}
	// Let the stack's own consumer finish the same events first, so the backtest is timed
	// alone rather than against it.
	ops, err := mint("ops", auth.Claims{PlatformRoles: []string{"platform-admin"}})
	if err != nil {
		return err
	}
	t1 := time.Now()
	for {
		st, err := sup.GetConsumerStatus(ops, &supervisionv1.GetConsumerStatusRequest{})
		if err == nil && st.Checkpoint >= lastEvent {
			break
		}
		if time.Since(t1) > 30*time.Minute {
			return fmt.Errorf("the stack's consumer did not catch up in 30 minutes")
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(os.Stderr, "the stack's own consumer caught up (waited %s)\n", time.Since(t1).Round(time.Second))
	t0 = time.Now()
	bt, err := sup.Backtest(xu, &supervisionv1.BacktestRequest{Parent: "orgs/czj", ToRevision: lastEvent})
	if err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	btTime := time.Since(t0)

	fmt.Printf("### Supervision: event → warning, catch-up, backtest\n\n")
	fmt.Printf("Machine: %s. Command: `go run ./tools/bench supervision -rate %d -d %s -n %d -payees %d -catchup=%v -load %s`.%s\n\n", machine(), rate, d, total, payees, catchUp, load, loadRow)
	fmt.Printf("| measure | result |\n|---|---|\n")
	fmt.Printf("| event → warning latency at %.0f events/s (%d cases opened and signed at once, each a fast_sign 黄牌; %d without a warning, %d errors) | p50 %s, p95 %s, p99 %s, max %s |\n",
		achieved, len(all), missing, errs.Load(), pct(50).Round(100*time.Microsecond), pct(95).Round(100*time.Microsecond), pct(99).Round(100*time.Microsecond), pct(100).Round(100*time.Microsecond))
	fmt.Println(catchUpRow)
	fmt.Printf("| backtest of the rule set over the same events (API, one call) | %d events in %s (%.0f events/s), %d warnings by %d rules |\n", bt.Events, btTime.Round(time.Millisecond), float64(bt.Events)/btTime.Seconds(), bt.Warnings, len(bt.Rules))
	fmt.Printf("\nProcess RSS after the run (etcd, every service, the gateway and the load generator together): %.0f MiB.\n", rssMiB())
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
