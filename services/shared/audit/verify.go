package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Kinds of problem Verify reports.
const (
	// An entry sealed differs from what is stored: edited (its digest differs) or
	// rewritten (same bytes, written again: its mod revision moved). Two entries whose
	// contents were swapped are two altered entries.
	KindAltered = "altered"
	// An entry sealed is gone.
	KindRemoved = "removed"
	// An entry in a revision range a seal covers (or below the sealer's progress) that no
	// seal lists: written behind the sealer, or its seal removed.
	KindInserted = "inserted"
	// A seal whose hash does not recompute, whose links to the seal before do not hold, or
	// that was rewritten; the head not matching the last seal.
	KindSealAltered = "seal altered"
	// A seal missing from the chain (or the head naming a seal that is gone).
	KindSealRemoved = "seal removed"
	// An audited write names, as the revision its key was at, one no audit entry wrote:
	// the key was written outside the audit log.
	KindUnaudited = "unaudited write"
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind string `json:"kind"`
	// Entry is the entry's id ("e/…" or "d/…"), when the problem is an entry's.
	Entry string `json:"entry,omitempty"`
	// Seal is the seq of the seal involved, -1 when none.
	Seal int64 `json:"seal"`
	// Rev is where in the log the problem is (the revision sealed, or the entry's).
	Rev    int64  `json:"rev"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Kind)
	if p.Entry != "" {
		b.WriteString(": entry " + p.Entry)
	}
	if p.Seal >= 0 {
		fmt.Fprintf(&b, " (seal %d)", p.Seal)
	}
	fmt.Fprintf(&b, " at revision %d: %s", p.Rev, p.Reason)
	return b.String()
}

// Report is what Verify found.
type Report struct {
	Org string `json:"org"`
	// Revision is the etcd revision the log was read at.
	Revision int64 `json:"revision"`
	Seals    int   `json:"seals"`
	// Sealed counts the entries listed by seals, Pending those not sealed yet.
	Sealed  int `json:"sealed"`
	Pending int `json:"pending"`
	// LastSeal is the last seal's seq (-1: none), LastSealedRev and LastSealedTime its
	// to_rev and time.
	LastSeal       int64     `json:"last_seal"`
	LastSealedRev  int64     `json:"last_sealed_rev"`
	LastSealedTime time.Time `json:"last_sealed_time,omitzero"`
	// LastHash is the last seal's hash: kept outside etcd, it anchors the chain (a chain
	// rewritten from an earlier seal on no longer holds it).
	LastHash string `json:"last_hash,omitempty"`
	// Progress is the revision through which the sealer has sealed every org.
	Progress int64 `json:"sealer_progress"`
	// Problems in log order; the first is the first thing wrong.
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// First is the first problem, or nil.
func (r *Report) First() *Problem {
	if len(r.Problems) == 0 {
		return nil
	}
	return &r.Problems[0]
}

// maxProblems bounds a report: the first ones are what matter.
const maxProblems = 1000

// Verify checks the whole audit log of org against its seals: the chain (each hash
// recomputes, links to the seal before, seqs follow each other, the head is the last
// seal), that the entries at revisions the seals cover are exactly those sealed with the
// same revision and digest, and that each audited write follows the last audited write of
// its key. It reads everything at one revision.
func Verify(ctx context.Context, cli *clientv3.Client, root, org string) (*Report, error) {
	sealKVs, rev, err := readPrefix(ctx, cli, SealPrefix(root, org), 0)
	if err != nil {
		return nil, err
	}
	entryKVs, _, err := readPrefix(ctx, cli, store.AuditOrgPrefix(root, org), rev)
	if err != nil {
		return nil, err
	}
	pr, err := cli.Get(ctx, ProgressKey(root), clientv3.WithRev(rev))
	if err != nil {
		return nil, err
	}
	r := &Report{Org: org, Revision: rev, LastSeal: -1}
	if len(pr.Kvs) > 0 {
		r.Progress, _ = strconv.ParseInt(string(pr.Kvs[0].Value), 10, 64)
	}
	v := &verifier{r: r, root: root, org: org}
	seals := v.chain(sealKVs)
	v.entries(seals, entryKVs)
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Rev, b.Rev), strings.Compare(a.Entry, b.Entry))
	})
	if len(r.Problems) > maxProblems {
		r.Problems = r.Problems[:maxProblems]
	}
	return r, nil
}

type verifier struct {
	r         *Report
	root, org string
}

func (v *verifier) problem(p Problem) {
	if len(v.r.Problems) < 4*maxProblems {
		v.r.Problems = append(v.r.Problems, p)
	}
}

type sealRead struct {
	Seal
	modRev int64
}

// chain checks the seals and returns those that decode, in seq order.
func (v *verifier) chain(kvs []*mvccpb.KeyValue) []sealRead {
	prefix := SealPrefix(v.root, v.org)
	var seals []sealRead
	var head *mvccpb.KeyValue
	for _, kv := range kvs {
		name := strings.TrimPrefix(string(kv.Key), prefix)
		if name == "head" {
			head = kv
			continue
		}
		seq, ok := seqOf(name)
		if !ok {
			v.problem(Problem{Kind: KindSealAltered, Seal: -1, Rev: kv.ModRevision, Reason: fmt.Sprintf("a key that is no seal: %q", name)})
			continue
		}
		var s Seal
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			v.problem(Problem{Kind: KindSealAltered, Seal: seq, Rev: kv.ModRevision, Reason: "does not decode: " + err.Error()})
			continue
		}
		if s.Seq != seq {
			v.problem(Problem{Kind: KindSealAltered, Seal: seq, Rev: s.FromRev, Reason: fmt.Sprintf("stored as seal %d but says it is seal %d", seq, s.Seq)})
			s.Seq = seq
		}
		if h := s.ComputeHash(); h != s.Hash {
			v.problem(Problem{Kind: KindSealAltered, Seal: seq, Rev: s.FromRev, Reason: "its hash does not match its content"})
		}
		seals = append(seals, sealRead{Seal: s, modRev: kv.ModRevision})
	}
	// Keys sort by seq (16 digits).
	// Problems of missing seals are placed where the gap begins: the entries they listed
	// then read as inserted after it.
	var prev *sealRead
	for i := range seals {
		s := &seals[i]
		want, gap := int64(0), int64(0)
		if prev != nil {
			want, gap = prev.Seq+1, prev.ToRev
		}
		if s.Seq != want {
			v.problem(Problem{Kind: KindSealRemoved, Seal: want, Rev: gap, Reason: fmt.Sprintf("seals %d to %d are missing", want, s.Seq-1)})
		}
		switch {
		case prev == nil && s.Seq == 0 && (s.Prev != "" || s.PrevModRev != 0 || s.FromRev != 0):
			v.problem(Problem{Kind: KindSealAltered, Seal: s.Seq, Rev: s.FromRev, Reason: "the first seal links to a seal before it"})
		case prev != nil && s.Seq == prev.Seq+1 && s.Prev != prev.Hash:
			v.problem(Problem{Kind: KindSealAltered, Seal: prev.Seq, Rev: prev.FromRev, Reason: fmt.Sprintf("seal %d holds another hash for it", s.Seq)})
		case prev != nil && s.Seq == prev.Seq+1 && s.PrevModRev != prev.modRev:
			v.problem(Problem{Kind: KindSealAltered, Seal: prev.Seq, Rev: prev.FromRev, Reason: fmt.Sprintf("rewritten: stored at revision %d, sealed at %d (seal %d)", prev.modRev, s.PrevModRev, s.Seq)})
		case prev != nil && s.FromRev != prev.ToRev:
			v.problem(Problem{Kind: KindSealAltered, Seal: s.Seq, Rev: s.FromRev, Reason: fmt.Sprintf("covers from revision %d, the seal before ends at %d", s.FromRev, prev.ToRev)})
		}
		if s.ToRev < s.FromRev {
			v.problem(Problem{Kind: KindSealAltered, Seal: s.Seq, Rev: s.FromRev, Reason: "covers a range that ends before it starts"})
		}
		prev = s
	}
	if prev != nil {
		v.r.Seals = len(seals)
		v.r.LastSeal, v.r.LastSealedRev, v.r.LastSealedTime, v.r.LastHash = prev.Seq, prev.ToRev, prev.Time, prev.Hash
	}
	switch {
	case head == nil && prev != nil:
		v.problem(Problem{Kind: KindSealRemoved, Seal: prev.Seq + 1, Rev: prev.ToRev, Reason: fmt.Sprintf("the chain's head is missing: seals after %d may be gone", prev.Seq)})
	case head != nil:
		var h Head
		err := json.Unmarshal(head.Value, &h)
		switch {
		case err != nil:
			v.problem(Problem{Kind: KindSealAltered, Seal: -1, Rev: head.ModRevision, Reason: "the head does not decode: " + err.Error()})
		case prev == nil || h.Seq > prev.Seq:
			last, gap := int64(-1), int64(0)
			if prev != nil {
				last, gap = prev.Seq, prev.ToRev
			}
			v.problem(Problem{Kind: KindSealRemoved, Seal: h.Seq, Rev: gap, Reason: fmt.Sprintf("the head names seal %d, the last seal stored is %d", h.Seq, last)})
		case h.Seq < prev.Seq || h.Hash != prev.Hash || h.ToRev != prev.ToRev:
			v.problem(Problem{Kind: KindSealAltered, Seal: prev.Seq, Rev: prev.ToRev, Reason: fmt.Sprintf("the head (seal %d) does not match the last seal", h.Seq)})
		case head.ModRevision != prev.modRev:
			v.problem(Problem{Kind: KindSealAltered, Seal: prev.Seq, Rev: prev.ToRev, Reason: fmt.Sprintf("the head or the last seal was rewritten (revisions %d and %d)", head.ModRevision, prev.modRev)})
		}
	}
	return seals
}

// entries checks the log's entries against the seals.
func (v *verifier) entries(seals []sealRead, kvs []*mvccpb.KeyValue) {
	prefix := store.AuditOrgPrefix(v.root, v.org)
	cur := make(map[string]*mvccpb.KeyValue, len(kvs))
	for _, kv := range kvs {
		cur[strings.TrimPrefix(string(kv.Key), prefix)] = kv
	}
	// Where each entry was sealed first (the revision its writes were made at).
	sealedAt := map[string]int64{}
	covered := v.r.Progress
	for _, s := range seals {
		covered = max(covered, s.ToRev)
		for _, e := range s.Entries {
			v.r.Sealed++
			if _, twice := sealedAt[e.ID]; twice {
				continue // its first seal is reported
			}
			sealedAt[e.ID] = e.Rev
			kv, ok := cur[e.ID]
			switch {
			case !ok:
				v.problem(Problem{Kind: KindRemoved, Entry: e.ID, Seal: s.Seq, Rev: e.Rev, Reason: "sealed, no longer stored"})
			case kv.ModRevision != e.Rev && EntryDigest(kv.Key, kv.Value) == e.D:
				v.problem(Problem{Kind: KindAltered, Entry: e.ID, Seal: s.Seq, Rev: e.Rev, Reason: fmt.Sprintf("rewritten: the same content written again at revision %d", kv.ModRevision)})
			case kv.ModRevision != e.Rev:
				v.problem(Problem{Kind: KindAltered, Entry: e.ID, Seal: s.Seq, Rev: e.Rev, Reason: fmt.Sprintf("edited: other content, written at revision %d", kv.ModRevision)})
			case EntryDigest(kv.Key, kv.Value) != e.D:
				v.problem(Problem{Kind: KindAltered, Entry: e.ID, Seal: s.Seq, Rev: e.Rev, Reason: "edited: its digest differs from the seal's"})
			}
		}
	}
	type entry struct {
		id  string
		rev int64
		kv  *mvccpb.KeyValue
	}
	all := make([]entry, 0, len(kvs))
	for id, kv := range cur {
		rev, sealed := sealedAt[id]
		if !sealed {
			rev = kv.ModRevision
			if rev <= covered {
				v.problem(Problem{Kind: KindInserted, Entry: id, Seal: -1, Rev: rev, Reason: fmt.Sprintf("in no seal, though the log is sealed through revision %d", covered)})
			} else {
				v.r.Pending++
			}
		}
		all = append(all, entry{id: id, rev: rev, kv: kv})
	}
	// Each key's audited writes follow one another: a write guarded by the revision its
	// key was at names the revision of the key's last audited write.
	slices.SortFunc(all, func(a, b entry) int { return cmp.Or(cmp.Compare(a.rev, b.rev), strings.Compare(a.id, b.id)) })
	last := map[string]int64{}
	for _, e := range all {
		if !strings.HasPrefix(e.id, "e/") {
			continue
		}
		var ae store.AuditEntry
		if json.Unmarshal(e.kv.Value, &ae) != nil {
			continue // sealed entries that do not decode are reported altered
		}
		for _, w := range ae.Writes {
			if w.Op == "delete_prefix" {
				continue
			}
			if w.PrevRev != nil && *w.PrevRev != 0 {
				if l, ok := last[w.Key]; ok && l != *w.PrevRev {
					v.problem(Problem{Kind: KindUnaudited, Entry: e.id, Seal: -1, Rev: e.rev,
						Reason: fmt.Sprintf("%s was at revision %d, its last audited write is at %d", w.Key, *w.PrevRev, l)})
				}
			}
			last[w.Key] = e.rev
		}
	}
}
