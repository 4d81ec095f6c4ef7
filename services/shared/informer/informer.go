// Package informer keeps an in-memory copy of an etcd prefix, current through list+watch
// (the Kubernetes informer pattern). Services serve gets, lists and index queries from it
// instead of ranging etcd per request: ranging a prefix with a million keys costs tens of
// milliseconds because etcd counts the whole range, while the cache answers in microseconds.
//
// The cache is a sorted tree of items keyed by etcd key, with optional secondary indexes.
// Writes never go through it: they are etcd transactions comparing mod revisions, so a
// stale cache can delay a read but never corrupt a write. A process that just wrote at
// revision R calls WaitFor(R) before reading, so it always reads its own writes.
//
// When the watch falls behind compaction (ErrCompacted) the cache re-lists and emits the
// difference as events, so subscribers stay consistent too.
package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Item is one cached key. Obj is what the Decoder returned; treat it as immutable (it is
// shared by every reader): copy before changing.
type Item struct {
	Key       string
	ModRev    int64
	CreateRev int64
	Obj       any
}

// EventType says whether a key was written or deleted.
type EventType int

const (
	Put EventType = iota
	Delete
)

// Event is one change applied to the cache. Prev is the object before the change (nil
// for a creation); for a Delete, Obj is nil.
type Event struct {
	Type   EventType
	Key    string
	Obj    any
	Prev   any
	ModRev int64
}

// Decoder turns a stored value into the cached object; modRev is the key's mod revision
// (a resource's etag), so cached objects are complete and can be served as they are.
// Returning (nil, nil) keeps the key out of the cache (e.g. bookkeeping keys); an error is
// logged and the key skipped.
type Decoder func(key string, value []byte, modRev int64) (any, error)

// IndexFunc returns the index values of an object (e.g. its parent unit).
type IndexFunc func(key string, obj any) []string

// index maps each value to the items having it, ordered by key; it holds the items
// themselves so a scan needs no second lookup in the main tree.
type index struct {
	fn      IndexFunc
	byValue map[string]*btree.BTreeG[*Item]
}

// Cache mirrors every key under one etcd prefix.
type Cache struct {
	cli    *clientv3.Client
	prefix string
	decode Decoder
	log    *slog.Logger

	mu      sync.RWMutex
	tree    *btree.BTreeG[*Item]
	indexes map[string]*index
	rev     int64
	waiters []waiter
	started bool

	handlersMu sync.Mutex
	handlers   []func([]Event)

	synced chan struct{}
	done   chan struct{}
}

type waiter struct {
	rev int64
	ch  chan struct{}
}

// New returns a cache of prefix; call AddIndex and OnChange before Start.
func New(cli *clientv3.Client, prefix string, decode Decoder, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{
		cli:     cli,
		prefix:  prefix,
		decode:  decode,
		log:     log.With("component", "informer", "prefix", prefix),
		tree:    newTree(),
		indexes: map[string]*index{},
		synced:  make(chan struct{}),
		done:    make(chan struct{}),
	}
}

func newTree() *btree.BTreeG[*Item] {
	return btree.NewG(32, func(a, b *Item) bool { return a.Key < b.Key })
}

func newItemSet() *btree.BTreeG[*Item] { return newTree() }

// AddIndex registers a secondary index. It must be called before Start.
func (c *Cache) AddIndex(name string, fn IndexFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		panic("informer: AddIndex after Start")
	}
	c.indexes[name] = &index{fn: fn, byValue: map[string]*btree.BTreeG[*Item]{}}
}

// OnChange registers a handler called, in revision order, with each batch of changes
// after it is applied (and, after a re-list, with the difference). Handlers run on the
// watch goroutine: keep them short.
func (c *Cache) OnChange(fn func([]Event)) {
	c.handlersMu.Lock()
	defer c.handlersMu.Unlock()
	c.handlers = append(c.handlers, fn)
}

// Start lists the prefix, then keeps watching it until ctx ends. It returns once the
// first list is loaded.
func (c *Cache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	go c.run(ctx)
	select {
	case <-c.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the cache stops (its context ended).
func (c *Cache) Done() <-chan struct{} { return c.done }

// Revision is the etcd revision the cache reflects.
func (c *Cache) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// WaitFor blocks until the cache reflects revision rev (or ctx ends). When no change under
// the prefix arrives it asks etcd for a progress notification, so it also returns for
// revisions written elsewhere.
func (c *Cache) WaitFor(ctx context.Context, rev int64) error {
	c.mu.Lock()
	if c.rev >= rev {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, waiter{rev: rev, ch: ch})
	c.mu.Unlock()

	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("informer: waiting for revision %d: %w", rev, ctx.Err())
		case <-c.done:
			return errors.New("informer: stopped")
		case <-t.C:
			// The client routes progress requests to the watch stream whose context
			// carries the same metadata: the watch runs under WithRequireLeader.
			pctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(context.Background()), time.Second)
			_ = c.cli.RequestProgress(pctx)
			cancel()
			t.Reset(200 * time.Millisecond)
		}
	}
}

