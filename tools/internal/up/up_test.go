package up_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/fenquan/fenquan/tools/internal/up"
)

func start(t *testing.T, dir string) *up.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	s, err := up.Start(ctx, up.Options{DataDir: dir, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// restCase runs a case over REST as the README shows: open it, sign its entry step, find
// it in the next signer's inbox; a retried request id answers the first result; a denial
// is 403 with the rule.
func restCase(t *testing.T, s *up.Stack) {
	t.Helper()
	token := func(person string) string {
		tok, err := s.Dev.Mint(person, up.StaffClaims(person), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	feng, han := token("feng-yu"), token("han-bing")
	body := `{"title": "REST 测试拨付", "flow": "orgs/czj/powers/zjbf/flows/internal",
		"a": "orgs/czj/people/feng-yu", "b": "orgs/czj/people/cao-yang",
		"payload": {"amount": 120000, "fund": "zx-2026-sb", "indicator": "ZB-2026-SB-0031",
			"payee": {"name": "江城市民政局", "code": "11420100MB1234567X"}, "purpose": "测试"}}`
	code, created := send(t, http.MethodPost, s.GatewayURL+"/v1/orgs/czj/cases?requestId=rest-open-1", feng, body)
	var c struct {
		Name, Etag string
		Payload    struct{ Fund string }
		Active     []struct{ Step string }
	}
	if err := json.Unmarshal([]byte(created), &c); code != 200 || err != nil || len(c.Active) != 1 || c.Active[0].Step != "zcjh" {
		t.Fatalf("create over REST: %d %.400s", code, created)
	}
	if c.Payload.Fund != "ZX-2026-SB" {
		t.Fatalf("fund stored as %q", c.Payload.Fund)
	}
	if code, again := send(t, http.MethodPost, s.GatewayURL+"/v1/orgs/czj/cases?requestId=rest-open-1", feng, body); code != 200 || again != created {
		t.Fatalf("retried create: %d, same answer %v", code, again == created)
	}
	// han-bing (主管责任人) may not sign the 支出计划 step: 403 naming the rule.
	code, denied := send(t, http.MethodPost, s.GatewayURL+"/v1/"+c.Name+":act", han, `{"action": "ACTION_SIGN", "step": "zcjh", "requestId": "rest-deny-1"}`)
	if code != 403 || !strings.Contains(denied, "signoff.not_holder") {
		t.Fatalf("denied sign: %d %.400s", code, denied)
	}
	code, signed := send(t, http.MethodPost, s.GatewayURL+"/v1/"+c.Name+":act", feng, `{"action": "ACTION_SIGN", "step": "zcjh", "requestId": "rest-sign-1", "text": "申请拨付"}`)
	if code != 200 || !strings.Contains(signed, `"zgzr"`) {
		t.Fatalf("sign over REST: %d %.400s", code, signed)
	}
	code, inbox := get(t, s.GatewayURL+"/v1/orgs/czj/inbox?pageSize=100", han)
	if code != 200 || !strings.Contains(inbox, c.Name) {
		t.Fatalf("han-bing's inbox: %d %.400s", code, inbox)
	}
	code, events := get(t, s.GatewayURL+"/v1/"+c.Name+"/events", feng)
	if code != 200 || !strings.Contains(events, `"signed"`) {
		t.Fatalf("timeline: %d %.400s", code, events)
	}
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	return send(t, http.MethodGet, url, token, "")
}

// `up` starts every part, answers health over gRPC and REST, serves the demo, and keeps
// its data across a restart.
func TestUpServesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	if s.DemoChanges < 100 {
		t.Fatalf("demo loaded %d objects", s.DemoChanges)
	}
	for name, addr := range s.GRPC {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		conn.Close()
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%s health = %v, %v", name, resp, err)
		}
		if code, body := get(t, "http://"+s.Metrics[name]+"/metrics", ""); code != 200 || !strings.Contains(body, "grpc_server_handled_total") {
			t.Fatalf("%s metrics: %d", name, code)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get(t, s.GatewayURL+"/readyz", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway never ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	demoWarnings(t, s)
	code, body := get(t, s.GatewayURL+"/public/v1/orgs/czj/powers?pageSize=100", "")
	var public struct {
		Powers []struct{ Name string } `json:"powers"`
	}
	if err := json.Unmarshal([]byte(body), &public); code != 200 || err != nil || len(public.Powers) < 5 {
		t.Fatalf("public catalogue: %d %.300s", code, body)
	}
	admin, err := s.Dev.Mint(up.AdminSub, up.AdminClaims(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s.GatewayURL+"/v1/orgs/czj/powers/zjbf/flows/internal:diagram", admin); code != 200 || !strings.Contains(body, "<svg") {
		t.Fatalf("diagram: %d %.200s", code, body)
	}
	if code, _ := get(t, s.GatewayURL+"/v1/orgs/czj/powers", ""); code != 401 {
		t.Fatalf("unauthenticated list: %d", code)
	}
	restCase(t, s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// Restart on the same folder: the data and the signing key are still there.
	s2 := start(t, dir)
	defer s2.Stop()
	if s2.DemoChanges != 0 {
		t.Fatalf("demo re-applied %d changes after a restart", s2.DemoChanges)
	}
	if code, _ := get(t, s2.GatewayURL+"/v1/orgs/czj", admin); code != 200 {
		t.Fatalf("old token after restart: %d", code)
	}
}

// demoWarnings: supervision consumed the demo cases — the 150万 case signed the moment it
// arrived is a 黄牌 (fast_sign) — and the risk register counted it; over REST, for the
// discipline office.
func demoWarnings(t *testing.T, s *up.Stack) {
	t.Helper()
	tok, err := s.Dev.Mint("cheng-gang", up.StaffClaims("cheng-gang", "supervisor"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	wait := func(what, path string, ok func(string) bool) {
		t.Helper()
		for {
			code, body := get(t, s.GatewayURL+path, tok)
			if code == 200 && ok(body) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d %.600s", what, code, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	wait("no fast_sign warning on demo-zjbf-04 counted by the risk register", "/v1/orgs/czj/supervision/warnings?rule=fast_sign&pageSize=100", func(b string) bool {
		return strings.Contains(b, `"subject":"orgs/czj/cases/demo-zjbf-04"`) && strings.Contains(b, `"riskRecorded":true`)
	})
	// The B角 of demo-zjbf-06 declared a relation with its payee: a 红牌 and a hold placed.
	wait("no hold on demo-zjbf-06", "/v1/orgs/czj/supervision/warnings?rule=related_payee", func(b string) bool {
		return strings.Contains(b, `"subject":"orgs/czj/cases/demo-zjbf-06"`) && strings.Contains(b, `"hold":"h`)
	})
	// 王丽 has held the key post ysc-zbgl since 2019: a 黄牌 on the first tick.
	wait("no rotation card", "/v1/orgs/czj/supervision/warnings?rule=rotation_overdue", func(b string) bool {
		return strings.Contains(b, `"subject":"orgs/czj/posts/ysc-zbgl"`) && strings.Contains(b, `"SEVERITY_YELLOW"`)
	})
	otok, err := s.Dev.Mint("cheng-gang", up.StaffClaims("cheng-gang", "discipline-officer"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok = otok
	wait("no demo complaint", "/v1/orgs/czj/supervision/complaints", func(b string) bool {
		return strings.Contains(b, `"state":"COMPLAINT_STATE_RECEIVED"`)
	})
	code, body := send(t, http.MethodPost, s.GatewayURL+"/public/v1/complaints:status", "", `{"receiptCode":"AAAAAAAAAAAAAAAAAAAA"}`)
	if code != 404 {
		t.Fatalf("status of an unknown receipt over REST: %d %s", code, body)
	}
}

// TestUpListensOnLoopbackOnly: development mode (plaintext, development tokens) refuses
// a gateway address or etcd URL off loopback before anything starts.
func TestUpListensOnLoopbackOnly(t *testing.T) {
	for _, o := range []up.Options{
		{GatewayAddr: "0.0.0.0:8080"}, {GatewayAddr: ":8080"}, {GatewayAddr: "192.0.2.1:8080"},
		{EtcdURL: "http://0.0.0.0:2379"}, {EtcdURL: "http://[::]:2379"}, {EtcdURL: "http://etcd.example:2379"},
	} {
		o.DataDir = t.TempDir()
		if s, err := up.Start(context.Background(), o); err == nil || !strings.Contains(err.Error(), "loopback") {
			if s != nil {
				_ = s.Stop()
			}
			t.Errorf("Start(%+v) = %v", o, err)
		}
	}
}
