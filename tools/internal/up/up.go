// Package up runs all of Fenquan in one process on one machine: a real etcd embedded with
// its data in one folder, every service on its own loopback gRPC port (registered in
// etcd under a lease, exactly as separate processes would be), and the REST gateway,
// which finds the services through etcd like it does in a cluster. It is the development
// and one-machine default behind `fenquan up`.
//
// Identity runs in development mode: a signing key kept in the data folder mints tokens
// for the demo people. Nothing listens beyond loopback.
package up

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/fenquan/fenquan/gateway"
	"github.com/fenquan/fenquan/policies"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/approval"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/risk"
	"github.com/fenquan/fenquan/services/shared/audit"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/discovery"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
	"github.com/fenquan/fenquan/services/supervision"
	"github.com/fenquan/fenquan/tools/internal/demo"
)

// KeyRoot is the root of every key `up` writes.
const KeyRoot = "/fenquan"

// Options configures the stack.
type Options struct {
	// DataDir holds etcd's data and the development signing key; it survives restarts.
	DataDir string
	// EtcdURL is where the embedded etcd serves other processes (fenquanctl, a service
	// started separately). Empty picks a free port.
	EtcdURL string
	// GatewayAddr is the REST address, e.g. "127.0.0.1:8080"; empty picks a free port.
	GatewayAddr string
	// BasePort numbers the services' ports: gRPC at BasePort+n, metrics at BasePort+100+n
	// (registry n=1, ...). 0 picks free ports.
	BasePort int
	// Demo applies the demo data set (idempotent).
	Demo bool
	Log  *slog.Logger
}

// Stack is the running system.
type Stack struct {
	Etcd           *etcdx.Embedded
	Dev            *auth.DevTokens
	PDP            *pdp.PDP
	GatewayURL     string
	GatewayMetrics string
	// GRPC and Metrics map each service to its addresses.
	GRPC    map[string]string
	Metrics map[string]string
	// DemoChanges counts what the demo apply created or updated (0 when it was loaded).
	DemoChanges int
	// DemoCases counts the demo cases created (0 when they were loaded before).
	DemoCases int
	// DemoRisks counts the demo risk points and campaigns created (0 when loaded before).
	DemoRisks demo.RiskLoad

	verifier   *auth.Verifier
	authorizer pdp.Authorizer

	cancel context.CancelFunc
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
}

// component is one service of the stack; adding a service is one entry.
type component struct {
	name     string
	services []string
	port     int
	start    func(ctx context.Context, d deps) (interface{ Register(grpc.ServiceRegistrar) }, error)
}

type deps struct {
	etcd   *etcdx.Embedded
	log    *slog.Logger
	pdp    *pdp.PDP
	policy *pdp.Set
	// dial connects to a component started before (in the order of components).
	dial func(name string) (grpc.ClientConnInterface, error)
	// serviceCall adds a development token of the platform role "service", minted for
	// subject and renewed before it expires, to a call.
	serviceCall func(subject string) func(context.Context) context.Context
}

var components = []component{
	{name: "registry", services: registry.GRPCServices, port: 1, start: func(ctx context.Context, d deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
		return registry.New(ctx, registry.Config{Etcd: d.etcd.Client, KeyRoot: KeyRoot, Logger: d.log, PDP: d.pdp, DefaultPolicy: d.policy})
	}},
	// The approval service reads the catalogue from the registry; the org facts its
	// decisions need are the process's PDP's, fed by the registry above.
	{name: "approval", services: approval.GRPCServices, port: 2, start: func(ctx context.Context, d deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
		reg, err := d.dial("registry")
		if err != nil {
			return nil, err
		}
		return approval.New(ctx, approval.Config{Etcd: d.etcd.Client, KeyRoot: KeyRoot, Logger: d.log, PDP: d.pdp, Registry: reg})
	}},
	// The risk service (廉政风险 register) reads the catalogue from etcd and decides with the
	// process's PDP.
	{name: "risk", services: risk.GRPCServices, port: 3, start: func(ctx context.Context, d deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
		return risk.New(ctx, risk.Config{Etcd: d.etcd.Client, KeyRoot: KeyRoot, Logger: d.log, PDP: d.pdp})
	}},
	// Supervision (电子监察) follows the approval event stream and calls the approval and
	// risk services with its own service token.
	{name: "supervision", services: supervision.GRPCServices, port: 4, start: func(ctx context.Context, d deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
		ap, err := d.dial("approval")
		if err != nil {
			return nil, err
		}
		rk, err := d.dial("risk")
		if err != nil {
			return nil, err
		}
		return supervision.New(ctx, supervision.Config{Etcd: d.etcd.Client, KeyRoot: KeyRoot, Logger: d.log, PDP: d.pdp,
			Approval: ap, Risk: rk, CallCtx: d.serviceCall("fenquan-supervision")})
	}},
}

