package approval

import (
	"sync"
	"time"

	"github.com/google/btree"
)

// dueIndex orders the active steps of open cases by due time, per org, for overdue steps
// and the due_before filter: a range scan from the oldest due time, O(log n) to start.
// It is fed by the cache's changes (each with the summary before and after), so it keeps
// nothing per case beyond the tree entries.
type dueIndex struct {
	mu    sync.RWMutex
	trees map[string]*btree.BTreeG[dueEntry]
	// Until the initial scan of the cache is done, changes queue up; they are applied in
	// order after it, which ends in the current state whatever the scan saw.
	ready  bool
	queued []dueChange
}

type dueChange struct {
	key        string
	prev, next *summary
}

type dueEntry struct {
	due  int64 // Unix nanoseconds
	key  string
	step string
}

func lessDue(a, b dueEntry) bool {
	if a.due != b.due {
		return a.due < b.due
	}
	if a.key != b.key {
		return a.key < b.key
	}
	return a.step < b.step
}

func newDueIndex() *dueIndex {
	return &dueIndex{trees: map[string]*btree.BTreeG[dueEntry]{}}
}

// change replaces the entries of the case at key: those of prev go, those of next come
// (either may be nil).
func (d *dueIndex) change(key string, prev, next *summary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ready {
		d.queued = append(d.queued, dueChange{key, prev, next})
		return
	}
	d.apply(key, prev, next)
}

// load adds the cases the initial scan found, then the changes queued meanwhile.
func (d *dueIndex) load(scan func(add func(key string, sm *summary))) {
	d.mu.Lock()
	defer d.mu.Unlock()
	scan(func(key string, sm *summary) { d.apply(key, nil, sm) })
	for _, c := range d.queued {
		d.apply(c.key, c.prev, c.next)
	}
	d.queued, d.ready = nil, true
}

func (d *dueIndex) apply(key string, prev, next *summary) {
	if prev != nil {
		if tree := d.trees[prev.org()]; tree != nil {
			for i := range prev.active {
				tree.Delete(dueEntry{due: prev.active[i].due, key: key, step: prev.active[i].step})
			}
		}
	}
	if next == nil || len(next.active) == 0 {
		return
	}
	org := next.org()
	tree := d.trees[org]
	if tree == nil {
		tree = btree.NewG(32, lessDue)
		d.trees[org] = tree
	}
	for i := range next.active {
		if a := &next.active[i]; a.due != 0 {
			tree.ReplaceOrInsert(dueEntry{due: a.due, key: key, step: a.step})
		}
	}
}

// ascend calls fn for the org's entries after `after` (zero: from the start) with a due
// time before `before`, in due order, until fn returns false.
func (d *dueIndex) ascend(org string, after dueEntry, before time.Time, fn func(dueEntry) bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	tree := d.trees[org]
	if tree == nil {
		return
	}
	limit := before.UnixNano()
	tree.AscendGreaterOrEqual(after, func(e dueEntry) bool {
		if e == after {
			return true
		}
		if e.due >= limit {
			return false
		}
		return fn(e)
	})
}
