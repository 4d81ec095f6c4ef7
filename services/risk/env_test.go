package risk_test

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
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/registry/catalogfile"
	"github.com/fenquan/fenquan/services/risk"
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

// Monday 2026-11-16 10:00 CST.
var monday = time.Date(2026, 11, 16, 10, 0, 0, 0, cst)

// env is the registry and the risk service served over real gRPC (the full interceptor
// chain) on a real embedded etcd, sharing one decision point with the real policy set,
// loaded with testdata/catalog.yaml (the approval tests' finance bureau cz).
type env struct {
	t       *testing.T
	risks   riskv1.RiskServiceClient
	catalog registryv1.CatalogServiceClient
	svc     *risk.Service
	dev     *auth.DevTokens
	clock   *clock
	root    string

	mu     sync.Mutex
	tokens map[string]string
	seq    atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("RISK_TEST_LOG") != "" {
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
	p := pdp.New(pdp.Config{Service: "risk-test", Logger: log})
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
	svc, err := risk.New(ctx, risk.Config{Etcd: cli, KeyRoot: root, Logger: log, PDP: p, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve("risk", risk.GRPCServices, svc.Register)
	e := &env{
		t: t, risks: riskv1.NewRiskServiceClient(conn), catalog: registryv1.NewCatalogServiceClient(regConn),
		svc: svc, dev: dev, clock: clk, root: root, tokens: map[string]string{},
	}
	e.apply(readCatalog(t, "testdata/catalog.yaml"))
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

func readCatalog(t *testing.T, path string) []*registryv1.CatalogObject {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := catalogfile.Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return f.Objects
}

// apply applies catalogue objects as a catalogue administrator.
func (e *env) apply(objs []*registryv1.CatalogObject) {
	e.t.Helper()
	admin := e.as("admin", "platform:platform-admin", "cz:catalog-admin")
	if _, err := e.catalog.ApplyCatalog(admin, &registryv1.ApplyCatalogRequest{Objects: objs}); err != nil {
		e.t.Fatalf("apply the catalogue: %s", describe(err))
	}
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

func pn(id string) string   { return "orgs/cz/people/" + id }
func post(id string) string { return "orgs/cz/posts/" + id }
func unit(id string) string { return "orgs/cz/units/" + id }

const zjbf = "orgs/cz/powers/zjbf/flows/internal"

// openCampaign opens a whole-org campaign as person.
func (e *env) openCampaign(person, id string, mods ...func(*riskv1.Campaign)) (*riskv1.Campaign, error) {
	c := &riskv1.Campaign{Title: "2026年度廉政风险排查", Year: 2026}
	for _, m := range mods {
		m(c)
	}
	return e.risks.CreateCampaign(e.person(person), &riskv1.CreateCampaignRequest{Parent: "orgs/cz", Campaign: c, CampaignId: id, RequestId: e.rid()})
}

func (e *env) mustCampaign(person, id string, mods ...func(*riskv1.Campaign)) *riskv1.Campaign {
	e.t.Helper()
	c, err := e.openCampaign(person, id, mods...)
	if err != nil {
		e.t.Fatalf("open campaign %s by %s: %s", id, person, describe(err))
	}
	return c
}

// newRisk is a post risk point of sbc-zcjh with likelihood l and impact i, factors 1.
func newRisk(campaign string, l, i int32) *riskv1.RiskPoint {
	return &riskv1.RiskPoint{
		Title: "支出计划编制不规范", Level: riskv1.Level_LEVEL_POST, Scope: post("sbc-zcjh"), Kind: "业务流程",
		Campaign: campaign, Likelihood: l, Impact: i,
		Factors: map[string]int32{"importance": 1, "discretion": 1, "frequency": 1},
		Forced:  map[string]bool{"major_impact": false, "unlimited_discretion": false, "past_case": false},
		Powers:  []string{"orgs/cz/powers/zjbf"},
		Steps:   []*riskv1.StepRef{{Flow: zjbf, Step: "zcjh"}},
		Measures: []*riskv1.Measure{
			{Phase: riskv1.Phase_PHASE_PREVENTION, Text: "支出计划双人复核", Responsible: pn("feng")},
			{Phase: riskv1.Phase_PHASE_MONITORING, Text: "系统预警监控", Responsible: pn("feng")},
		},
	}
}

func (e *env) draft(person string, r *riskv1.RiskPoint) (*riskv1.RiskPoint, error) {
	return e.risks.CreateRisk(e.person(person), &riskv1.CreateRiskRequest{Parent: "orgs/cz", Risk: r, RequestId: e.rid()})
}

func (e *env) mustDraft(person string, r *riskv1.RiskPoint) *riskv1.RiskPoint {
	e.t.Helper()
	out, err := e.draft(person, r)
	if err != nil {
		e.t.Fatalf("draft by %s: %s", person, describe(err))
	}
	return out
}

func (e *env) review(person string, c *riskv1.Campaign, action riskv1.ReviewAction, mods ...func(*riskv1.ReviewCampaignRequest)) (*riskv1.Campaign, error) {
	req := &riskv1.ReviewCampaignRequest{Name: c.GetName(), Action: action, RequestId: e.rid()}
	for _, m := range mods {
		m(req)
	}
	return e.risks.ReviewCampaign(e.person(person), req)
}

func (e *env) mustReview(person string, c *riskv1.Campaign, action riskv1.ReviewAction, mods ...func(*riskv1.ReviewCampaignRequest)) *riskv1.Campaign {
	e.t.Helper()
	out, err := e.review(person, c, action, mods...)
	if err != nil {
		e.t.Fatalf("%s %s by %s: %s", action, c.GetName(), person, describe(err))
	}
	return out
}

func (e *env) advance(person string, c *riskv1.Campaign) (*riskv1.Campaign, error) {
	return e.review(person, c, riskv1.ReviewAction_REVIEW_ACTION_ADVANCE)
}

func (e *env) mustAdvance(person string, c *riskv1.Campaign) *riskv1.Campaign {
	e.t.Helper()
	return e.mustReview(person, c, riskv1.ReviewAction_REVIEW_ACTION_ADVANCE)
}

func (e *env) get(name string, version int32) *riskv1.RiskPoint {
	e.t.Helper()
	r, err := e.risks.GetRisk(e.person("zhao"), &riskv1.GetRiskRequest{Name: name, Version: version})
	if err != nil {
		e.t.Fatalf("get %s v%d: %s", name, version, describe(err))
	}
	return r
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

// update revises a risk point as person: the current record changed by fn, with the
// mask given (the proto rules want a whole risk point in the request, whatever the mask).
func (e *env) update(person, name string, fn func(*riskv1.RiskPoint), mask ...string) (*riskv1.RiskPoint, error) {
	e.t.Helper()
	r := e.get(name, 0)
	fn(r)
	return e.risks.UpdateRisk(e.person(person), &riskv1.UpdateRiskRequest{Risk: r, UpdateMask: mask, RequestId: e.rid()})
}
