// Package cluster runs Fenquan as a cluster of processes on loopback: a three-member etcd
// (each member its own `fenquan etcd` process, etcd v3.7.3 embedded), every service as its
// own process — two replicas of approval and supervision — and the REST gateway, all
// finding each other through etcd (services/shared/discovery). It is what
// `fenquanctl dev cluster` starts and what the failure tests kill parts of.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// Options configures a cluster.
type Options struct {
	// Dir holds the binaries, etcd's data, the development keys and the logs.
	Dir string
	// BasePort numbers the ports (default 17000): etcd clients at +1..+3 and peers at
	// +11..+13, gRPC at +100+10·replica+n, metrics at +200+10·replica+n (registry n=1,
	// approval 2, risk 3, supervision 4), the gateway at +80 and its metrics at +90.
	BasePort int
	// Approval and Supervision are the replicas of each (default 2).
	Approval, Supervision int
	// Log receives progress lines; nil discards them.
	Log *slog.Logger
}

// Proc is one process of the cluster.
type Proc struct {
	Name string
	// Health is its readiness URL ("" for etcd members: their client URL is checked).
	Health string
	// GRPC is its gRPC address ("" for etcd and the gateway).
	GRPC string
	args []string
	bin  string
	log  string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the current process ends.
	exited chan struct{}
}

// Cluster is a running cluster.
type Cluster struct {
	o Options
	// Etcd are the etcd client URLs; EtcdClient a client of all three.
	Etcd       []string
	EtcdClient *clientv3.Client
	// GatewayURL is the REST base URL.
	GatewayURL string
	// Dev mints development tokens the cluster trusts.
	Dev   *auth.DevTokens
	procs []*Proc
}

// Services are the service binaries, with their package and offset n.
var services = []struct {
	name, pkg string
	n         int
}{
	{"registry", "./services/registry/cmd/registry", 1},
	{"approval", "./services/approval/cmd/approval", 2},
	{"risk", "./services/risk/cmd/risk", 3},
	{"supervision", "./services/supervision/cmd/supervision", 4},
}

// Build compiles the binaries into dir/bin (go build from the repository root).
func Build(ctx context.Context, dir string) error {
	root, err := repoRoot(ctx)
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "bin")
	pkgs := []string{"./tools/cmd/fenquan", "./gateway/cmd/gateway"}
	for _, s := range services {
		pkgs = append(pkgs, s.pkg)
	}
	for _, p := range pkgs {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, filepath.Base(p)), p)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", p, err, out)
		}
	}
	return nil
}

func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOWORK").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOWORK: %w", err)
	}
	w := strings.TrimSpace(string(out))
	if w == "" || w == "off" {
		return "", errors.New("the cluster is built from the repository's go.work: run it inside the repository")
	}
	return filepath.Dir(w), nil
}

