// Package load drives a closed-loop workload — N workers each issuing the next request
// as soon as the last one answered — and reports throughput and latency percentiles.
// It is what tools/bench measures with; results are reported, never asserted.
package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one request; worker is the worker's index and rnd its private generator.
type Op func(ctx context.Context, worker int, rnd *rand.Rand) error

// Result of one scenario.
type Result struct {
	Name        string
	Concurrency int
	Duration    time.Duration
	Ops, Errors int64
	P50, P95    time.Duration
	P99, Max    time.Duration
	FirstError  error
}

// OpsPerSec is the throughput of successful operations.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Duration.Seconds() }

// Run drives op with concurrency workers for d (after a warm-up of d/5, not counted).
func Run(ctx context.Context, name string, concurrency int, d time.Duration, op Op) Result {
	warm := d / 5
	var (
		start     = time.Now()
		measureAt = start.Add(warm)
		stopAt    = measureAt.Add(d)
		wg        sync.WaitGroup
		mu        sync.Mutex
		all       []time.Duration
		errs      atomic.Int64
		firstErr  error
	)
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			lat := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(stopAt) {
					break
				}
				err := op(ctx, w, rnd)
				t1 := time.Now()
				if t0.Before(measureAt) {
					continue
				}
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					continue
				}
				lat = append(lat, t1.Sub(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	r := Result{Name: name, Concurrency: concurrency, Duration: d, Ops: int64(len(all)), Errors: errs.Load(), FirstError: firstErr}
	if n := len(all); n > 0 {
		r.P50, r.P95, r.P99, r.Max = all[n*50/100], all[n*95/100], all[n*99/100], all[n-1]
	}
	return r
}

// Table writes results as a Markdown table; baseline, if found by name, gives the ratio
// column (this scenario's throughput / the baseline's).
func Table(w io.Writer, results []Result, baseline map[string]string) {
	fmt.Fprintln(w, "| scenario | conc. | ops/s | p50 | p95 | p99 | max | errors | vs baseline |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for _, r := range results {
		ratio := ""
		if b, ok := byName[baseline[r.Name]]; ok && b.OpsPerSec() > 0 {
			ratio = fmt.Sprintf("%.0f%% of %s", 100*r.OpsPerSec()/b.OpsPerSec(), b.Name)
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %s | %d | %s |\n", r.Name, r.Concurrency, r.OpsPerSec(),
			ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), r.Errors, ratio)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