func addr(base, offset int) string {
	if base == 0 {
		return "127.0.0.1:0"
	}
	return fmt.Sprintf("127.0.0.1:%d", base+offset)
}

// loopbackOnly refuses a gateway address or etcd URL off loopback ("" is a free loopback
// port).
func loopbackOnly(gatewayAddr, etcdURL string) error {
	hosts := map[string]string{}
	if gatewayAddr != "" {
		host, _, err := net.SplitHostPort(gatewayAddr)
		if err != nil {
			return fmt.Errorf("up: gateway address %q: %w", gatewayAddr, err)
		}
		hosts["gateway address "+gatewayAddr] = host
	}
	if etcdURL != "" {
		u, err := url.Parse(etcdURL)
		if err != nil {
			return fmt.Errorf("up: etcd URL %q: %w", etcdURL, err)
		}
		hosts["etcd URL "+etcdURL] = u.Hostname()
	}
	for what, host := range hosts {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("up: the %s is not on loopback: development mode (plaintext, development tokens) listens on this machine only", what)
		}
	}
	return nil
}

// Start brings the stack up and returns once every part serves (and the demo is loaded).
// It runs until ctx ends; Wait returns after everything has stopped.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.DataDir == "" {
		return nil, errors.New("up: a data folder is required")
	}
	// Development mode: plaintext, development tokens. Nothing may listen beyond loopback.
	if err := loopbackOnly(o.GatewayAddr, o.EtcdURL); err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{GRPC: map[string]string{}, Metrics: map[string]string{}, cancel: cancel}
	ok := false
	defer func() {
		if !ok {
			cancel()
			s.wg.Wait()
			if s.Etcd != nil {
				s.Etcd.Close()
			}
		}
	}()

	var err error
	s.Etcd, err = etcdx.StartEmbedded(ctx, etcdx.EmbedConfig{Dir: filepath.Join(o.DataDir, "etcd"), ClientURL: o.EtcdURL, Logger: log, LogLevel: slog.LevelError})
	if err != nil {
		return nil, fmt.Errorf("up: etcd: %w (is another `fenquan up` running? use --etcd to pick another port)", err)
	}
	if s.Dev, err = auth.OpenDevTokens(filepath.Join(o.DataDir, "dev")); err != nil {
		return nil, err
	}
	verifier, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{s.Dev.IssuerConfig()}})
	if err != nil {
		return nil, err
	}
	// One decision point for the process: every service in it decides with the same set
	// and the same org facts (fed by the registry).
	s.PDP, err = pdp.Start(ctx, pdp.StartOptions{Service: "up", Instance: "up", Etcd: s.Etcd.Client, Root: KeyRoot,
		Default: policies.FS, Logger: log})
	if err != nil {
		return nil, err
	}
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		return nil, err
	}
	authorizer := pdp.Authorizer{PDP: s.PDP}
	s.verifier, s.authorizer = verifier, authorizer
	d := deps{etcd: s.Etcd, log: log, pdp: s.PDP, policy: def, dial: func(name string) (grpc.ClientConnInterface, error) {
		target, ok := s.GRPC[name]
		if !ok {
			return nil, fmt.Errorf("up: %s is not started", name)
		}
		conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		s.run(func() error { <-ctx.Done(); return conn.Close() })
		return conn, nil
	}, serviceCall: func(subject string) func(context.Context) context.Context {
		var mu sync.Mutex
		var tok string
		var until time.Time
		return func(c context.Context) context.Context {
			mu.Lock()
			defer mu.Unlock()
			if time.Until(until) < 10*time.Minute {
				if t, err := s.Dev.Mint(subject, auth.Claims{PlatformRoles: []string{"service"}}, time.Hour); err == nil {
					tok, until = t, time.Now().Add(time.Hour)
				}
			}
			return metadata.AppendToOutgoingContext(c, "authorization", "Bearer "+tok)
		}
	}}

	for _, c := range components {
		srv, err := server.New(server.Config{
			Service: c.name, GRPCServices: c.services,
			GRPCAddr: addr(o.BasePort, c.port), HTTPAddr: addr(o.BasePort, 100+c.port),
			Logger: log.With("service", c.name), Verifier: verifier, Authorizer: authorizer,
			Etcd: s.Etcd.Client, KeyRoot: KeyRoot,
		})
		if err != nil {
			return nil, fmt.Errorf("up: %s: %w", c.name, err)
		}
		svc, err := c.start(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("up: %s: %w", c.name, err)
		}
		svc.Register(srv.GRPC)
		s.GRPC[c.name], s.Metrics[c.name] = srv.Addr(), srv.HTTPAddr()
		s.run(func() error { return srv.Run(ctx) })
	}
	// The audit log's sealer, as every approval replica runs it (the elected one seals).
	sealer := audit.NewSealer(s.Etcd.Client, KeyRoot, audit.Options{Name: "up", Logger: log.With("component", "audit-sealer")})
	s.run(func() error { return sealer.Run(ctx) })

	if err := s.startGateway(ctx, o, verifier, log); err != nil {
		return nil, err
	}
	if o.Demo {
		if err := s.loadDemo(ctx); err != nil {
			return nil, fmt.Errorf("up: demo: %w", err)
		}
	}
	ok = true
	return s, nil
}

