// Command bench measures Fenquan on this machine and prints Markdown for
// docs/BENCHMARKS.md. Each scenario set runs against a fresh `up` stack in a temporary
// folder, with the raw etcd baseline measured in the same run.
//
//	go run ./tools/bench registry [-n 10000] [-c 64] [-d 10s]
//	go run ./tools/bench pdp [-people 10000] [-posts 1000] [-n 100000]
//	go run ./tools/bench approval [-c 64] [-d 10s] [-held 1000000]
//	go run ./tools/bench risk [-n 10000] [-c 64] [-d 10s]
//	go run ./tools/bench supervision [-rate 1000] [-d 10s] [-n 100000] [-payees 500]
//	go run ./tools/bench system [-target up|cluster] [-replicas 1,2] [-transport grpc|rest|both] [-c 32] [-d 30s]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/fenquan/fenquan/services/shared/obs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench registry|pdp|approval|risk|supervision|system [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 10000, "resources to load")
	c := fs.Int("c", 64, "concurrent clients")
	d := fs.Duration("d", 10*time.Second, "measured duration of each scenario")
	people := fs.Int("people", 10000, "pdp: people in the store")
	posts := fs.Int("posts", 1000, "pdp: posts in the store")
	rate := fs.Int("rate", 1000, "supervision: case events per second for the latency measurement")
	catchUp := fs.Bool("catchup", true, "supervision: measure a fresh consumer's catch-up over every event")
	payees := fs.Int("payees", 500, "supervision: how many payees the cases pay (fewer: more related payments per case)")
	load := fs.String("load", "api", "supervision: how the events after the latency run are written: api (cases through the approval API) or direct (copies of a real case's events written straight into etcd)")
	catchUpProfile := fs.String("catchup-profile", "", "supervision: write a CPU profile of the catch-up alone to this file, and a heap profile at its end to the file .heap")
	held := fs.Int("held", 1000000, "approval: cases held for the inbox and memory measurement (0: skip)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and load generator) to this file")
	only := fs.String("only", "", "run only the scenarios whose name contains this text")
	blockProfile := fs.String("blockprofile", "", "write a blocking profile (where goroutines wait) to this file")
	fs.StringVar(&memProfile, "memprofile", "", "approval: write a heap profile of the bench process (which runs an approval service too) once the held cases are loaded")
	target := fs.String("target", "up", "system: up (the single process) or cluster (processes on loopback)")
	replicas := fs.String("replicas", "1,2", "system, cluster: the approval replica counts to run, one fresh cluster each")
	transport := fs.String("transport", "both", "system: grpc, rest or both")
	complaintRate := fs.Float64("complaint-rate", 5, "system: public complaints per second (the gateway allows 10/s per client address)")
	_ = fs.Parse(os.Args[2:])
	scenarioFilter = *only
	obs.TuneGC(obs.DefaultGCPercent, 0) // as the binaries and `fenquan up` do
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(int(time.Millisecond / 10))
		runtime.SetMutexProfileFraction(10)
		defer func() {
			f, err := os.Create(*blockProfile)
			if err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
			if f, err := os.Create(*blockProfile + ".mutex"); err == nil {
				_ = pprof.Lookup("mutex").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "registry":
		err = registryBench(ctx, *n, *c, *d)
	case "pdp":
		err = pdpBench(ctx, *people, *posts, *n)
	case "approval":
		err = approvalBench(ctx, *c, *d, *held)
	case "risk":
		err = riskBench(ctx, *n, *c, *d)
	case "supervision":
		err = supervisionBench(ctx, *rate, *d, *n, *payees, *catchUp, *load, *catchUpProfile)
	case "system":
		err = systemBench(ctx, *target, *replicas, *transport, *c, *d, *complaintRate)
	default:
		err = fmt.Errorf("unknown benchmark %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// scenarioFilter restricts the scenarios run (-only).
var scenarioFilter string

// memProfile is where -memprofile writes.
var memProfile string

// machine describes where the figures come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s, %s/%s, %s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
}

// rssMiB is the process's resident memory.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}
