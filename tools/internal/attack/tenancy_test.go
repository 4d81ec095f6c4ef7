package attack

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/auth"
)

// A token of org A used on org B: the other org is 江北区财政局 (created here), whose staff
// member holds every org role there — under the very person id (xu-gang, 许刚) that in czj
// holds the 处长 step of demo-cgfs-02. Guessing czj's names gets NOT_FOUND, worded as for
// a name that does not exist, and writes nothing.
func TestCrossOrg(t *testing.T) {
	other := uniq("jbq")
	ok(t, rest(t, http.MethodPost, "/v1/orgs?orgId="+other, admin(t), map[string]any{"displayName": "江城市江北区财政局", "region": "江城市江北区"}))
	outsider := mint(t, other+":xu-gang", auth.Claims{Orgs: map[string]auth.Grant{other: {Person: "xu-gang",
		Roles: []string{"staff", "catalog-admin", "supervisor", "discipline-officer", "auditor"}}}})

	t.Run("control: the outsider's token works in its own org, 许刚's in czj", func(t *testing.T) {
		ok(t, rest(t, http.MethodGet, "/v1/orgs/"+other, outsider, nil))
		ok(t, rest(t, http.MethodGet, "/v1/orgs/"+org+"/cases/demo-cgfs-02", staff(t, "xu-gang"), nil))
		// The sign attempted below is one czj's 许刚 may make (asked without acting).
		check := ok(t, rest(t, http.MethodPost, "/v1/orgs/"+org+"/cases/demo-cgfs-02:check", staff(t, "xu-gang"),
			map[string]any{"action": "ACTION_SIGN", "step": "cz", "requestId": "check"}))
		if check["allowed"] != true {
			t.Fatalf("czj's 许刚 may not sign the step himself: %v", check)
		}
	})

	// notFound asserts a 404 worded exactly as for what, and that guessing a name that
	// does not exist answers the same (no oracle for which names exist).
	notFound := func(t *testing.T, r reply, what string) {
		t.Helper()
		e := refused(t, r, http.StatusNotFound, "NOT_FOUND")
		if e.Message != what+": not found" {
			t.Fatalf("message %q, want %q", e.Message, what+": not found")
		}
	}

	// Each read, and the same read of a name that does not exist: the answers are the same
	// but for the name.
	reads := []struct{ name, path, what, missingPath, missingWhat string }{
		{"read a czj case by its demo name", "/v1/orgs/czj/cases/demo-cgfs-02", "orgs/czj/cases/demo-cgfs-02",
			"/v1/orgs/czj/cases/demo-cgfs-99", "orgs/czj/cases/demo-cgfs-99"},
		{"read a czj case's timeline", "/v1/orgs/czj/cases/demo-zjbf-06/events", "orgs/czj/cases/demo-zjbf-06",
			"/v1/orgs/czj/cases/demo-zjbf-99/events", "orgs/czj/cases/demo-zjbf-99"},
		{"list czj's cases", "/v1/orgs/czj/cases", "orgs/czj", "/v1/orgs/czj-nosuch/cases", "orgs/czj-nosuch"},
		{"read czj's inbox", "/v1/orgs/czj/inbox", "orgs/czj", "/v1/orgs/czj-nosuch/inbox", "orgs/czj-nosuch"},
		{"read the org czj", "/v1/orgs/czj", "orgs/czj", "/v1/orgs/czj-nosuch", "orgs/czj-nosuch"},
		{"read czj's people", "/v1/orgs/czj/people", "orgs/czj", "/v1/orgs/czj-nosuch/people", "orgs/czj-nosuch"},
		{"read czj's supervision warnings as a discipline officer of the other org", "/v1/orgs/czj/supervision/warnings", "orgs/czj",
			"/v1/orgs/czj-nosuch/supervision/warnings", "orgs/czj-nosuch"},
	}
	for _, rd := range reads {
		t.Run(rd.name, func(t *testing.T) {
			notFound(t, rest(t, http.MethodGet, rd.path, outsider, nil), rd.what)
			notFound(t, rest(t, http.MethodGet, rd.missingPath, outsider, nil), rd.missingWhat)
		})
	}

	attempts := []struct {
		name, path string
		body       map[string]any
		what       string
		watch      func(t *testing.T, requestID string) *writes
	}{
		{name: "sign the 处长 step of a czj case, as the person id that holds it there",
			path: "/v1/orgs/czj/cases/demo-cgfs-02:act", what: "orgs/czj/cases/demo-cgfs-02",
			body: map[string]any{"action": "ACTION_SIGN", "step": "cz"},
			watch: func(t *testing.T, rid string) *writes {
				return onCase(t, "orgs/czj/cases/demo-cgfs-02", other+":xu-gang", rid)
			}},
		{name: "hold a czj case as a supervisor of the other org",
			path: "/v1/orgs/czj/cases/demo-cgfs-02:act", what: "orgs/czj/cases/demo-cgfs-02",
			body: map[string]any{"action": "ACTION_HOLD", "text": "跨单位拦截"},
			watch: func(t *testing.T, rid string) *writes {
				return onCase(t, "orgs/czj/cases/demo-cgfs-02", other+":xu-gang", rid)
			}},
		{name: "open a case in czj", what: "orgs/czj",
			body: caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031")},
		{name: "write czj's catalogue (create a unit) as a catalogue admin of the other org", what: "orgs/czj",
			body: unitBody()},
	}
	for _, wr := range attempts {
		t.Run(wr.name, func(t *testing.T) {
			rid := uniq("xorg")
			var w *writes
			path := wr.path
			switch {
			case wr.watch != nil:
				w = wr.watch(t, rid)
				wr.body["requestId"] = rid
			case wr.body["flow"] != nil:
				path = createPath(org, rid, rid)
				w = onCreate(t, org, rid, other+":xu-gang", rid)
			default:
				path = "/v1/orgs/" + org + "/units?unitId=" + rid
				w = (&writes{}).key(registryKeys.Key(org, "units", rid)).watch(t)
			}
			notFound(t, rest(t, http.MethodPost, path, outsider, wr.body), wr.what)
			w.check(t)
		})
	}

	t.Run("the path names the other org's case, the body a czj case", func(t *testing.T) {
		rid := uniq("xorg")
		w := onCase(t, "orgs/czj/cases/demo-cgfs-02", other+":xu-gang", rid)
		r := rest(t, http.MethodPost, "/v1/orgs/"+other+"/cases/x:act", outsider,
			map[string]any{"name": "orgs/czj/cases/demo-cgfs-02", "action": "ACTION_SIGN", "step": "cz", "requestId": rid})
		// The path's name is the request's: the body's is overwritten by it.
		notFound(t, r, "orgs/"+other+"/cases/x")
		w.check(t)
	})
	t.Run("a platform administrator and policy officer without a czj grant signs a czj case", func(t *testing.T) {
		rid := uniq("xorg")
		w := onCase(t, "orgs/czj/cases/demo-cgfs-02", "platform-op", rid)
		tok := mint(t, "platform-op", auth.Claims{PlatformRoles: []string{"platform-admin", "policy-officer", "policy-reader"}})
		notFound(t, rest(t, http.MethodPost, "/v1/orgs/czj/cases/demo-cgfs-02:act", tok,
			map[string]any{"action": "ACTION_SIGN", "step": "cz", "requestId": rid}), "orgs/czj/cases/demo-cgfs-02")
		w.check(t)
	})
	t.Run("gRPC: read and sign a czj case straight at the service", func(t *testing.T) {
		rid := uniq("xorg")
		w := onCase(t, "orgs/czj/cases/demo-cgfs-02", other+":xu-gang", rid)
		ctx, cancel := asToken(outsider)
		defer cancel()
		cl := approvalv1.NewCaseServiceClient(sys.conns["approval"])
		if _, err := cl.GetCase(ctx, &approvalv1.GetCaseRequest{Name: "orgs/czj/cases/demo-cgfs-02"}); status.Code(err) != codes.NotFound {
			t.Fatalf("GetCase: want NotFound, got %v", err)
		}
		_, err := cl.Act(ctx, &approvalv1.ActRequest{Name: "orgs/czj/cases/demo-cgfs-02", Action: approvalv1.Action_ACTION_SIGN, Step: "cz", RequestId: rid})
		if status.Code(err) != codes.NotFound || status.Convert(err).Message() != "orgs/czj/cases/demo-cgfs-02: not found" {
			t.Fatalf("Act: want NotFound, got %v", err)
		}
		w.check(t)
	})
}

// The event stream of every org (WatchEvents, orgs/-) is the services' (platform role
// service): a staff member of any org is refused, the supervision service's token reads
// it (the control).
func TestEventStream(t *testing.T) {
	watch := func(token, parent string) error {
		ctx, cancel := asToken(token)
		defer cancel()
		st, err := approvalv1.NewEventServiceClient(sys.conns["approval"]).WatchEvents(ctx, &approvalv1.WatchEventsRequest{Parent: parent})
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	}
	for _, c := range []struct{ name, token, parent string }{
		{"a czj staff member streams every org's events (orgs/-)", staff(t, "feng-yu"), "orgs/-"},
		{"a czj auditor streams czj's events", staff(t, "feng-yu", "auditor", "discipline-officer", "supervisor"), "orgs/czj"},
		{"the admin (platform-admin, policy-officer) streams every org's events", admin(t), "orgs/-"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := watch(c.token, c.parent)
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("want PermissionDenied, got %v", err)
			}
		})
	}
	t.Run("control: the supervision service's token streams every org's events", func(t *testing.T) {
		if err := watch(mint(t, "fenquan-supervision", auth.Claims{PlatformRoles: []string{"service"}}), "orgs/-"); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	})
}