func (s *Stack) run(fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errMu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.errMu.Unlock()
			s.cancel()
		}
	}()
}

func (s *Stack) startGateway(ctx context.Context, o Options, verifier *auth.Verifier, log *slog.Logger) error {
	resolver := &discovery.Builder{Client: s.Etcd.Client, Root: KeyRoot, Log: log}
	upstreams := map[string]grpc.ClientConnInterface{}
	for _, name := range gateway.Services() {
		conn, err := discovery.Dial(resolver, name, insecure.NewCredentials())
		if err != nil {
			return err
		}
		s.run(func() error { <-ctx.Done(); return conn.Close() })
		upstreams[name] = conn
	}
	reg := obs.NewRegistry()
	h, err := gateway.New(ctx, gateway.Config{Upstreams: upstreams, Verifier: verifier, Logger: log.With("service", "gateway"), Registry: reg})
	if err != nil {
		return err
	}
	gwAddr := o.GatewayAddr
	if gwAddr == "" {
		gwAddr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", gwAddr)
	if err != nil {
		return fmt.Errorf("up: gateway: %w", err)
	}
	mlis, err := net.Listen("tcp", addr(o.BasePort, 100))
	if err != nil {
		lis.Close()
		return fmt.Errorf("up: gateway metrics: %w", err)
	}
	s.GatewayURL, s.GatewayMetrics = "http://"+lis.Addr().String(), mlis.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for _, hs := range []struct {
		srv *http.Server
		lis net.Listener
	}{
		{&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}, lis},
		{&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, mlis},
	} {
		s.run(func() error { return hs.srv.Serve(hs.lis) })
		s.run(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return hs.srv.Shutdown(sctx)
		})
	}
	return nil
}

