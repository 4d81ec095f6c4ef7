package authz_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
	"github.com/fenquan/fenquan/services/shared/store"
)

// callers are the principals the test interceptor injects, by the "x-test-caller"
// metadata value. No value: an anonymous call.
var callers = map[string]*auth.Principal{
	// Granted another org only.
	"outsider": {Subject: "outsider", Orgs: map[string]auth.OrgGrant{"other": {Person: "o1", Roles: []string{"catalog-admin"}}}},
	// A plain member of cz.
	"clerk": {Subject: "clerk", Orgs: map[string]auth.OrgGrant{"cz": {Person: "p1", Roles: []string{"staff"}}}},
	// Catalogue administrator of cz.
	"cataloguer": {Subject: "cataloguer", Orgs: map[string]auth.OrgGrant{"cz": {Person: "p2", Roles: []string{"catalog-admin"}}}},
	// Catalogue administrator of cz, plain member of other.
	"half": {Subject: "half", Orgs: map[string]auth.OrgGrant{
		"cz":    {Person: "p3", Roles: []string{"catalog-admin"}},
		"other": {Person: "p3", Roles: []string{"staff"}},
	}},
	// Catalogue administrator of cz and other.
	"both": {Subject: "both", Orgs: map[string]auth.OrgGrant{
		"cz":    {Person: "p4", Roles: []string{"catalog-admin"}},
		"other": {Person: "p4", Roles: []string{"catalog-admin"}},
	}},
	// Holds the platform role, at platform level.
	"operator": {Subject: "operator", PlatformRoles: []string{"platform-admin"}},
	// Holds "platform-admin" as a role inside an org, which is not a platform grant.
	"confused": {Subject: "confused", Orgs: map[string]auth.OrgGrant{"cz": {Person: "p5", Roles: []string{"platform-admin", "catalog-admin"}}}},
}

func injectCaller(ctx context.Context) context.Context {
	if v := metadata.ValueFromIncomingContext(ctx, "x-test-caller"); len(v) == 1 {
		if p, ok := callers[v[0]]; ok {
			return auth.WithPrincipal(ctx, p)
		}
	}
	return ctx
}

// recorder notes which handlers ran.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *recorder) hit(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[name]++
}

// decisions notes whether the handler's context carries a policy decision, which its
// writes need (store.Commit refuses a write without one).
func (r *recorder) decisions(ctx context.Context) {
	if len(store.Decisions(ctx)) > 0 {
		r.hit("decided")
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = map[string]int{}
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

type orgServer struct {
	registryv1.UnimplementedOrgServiceServer
	rec *recorder
}

func (s *orgServer) GetOrg(_ context.Context, req *registryv1.GetOrgRequest) (*registryv1.Org, error) {
	s.rec.hit("GetOrg")
	return &registryv1.Org{Name: req.Name}, nil
}

func (s *orgServer) UpdateUnit(ctx context.Context, req *registryv1.UpdateUnitRequest) (*registryv1.Unit, error) {
	s.rec.hit("UpdateUnit")
	s.rec.decisions(ctx)
	return req.Unit, nil
}

func (s *orgServer) CreateOrg(ctx context.Context, req *registryv1.CreateOrgRequest) (*registryv1.Org, error) {
	s.rec.hit("CreateOrg")
	s.rec.decisions(ctx)
	return &registryv1.Org{Name: "orgs/" + req.OrgId}, nil
}

func (s *orgServer) ListOrgs(context.Context, *registryv1.ListOrgsRequest) (*registryv1.ListOrgsResponse, error) {
	s.rec.hit("ListOrgs")
	return &registryv1.ListOrgsResponse{}, nil
}

type catalogServer struct {
	registryv1.UnimplementedCatalogServiceServer
	rec *recorder
}

// ApplyCatalog checks, like the registry's, the permission in every org it touches.
func (s *catalogServer) ApplyCatalog(ctx context.Context, req *registryv1.ApplyCatalogRequest) (*registryv1.ApplyCatalogResponse, error) {
	s.rec.hit("ApplyCatalog:entered")
	resp := &registryv1.ApplyCatalogResponse{}
	for i, o := range req.Objects {
		name := o.GetUnit().GetName()
		org, ok := authz.OrgOf(name)
		if !ok {
			return nil, apierr.Field("objects", "bad name", "名称无效")
		}
		var err error
		if ctx, err = authz.Require(ctx, org, "registry.catalog.write", name); err != nil {
			return nil, err
		}
		resp.Changes = append(resp.Changes, &registryv1.CatalogChange{Index: int32(i), Name: name, Kind: "Unit"})
	}
	s.rec.hit("ApplyCatalog")
	s.rec.decisions(ctx)
	return resp, nil
}

type publicServer struct {
	registryv1.UnimplementedPublicCatalogServiceServer
	rec *recorder
}

func (s *publicServer) ListPublicPowers(context.Context, *registryv1.ListPublicPowersRequest) (*registryv1.ListPublicPowersResponse, error) {
	s.rec.hit("ListPublicPowers")
	return &registryv1.ListPublicPowersResponse{}, nil
}

type countingHealth struct {
	*health.Server
	rec *recorder
}

func (h countingHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.rec.hit("Check")
	return h.Server.Check(ctx, req)
}

func (h countingHealth) Watch(req *healthpb.HealthCheckRequest, ss healthpb.Health_WatchServer) error {
	h.rec.hit("Watch")
	return h.Server.Watch(req, ss)
}

type testServer struct {
	org    registryv1.OrgServiceClient
	cat    registryv1.CatalogServiceClient
	pub    registryv1.PublicCatalogServiceClient
	health healthpb.HealthClient
	rec    *recorder
}

// startServer serves the registry's services with stub handlers behind the real access
// interceptors, over a real loopback listener.
func startServer(t *testing.T) *testServer {
	t.Helper()
	rules := registryRules(t)
	rules.AllowPublic("/grpc.health.v1.Health/Check")
	roles := roleTable(t)
	rec := &recorder{calls: map[string]int{}}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				return h(injectCaller(ctx), req)
			},
			authz.UnaryServerInterceptor(rules, roles),
		),
		grpc.ChainStreamInterceptor(authz.StreamServerInterceptor(rules, roles)),
	)
	registryv1.RegisterOrgServiceServer(srv, &orgServer{rec: rec})
	registryv1.RegisterCatalogServiceServer(srv, &catalogServer{rec: rec})
	registryv1.RegisterPublicCatalogServiceServer(srv, &publicServer{rec: rec})
	healthpb.RegisterHealthServer(srv, countingHealth{Server: health.NewServer(), rec: rec})
	served := make(chan struct{})
	go func() { _ = srv.Serve(lis); close(served) }()
	t.Cleanup(func() { srv.Stop(); <-served })

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &testServer{
		org: registryv1.NewOrgServiceClient(conn), cat: registryv1.NewCatalogServiceClient(conn),
		pub: registryv1.NewPublicCatalogServiceClient(conn), health: healthpb.NewHealthClient(conn), rec: rec,
	}
}