// Get returns the item at key.
func (c *Cache) Get(key string) (*Item, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tree.Get(&Item{Key: key})
}

// Ascend calls fn for each item under prefix with a key greater than after, in key order,
// until fn returns false. fn runs under the cache's read lock: it must not call the cache.
func (c *Cache) Ascend(prefix, after string, fn func(*Item) bool) {
	from := prefix
	if after >= from {
		from = after + "\x00"
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.tree.AscendRange(&Item{Key: from}, &Item{Key: prefixEnd(prefix)}, fn)
}

// Descend is Ascend in reverse key order, starting below before ("" = from the end).
func (c *Cache) Descend(prefix, before string, fn func(*Item) bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	hi := prefixEnd(prefix)
	if before != "" && before < hi {
		hi = before
	}
	// DescendRange visits (prefix, hi]: every key under prefix is longer than prefix, and
	// hi itself (the exclusive bound) is skipped.
	c.tree.DescendRange(&Item{Key: hi}, &Item{Key: prefix}, func(it *Item) bool {
		if it.Key == hi {
			return true
		}
		return fn(it)
	})
}

// AscendIndex calls fn for the items whose index `name` has `value`, under prefix, with a
// key greater than after, in key order, until fn returns false.
func (c *Cache) AscendIndex(name, value, prefix, after string, fn func(*Item) bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	idx, ok := c.indexes[name]
	if !ok {
		panic("informer: no index " + name)
	}
	items, ok := idx.byValue[value]
	if !ok {
		return
	}
	from := prefix
	if after >= from {
		from = after + "\x00"
	}
	items.AscendRange(&Item{Key: from}, &Item{Key: prefixEnd(prefix)}, fn)
}

// CountIndex returns how many items have value in index name.
func (c *Cache) CountIndex(name, value string) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if keys, ok := c.indexes[name].byValue[value]; ok {
		return keys.Len()
	}
	return 0
}

// Len is the number of cached items.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tree.Len()
}

func (c *Cache) run(ctx context.Context) {
	defer close(c.done)
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		rev, err := c.relist(ctx, !first)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("list failed; retrying", "err", err, "backoff", backoff)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if first {
			close(c.synced)
			first = false
		}
		c.watch(ctx, rev)
	}
}