// Demo identities: who the printed tokens speak for.
const (
	DemoOrg   = "czj"
	AdminSub  = "fenquan-admin"
	adminUser = "wang-jing" // 王静, 办公室: keeps the catalogue
)

// AdminClaims are the development administrator's grants: the platform (including the
// policy officer's role: policies are platform-wide), and the demo org's administrative
// roles.
func AdminClaims() auth.Claims {
	return auth.Claims{
		PlatformRoles: []string{"platform-admin", "policy-officer"},
		Orgs: map[string]auth.Grant{DemoOrg: {Person: adminUser, Roles: []string{
			"catalog-admin", "auditor", "staff",
		}}},
	}
}

// OfficerClaims are a second policy officer's (四眼: the one who approves what the admin
// proposes).
func OfficerClaims() auth.Claims {
	return auth.Claims{PlatformRoles: []string{"policy-officer"}}
}

// StaffClaims grant a demo person plain membership of the demo org.
func StaffClaims(person string, roles ...string) auth.Claims {
	return auth.Claims{Orgs: map[string]auth.Grant{DemoOrg: {Person: person, Roles: append([]string{"staff"}, roles...)}}}
}

// ApplyDemoCatalog applies the demo catalogue (江城市财政局) through the registry at
// registryAddr as the administrator, with a token dev mints; it returns the objects
// applied and the registry's answer.
func ApplyDemoCatalog(ctx context.Context, dev *auth.DevTokens, registryAddr string) ([]*registryv1.CatalogObject, *registryv1.ApplyCatalogResponse, error) {
	objs, err := demo.Objects()
	if err != nil {
		return nil, nil, err
	}
	tok, err := dev.Mint(AdminSub, AdminClaims(), time.Hour)
	if err != nil {
		return nil, nil, err
	}
	conn, err := grpc.NewClient(registryAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	actx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), 2*time.Minute)
	defer cancel()
	resp, err := registryv1.NewCatalogServiceClient(conn).ApplyCatalog(actx, &registryv1.ApplyCatalogRequest{Objects: objs}, grpc.WaitForReady(true))
	if err != nil {
		return nil, nil, fmt.Errorf("apply the demo catalogue: %w", err)
	}
	return objs, resp, nil
}

