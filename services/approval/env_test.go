package approval_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/policies"
	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/approval"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/registry/catalogfile"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// clock is the tests' clock: fixed, moved by the test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

var cst = time.FixedZone("CST", 8*3600)

// env is the registry and the approval service served over real gRPC (the full
// interceptor chain) on a real embedded etcd, sharing one decision point with the real
// policy set, loaded with testdata/catalog.yaml.
type env struct {
	t     *testing.T
	cases approvalv1.CaseServiceClient
	evs   approvalv1.EventServiceClient
	cals  approvalv1.CalendarServiceClient
	svc   *approval.Service
	dev   *auth.DevTokens
	clock *clock
	root  string

	mu     sync.Mutex
	tokens map[string]string
	seq    atomic.Int64
}

// Monday 2026-11-16 10:00 CST: a plain working week.
var monday = time.Date(2026, 11, 16, 10, 0, 0, 0, cst)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("APPROVAL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	p := pdp.New(pdp.Config{Service: "approval-test", Logger: log})
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(ctx, def); err != nil {
		t.Fatal(err)
	}
	serve := func(name string, services []string, register func(grpc.ServiceRegistrar)) *grpc.ClientConn {
		srv, err := server.New(server.Config{Service: name, GRPCServices: services, Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p}})
		if err != nil {
			t.Fatal(err)
		}
		register(srv.GRPC)
		done := make(chan struct{})
		go func() { _ = srv.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	reg, err := registry.New(ctx, registry.Config{Etcd: cli, KeyRoot: root, Logger: log, PDP: p, DefaultPolicy: def})
	if err != nil {
		t.Fatal(err)
	}
	regConn := serve("registry", registry.GRPCServices, reg.Register)
	clk := &clock{}
	clk.set(monday)
	svc, err := approval.New(ctx, approval.Config{Etcd: cli, KeyRoot: root, Logger: log, PDP: p, Registry: regConn, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve("approval", approval.GRPCServices, svc.Register)
	e := &env{
		t: t, cases: approvalv1.NewCaseServiceClient(conn), evs: approvalv1.NewEventServiceClient(conn),
		cals: approvalv1.NewCalendarServiceClient(conn), svc: svc, dev: dev, clock: clk, root: root, tokens: map[string]string{},
	}
	data, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := catalogfile.Parse("catalog.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	admin := e.as("admin", "platform:platform-admin", "cz:catalog-admin")
	if _, err := registryv1.NewCatalogServiceClient(regConn).ApplyCatalog(admin, &registryv1.ApplyCatalogRequest{Objects: f.Objects}); err != nil {
		t.Fatalf("apply the test catalogue: %s", describe(err))
	}
	// The facts reach the decision point through the registry's cache: wait for the last
	// person applied.
	deadline := time.Now().Add(10 * time.Second)
	for !p.Facts().Active("cz", "xu") {
		if time.Now().After(deadline) {
			t.Fatal("the org facts never reached the decision point")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// as returns a context calling as person with the given grants ("org:role,role",
// "platform:role").
func (e *env) as(person string, grants ...string) context.Context {
	e.t.Helper()
	key := person + "|" + strings.Join(grants, "|")
	e.mu.Lock()
	tok, ok := e.tokens[key]
	e.mu.Unlock()
	if !ok {
		c := auth.Claims{Orgs: map[string]auth.Grant{}}
		for _, g := range grants {
			org, roles, _ := strings.Cut(g, ":")
			if org == "platform" {
				c.PlatformRoles = strings.Split(roles, ",")
				continue
			}
			gr := auth.Grant{Person: person}
			if roles != "" {
				gr.Roles = strings.Split(roles, ",")
			}
			c.Orgs[org] = gr
		}
		var err error
		if tok, err = e.dev.Mint(person, c, time.Hour); err != nil {
			e.t.Fatal(err)
		}
		e.mu.Lock()
		e.tokens[key] = tok
		e.mu.Unlock()
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// person calls as a member of cz.
func (e *env) person(id string) context.Context { return e.as(id, "cz:staff") }

func (e *env) rid() string { return fmt.Sprintf("req-%d", e.seq.Add(1)) }

const (
	zjbf = "orgs/cz/powers/zjbf/flows/internal"
	lhsc = "orgs/cz/powers/lhsc/flows/internal"
)

func pn(id string) string { return "orgs/cz/people/" + id }

// kangning is a payee cao declared a conflict with.
var kangning = &approvalv1.Payee{Name: "康宁养老服务有限公司", Code: "91429001MA49K3XT6B"}

var acme = &approvalv1.Payee{Name: "江城建设有限公司", Code: "91420100MA4K2XXXX1"}

// open opens a case as applicant on flow.
func (e *env) open(applicant, flow string, amount float64, mods ...func(*approvalv1.Case)) (*approvalv1.Case, error) {
	c := &approvalv1.Case{
		Title: "测试拨付", Flow: flow, A: pn(applicant), B: pn("cao"),
		Payload: &approvalv1.Payload{Amount: amount, Fund: "ZX-1", Indicator: "ZB-1", Payee: acme, Purpose: "养老服务补贴"},
	}
	if applicant == "cao" {
		c.B = pn("feng")
	}
	for _, m := range mods {
		m(c)
	}
	return e.cases.CreateCase(e.person(applicant), &approvalv1.CreateCaseRequest{Parent: "orgs/cz", Case: c, RequestId: e.rid()})
}

func (e *env) mustOpen(applicant, flow string, amount float64, mods ...func(*approvalv1.Case)) *approvalv1.Case {
	e.t.Helper()
	c, err := e.open(applicant, flow, amount, mods...)
	if err != nil {
		e.t.Fatalf("open: %s", describe(err))
	}
	return c
}

// act performs an action as person.
func (e *env) act(person string, c *approvalv1.Case, action approvalv1.Action, mods ...func(*approvalv1.ActRequest)) (*approvalv1.Case, error) {
	req := &approvalv1.ActRequest{Name: c.Name, Action: action, RequestId: e.rid()}
	for _, m := range mods {
		m(req)
	}
	return e.cases.Act(e.person(person), req)
}

func (e *env) mustAct(person string, c *approvalv1.Case, action approvalv1.Action, mods ...func(*approvalv1.ActRequest)) *approvalv1.Case {
	e.t.Helper()
	out, err := e.act(person, c, action, mods...)
	if err != nil {
		e.t.Fatalf("%s %s by %s: %s", action, c.GetName(), person, describe(err))
	}
	return out
}

// sign signs step as person.
func (e *env) sign(person string, c *approvalv1.Case, step string) (*approvalv1.Case, error) {
	return e.act(person, c, approvalv1.Action_ACTION_SIGN, func(r *approvalv1.ActRequest) { r.Step = step })
}

func (e *env) mustSign(person string, c *approvalv1.Case, step string) *approvalv1.Case {
	e.t.Helper()
	out, err := e.sign(person, c, step)
	if err != nil {
		e.t.Fatalf("sign %s of %s by %s: %s", step, c.GetName(), person, describe(err))
	}
	return out
}

func step(s string) func(*approvalv1.ActRequest) {
	return func(r *approvalv1.ActRequest) { r.Step = s }
}
func text(s string) func(*approvalv1.ActRequest) {
	return func(r *approvalv1.ActRequest) { r.Text = s }
}

func activeSteps(c *approvalv1.Case) []string {
	var out []string
	for _, a := range c.GetActive() {
		out = append(out, a.Step)
	}
	return out
}

func describe(err error) string {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		switch x := d.(type) {
		case *errdetails.BadRequest:
			for _, fv := range x.FieldViolations {
				fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
			}
		case *apiv1.PolicyDenial:
			for _, v := range x.Violations {
				fmt.Fprintf(&b, "\n  %s: %s", v.Rule, v.En)
			}
		}
	}
	return b.String()
}

// rules returns the rule ids of a policy denial.
func rules(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if pd, ok := d.(*apiv1.PolicyDenial); ok {
			for _, v := range pd.Violations {
				out = append(out, v.Rule)
			}
		}
	}
	return out
}

// wantDenied asserts PERMISSION_DENIED naming rule among its violations.
func wantDenied(t *testing.T, err error, rule string) {
	t.Helper()
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("want PERMISSION_DENIED by %s, got %s", rule, describe(err))
	}
	for _, r := range rules(err) {
		if r == rule {
			return
		}
	}
	t.Fatalf("denied, but not by %s: %s", rule, describe(err))
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %s, want %s (%s)", got, want, describe(err))
	}
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.Reason
		}
	}
	return ""
}
