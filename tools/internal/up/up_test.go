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

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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
