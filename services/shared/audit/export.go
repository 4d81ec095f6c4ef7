package audit

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Range selects entries; zero fields do not bound.
type Range struct {
	// From (inclusive) and To (exclusive) bound the entry's time.
	From, To time.Time
	// FromRev and ToRev (inclusive) bound its revision.
	FromRev, ToRev int64
}

func (r Range) has(t time.Time, rev int64) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To)) &&
		(r.FromRev == 0 || rev >= r.FromRev) && (r.ToRev == 0 || rev <= r.ToRev)
}

// Line is one exported entry.
type Line struct {
	// ID is the entry's id in the org's log: "e/<id>" (a state change) or "d/<id>" (a
	// policy decision).
	ID  string `json:"id"`
	Rev int64  `json:"rev"`
	// Seal is the seq of the seal listing the entry as stored, null when not sealed (yet).
	Seal *int64    `json:"seal"`
	Kind string    `json:"kind"` // "change" or "decision"
	Time time.Time `json:"time"`

	Service   string           `json:"service,omitempty"`
	Actor     *store.Actor     `json:"actor,omitempty"`
	Method    string           `json:"method,omitempty"`
	Decisions []store.Decision `json:"decisions,omitempty"`
	System    string           `json:"system,omitempty"`
	Writes    []Write          `json:"writes,omitempty"`

	// Decision is the decision record as logged (kind "decision").
	Decision json.RawMessage `json:"decision,omitempty"`
	// Raw is the stored value of an entry that does not decode.
	Raw string `json:"raw,omitempty"`
}

// Write is one key a change wrote.
type Write struct {
	Key string `json:"key"`
	Op  string `json:"op"`
	// Before is the value digest the key's previous audited write put: absent when there is
	// none (the key was created, had been deleted, or was last written before the log).
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
	PrevRev *int64 `json:"prev_rev,omitempty"`
}

// Export writes the entries of org's log in rng as JSON lines, in revision order, and
// returns how many. Before digests are derived from the whole log, so a range starting
// late still has them.
func Export(ctx context.Context, cli *clientv3.Client, root, org string, rng Range, w io.Writer) (int, error) {
	sealKVs, rev, err := readPrefix(ctx, cli, SealPrefix(root, org), 0)
	if err != nil {
		return 0, err
	}
	kvs, _, err := readPrefix(ctx, cli, store.AuditOrgPrefix(root, org), rev)
	if err != nil {
		return 0, err
	}
	type at struct {
		id  string
		rev int64
	}
	sealOf := map[at]int64{}
	for _, kv := range sealKVs {
		var s Seal
		if _, ok := seqOf(strings.TrimPrefix(string(kv.Key), SealPrefix(root, org))); !ok || json.Unmarshal(kv.Value, &s) != nil {
			continue
		}
		for _, e := range s.Entries {
			sealOf[at{e.ID, e.Rev}] = s.Seq
		}
	}
	slices.SortFunc(kvs, func(a, b *mvccpb.KeyValue) int {
		return cmp.Or(cmp.Compare(a.ModRevision, b.ModRevision), strings.Compare(string(a.Key), string(b.Key)))
	})
	prefix := store.AuditOrgPrefix(root, org)
	after := map[string]string{} // key → digest its last audited write put
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for _, kv := range kvs {
		l := Line{ID: strings.TrimPrefix(string(kv.Key), prefix), Rev: kv.ModRevision}
		if seq, ok := sealOf[at{l.ID, l.Rev}]; ok {
			l.Seal = &seq
		}
		switch {
		case strings.HasPrefix(l.ID, "e/"):
			l.Kind = "change"
			var e store.AuditEntry
			if err := json.Unmarshal(kv.Value, &e); err != nil {
				l.Raw = string(kv.Value)
				break
			}
			l.Time, l.Service, l.Actor, l.Method, l.Decisions, l.System = e.Time, e.Service, e.Actor, e.Method, e.Decisions, e.System
			for _, aw := range e.Writes {
				l.Writes = append(l.Writes, Write{Key: aw.Key, Op: aw.Op, Before: after[aw.Key], After: aw.After, PrevRev: aw.PrevRev})
				if aw.Op == "delete_prefix" {
					for k := range after {
						if strings.HasPrefix(k, aw.Key) {
							delete(after, k)
						}
					}
				} else {
					after[aw.Key] = aw.After
				}
			}
		default:
			l.Kind = "decision"
			var d struct {
				Time time.Time `json:"time"`
			}
			if json.Unmarshal(kv.Value, &d) != nil {
				l.Raw = string(kv.Value)
				break
			}
			l.Time, l.Decision = d.Time, json.RawMessage(kv.Value)
		}
		if !rng.has(l.Time, l.Rev) {
			continue
		}
		if err := enc.Encode(l); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}