func (s *Stack) loadDemo(ctx context.Context) error {
	objs, resp, err := ApplyDemoCatalog(ctx, s.Dev, s.GRPC["registry"])
	if err != nil {
		return err
	}
	for _, c := range resp.Changes {
		if c.Action != registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED || c.Published {
			s.DemoChanges++
		}
	}

	// The demo cases are decided on the org facts, which reach the decision point from the
	// registry's cache just after the apply: wait until it knows every active demo person.
	cctx, ccancel := context.WithTimeout(ctx, time.Minute)
	defer ccancel()
	for _, o := range objs {
		p := o.GetPerson()
		if p == nil || p.Inactive {
			continue
		}
		id := p.Name[strings.LastIndexByte(p.Name, '/')+1:]
		for !s.PDP.Facts().Active(DemoOrg, id) {
			select {
			case <-cctx.Done():
				return fmt.Errorf("the org facts never reached the decision point (%s): %w", p.Name, cctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	aconn, err := grpc.NewClient(s.GRPC["approval"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer aconn.Close()
	mint := func(person string, roles ...string) (string, error) {
		return s.Dev.Mint(person, StaffClaims(person, roles...), time.Hour)
	}
	// The demo register: its 2025 campaign is played on a private risk service whose clock
	// the loader sets to the days it happened (the publicity period must be over before
	// force), stopped when the load is done.
	rconn, err := grpc.NewClient(s.GRPC["risk"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer rconn.Close()
	hctx, hcancel := context.WithCancel(ctx)
	var hwg sync.WaitGroup
	defer func() { hcancel(); hwg.Wait() }()
	history := func() (demo.History, error) { return s.riskHistory(hctx, &hwg) }
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer rcancel()
	if s.DemoRisks, err = demo.LoadRisks(rctx, rconn, history, mint); err != nil {
		return err
	}

	// The cases after the register: supervision records the warnings they raise on the
	// register's risk points as evidence, and those writes would contend with the
	// campaign's steps (each guarded against any risk point changing under it).
	lctx, lcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer lcancel()
	if s.DemoCases, err = demo.LoadCases(lctx, aconn, mint); err != nil {
		return err
	}

	// 信访举报: one complaint filed through the public intake, the first time. (The
	// supervision service raises the rest from the cases as it consumes them: signatures
	// the moment a step arrives, the B角 of demo-zjbf-06 who declared a relation with its
	// payee — a hold — and, on its first tick, the key post held past its rotation.)
	sconn, err := grpc.NewClient(s.GRPC["supervision"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer sconn.Close()
	complaints := supervisionv1.NewComplaintServiceClient(sconn)
	otok, err := mint("cheng-gang", "discipline-officer")
	if err != nil {
		return err
	}
	kctx, kcancel := context.WithTimeout(ctx, time.Minute)
	defer kcancel()
	octx := metadata.AppendToOutgoingContext(kctx, "authorization", "Bearer "+otok)
	list, err := complaints.ListComplaints(octx, &supervisionv1.ListComplaintsRequest{Parent: "orgs/" + DemoOrg, PageSize: 1}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("demo complaints: %w", err)
	}
	if list.TotalSize == 0 {
		if _, err := complaints.SubmitComplaint(kctx, &supervisionv1.SubmitComplaintRequest{Parent: "orgs/" + DemoOrg,
			About: "国库处支付审核岗",
			Text:  "我单位10月报送的养老服务补贴支付申请，国库处支付审核岗迟迟不予审核，经办人员私下暗示“找找关系”才能尽快支付。请予调查。",
		}); err != nil {
			return fmt.Errorf("demo complaint: %w", err)
		}
	}
	return nil
}

// historyClock is a clock set to a past day, running from there.
type historyClock struct {
	mu        sync.Mutex
	base, set time.Time
}

func (c *historyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.set))
}

func (c *historyClock) SetDay(day time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.set = day, time.Now()
}

// riskHistory starts a risk service on its own loopback port, not registered in discovery,
// on the stack's store and decision point, with a clock the caller sets. It runs until
// ctx ends; wg tracks it.
func (s *Stack) riskHistory(ctx context.Context, wg *sync.WaitGroup) (demo.History, error) {
	log := slog.New(slog.DiscardHandler)
	srv, err := server.New(server.Config{
		Service: "risk-history", GRPCServices: risk.GRPCServices, Logger: log,
		Verifier: s.verifier, Authorizer: s.authorizer,
	})
	if err != nil {
		return demo.History{}, err
	}
	clock := &historyClock{base: time.Now(), set: time.Now()}
	svc, err := risk.New(ctx, risk.Config{Etcd: s.Etcd.Client, KeyRoot: KeyRoot, Logger: log, PDP: s.PDP, Now: clock.Now, NoRegistryWatch: true})
	if err != nil {
		return demo.History{}, err
	}
	svc.Register(srv.GRPC)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Run(ctx)
	}()
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return demo.History{}, err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		conn.Close()
	}()
	return demo.History{Conn: conn, SetDay: clock.SetDay}, nil
}

// RiskAt starts a risk service with a clock the caller sets (as the demo's history, for
// tools that play campaigns over past days); stop ends it.
func (s *Stack) RiskAt(ctx context.Context) (h demo.History, stop func(), err error) {
	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop = func() { cancel(); wg.Wait() }
	if h, err = s.riskHistory(hctx, &wg); err != nil {
		stop()
		return demo.History{}, nil, err
	}
	return h, stop, nil
}

// Stop ends the stack and waits for it.
func (s *Stack) Stop() error {
	s.cancel()
	return s.Wait()
}

// Wait blocks until the stack has stopped (its context ended or a part failed), then
// closes etcd and returns the first failure.
func (s *Stack) Wait() error {
	s.wg.Wait()
	s.Etcd.Close()
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}