// as is a call context for one of the callers ("" = anonymous).
func as(t *testing.T, caller string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if caller == "" {
		return ctx
	}
	if _, ok := callers[caller]; !ok {
		t.Fatalf("unknown caller %q", caller)
	}
	return metadata.AppendToOutgoingContext(ctx, "x-test-caller", caller)
}

func units(names ...string) *registryv1.ApplyCatalogRequest {
	req := &registryv1.ApplyCatalogRequest{}
	for _, n := range names {
		req.Objects = append(req.Objects, &registryv1.CatalogObject{Object: &registryv1.CatalogObject_Unit{Unit: &registryv1.Unit{Name: n, DisplayName: "国库处"}}})
	}
	return req
}

func TestUnaryInterceptorEndToEnd(t *testing.T) {
	s := startServer(t)
	type call func(ctx context.Context) error
	getOrg := func(name string) call {
		return func(ctx context.Context) error {
			_, err := s.org.GetOrg(ctx, &registryv1.GetOrgRequest{Name: name})
			return err
		}
	}
	updateUnit := func(u *registryv1.Unit) call {
		return func(ctx context.Context) error {
			_, err := s.org.UpdateUnit(ctx, &registryv1.UpdateUnitRequest{Unit: u})
			return err
		}
	}
	createOrg := func(ctx context.Context) error {
		_, err := s.org.CreateOrg(ctx, &registryv1.CreateOrgRequest{OrgId: "new", Org: &registryv1.Org{DisplayName: "新单位"}})
		return err
	}
	listOrgs := func(ctx context.Context) error {
		_, err := s.org.ListOrgs(ctx, &registryv1.ListOrgsRequest{})
		return err
	}
	apply := func(names ...string) call {
		return func(ctx context.Context) error {
			_, err := s.cat.ApplyCatalog(ctx, units(names...))
			return err
		}
	}
	listPublic := func(ctx context.Context) error {
		_, err := s.pub.ListPublicPowers(ctx, &registryv1.ListPublicPowersRequest{Parent: "orgs/cz"})
		return err
	}
	healthCheck := func(ctx context.Context) error {
		_, err := s.health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}

	for _, tc := range []struct {
		name    string
		caller  string
		call    call
		handler string // the handler that must run (on success) or must not run (on error)
		want    codes.Code
		// Checks of the error, when want is not OK.
		wantMsg     string   // exact status message
		wantInMsg   []string // substrings of the status message
		wantField   string   // a BadRequest field violation on this field
		wantEntered bool     // multi-org: the handler ran up to its Require
		wantDecided bool     // an allowed write: the handler's context carries a decision
	}{
		// Org-scoped reads: membership is enough, outsiders see NOT_FOUND.
		{name: "member reads its org", caller: "clerk", call: getOrg("orgs/cz"), handler: "GetOrg", want: codes.OK},
		{name: "caller without the org gets not found", caller: "outsider", call: getOrg("orgs/cz"), handler: "GetOrg",
			want: codes.NotFound, wantMsg: "orgs/cz: not found"},
		{name: "anonymous caller on an org method", caller: "", call: getOrg("orgs/cz"), handler: "GetOrg",
			want: codes.Unauthenticated},
		{name: "org field without orgs/ prefix", caller: "clerk", call: getOrg("cz"), handler: "GetOrg",
			want: codes.InvalidArgument, wantField: "name"},

		// Org-scoped writes: the permission comes with a role in that org.
		{name: "member without the permission is denied", caller: "clerk",
			call: updateUnit(&registryv1.Unit{Name: "orgs/cz/units/u1", DisplayName: "国库处"}), handler: "UpdateUnit",
			want: codes.PermissionDenied, wantMsg: "permission registry.catalog.write required in org cz; it comes with role catalog-admin (caller holds: staff)"},
		{name: "caller with the role passes", caller: "cataloguer",
			call: updateUnit(&registryv1.Unit{Name: "orgs/cz/units/u1", DisplayName: "国库处"}), handler: "UpdateUnit", want: codes.OK, wantDecided: true},
		{name: "role in the org does not reach another org", caller: "cataloguer",
			call: updateUnit(&registryv1.Unit{Name: "orgs/other/units/u1", DisplayName: "国库处"}), handler: "UpdateUnit",
			want: codes.NotFound, wantMsg: "orgs/other/units/u1: not found"},
		{name: "nested org field absent", caller: "cataloguer", call: updateUnit(nil), handler: "UpdateUnit",
			want: codes.InvalidArgument, wantField: "unit.name"},

		// Platform methods check platform roles.
		{name: "platform role creates an org", caller: "operator", call: createOrg, handler: "CreateOrg", want: codes.OK, wantDecided: true},
		{name: "org role is not a platform role", caller: "cataloguer", call: createOrg, handler: "CreateOrg",
			want: codes.PermissionDenied, wantInMsg: []string{"registry.orgs.create", "at platform level", "role platform-admin"}},
		{name: "platform role held inside an org does not count", caller: "confused", call: createOrg, handler: "CreateOrg",
			want: codes.PermissionDenied, wantInMsg: []string{"role platform-admin", "caller holds: )"}},
		{name: "anonymous caller on a platform method", caller: "", call: createOrg, handler: "CreateOrg", want: codes.Unauthenticated},
		{name: "platform method without a permission takes any caller", caller: "clerk", call: listOrgs, handler: "ListOrgs", want: codes.OK},
		{name: "platform method without a permission still needs a caller", caller: "", call: listOrgs, handler: "ListOrgs", want: codes.Unauthenticated},

		// Public methods run anonymously.
		{name: "public method, anonymous", caller: "", call: listPublic, handler: "ListPublicPowers", want: codes.OK},
		{name: "public method, any caller", caller: "outsider", call: listPublic, handler: "ListPublicPowers", want: codes.OK},
		{name: "AllowPublic method, anonymous", caller: "", call: healthCheck, handler: "Check", want: codes.OK},

		// Multi-org: the handler checks each org with Require.
		{name: "multi-org, every org granted", caller: "both", call: apply("orgs/cz/units/a", "orgs/other/units/b"),
			handler: "ApplyCatalog", want: codes.OK, wantEntered: true, wantDecided: true},
		{name: "multi-org, one org not granted", caller: "cataloguer", call: apply("orgs/cz/units/a", "orgs/other/units/b"),
			handler: "ApplyCatalog", want: codes.NotFound, wantMsg: "orgs/other/units/b: not found", wantEntered: true},
		{name: "multi-org, permission missing in one org", caller: "half", call: apply("orgs/cz/units/a", "orgs/other/units/b"),
			handler: "ApplyCatalog", want: codes.PermissionDenied,
			wantMsg:     "permission registry.catalog.write required in org other; it comes with role catalog-admin (caller holds: staff)",
			wantEntered: true},
		{name: "multi-org, anonymous", caller: "", call: apply("orgs/cz/units/a"), handler: "ApplyCatalog",
			want: codes.Unauthenticated, wantEntered: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.rec.reset()
			err := tc.call(as(t, tc.caller))
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tc.want)
			}
			ran := s.rec.count(tc.handler) > 0
			if ran != (tc.want == codes.OK) {
				t.Errorf("handler %s ran = %v, want %v", tc.handler, ran, tc.want == codes.OK)
			}
			if tc.handler == "ApplyCatalog" {
				if entered := s.rec.count("ApplyCatalog:entered") > 0; entered != tc.wantEntered {
					t.Errorf("ApplyCatalog entered = %v, want %v", entered, tc.wantEntered)
				}
			}
			if tc.wantDecided && s.rec.count("decided") == 0 {
				t.Errorf("handler %s ran without a policy decision in its context", tc.handler)
			}
			if tc.want == codes.OK {
				return
			}
			msg := status.Convert(err).Message()
			if tc.wantMsg != "" && msg != tc.wantMsg {
				t.Errorf("message = %q\nwant      %q", msg, tc.wantMsg)
			}
			for _, sub := range tc.wantInMsg {
				if !strings.Contains(msg, sub) {
					t.Errorf("message = %q, want it to contain %q", msg, sub)
				}
			}
			if tc.wantField != "" {
				vs, ok := apierr.ViolationsOf(err)
				if !ok || len(vs) != 1 || vs[0].Field != tc.wantField {
					t.Errorf("violations = %v, want one on %q", vs, tc.wantField)
				}
			}
			wantReason := map[codes.Code]string{
				codes.NotFound:         apierr.ReasonNotFound,
				codes.PermissionDenied: apierr.ReasonPermissionDenied,
				codes.Unauthenticated:  apierr.ReasonUnauthenticated,
				codes.InvalidArgument:  apierr.ReasonInvalidArgument,
			}[tc.want]
			if ei := errorInfo(err); ei == nil || ei.Reason != wantReason {
				t.Errorf("ErrorInfo = %v, want reason %s", ei, wantReason)
			}
		})
	}
}

