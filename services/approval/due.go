package approval

import (
	"sync"
	"time"

	"github.com/google/btree"
)

// dueIndex orders the active steps of open cases by due time, for overdue steps and the
// due_before filter: a range scan from the oldest due time, O(log n) to start.
type dueIndex struct {
	mu     sync.RWMutex
	trees  map[string]*btree.BTreeG[dueEntry] // per org
	byCase map[string]caseDue                 // case key → its entries, to remove them on change
}

type dueEntry struct {
	due  int64 // unix nanoseconds
	key  string
	step string
}

type caseDue struct {
	modRev  int64
	entries []dueEntry
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
	return &dueIndex{trees: map[string]*btree.BTreeG[dueEntry]{}, byCase: map[string]caseDue{}}
}

// set replaces the entries of the case at key with those of sm (nil: the case is gone).
// An older summary than the one indexed is ignored, so the initial scan and the watch
// may race.
func (d *dueIndex) set(org, key string, sm *summary) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old, had := d.byCase[key]
	if had && sm != nil && sm.modRev < old.modRev {
		return
	}
	tree := d.trees[org]
	for _, e := range old.entries {
		tree.Delete(e)
	}
	delete(d.byCase, key)
	if sm == nil {
		return
	}
	var entries []dueEntry
	if tree == nil && len(sm.active) > 0 {
		tree = btree.NewG(32, lessDue)
		d.trees[org] = tree
	}
	for _, st := range sm.active {
		if st.DueTime == nil {
			continue
		}
		e := dueEntry{due: st.DueTime.AsTime().UnixNano(), key: key, step: st.Step}
		tree.ReplaceOrInsert(e)
		entries = append(entries, e)
	}
	if len(entries) > 0 {
		// Cases without active steps (most, once closed) take no memory here. A stale
		// entry the startup race might leave is dropped by readers, who check each
		// entry against the cached case.
		d.byCase[key] = caseDue{modRev: sm.modRev, entries: entries}
	}
}

// ascend calls fn for the org's entries after `after` (zero: from the start) with a due time
// before `before`, in due order, until fn returns false.
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
