package ctl_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/audit"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/store"
	"github.com/fenquan/fenquan/tools/internal/ctl"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// TestAuditVerifyAndExport: verify passes on a sealed log and fails, naming the entry,
// once one is edited in etcd; export writes one JSON line an entry.
func TestAuditVerifyAndExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, root := etcdtest.Client(t), etcdtest.Root(t)
	st := store.New(cli, store.Keyspace{Root: root, Service: "svc"})
	wctx := store.WithDecision(ctx, store.Decision{ID: "d1", PolicyRevision: "r1"})
	for _, id := range []string{"a", "b", "c"} {
		k := st.Keys.Key("cz", "things", id)
		if _, err := st.Commit(wctx, store.NewTxn().ExpectRevision(k, 0, id).Put(k, []byte(id))); err != nil {
			t.Fatal(err)
		}
	}
	s := audit.NewSealer(cli, root, audit.Options{Interval: time.Hour})
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(sctx) }()
	defer func() { stop(); <-done }()
	for !s.Leading() {
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	auditCmd := func(args ...string) (string, error) {
		cmd := ctl.New()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"audit"}, append(args, "--etcd", etcdtest.Server(t).Endpoints[0], "--key-root", root)...))
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := auditCmd("verify", "--org", "cz")
	if err != nil || !strings.Contains(out, "3 entries sealed in 1 seals") || !strings.Contains(out, "verified") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "cz.jsonl")
	if out, err := auditCmd("export", "--org", "cz", "-o", file); err != nil || !strings.Contains(out, "3 entries of org cz") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 3 || !strings.Contains(lines[0], `"seal":0`) {
		t.Fatalf("export:\n%s", b)
	}
	if _, err := auditCmd("export", "--org", "cz", "--from", "yesterday"); err == nil {
		t.Fatal("export accepted --from yesterday")
	}

	// Edit the second entry behind the service's back.
	resp, err := cli.Get(ctx, store.AuditOrgPrefix(root, "cz")+"e/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortAscend))
	if err != nil || len(resp.Kvs) != 3 {
		t.Fatalf("entries: %v", err)
	}
	kv := resp.Kvs[1]
	if _, err := cli.Put(ctx, string(kv.Key), strings.Replace(string(kv.Value), `"d1"`, `"d2"`, 1)); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(string(kv.Key), store.AuditOrgPrefix(root, "cz"))
	out, err = auditCmd("verify", "--org", "cz")
	if err == nil || !strings.Contains(err.Error(), "altered: entry "+id+" (seal 0)") || !strings.Contains(out, "DOES NOT VERIFY") {
		t.Fatalf("verify of an edited log: %v\n%s", err, out)
	}
}