// watch follows the prefix from rev+1 until the watch fails; it resumes on transient
// errors and returns only when a re-list is needed (compaction) or ctx ends.
func (c *Cache) watch(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		wch := c.cli.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
		compacted := false
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if errors.Is(err, rpctypes.ErrCompacted) || resp.CompactRevision > 0 {
					c.log.Info("watch fell behind compaction; re-listing", "compact_revision", resp.CompactRevision)
					compacted = true
				} else {
					c.log.Warn("watch error; resuming", "err", err)
				}
				break
			}
			rev = c.apply(resp.Events, resp.Header.Revision)
		}
		cancel()
		if compacted {
			return
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// apply applies watched events and advances the revision; it returns the new revision.
func (c *Cache) apply(evs []*clientv3.Event, headerRev int64) int64 {
	out := make([]Event, 0, len(evs))
	// Decode before taking the lock: readers wait only for the tree updates.
	objs := make([]any, len(evs))
	for i, ev := range evs {
		if ev.Type != mvccpb.PUT {
			continue
		}
		obj, err := c.decode(string(ev.Kv.Key), ev.Kv.Value, ev.Kv.ModRevision)
		if err != nil {
			c.log.Error("undecodable value skipped", "key", string(ev.Kv.Key), "err", err)
			obj = nil
		}
		objs[i] = obj
	}
	c.mu.Lock()
	for i, ev := range evs {
		key := string(ev.Kv.Key)
		switch ev.Type {
		case mvccpb.PUT:
			obj := objs[i]
			if obj == nil {
				if prev := c.remove(key); prev != nil {
					out = append(out, Event{Type: Delete, Key: key, Prev: prev.Obj, ModRev: ev.Kv.ModRevision})
				}
				continue
			}
			it := &Item{Key: key, ModRev: ev.Kv.ModRevision, CreateRev: ev.Kv.CreateRevision, Obj: obj}
			prev := c.upsert(it)
			e := Event{Type: Put, Key: key, Obj: obj, ModRev: it.ModRev}
			if prev != nil {
				e.Prev = prev.Obj
			}
			out = append(out, e)
		case mvccpb.DELETE:
			if prev := c.remove(key); prev != nil {
				out = append(out, Event{Type: Delete, Key: key, Prev: prev.Obj, ModRev: ev.Kv.ModRevision})
			}
		}
	}
	rev := c.rev
	if headerRev > rev {
		rev = headerRev
	}
	for _, ev := range evs {
		if ev.Kv.ModRevision > rev {
			rev = ev.Kv.ModRevision
		}
	}
	c.rev = rev
	c.wakeLocked()
	c.mu.Unlock()
	c.notify(out)
	return rev
}

// relist loads the whole prefix at one revision. On a re-list it swaps the tree and emits
// the difference from the previous content.
func (c *Cache) relist(ctx context.Context, emit bool) (int64, error) {
	const page = 2000
	tree := newTree()
	end := prefixEnd(c.prefix)
	start := c.prefix
	var rev int64
	for {
		// Linearizable: the first page fixes the revision, later pages read at it.
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.cli.Get(ctx, start, opts...)
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			key := string(kv.Key)
			obj, err := c.decode(key, kv.Value, kv.ModRevision)
			if err != nil {
				c.log.Error("undecodable value skipped", "key", key, "err", err)
				continue
			}
			if obj == nil {
				continue
			}
			tree.ReplaceOrInsert(&Item{Key: key, ModRev: kv.ModRevision, CreateRev: kv.CreateRevision, Obj: obj})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}

	c.mu.Lock()
	var out []Event
	if emit {
		old := c.tree
		tree.Ascend(func(it *Item) bool {
			prev, ok := old.Get(it)
			switch {
			case !ok:
				out = append(out, Event{Type: Put, Key: it.Key, Obj: it.Obj, ModRev: it.ModRev})
			case prev.ModRev != it.ModRev:
				out = append(out, Event{Type: Put, Key: it.Key, Obj: it.Obj, Prev: prev.Obj, ModRev: it.ModRev})
			}
			return true
		})
		old.Ascend(func(it *Item) bool {
			if _, ok := tree.Get(it); !ok {
				out = append(out, Event{Type: Delete, Key: it.Key, Prev: it.Obj, ModRev: rev})
			}
			return true
		})
	}
	c.tree = tree
	for _, idx := range c.indexes {
		idx.byValue = map[string]*btree.BTreeG[*Item]{}
	}
	tree.Ascend(func(it *Item) bool {
		c.indexAdd(it)
		return true
	})
	if rev > c.rev {
		c.rev = rev
	}
	c.wakeLocked()
	c.mu.Unlock()
	c.notify(out)
	return rev, nil
}

// upsert stores it and returns the item it replaced. Caller holds mu.
func (c *Cache) upsert(it *Item) *Item {
	prev, _ := c.tree.ReplaceOrInsert(it)
	if prev != nil {
		c.indexRemove(prev)
	}
	c.indexAdd(it)
	return prev
}

// remove deletes key and returns the removed item. Caller holds mu.
func (c *Cache) remove(key string) *Item {
	prev, ok := c.tree.Delete(&Item{Key: key})
	if !ok {
		return nil
	}
	c.indexRemove(prev)
	return prev
}

func (c *Cache) indexAdd(it *Item) {
	for _, idx := range c.indexes {
		for _, v := range idx.fn(it.Key, it.Obj) {
			set, ok := idx.byValue[v]
			if !ok {
				set = newItemSet()
				idx.byValue[v] = set
			}
			set.ReplaceOrInsert(it)
		}
	}
}

func (c *Cache) indexRemove(it *Item) {
	for _, idx := range c.indexes {
		for _, v := range idx.fn(it.Key, it.Obj) {
			if set, ok := idx.byValue[v]; ok {
				set.Delete(it)
				if set.Len() == 0 {
					delete(idx.byValue, v)
				}
			}
		}
	}
}

func (c *Cache) wakeLocked() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.rev <= c.rev {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func (c *Cache) notify(evs []Event) {
	if len(evs) == 0 {
		return
	}
	c.handlersMu.Lock()
	hs := c.handlers
	c.handlersMu.Unlock()
	for _, h := range hs {
		h(evs)
	}
}

func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
