package obs

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultGCPercent trades memory for latency: the services keep their working set in
// watch-fed caches and allocate per request, and at Go's default of 100 collection took
// about an eighth of the CPU of the registry benchmark and most of its p99 (see
// docs/BENCHMARKS.md). The memory limit below is the backstop.
const DefaultGCPercent = 200

// TuneGC sets the garbage collector's target percentage (GOGC) and soft memory limit
// (GOMEMLIMIT), unless those environment variables set them. A limit of 0 uses 90% of
// the cgroup's memory.max when the process runs in a container with one.
func TuneGC(percent int, limit int64) {
	if os.Getenv("GOGC") == "" && percent > 0 {
		debug.SetGCPercent(percent)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if limit == 0 {
		limit = cgroupLimit() / 10 * 9
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}

func cgroupLimit() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0 // "max": no limit
	}
	return n
}
