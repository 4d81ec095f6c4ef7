package registry_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/policies"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// env is a registry served over real gRPC (the full interceptor chain: authentication,
// validation, access rules) on a real embedded etcd, with tokens minted per test.
type env struct {
	t      *testing.T
	conn   *grpc.ClientConn
	policy policyv1.PolicyServiceClient
	org    registryv1.OrgServiceClient
	cat    registryv1.CatalogServiceClient
	pub    registryv1.PublicCatalogServiceClient
	dev    *auth.DevTokens
	svc    *registry.Service
	root   string

	mu     sync.Mutex
	tokens map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	log := slog.New(slog.DiscardHandler)
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	// The real decision point with the real policy set: access goes through the api policy.
	p := pdp.New(pdp.Config{Service: "registry-test", Logger: log})
	def, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Load(ctx, def); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Service: "registry", GRPCServices: registry.GRPCServices,
		Logger: log, Verifier: verifier, Authorizer: pdp.Authorizer{PDP: p},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := registry.New(ctx, registry.Config{Etcd: cli, KeyRoot: root, Logger: log, PDP: p, DefaultPolicy: def})
	if err != nil {
		t.Fatal(err)
	}
	svc.Register(srv.GRPC)
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{
		t: t, conn: conn, policy: policyv1.NewPolicyServiceClient(conn), org: registryv1.NewOrgServiceClient(conn), cat: registryv1.NewCatalogServiceClient(conn),
		pub: registryv1.NewPublicCatalogServiceClient(conn), dev: dev, svc: svc, root: root, tokens: map[string]string{},
	}
}

// as returns a context calling as person with roles in the given orgs ("org:role,role").
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

// admin administers orgs cz and other.
func (e *env) admin() context.Context {
	return e.as("admin", "platform:platform-admin", "cz:catalog-admin", "other:catalog-admin")
}

// staff is a plain member of cz.
func (e *env) staff() context.Context { return e.as("clerk", "cz:staff") }

func (e *env) mustOrg(id string) *registryv1.Org {
	e.t.Helper()
	o, err := e.org.CreateOrg(e.admin(), &registryv1.CreateOrgRequest{OrgId: id, Org: &registryv1.Org{DisplayName: id + " 财政局"}})
	if err != nil {
		e.t.Fatalf("CreateOrg %s: %v", id, err)
	}
	return o
}

// apply applies objects as the admin and fails the test on error.
func (e *env) apply(objs ...*registryv1.CatalogObject) *registryv1.ApplyCatalogResponse {
	e.t.Helper()
	resp, err := e.cat.ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: objs})
	if err != nil {
		e.t.Fatalf("apply: %v", describe(err))
	}
	return resp
}

func describe(err error) string {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, fv := range violations(err) {
		fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
	}
	return b.String()
}

func violations(err error) []*errdetails.BadRequest_FieldViolation {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br.FieldViolations
		}
	}
	return nil
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.Reason
		}
	}
	return ""
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %s, want %s (%v)", got, want, describe(err))
	}
}

// wantViolation asserts INVALID_ARGUMENT with a violation on field whose description
// contains every fragment, and a Chinese localized message.
func wantViolation(t *testing.T, err error, field string, fragments ...string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
next:
	for _, fv := range violations(err) {
		if fv.Field != field {
			continue
		}
		for _, f := range fragments {
			if !strings.Contains(fv.Description, f) {
				continue next
			}
		}
		if fv.GetLocalizedMessage().GetLocale() != "zh-CN" || fv.GetLocalizedMessage().GetMessage() == "" {
			t.Fatalf("violation on %s has no Chinese message: %+v", field, fv)
		}
		return
	}
	t.Fatalf("no violation on %s mentioning %q in %v", field, fragments, describe(err))
}

// Fixture objects.

func unitObj(org, id, display string, kind registryv1.UnitKind, parent string) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{
		Name: "orgs/" + org + "/units/" + id, DisplayName: display, Kind: kind, Parent: parent,
	}}}
}

func postObj(org, id, display, unit string, rank registryv1.Rank) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Post{Post: &registryv1.Post{
		Name: "orgs/" + org + "/posts/" + id, DisplayName: display, Unit: "orgs/" + org + "/units/" + unit, Rank: rank,
	}}}
}

func personObj(org, id, display string) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Person{Person: &registryv1.Person{
		Name: "orgs/" + org + "/people/" + id, DisplayName: display,
	}}}
}

func assignmentObj(org, id, person, post string, role registryv1.AbRole, start, end string) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Assignment{Assignment: &registryv1.Assignment{
		Name: "orgs/" + org + "/assignments/" + id, Person: "orgs/" + org + "/people/" + person,
		Post: "orgs/" + org + "/posts/" + post, AbRole: role, StartDate: start, EndDate: end,
	}}}
}

func powerObj(org, id, code, display, unit string, cat registryv1.PowerCategory, public, publish bool) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Publish: publish, Object: &registryv1.CatalogObject_Power{Power: &registryv1.Power{
		Name: "orgs/" + org + "/powers/" + id, Code: code, DisplayName: display, Category: cat,
		ActingUnit: "orgs/" + org + "/units/" + unit, Public: public, Content: display + "的内容",
		LegalBasis: []*registryv1.LegalBasis{{Law: "中华人民共和国预算法", Article: "第五十三条", ClauseText: "条文"}},
	}}}
}

