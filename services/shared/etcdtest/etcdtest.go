// Package etcdtest gives tests a real etcd: one embedded server per test binary, and a
// unique key root per test so tests never see each other's data. There is no mock store.
//
//	func TestMain(m *testing.M) { etcdtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		cli := etcdtest.Client(t)
//		keys := store.Keyspace{Root: etcdtest.Root(t), Service: "registry"}
package etcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/etcdx"
)

var (
	mu         sync.Mutex
	mainCalled bool
	server     *etcdx.Embedded
	dir        string
)

// Main runs the tests of a package and stops the shared etcd afterwards.
func Main(m *testing.M) {
	mu.Lock()
	mainCalled = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	if server != nil {
		server.Close()
		_ = os.RemoveAll(dir)
	}
	mu.Unlock()
	os.Exit(code)
}

// Server returns the shared embedded etcd, starting it on first use.
func Server(tb testing.TB) *etcdx.Embedded {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !mainCalled {
		tb.Fatal("etcdtest: call etcdtest.Main(m) from TestMain")
	}
	if server == nil {
		d, err := os.MkdirTemp("", "fenquan-etcdtest-")
		if err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// No fsync: durability is not under test here, and it makes the suite much faster
		// on shared CI machines. Everything else is a real etcd server.
		s, err := etcdx.StartEmbedded(ctx, etcdx.EmbedConfig{Dir: d, NoFsync: true})
		if err != nil {
			tb.Fatalf("etcdtest: %v", err)
		}
		server, dir = s, d
	}
	return server
}

// Client returns an in-process client of the shared etcd.
func Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	return Server(tb).Client
}

// Root returns a key root unique to this test, e.g. "/t/TestCreate-9f2c1a". The test's
// keys are deleted when it ends.
func Root(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())
	root := fmt.Sprintf("/t/%s-%s", name, hex.EncodeToString(b))
	cli := Client(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, root+"/", clientv3.WithPrefix())
	})
	return root
}