// Start builds the binaries, starts etcd, the services and the gateway, and waits until
// each is ready. The catalogue is empty: load data through the gateway or ApplyDemo.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.Dir == "" {
		return nil, errors.New("cluster: Dir is required")
	}
	if o.BasePort == 0 {
		o.BasePort = 17000
	}
	if o.Approval == 0 {
		o.Approval = 2
	}
	if o.Supervision == 0 {
		o.Supervision = 2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"bin", "logs", "etcd", "dev"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	o.Log.Info("building the binaries", "dir", filepath.Join(o.Dir, "bin"))
	if err := Build(ctx, o.Dir); err != nil {
		return nil, err
	}
	dev, err := auth.OpenDevTokens(filepath.Join(o.Dir, "dev"))
	if err != nil {
		return nil, err
	}
	svcTok, err := dev.Mint("fenquan-service", auth.Claims{PlatformRoles: []string{"service"}}, 30*24*time.Hour)
	if err != nil {
		return nil, err
	}
	tokFile := filepath.Join(o.Dir, "dev", "service.token")
	if err := os.WriteFile(tokFile, []byte(svcTok), 0o600); err != nil {
		return nil, err
	}
	c := &Cluster{o: o, Dev: dev, GatewayURL: fmt.Sprintf("http://127.0.0.1:%d", o.BasePort+80)}
	port := func(n int) string { return fmt.Sprintf("127.0.0.1:%d", o.BasePort+n) }

	// etcd: three members.
	var peers []string
	for i := 1; i <= 3; i++ {
		peers = append(peers, fmt.Sprintf("etcd%d=http://%s", i, port(10+i)))
		c.Etcd = append(c.Etcd, "http://"+port(i))
	}
	for i := 1; i <= 3; i++ {
		c.add(&Proc{Name: fmt.Sprintf("etcd%d", i), bin: "fenquan", args: []string{"etcd",
			"--name", fmt.Sprintf("etcd%d", i), "--data", filepath.Join(o.Dir, "etcd", fmt.Sprintf("etcd%d", i)),
			"--client-url", c.Etcd[i-1], "--peer-url", "http://" + port(10+i), "--initial-cluster", strings.Join(peers, ","),
		}})
	}
	for _, p := range c.procs {
		if err := c.start(p); err != nil {
			c.Stop()
			return nil, err
		}
	}
	c.EtcdClient, err = clientv3.New(clientv3.Config{Endpoints: c.Etcd, DialTimeout: 5 * time.Second})
	if err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.waitEtcd(ctx); err != nil {
		c.Stop()
		return nil, err
	}

	common := []string{"--etcd-endpoints", strings.Join(c.Etcd, ","), "--key-root", up.KeyRoot,
		"--dev-jwks-file", dev.JWKSPath(), "--service-token-file", tokFile, "--log-format", "text", "--log-level", "warn"}
	var svcs []*Proc
	for _, s := range services {
		n := 1
		switch s.name {
		case "approval":
			n = o.Approval
		case "supervision":
			n = o.Supervision
		}
		for r := 0; r < n; r++ {
			name := s.name
			if n > 1 {
				name = fmt.Sprintf("%s-%d", s.name, r+1)
			}
			p := &Proc{Name: name, bin: filepath.Base(s.pkg), GRPC: port(100 + 10*r + s.n),
				Health: "http://" + port(200+10*r+s.n) + "/readyz"}
			p.args = append(slices.Clone(common), "--grpc-addr", p.GRPC, "--http-addr", port(200+10*r+s.n))
			svcs = append(svcs, c.add(p))
		}
	}
	gw := c.add(&Proc{Name: "gateway", bin: "gateway", Health: "http://" + port(80) + "/readyz",
		args: append(slices.Clone(common), "--listen", port(80), "--http-addr", port(90))})
	for _, p := range append(svcs, gw) {
		if err := c.start(p); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for _, p := range append(svcs, gw) {
		if err := c.WaitReady(ctx, p.Name, 2*time.Minute); err != nil {
			c.Stop()
			return nil, err
		}
	}
	o.Log.Info("cluster ready", "gateway", c.GatewayURL, "etcd", strings.Join(c.Etcd, ","))
	return c, nil
}

func (c *Cluster) add(p *Proc) *Proc {
	p.log = filepath.Join(c.o.Dir, "logs", p.Name+".log")
	c.procs = append(c.procs, p)
	return p
}

// Procs are the cluster's processes.
func (c *Cluster) Procs() []*Proc { return c.procs }

// Proc is the process named name (nil if none).
func (c *Cluster) Proc(name string) *Proc {
	for _, p := range c.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// start runs p (again).
func (c *Cluster) start(p *Proc) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is running", p.Name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.o.Dir, "bin", p.bin), p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	fmt.Fprintf(f, "--- started pid %d at %s\n", cmd.Process.Pid, time.Now().Format(time.RFC3339))
	p.cmd, p.exited = cmd, make(chan struct{})
	exited := p.exited
	go func() {
		_ = cmd.Wait()
		f.Close()
		p.mu.Lock()
		if p.cmd == cmd {
			p.cmd = nil
		}
		p.mu.Unlock()
		close(exited)
	}()
	c.o.Log.Info("started", "proc", p.Name, "pid", cmd.Process.Pid)
	return nil
}

// Dump makes the process named name print every goroutine's stack into its log and exit
// (SIGQUIT), for a post-mortem of a hang.
func (c *Cluster) Dump(name string) error { return c.signal(name, syscall.SIGQUIT) }

// Kill sends SIGKILL to the process named name (kill -9) and waits until it is gone.
func (c *Cluster) Kill(name string) error { return c.signal(name, syscall.SIGKILL) }

// StopProc ends the process named name with SIGTERM (a clean stop) and waits until it is
// gone.
func (c *Cluster) StopProc(name string) error { return c.signal(name, syscall.SIGTERM) }

func (c *Cluster) signal(name string, sig syscall.Signal) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %s", name)
	}
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop in 30s: killed", name)
	}
}

// Restart starts the process named name again (after Kill or StopProc) and waits until
// it is ready.
func (c *Cluster) Restart(ctx context.Context, name string) error {
	p := c.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %s", name)
	}
	if err := c.start(p); err != nil {
		return err
	}
	if strings.HasPrefix(name, "etcd") {
		return c.waitEtcd(ctx)
	}
	return c.WaitReady(ctx, name, 2*time.Minute)
}

// WaitReady waits until the process named name answers ready.
func (c *Cluster) WaitReady(ctx context.Context, name string, d time.Duration) error {
	p := c.Proc(name)
	if p == nil || p.Health == "" {
		return fmt.Errorf("no process %s with a health URL", name)
	}
	deadline := time.Now().Add(d)
	for {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(hctx, http.MethodGet, p.Health, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				hcancel()
				return nil
			}
		}
		hcancel()
		p.mu.Lock()
		running := p.cmd != nil
		p.mu.Unlock()
		if !running {
			return fmt.Errorf("%s exited; see %s", name, p.log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (last: %v); see %s", name, d, err, p.log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitEtcd waits until every running member answers and the cluster has a leader.
func (c *Cluster) waitEtcd(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok := true
		for i, ep := range c.Etcd {
			p := c.procs[i]
			p.mu.Lock()
			running := p.cmd != nil
			p.mu.Unlock()
			if !running {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := c.EtcdClient.Status(sctx, ep)
			cancel()
			if err != nil || st.Leader == 0 {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("etcd cluster not healthy after a minute; see the etcd logs")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops every process, gateway and services first, etcd last.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		_ = c.StopProc(c.procs[i].Name)
	}
	if c.EtcdClient != nil {
		_ = c.EtcdClient.Close()
	}
}