// The answer for an org the caller is not granted is the answer for a missing resource:
// same code, message and details.
func TestNotGrantedLooksLikeMissing(t *testing.T) {
	s := startServer(t)
	_, denied := s.org.GetOrg(as(t, "outsider"), &registryv1.GetOrgRequest{Name: "orgs/cz"})
	missing := authz.NotFound("orgs/cz")
	gotSt, wantSt := status.Convert(denied), status.Convert(missing)
	if gotSt.Code() != wantSt.Code() || gotSt.Message() != wantSt.Message() {
		t.Fatalf("not granted = %v %q, missing = %v %q", gotSt.Code(), gotSt.Message(), wantSt.Code(), wantSt.Message())
	}
	if got, want := len(gotSt.Details()), len(wantSt.Details()); got != want {
		t.Fatalf("details: got %d, want %d", got, want)
	}
	for i, d := range gotSt.Details() {
		g, _ := d.(*errdetails.ErrorInfo)
		w, _ := wantSt.Details()[i].(*errdetails.ErrorInfo)
		if g == nil || w == nil || g.Reason != w.Reason || g.Domain != w.Domain || len(g.Metadata) != len(w.Metadata) {
			t.Errorf("detail %d = %v, want %v", i, d, wantSt.Details()[i])
		}
	}
}