// fundFlow is the Wuhan fund-disbursement chain of the seeds, on org's gkc (国库处) and
// sbc (社会保障处) units.
func fundFlow(org, power, id string) *registryv1.Flow {
	post := func(p string) *registryv1.FlowStep_Post {
		return &registryv1.FlowStep_Post{Post: "orgs/" + org + "/posts/" + p}
	}
	return &registryv1.Flow{
		Name:        "orgs/" + org + "/powers/" + power + "/flows/" + id,
		DisplayName: "资金拨付内部流程",
		Kind:        registryv1.FlowKind_FLOW_KIND_INTERNAL,
		Steps: []*registryv1.FlowStep{
			{Id: "zcjh", DisplayName: "支出计划", Actor: post("sb-jb"), TimeLimitDays: 2, Duty: "支出计划", Separations: []string{"jsh"}, Materials: []string{"用款申请"}},
			{Id: "zgzr", DisplayName: "主管责任人审核", Actor: post("sb-zg"), TimeLimitDays: 1, Duty: "审核", Separations: []string{"jsh"}},
			{Id: "fgcz", DisplayName: "分管处长审批", Actor: post("sb-fc"), TimeLimitDays: 1, Duty: "审批", Separations: []string{"jsh"}},
			{Id: "zfsh", DisplayName: "支付审核", Actor: post("gk-sh"), TimeLimitDays: 1, Duty: "支付审核", Separations: []string{"zfbf"}},
			{Id: "bfbl", DisplayName: "拨付办理", Actor: post("gk-bf"), TimeLimitDays: 1, Duty: "拨付办理", Payment: true,
				Control: registryv1.StepControl_STEP_CONTROL_HANDLE, Separations: []string{"zfbf"}},
		},
		Transitions: []*registryv1.Transition{
			{From: "start", To: "zcjh"}, {From: "zcjh", To: "zgzr"}, {From: "zgzr", To: "fgcz"},
			{From: "fgcz", To: "zfsh"}, {From: "zfsh", To: "bfbl"}, {From: "bfbl", To: "end"},
		},
		Separations: []*registryv1.Separation{
			{Id: "jsh", DisplayName: "经办/审核/审批分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES},
			{Id: "zfbf", DisplayName: "支付审核与拨付办理分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES},
		},
	}
}

func flowObj(f *registryv1.Flow, publish bool) *registryv1.CatalogObject {
	return &registryv1.CatalogObject{Publish: publish, Object: &registryv1.CatalogObject_Flow{Flow: f}}
}

// bureau applies a small finance bureau to org.
func (e *env) bureau(org string) {
	e.t.Helper()
	e.apply(bureauObjects(org)...)
}

// bureauObjects is a small finance bureau: units, posts, people, a published power with a
// published internal flow, and a public power with an external flow.
func bureauObjects(org string) []*registryv1.CatalogObject {
	return []*registryv1.CatalogObject{
		&registryv1.CatalogObject{Object: &registryv1.CatalogObject_Org{Org: &registryv1.Org{Name: "orgs/" + org, DisplayName: org + " 财政局"}}},
		unitObj(org, "gkc", "国库处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		unitObj(org, "sbc", "社会保障处", registryv1.UnitKind_UNIT_KIND_DIVISION, ""),
		postObj(org, "sb-jb", "社保处经办岗", "sbc", registryv1.Rank_RANK_HANDLER),
		postObj(org, "sb-zg", "社保处主管责任人", "sbc", registryv1.Rank_RANK_RESPONSIBLE_OFFICER),
		postObj(org, "sb-fc", "社保处分管处长", "sbc", registryv1.Rank_RANK_DEPUTY_DIRECTOR),
		postObj(org, "gk-sh", "国库处支付审核岗", "gkc", registryv1.Rank_RANK_HANDLER),
		postObj(org, "gk-bf", "国库处拨付办理岗", "gkc", registryv1.Rank_RANK_HANDLER),
		personObj(org, "wang-li", "王立"),
		personObj(org, "li-na", "李娜"),
		assignmentObj(org, "a1", "wang-li", "gk-sh", registryv1.AbRole_AB_ROLE_A, "2021-03-01", ""),
		assignmentObj(org, "a2", "li-na", "gk-sh", registryv1.AbRole_AB_ROLE_B, "2021-03-01", ""),
		powerObj(org, "zjbf", "CZ-CW-001", "财政资金拨付", "gkc", registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE, false, true),
		flowObj(fundFlow(org, "zjbf", "internal"), true),
		powerObj(org, "dljz", "CZ-XK-001", "代理记账机构设立审批", "sbc", registryv1.PowerCategory_POWER_CATEGORY_LICENSING, true, true),
		flowObj(&registryv1.Flow{
			Name: "orgs/" + org + "/powers/dljz/flows/external", DisplayName: "代理记账审批对外流程", Kind: registryv1.FlowKind_FLOW_KIND_EXTERNAL,
			Steps: []*registryv1.FlowStep{
				{Id: "sl", DisplayName: "受理", Actor: &registryv1.FlowStep_Post{Post: "orgs/" + org + "/posts/sb-jb"}, TimeLimitDays: 5, Materials: []string{"申请书", "营业执照"}},
				{Id: "sc", DisplayName: "审查", Actor: &registryv1.FlowStep_Post{Post: "orgs/" + org + "/posts/sb-zg"}, TimeLimitDays: 10},
				{Id: "jd", DisplayName: "决定", Actor: &registryv1.FlowStep_Post{Post: "orgs/" + org + "/posts/sb-fc"}, TimeLimitDays: 5},
			},
			Transitions: []*registryv1.Transition{{From: "start", To: "sl"}, {From: "sl", To: "sc"}, {From: "sc", To: "jd"}, {From: "jd", To: "end"}},
		}, true),
	}
}