// A rogue service: a token of the platform role service (what the supervision service
// holds) acts in every org, but only to hold a case; signing, opening a case or deciding
// as a person is refused.
func TestServiceToken(t *testing.T) {
	svc := mint(t, "fenquan-supervision", auth.Claims{PlatformRoles: []string{"service"}})
	name := openCase(t, "feng-yu", caseBody("feng-yu", "cao-yang", 120000, mzj, "ZB-2026-SB-0031"))
	cl := approvalv1.NewCaseServiceClient(sys.conns["approval"])
	call := func(req *approvalv1.ActRequest) error {
		ctx, cancel := asToken(svc)
		defer cancel()
		_, err := cl.Act(ctx, req)
		return err
	}
	for _, c := range []struct {
		name string
		req  *approvalv1.ActRequest
	}{
		{"sign the entry step", &approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: "zcjh"}},
		{"sign on behalf of the step's holder", &approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_SIGN, Step: "zcjh", OnBehalfOf: person("feng-yu")}},
		{"withdraw the case", &approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_WITHDRAW, Text: "撤回"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.RequestId = uniq("svc")
			w := onCase(t, name, "fenquan-supervision", c.req.RequestId)
			err := call(c.req)
			if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "only people act on cases") {
				t.Fatalf("want PermissionDenied (NOT_A_PERSON), got %v", err)
			}
			w.check(t)
		})
	}
	t.Run("open a case in czj", func(t *testing.T) {
		id := uniq("svc")
		w := onCreate(t, org, id, "fenquan-supervision", id)
		ctx, cancel := asToken(svc)
		defer cancel()
		if _, err := cl.CreateCase(ctx, grpcCase(id)); status.Code(err) != codes.NotFound {
			t.Fatalf("want NotFound, got %v", err)
		}
		w.check(t)
	})
	t.Run("control: the service token holds the case", func(t *testing.T) {
		before := revision(t, caseKey(org, caseID(name)))
		if err := call(&approvalv1.ActRequest{Name: name, Action: approvalv1.Action_ACTION_HOLD, RequestId: uniq("svc"),
			Text: "攻击测试：服务令牌拦截（对照）", Rule: "attack_suite_control"}); err != nil {
			t.Fatal(err)
		}
		if revision(t, caseKey(org, caseID(name))) == before {
			t.Fatal("the hold wrote nothing")
		}
	})
}