func TestStreamInterceptorRefusesMethodsWithoutRule(t *testing.T) {
	s := startServer(t)
	// Health/Check is declared public above, Health/Watch is not: a stream of a method
	// without a rule is refused on its request, before the handler sees it.
	stream, err := s.health.Watch(as(t, "operator"), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	_, err = stream.Recv()
	if err == io.EOF || status.Code(err) != codes.Unimplemented {
		t.Fatalf("Recv = %v, want Unimplemented", err)
	}
	if ei := errorInfo(err); ei == nil || ei.Reason != "UNKNOWN_METHOD" {
		t.Errorf("ErrorInfo = %v, want reason UNKNOWN_METHOD", ei)
	}
	if got := s.rec.count("Watch"); got != 0 {
		// countingHealth.Watch runs after the generated handler's RecvMsg, which fails.
		t.Errorf("Watch handler ran %d times, want 0", got)
	}
}

func TestUnaryInterceptorRefusesMethodsWithoutRule(t *testing.T) {
	rules := registryRules(t)
	icpt := authz.UnaryServerInterceptor(rules, roleTable(t))
	ran := false
	ctx := auth.WithPrincipal(context.Background(), callers["operator"])
	_, err := icpt(ctx, &healthpb.HealthCheckRequest{}, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"},
		func(context.Context, any) (any, error) { ran = true; return nil, nil })
	if got := status.Code(err); got != codes.Unimplemented {
		t.Errorf("code = %v (%v), want Unimplemented", got, err)
	}
	if ran {
		t.Error("handler ran for a method without an access rule")
	}
}
