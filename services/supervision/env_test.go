package supervision_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
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
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/approval"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/registry/catalogfile"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
	"github.com/fenquan/fenquan/services/supervision"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

var cst = time.FixedZone("CST", 8*3600)

// Monday 2026-11-16 10:00 CST.
var monday = time.Date(2026, 11, 16, 10, 0, 0, 0, cst)

// env is the registry, the approval service and the supervision service over real gRPC
// on a real embedded etcd, sharing one decision point with the real policy set.
type env struct {
	t       *testing.T
	ctx     context.Context
	cli     *clientv3.Client
	root    string
	log     *slog.Logger
	p       *pdp.PDP
	cases   approvalv1.CaseServiceClient
	apConn  *grpc.ClientConn
	regConn *grpc.ClientConn
	serve   func(name string, services []string, register func(grpc.ServiceRegistrar)) *grpc.ClientConn
	dev     *auth.DevTokens
	clock   *clock
	sup     supervisionv1.SupervisionServiceClient
	supConn *grpc.ClientConn
	svc     *supervision.Service
	stopSvc func()
	mu      sync.Mutex
	tokens  map[string]string
	seq     atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SUPERVISION_TEST_LOG") != "" {
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
	p := pdp.New(pdp.Config{Service: "supervision-test", Logger: log})
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(ctx, def); err != nil {
		t.Fatal(err)
	}
	serve := func(name string, services []string, register func(grpc.ServiceRegistrar)) *grpc.ClientConn {
		sctx, scancel := context.WithCancel(ctx)
		srv, err := server.New(server.Config{Service: name, GRPCServices: services, Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p}})
		if err != nil {
			t.Fatal(err)
		}
		register(srv.GRPC)
		done := make(chan struct{})
		go func() { _ = srv.Run(sctx); close(done) }()
		t.Cleanup(func() { scancel(); <-done })
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
	ap, err := approval.New(ctx, approval.Config{Etcd: cli, KeyRoot: root, Logger: log, PDP: p, Registry: regConn, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	apConn := serve("approval", approval.GRPCServices, ap.Register)
	e := &env{
		t: t, ctx: ctx, cli: cli, root: root, log: log, p: p, cases: approvalv1.NewCaseServiceClient(apConn), apConn: apConn, regConn: regConn,
		serve: serve, dev: dev, clock: clk, tokens: map[string]string{},
	}
	data, err := os.ReadFile("testdata/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := catalogfile.Parse("catalog.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registryv1.NewCatalogServiceClient(regConn).ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: f.Objects}); err != nil {
		t.Fatalf("apply the test catalogue: %s", describe(err))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !p.Facts().Active("cz", "xu") {
		if time.Now().After(deadline) {
			t.Fatal("the org facts never reached the decision point")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.start()
	return e
}

func (e *env) admin() context.Context {
	return e.as("admin", "platform:platform-admin", "cz:catalog-admin")
}

// start runs a supervision service (a new instance, as after a restart); stopSvc ends it.
func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	svcTok := e.token("supervision", "platform:service")
	svc, err := supervision.New(ctx, supervision.Config{
		Etcd: e.cli, KeyRoot: e.root, Logger: e.log, PDP: e.p, Approval: e.apConn, Now: e.clock.now, Tick: -1,
		// Batches of 3 events end in the middle of changes (two events at one revision).
		Batch: 3,
		CallCtx: func(ctx context.Context) context.Context {
			return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+svcTok)
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc, e.stopSvc = svc, cancel
	conn := e.serve("supervision", supervision.GRPCServices, svc.Register)
	e.sup, e.supConn = supervisionv1.NewSupervisionServiceClient(conn), conn
}

func (e *env) token(person string, grants ...string) string {
	e.t.Helper()
	key := person + "|" + strings.Join(grants, "|")
	e.mu.Lock()
	defer e.mu.Unlock()
	if tok, ok := e.tokens[key]; ok {
		return tok
	}
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
	tok, err := e.dev.Mint(person, c, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[key] = tok
	return tok
}

func (e *env) as(person string, grants ...string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.token(person, grants...))
}

func (e *env) person(id string) context.Context { return e.as(id, "cz:staff") }

// supervisor is xu, of the discipline office.
func (e *env) supervisor() context.Context { return e.as("xu", "cz:supervisor") }

func (e *env) rid() string { return fmt.Sprintf("req-%d", e.seq.Add(1)) }

const zjbf = "orgs/cz/powers/zjbf/flows/internal"

func pn(id string) string { return "orgs/cz/people/" + id }

var acme = &approvalv1.Payee{Name: "江城建设有限公司", Code: "91420100MA4K2XXXX1"}

func (e *env) open(applicant string, amount float64, mods ...func(*approvalv1.Case)) *approvalv1.Case {
	e.t.Helper()
	c := &approvalv1.Case{
		Title: "测试拨付", Flow: zjbf, A: pn(applicant), B: pn("cao"),
		Payload: &approvalv1.Payload{Amount: amount, Fund: "ZX-1", Indicator: "ZB-1", Payee: acme, Purpose: "养老服务补贴"},
	}
	for _, m := range mods {
		m(c)
	}
	out, err := e.cases.CreateCase(e.person(applicant), &approvalv1.CreateCaseRequest{Parent: "orgs/cz", Case: c, RequestId: e.rid()})
	if err != nil {
		e.t.Fatalf("open: %s", describe(err))
	}
	return out
}

func (e *env) sign(person string, c *approvalv1.Case, step string) *approvalv1.Case {
	e.t.Helper()
	out, err := e.cases.Act(e.person(person), &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_SIGN, Step: step, RequestId: e.rid()})
	if err != nil {
		e.t.Fatalf("sign %s of %s by %s: %s", step, c.Name, person, describe(err))
	}
	return out
}

// settle waits until the consumer has committed every event written so far.
func (e *env) settle() {
	e.t.Helper()
	r, err := e.cli.Get(e.ctx, "/settle")
	if err != nil {
		e.t.Fatal(err)
	}
	head := r.Header.Revision
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := e.sup.GetConsumerStatus(e.as("ops", "platform:platform-admin"), &supervisionv1.GetConsumerStatusRequest{})
		if err != nil {
			e.t.Fatalf("consumer status: %s", describe(err))
		}
		// Every event written so far is consumed (a batch may end among the events of one
		// revision: the count, not the revision, says all are in).
		ev, err := e.cli.Get(e.ctx, e.root+"/approval-events/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(head))
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Events >= ev.Count {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the consumer has consumed %d of %d events", st.Events, ev.Count)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// warnings lists the org's warnings by rule.
func (e *env) warnings() map[string][]*supervisionv1.Warning {
	e.t.Helper()
	out := map[string][]*supervisionv1.Warning{}
	resp, err := e.sup.ListWarnings(e.supervisor(), &supervisionv1.ListWarningsRequest{Parent: "orgs/cz", PageSize: 1000})
	if err != nil {
		e.t.Fatalf("list warnings: %s", describe(err))
	}
	for _, w := range resp.Warnings {
		out[w.Rule] = append(out[w.Rule], w)
	}
	return out
}

func describe(err error) string {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		if x, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range x.FieldViolations {
				fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
			}
		}
	}
	return b.String()
}

// wantReason asserts the status code and the ErrorInfo reason of err.
func wantReason(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	st := status.Convert(err)
	got := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			got = ei.Reason
		}
	}
	if err == nil || st.Code() != code || got != reason {
		t.Fatalf("want %s %s, got %s (reason %q)", code, reason, describe(err), got)
	}
}

// wantRule asserts err is a policy denial (PERMISSION_DENIED, POLICY_DENIED) whose rules
// are exactly rules.
func wantRule(t *testing.T, err error, rules ...string) {
	t.Helper()
	st := status.Convert(err)
	got := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.Reason == "POLICY_DENIED" {
			got = ei.Metadata["rules"]
		}
	}
	want := append([]string(nil), rules...)
	slices.Sort(want)
	have := strings.Split(got, ",")
	slices.Sort(have)
	if err == nil || st.Code() != codes.PermissionDenied || !slices.Equal(have, want) {
		t.Fatalf("want a policy denial by %v, got %s (rules %q)", want, describe(err), got)
	}
}
