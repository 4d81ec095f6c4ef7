package ctl_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenquan/fenquan/tools/internal/ctl"
	"github.com/fenquan/fenquan/tools/internal/demo"
	"github.com/fenquan/fenquan/tools/internal/up"
)

func run(t *testing.T, s *up.Stack, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := ctl.New()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"--registry", s.GRPC["registry"], "--data", dir}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestApplyGetDiagramAndTokens(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := up.Start(ctx, up.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	admin, _ := s.Dev.Mint(up.AdminSub, up.AdminClaims(), time.Hour)
	if err := os.WriteFile(filepath.Join(dir, "dev", "admin.token"), []byte(admin), 0o600); err != nil {
		t.Fatal(err)
	}
	demoFile := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(demoFile, demo.Catalog(), 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := run(t, s, dir, "apply", "-f", demoFile, "--dry-run")
	if err != nil || !strings.Contains(out, "+ create    Power               orgs/czj/powers/zjbf (publish)") || !strings.Contains(out, "dry run, nothing written") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = run(t, s, dir, "apply", "-f", demoFile)
	if err != nil || !strings.Contains(out, "applied at etcd revision") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err = run(t, s, dir, "apply", "-f", demoFile)
	if err != nil || !strings.Contains(out, "0 created, 0 updated") {
		t.Fatalf("re-apply: %v\n%s", err, out)
	}

	// A change and an error in the same file: the error is reported at its line and
	// nothing is written, the change included.
	bad := strings.Replace(string(demo.Catalog()), "displayName: 国库处支付审核岗", "displayName: 国库处支付审核岗（改）", 1)
	lines := strings.Split(bad, "\n")
	var badLine int
	for i, l := range lines {
		if strings.Contains(l, "post: orgs/czj/posts/gkc-bfbl") && badLine == 0 && i > 1300 {
			lines[i] = strings.Replace(l, "gkc-bfbl", "gkc-nonexistent", 1)
			badLine = i + 1
		}
	}
	if badLine == 0 {
		t.Fatal("test fixture: no flow step post to break")
	}
	badFile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFile, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, s, dir, "apply", "-f", badFile)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), badFile+":") {
		t.Fatalf("bad apply: %v", err)
	}
	if !strings.Contains(err.Error(), ":"+strconv.Itoa(badLine)+":") {
		t.Fatalf("bad apply does not point at line %d: %v", badLine, err)
	}
	out, err = run(t, s, dir, "get", "posts", "orgs/czj/posts/gkc-zfsh", "-o", "yaml")
	if err != nil || !strings.Contains(out, "displayName: 国库处支付审核岗\n") {
		t.Fatalf("post after the refused apply: %v\n%s", err, out)
	}

	out, err = run(t, s, dir, "get", "powers")
	if err != nil || strings.Count(out, "orgs/czj/powers/") < 20 {
		t.Fatalf("get powers: %v\n%s", err, out)
	}
	out, err = run(t, s, dir, "diagram", "orgs/czj/powers/zjbf/flows/internal", "--format", "mermaid")
	if err != nil || !strings.Contains(out, "flowchart TD") {
		t.Fatalf("diagram: %v\n%.300s", err, out)
	}
	out, err = run(t, s, dir, "dev", "token", "--person", "feng-yu")
	if err != nil || strings.Count(strings.TrimSpace(out), ".") != 2 {
		t.Fatalf("dev token: %v %q", err, out)
	}
}
