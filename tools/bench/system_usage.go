package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// usage is what the processes of a system have used so far (or, after sub, in a window):
// CPU seconds by process, and each etcd member's WAL fsyncs (count and seconds) — raft
// fsyncs its log before a write is acknowledged, one fsync at a time per member, so the
// share of the wall time a member spends in fsync says how close its disk is to the limit.
type usage struct {
	cpu            map[string]float64
	walN, walSecs  map[string]float64
	commitN, commS map[string]float64
}

func (u *usage) sub(o *usage) *usage {
	d := func(a, b map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range a {
			out[k] = v - b[k]
		}
		return out
	}
	return &usage{cpu: d(u.cpu, o.cpu), walN: d(u.walN, o.walN), walSecs: d(u.walSecs, o.walSecs),
		commitN: d(u.commitN, o.commitN), commS: d(u.commS, o.commS)}
}

// sample reads the CPU time of every process and the fsync counters of every member.
func (e *sysEnv) sample() *usage {
	u := &usage{cpu: map[string]float64{}, walN: map[string]float64{}, walSecs: map[string]float64{},
		commitN: map[string]float64{}, commS: map[string]float64{}}
	for name, pid := range e.procs() {
		u.cpu[name] = cpuSeconds(pid)
	}
	for name, url := range e.etcdURLs {
		m := etcdMetrics(url, "etcd_disk_wal_fsync_duration_seconds_count", "etcd_disk_wal_fsync_duration_seconds_sum",
			"etcd_disk_backend_commit_duration_seconds_count", "etcd_disk_backend_commit_duration_seconds_sum")
		u.walN[name], u.walSecs[name] = m[0], m[1]
		u.commitN[name], u.commS[name] = m[2], m[3]
	}
	return u
}

// etcdMetrics reads the named counters from a member's /metrics (0 when absent).
func etcdMetrics(url string, names ...string) []float64 {
	out := make([]float64, len(names))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for i, n := range names {
			if strings.HasPrefix(line, n+" ") {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(line[len(n):]), 64)
			}
		}
	}
	return out
}
