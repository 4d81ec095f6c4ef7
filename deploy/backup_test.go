package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	clientsnapshot "go.etcd.io/etcd/client/v3/snapshot"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// member is one etcd server started for the test, configured as the deployment's members
// are (services/shared/etcdx, deploy/k8s/base/etcd.yaml): the transaction and request
// limits, the backend quota and periodic compaction.
type member struct {
	etcd *embed.Etcd
	cli  *clientv3.Client
	once sync.Once
}

func freeURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func startMember(t *testing.T, name, dataDir, peerURL, state string) *member {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = dataDir
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu, _ := url.Parse(freeURL(t))
	pu, _ := url.Parse(peerURL)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = name + "=" + peerURL
	cfg.ClusterState = state
	cfg.MaxTxnOps = 10000
	cfg.MaxRequestBytes = 16 << 20
	cfg.QuotaBackendBytes = 8 << 30
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd %s: %v", name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcd %s: %v", name, err)
	case <-time.After(60 * time.Second):
		e.Close()
		t.Fatalf("etcd %s not ready after 60s", name)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	return &member{etcd: e, cli: cli}
}

func (m *member) close() {
	m.once.Do(func() {
		m.cli.Close()
		m.etcd.Close()
	})
}

// TestSnapshotRestore is the backup and restore of docs/OPERATIONS.md, step by step: a
// snapshot taken from a serving member (etcdctl snapshot save), checked (etcdutl snapshot
// status), restored into a new data folder with the revision bumped and marked compacted
// (etcdutl snapshot restore --bump-revision --mark-compacted), and a member started from
// it that holds every key as it was at the snapshot, at a revision past every one the
// services saw, so their watches re-list rather than miss changes.
func TestSnapshotRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	lg := zap.NewNop()

	src := startMember(t, "etcd-0", filepath.Join(dir, "src"), freeURL(t), embed.ClusterStateFlagNew)
	defer src.close()
	// A key space like the services': cases rewritten, events added, a request record
	// deleted, in transactions.
	const root = "/fenquan/approval/czj/"
	want := map[string]string{}
	for i := range 200 {
		ops := []clientv3.Op{}
		for j := range 10 {
			k := fmt.Sprintf("%scases/c%04d/events/%02d", root, i, j)
			v := fmt.Sprintf(`{"case":%d,"event":%d}`, i, j)
			ops = append(ops, clientv3.OpPut(k, v))
			want[k] = v
		}
		if _, err := src.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%scases/c%04d/record", root, i)
		for v := range 3 {
			if _, err := src.cli.Put(ctx, k, fmt.Sprintf(`{"version":%d}`, v)); err != nil {
				t.Fatal(err)
			}
		}
		want[k] = `{"version":2}`
	}
	if _, err := src.cli.Put(ctx, root+"requests/r1", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.cli.Delete(ctx, root+"requests/r1"); err != nil {
		t.Fatal(err)
	}
	before, err := src.cli.Get(ctx, "/fenquan/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	rev := before.Header.Revision

	// Back up: the snapshot of a serving member.
	db := filepath.Join(dir, "fenquan.db")
	if _, err := clientsnapshot.SaveWithVersion(ctx, lg, clientv3.Config{Endpoints: src.cli.Endpoints(), Logger: lg}, db); err != nil {
		t.Fatalf("snapshot save: %v", err)
	}
	// A write after the snapshot is not in the restored data.
	if _, err := src.cli.Put(ctx, root+"after-backup", "lost"); err != nil {
		t.Fatal(err)
	}
	src.close()

	mgr := snapshot.NewV3(lg)
	st, err := mgr.Status(db)
	if err != nil {
		t.Fatalf("snapshot status: %v", err)
	}
	if st.Revision != rev || st.TotalKey < len(want) {
		t.Fatalf("snapshot status: revision %d, %d keys; want revision %d, at least %d keys", st.Revision, st.TotalKey, rev, len(want))
	}

	// Restore into a new data folder, as a new one-member cluster.
	const bump = 1_000_000_000
	peer := freeURL(t)
	restored := filepath.Join(dir, "restored")
	err = mgr.Restore(snapshot.RestoreConfig{
		SnapshotPath: db, Name: "etcd-0", OutputDataDir: restored,
		PeerURLs: []string{peer}, InitialCluster: "etcd-0=" + peer, InitialClusterToken: "fenquan-etcd-restored",
		RevisionBump: bump, MarkCompacted: true,
	})
	if err != nil {
		t.Fatalf("snapshot restore: %v", err)
	}
	dst := startMember(t, "etcd-0", restored, peer, embed.ClusterStateFlagExisting)
	defer dst.close()

	got, err := dst.cli.Get(ctx, "/fenquan/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != len(want) {
		t.Errorf("restored %d keys, want %d", len(got.Kvs), len(want))
	}
	for _, kv := range got.Kvs {
		if want[string(kv.Key)] != string(kv.Value) {
			t.Errorf("restored %s = %s, want %q", kv.Key, kv.Value, want[string(kv.Key)])
		}
	}
	if got.Header.Revision < rev+bump {
		t.Errorf("restored revision %d, want at least %d (the snapshot's %d + %d)", got.Header.Revision, rev+bump, rev, bump)
	}
	// A reader at a revision from before the restore is told it was compacted (and
	// re-lists), never served a past that the restore rewound.
	if _, err := dst.cli.Get(ctx, root, clientv3.WithPrefix(), clientv3.WithRev(rev)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("get at the old revision %d: %v, want ErrCompacted", rev, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	wr := <-dst.cli.Watch(wctx, root, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	if wr.CompactRevision == 0 {
		t.Errorf("a watch from revision %d was not told of the compaction: %v", rev+1, wr.Err())
	}
	// The restored member takes writes.
	if _, err := dst.cli.Put(ctx, root+"after-restore", "ok"); err != nil {
		t.Fatalf("write after restore: %v", err)
	}
}

// TestCompactDefrag is the maintenance of docs/OPERATIONS.md: history compacted (what
// the periodic auto-compaction does every hour) and the backend defragmented, which gives
// the freed pages back.
func TestCompactDefrag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m := startMember(t, "etcd-0", filepath.Join(t.TempDir(), "data"), freeURL(t), embed.ClusterStateFlagNew)
	defer m.close()
	big := strings.Repeat("x", 4096)
	for i := range 100 {
		ops := []clientv3.Op{}
		for j := range 20 {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("/fenquan/k%02d", j), fmt.Sprintf("%d%s", i, big)))
		}
		if _, err := m.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	ep := m.cli.Endpoints()[0]
	st, err := m.cli.Status(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.cli.Compact(ctx, st.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	if _, err := m.cli.Defragment(ctx, ep); err != nil {
		t.Fatalf("defragment: %v", err)
	}
	after, err := m.cli.Status(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if after.DbSize >= st.DbSize {
		t.Errorf("defragmentation left the backend at %d bytes (was %d)", after.DbSize, st.DbSize)
	}
	t.Logf("backend %d bytes (in use %d) → compacted and defragmented %d bytes", st.DbSize, st.DbSizeInUse, after.DbSize)
}
