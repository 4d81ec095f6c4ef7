package informer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/informer"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

func decodeString(_ string, v []byte, _ int64) (any, error) {
	if strings.HasPrefix(string(v), "skip") {
		return nil, nil
	}
	return string(v), nil
}

func keys(c *informer.Cache, prefix string) []string {
	var out []string
	c.Ascend(prefix, "", func(it *informer.Item) bool {
		out = append(out, it.Key[len(prefix):]+"="+it.Obj.(string))
		return true
	})
	return out
}

func TestListWatchAndIndexes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t) + "/"
	for i := range 5 {
		if _, err := cli.Put(ctx, fmt.Sprintf("%sa/%d", root, i), fmt.Sprintf("v%d", i%2)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, root+"a/skipme", "skip"); err != nil {
		t.Fatal(err)
	}

	c := informer.New(cli, root, decodeString, nil)
	c.AddIndex("value", func(_ string, obj any) []string { return []string{obj.(string)} })
	var mu sync.Mutex
	var events []informer.Event
	c.OnChange(func(evs []informer.Event) {
		mu.Lock()
		events = append(events, evs...)
		mu.Unlock()
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys(c, root+"a/"), ","), "0=v0,1=v1,2=v0,3=v1,4=v0"; got != want {
		t.Fatalf("after list: got %s, want %s", got, want)
	}

	// A write shows up once the cache reaches its revision.
	resp, err := cli.Put(ctx, root+"a/5", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, root+"a/0"); err != nil {
		t.Fatal(err)
	}
	del, err := cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, del.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if it, ok := c.Get(root + "a/5"); !ok || it.ModRev != resp.Header.Revision {
		t.Fatalf("Get a/5 = %+v, %v", it, ok)
	}
	if got, want := strings.Join(keys(c, root+"a/"), ","), "1=v1,2=v0,3=v1,4=v0,5=v1"; got != want {
		t.Fatalf("after watch: got %s, want %s", got, want)
	}

	var byIndex []string
	c.AscendIndex("value", "v1", root, root+"a/1", func(it *informer.Item) bool {
		byIndex = append(byIndex, it.Key[len(root):])
		return true
	})
	if got, want := strings.Join(byIndex, ","), "a/3,a/5"; got != want {
		t.Fatalf("AscendIndex after a/1: got %s, want %s", got, want)
	}
	if n := c.CountIndex("value", "v0"); n != 2 {
		t.Fatalf("CountIndex v0 = %d, want 2", n)
	}

	var desc []string
	c.Descend(root+"a/", root+"a/4", func(it *informer.Item) bool {
		desc = append(desc, it.Key[len(root):])
		return len(desc) < 2
	})
	if got, want := strings.Join(desc, ","), "a/3,a/2"; got != want {
		t.Fatalf("Descend before a/4: got %s, want %s", got, want)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Type != informer.Put || events[1].Type != informer.Delete || events[1].Prev.(string) != "v0" {
		t.Fatalf("events = %+v", events)
	}
}

// WaitFor returns for a revision written outside the cached prefix too (progress notify).
func TestWaitForForeignRevision(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t)
	c := informer.New(cli, root+"/cached/", decodeString, nil)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Put(ctx, root+"/elsewhere", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
}

// After compaction past the watch position the cache re-lists and emits the difference.
func TestRelistAfterCompaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := etcdtest.Client(t)
	root := etcdtest.Root(t) + "/"
	if _, err := cli.Put(ctx, root+"k/1", "a"); err != nil {
		t.Fatal(err)
	}
	c := informer.New(cli, root, decodeString, nil)
	var mu sync.Mutex
	seen := map[string]string{}
	c.OnChange(func(evs []informer.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if e.Type == informer.Delete {
				seen[e.Key] = "deleted"
			} else {
				seen[e.Key] = e.Obj.(string)
			}
		}
	})
	// Cancel the cache's watch by compacting while it cannot keep up: start, then
	// compact at the current revision right after several writes. The watcher may or may
	// not observe ErrCompacted; either way the final state must be exact.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var last *clientv3.PutResponse
	for i := range 20 {
		var err error
		last, err = cli.Put(ctx, fmt.Sprintf("%sk/%d", root, i), fmt.Sprintf("v%d", i))
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Delete(ctx, root+"k/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, last.Header.Revision); err != nil {
		t.Fatal(err)
	}
	final, err := cli.Put(ctx, root+"k/99", "end")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, final.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(root + "k/1"); ok {
		t.Fatal("k/1 still cached after delete")
	}
	if c.Len() != 20 {
		t.Fatalf("Len = %d, want 20", c.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[root+"k/1"] != "deleted" || seen[root+"k/99"] != "end" || seen[root+"k/7"] != "v7" {
		t.Fatalf("subscriber state diverged: k/1=%q k/99=%q k/7=%q", seen[root+"k/1"], seen[root+"k/99"], seen[root+"k/7"])
	}
}
