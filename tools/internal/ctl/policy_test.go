package ctl_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/fenquan/fenquan/policies"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenquan/fenquan/services/registry/policyadmin"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/server"
	"github.com/fenquan/fenquan/tools/internal/ctl"
)

// policyFiles is a small policy set: t.act is denied above data.t.limit.
func policyFiles(limit int, tag string) map[string]string {
	return map[string]string{
		"main/main.rego": `package fenquan.main

violations contains v if {
	input.amount > data.t.limit
	v := {
		"rule": "t.limit",
		"zh": sprintf("金额 %v 超过限额 %v", [input.amount, data.t.limit]),
		"en": sprintf("the amount %v exceeds the limit %v", [input.amount, data.t.limit]),
	}
}

decision := {"allowed": count(violations) == 0, "violations": [v | some v in violations], "output": {}}
`,
		"main/main_test.rego": `package fenquan.main_test

import data.fenquan.main

test_allows_within_the_limit if {
	main.decision.allowed with input as {"amount": 1}
}

test_denies_above_the_limit if {
	not main.decision.allowed with input as {"amount": 1000000}
}
`,
		"t/data.json": fmt.Sprintf("{\n  \"limit\": %d,\n  \"tag\": %q\n}\n", limit, tag),
	}
}

func writeDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// policyService runs the policy service in process, as the registry binary serves it, on
// its own embedded etcd, with a decision point following the published sets. It returns
// the address and a function minting a policy officer's token.
func policyService(t *testing.T) (string, func(subject string) string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	etcd, err := etcdx.StartEmbedded(ctx, etcdx.EmbedConfig{Dir: t.TempDir(), NoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(etcd.Close)
	t.Cleanup(cancel)
	log := slog.New(slog.DiscardHandler)
	dev, err := auth.NewEphemeralDevTokens()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{Issuers: []auth.IssuerConfig{dev.IssuerConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	// Access is decided by the real api policy, like in every service.
	access := pdp.New(pdp.Config{Service: "access", Timeout: 10 * time.Second})
	embedded, err := pdp.EmbeddedSet(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if err := access.Load(context.Background(), embedded); err != nil {
		t.Fatal(err)
	}
	roles := pdp.Authorizer{PDP: access}
	srv, err := server.New(server.Config{Service: "registry", GRPCServices: policyadmin.GRPCServices, Logger: log, Verifier: verifier, Authorizer: roles})
	if err != nil {
		t.Fatal(err)
	}
	def := &pdp.Set{Revision: "embedded", Files: map[string][]byte{}}
	for n, c := range policyFiles(100, "default") {
		def.Files[n] = []byte(c)
	}
	p := pdp.New(pdp.Config{Service: "registry", Timeout: 10 * time.Second})
	if err := p.Follow(ctx, pdp.FollowConfig{Etcd: etcd.Client, Root: "/fenquan", Service: "registry", Instance: "r1", Default: def}); err != nil {
		t.Fatal(err)
	}
	policyadmin.New(policyadmin.Config{Etcd: etcd.Client, KeyRoot: "/fenquan", PDP: p, Default: def, Logger: log}).Register(srv.GRPC)
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv.Addr(), func(subject string) string {
		tok, err := dev.Mint(subject, auth.Claims{PlatformRoles: []string{"policy-officer"}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

func TestPolicyCommands(t *testing.T) {
	addr, mint := policyService(t)
	alice, bob := mint("alice"), mint("bob")
	work := t.TempDir()
	dir := filepath.Join(work, "policies")
	policy := func(token string, args ...string) (string, error) {
		t.Helper()
		cmd := ctl.New()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--registry", addr, "--token", token, "--data", work, "policy"}, args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	must := func(token string, args ...string) string {
		t.Helper()
		out, err := policy(token, args...)
		if err != nil {
			t.Fatalf("policy %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	wantIn := func(what, out string, fragments ...string) {
		t.Helper()
		for _, f := range fragments {
			if !strings.Contains(out, f) {
				t.Fatalf("%s: no %q in\n%s", what, f, out)
			}
		}
	}

	// Local test: the folder compiles and its tests pass; a failing test is named.
	writeDir(t, dir, policyFiles(100, "A"))
	wantIn("test", must(alice, "test", dir), "ok: ", "its 2 tests pass")
	broken := filepath.Join(work, "broken")
	bad := policyFiles(100, "A")
	bad["main/extra_test.rego"] = "package fenquan.extra_test\n\ntest_never if {\n\t1 == 2\n}\n"
	writeDir(t, broken, bad)
	out, err := policy(alice, "test", broken)
	if err == nil {
		t.Fatalf("test of a failing set passed:\n%s", out)
	}
	wantIn("failing test", out, "refused at test", "test_never")

	wantIn("status before publishing", must(alice, "status"), "active: none published", "registry", "r1", "embedded")

	// Propose as alice; alice cannot approve her own proposal; bob can.
	wantIn("propose", must(alice, "propose", dir, "-m", "retag"), "proposed policySets/00000001", "2 tests pass", "changed: t/data.json")
	out, err = policy(alice, "approve", "1")
	if err == nil {
		t.Fatalf("the proposer approved: %s", out)
	}
	wantIn("four eyes", err.Error(), "FailedPrecondition", "four-eyes", "四眼原则", "FOUR_EYES")
	wantIn("approve", must(bob, "approve", "00000001"), "policySets/00000001 approved by sub:bob (proposed by sub:alice)")

	// Change the limit and add a file: the diff against the active set shows both.
	changed := policyFiles(200, "A")
	changed["x/data.json"] = "{\"extra\": true}\n"
	writeDir(t, dir, changed)
	diff := must(bob, "diff", dir)
	wantIn("diff", diff, "--- policySets/00000001/t/data.json", "+++ "+dir+"/t/data.json", "@@ -1,4 +1,4 @@",
		"-  \"limit\": 100,", "+  \"limit\": 200,", "added:   x/data.json", "1 changed, 1 added, 0 removed")
	wantIn("propose", must(bob, "propose", dir, "-m", "raise the limit"), "proposed policySets/00000002", "changed: t/data.json, x/data.json")
	wantIn("diff of a proposal", must(alice, "diff", "--set", "2"), "+  \"limit\": 200,", "added:   x/data.json")
	wantIn("reject", must(alice, "reject", "policySets/00000002", "-m", "no basis for 200"), "policySets/00000002 rejected by sub:alice: no basis for 200")

	writeDir(t, dir, policyFiles(300, "A"))
	must(bob, "propose", dir, "-m", "raise the limit to 300")
	must(alice, "approve", "3")

	history := must(alice, "history")
	lines := strings.Split(strings.TrimSpace(history), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.HasPrefix(lines[1], "00000003  ACTIVE") || !strings.HasPrefix(lines[2], "00000002  REJECTED") ||
		!strings.HasPrefix(lines[3], "00000001  SUPERSEDED") {
		t.Fatalf("history:\n%s", history)
	}
	wantIn("history", history, "rejected by sub:alice", "sub:bob", "t/data.json,x/data.json")

	// One officer rolls back to an earlier active set.
	wantIn("rollback", must(bob, "rollback", "1", "-m", "300 is wrong"), "policySets/00000001 is active again (approved by sub:bob)")
	wantIn("status", must(alice, "status"), "active: policySets/00000001")

	// Check with the active set once the decision point has loaded it.
	input := filepath.Join(work, "input.json")
	if err := os.WriteFile(input, []byte(`{"amount": 150}`), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = must(alice, "check", "t.act", "-f", input)
		if strings.Contains(out, "policy revision: policySets/00000001") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantIn("check", out, "allowed: false", "policy revision: policySets/00000001", "t.limit",
		"zh: 金额 150 超过限额 100", "en: the amount 150 exceeds the limit 100")
	deadline = time.Now().Add(10 * time.Second)
	for out = must(alice, "status"); !strings.Contains(out, "policySets/00000001  -") && time.Now().Before(deadline); out = must(alice, "status") {
		time.Sleep(20 * time.Millisecond) // the instance reports after it has loaded the set
	}
	wantIn("status after the rollback", out, "registry  r1        policySets/00000001  -")

	if _, err := policy(alice, "approve", "seven"); err == nil || !strings.Contains(err.Error(), "not a policy set id") {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := policy(alice, "propose", dir); err == nil || !strings.Contains(err.Error(), "-m is required") {
		t.Fatalf("propose without a note: %v", err)
	}
}
