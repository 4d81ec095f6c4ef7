package policyadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

// admin is the policy service's domain: the published sets in etcd and the rules for
// changing them.
type admin struct {
	cli   *clientv3.Client
	store *store.Store
	root  string
	pdp   *pdp.PDP
	def   *pdp.Set
	log   *slog.Logger
	now   func() time.Time
}

// maxAttempts bounds the re-runs of an operation whose transaction found a revision it
// read overtaken by a concurrent write.
const maxAttempts = 8

// current is a stored set as read: with its name and etag, and its mod revision.
type current struct {
	set *policyv1.PolicySet
	rev int64
}

// actor names the caller in the set's history: "sub:<subject>". Policy administration is
// platform-level, so the caller is identified by the token's subject, not an org person.
func actor(ctx context.Context) (string, error) {
	p := auth.FromContext(ctx)
	if p == nil || p.Subject == "" {
		return "", apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "authentication required", nil)
	}
	return "sub:" + p.Subject, nil
}

// get reads one set with its files.
func (a *admin) get(ctx context.Context, name string) (current, error) {
	kv, err := a.store.Get(ctx, a.setKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return current{}, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return current{}, err
	}
	ps := &policyv1.PolicySet{}
	if err := store.Unmarshal(kv.Value, ps); err != nil {
		return current{}, fmt.Errorf("%s: %w", name, err)
	}
	ps.Name, ps.Etag = name, store.FormatEtag(kv.ModRevision)
	return current{set: ps, rev: kv.ModRevision}, nil
}

// active reads the active pointer: nil (and revision 0) while nothing is published.
func (a *admin) active(ctx context.Context) (*pdp.Activation, int64, error) {
	kv, err := a.store.Get(ctx, a.activeKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var act pdp.Activation
	if err := json.Unmarshal(kv.Value, &act); err != nil {
		return nil, 0, fmt.Errorf("active policy pointer: %w", err)
	}
	return &act, kv.ModRevision, nil
}

// serving is the set that serves: the active one, or the embedded default while nothing
// is published (nil if the service was given none). label names it in messages.
func (a *admin) serving(ctx context.Context, act *pdp.Activation) (set *pdp.Set, label string, err error) {
	if act == nil {
		return a.def, "the embedded default set", nil
	}
	cur, err := a.get(ctx, act.Set)
	if err != nil {
		return nil, "", fmt.Errorf("the active set: %w", err)
	}
	return pdp.SetFromProto(cur.set), act.Set, nil
}

// readSeq returns the last id given and the sequence key's revision.
func (a *admin) readSeq(ctx context.Context) (int64, int64, error) {
	kv, err := a.store.Get(ctx, a.seqKey())
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.ParseInt(string(kv.Value), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("policy set sequence %q: %w", kv.Value, err)
	}
	return n, kv.ModRevision, nil
}

// commit runs txn. retry reports a conflict on a revision the service read itself (not a
// client's etag) while attempts remain: the operation should run again on fresh reads.
func (a *admin) commit(ctx context.Context, txn *store.Txn, attempt int) (rev int64, retry bool, err error) {
	rev, err = a.store.Commit(ctx, txn)
	if _, ok := store.Retryable(err); ok && attempt < maxAttempts-1 {
		return 0, true, nil
	}
	return rev, false, err
}

// stored is ps as written to etcd: without name and etag.
func stored(ps *policyv1.PolicySet) *policyv1.PolicySet {
	c := proto.Clone(ps).(*policyv1.PolicySet)
	c.Name, c.Etag = "", ""
	return c
}

// checkPaths refuses file paths that are not clean relative paths ("a/../b.rego",
// "a//b.rego", "a/./b.rego"): the folder of a data file is its place in data, so a path
// must say it one way only. The proto rules already fixed the characters and extensions.
func checkPaths(files map[string][]byte) error {
	var v apierr.Violations
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if path.Clean(n) != n {
			v.Add(fmt.Sprintf("files[%q]", n), "must be a clean relative path (no empty, . or .. segments)", "文件路径须为规范的相对路径（不得含空段、. 或 ..）")
		}
	}
	return v.Err()
}

// changedFiles lists the files added, removed or changed against base (every file when
// there is no base), sorted.
func changedFiles(base *pdp.Set, files map[string][]byte) []string {
	var out []string
	for n, b := range files {
		if base == nil {
			out = append(out, n)
			continue
		}
		if old, ok := base.Files[n]; !ok || !bytes.Equal(old, b) {
			out = append(out, n)
		}
	}
	if base != nil {
		for n := range base.Files {
			if _, ok := files[n]; !ok {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// propose stores files as a new PROPOSED set.
func (a *admin) propose(ctx context.Context, files map[string][]byte, note string) (*policyv1.PolicySet, error) {
	by, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkPaths(files); err != nil {
		return nil, err
	}
	// Rule (code, not policy): a proposal compiles in strict mode and its own tests pass.
	// Validation is the expensive part and the files do not change: done once, before the
	// transaction's retries.
	set := &pdp.Set{Revision: "proposal", Files: files}
	tests, err := pdp.Validate(ctx, set)
	if err != nil {
		if se, ok := setProblems(err); ok {
			return nil, errInvalidProposal(se)
		}
		return nil, err
	}
	digest := set.Digest()
	for attempt := 0; ; attempt++ {
		seq, seqRev, err := a.readSeq(ctx)
		if err != nil {
			return nil, err
		}
		act, actRev, err := a.active(ctx)
		if err != nil {
			return nil, err
		}
		base, label, err := a.serving(ctx, act)
		if err != nil {
			return nil, err
		}
		// Rule: a proposal must change something; one identical to the serving set would
		// only spend a second officer's review on nothing.
		if base != nil && base.Digest() == digest {
			return nil, errUnchanged(label)
		}
		if seq >= maxID {
			return nil, apierr.New(codes.ResourceExhausted, apierr.ReasonTooLarge, "no policy set ids left", nil)
		}
		name := nameOf(seq + 1)
		ps := &policyv1.PolicySet{
			State:        policyv1.PolicySet_STATE_PROPOSED,
			Files:        files,
			Digest:       digest,
			Note:         note,
			ProposedBy:   by,
			ProposeTime:  timestamppb.New(a.now()),
			TestCount:    int32(tests),
			ChangedFiles: changedFiles(base, files),
			Base:         label,
		}
		// The sequence and the active pointer are compared: two proposals never take the
		// same id, and the changed files are against the set that serves at commit.
		txn := store.NewTxn().
			ExpectVersion(a.seqKey(), seqRev, "the policy set sequence").
			ExpectVersion(a.activeKey(), actRev, "the active policy set").
			ExpectRevision(a.setKey(name), 0, name).
			Put(a.seqKey(), []byte(strconv.FormatInt(seq+1, 10))).
			PutProto(a.setKey(name), ps)
		rev, retry, err := a.commit(ctx, txn, attempt)
		if retry {
			continue
		}
		if err != nil {
			return nil, err
		}
		ps.Name, ps.Etag = name, store.FormatEtag(rev)
		a.log.InfoContext(ctx, "policy set proposed", "set", name, "by", by, "tests", tests, "changed_files", ps.ChangedFiles)
		return ps, nil
	}
}

// revalidate checks a stored set again before it is activated: the binary may have
// changed since it was proposed (a newer OPA, a changed built-in).
func (a *admin) revalidate(ctx context.Context, ps *policyv1.PolicySet) error {
	if _, err := pdp.Validate(ctx, pdp.SetFromProto(ps)); err != nil {
		if se, ok := setProblems(err); ok {
			return errInvalidNow(ps.Name, se)
		}
		return err
	}
	return nil
}

// approve activates a PROPOSED set; the approver is not its proposer.
func (a *admin) approve(ctx context.Context, name, etag string) (*policyv1.PolicySet, error) {
	by, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	want, err := store.ParseEtag(etag)
	if err != nil {
		return nil, err
	}
	validated := false
	for attempt := 0; ; attempt++ {
		cur, err := a.get(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := store.CheckEtag(etag, cur.rev, name); err != nil {
			return nil, err
		}
		ps := cur.set
		// Rules (code, not policy: a policy set must not be able to switch off the check
		// on its own activation): only a proposal is approved, and never by its proposer.
		if ps.State != policyv1.PolicySet_STATE_PROPOSED {
			return nil, errState(ps, "approved", policyv1.PolicySet_STATE_PROPOSED, "批准")
		}
		if ps.ProposedBy == by {
			return nil, errFourEyes(ps)
		}
		// Rule: the proposal was made against the set that serves now; otherwise approving
		// it would silently drop whatever was activated in between.
		act, ptrRev, err := a.active(ctx)
		if err != nil {
			return nil, err
		}
		if _, label, err := a.serving(ctx, act); err != nil {
			return nil, err
		} else if ps.Base != "" && ps.Base != label {
			return nil, errStaleBase(ps, label)
		}
		if !validated {
			if err := a.revalidate(ctx, ps); err != nil {
				return nil, err
			}
			validated = true
		}
		now := a.now()
		next := proto.Clone(ps).(*policyv1.PolicySet)
		next.State = policyv1.PolicySet_STATE_ACTIVE
		next.ApprovedBy, next.ApproveTime = by, timestamppb.New(now)
		out, retry, err := a.activate(ctx, cur, next, want != 0, pdp.Activation{Set: name, ActivatedBy: by, Time: now.UTC(), Reason: "approve"}, act, ptrRev, attempt)
		if retry {
			continue
		}
		if err != nil {
			return nil, err
		}
		a.log.InfoContext(ctx, "policy set approved and activated", "set", name, "by", by, "proposed_by", ps.ProposedBy)
		return out, nil
	}
}

// reject closes a PROPOSED set without activating it.
func (a *admin) reject(ctx context.Context, name, reason string) (*policyv1.PolicySet, error) {
	by, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := a.get(ctx, name)
		if err != nil {
			return nil, err
		}
		if cur.set.State != policyv1.PolicySet_STATE_PROPOSED {
			return nil, errState(cur.set, "rejected", policyv1.PolicySet_STATE_PROPOSED, "驳回")
		}
		next := proto.Clone(cur.set).(*policyv1.PolicySet)
		next.State = policyv1.PolicySet_STATE_REJECTED
		next.RejectedBy, next.RejectReason = by, reason
		txn := store.NewTxn().ExpectRevision(a.setKey(name), cur.rev, name).PutProto(a.setKey(name), stored(next))
		rev, retry, err := a.commit(ctx, txn, attempt)
		if retry {
			continue
		}
		if err != nil {
			return nil, err
		}
		next.Etag = store.FormatEtag(rev)
		a.log.InfoContext(ctx, "policy set rejected", "set", name, "by", by, "reason", reason)
		return next, nil
	}
}

// rollback re-activates a SUPERSEDED set.
func (a *admin) rollback(ctx context.Context, name, reason string) (*policyv1.PolicySet, error) {
	by, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	validated := false
	for attempt := 0; ; attempt++ {
		cur, err := a.get(ctx, name)
		if err != nil {
			return nil, err
		}
		// Rule (code, not policy): only a set that was active before can be rolled back
		// to. One officer may do it: that very content already had its four eyes when it
		// was approved; approved_by keeps naming who approved it, and the active pointer
		// records who rolled back and why.
		if cur.set.State != policyv1.PolicySet_STATE_SUPERSEDED {
			return nil, errState(cur.set, "rolled back to", policyv1.PolicySet_STATE_SUPERSEDED, "回退启用")
		}
		if !validated {
			if err := a.revalidate(ctx, cur.set); err != nil {
				return nil, err
			}
			validated = true
		}
		next := proto.Clone(cur.set).(*policyv1.PolicySet)
		next.State = policyv1.PolicySet_STATE_ACTIVE
		prev, ptrRev, err := a.active(ctx)
		if err != nil {
			return nil, err
		}
		out, retry, err := a.activate(ctx, cur, next, false,
			pdp.Activation{Set: name, ActivatedBy: by, Time: a.now().UTC(), Reason: "rollback: " + reason}, prev, ptrRev, attempt)
		if retry {
			continue
		}
		if err != nil {
			return nil, err
		}
		a.log.InfoContext(ctx, "policy set rolled back to", "set", name, "by", by, "reason", reason)
		return out, nil
	}
}

// activate writes, in one transaction, next (the set read as cur, now ACTIVE), the set
// the active pointer named (now SUPERSEDED) and the active pointer, comparing the
// revisions of all three as read. clientEtag marks cur's revision as the client's etag
// (its failure is final, not retried).
// activate makes next the active set. prev and ptrRev are the active pointer as the
// caller read it when it checked its rules: the transaction compares that revision, so a
// check made on a pointer that has moved since is never acted on.
func (a *admin) activate(ctx context.Context, cur current, next *policyv1.PolicySet, clientEtag bool, act pdp.Activation,
	prev *pdp.Activation, ptrRev int64, attempt int) (*policyv1.PolicySet, bool, error) {
	key := a.setKey(next.Name)
	txn := store.NewTxn().ExpectVersion(a.activeKey(), ptrRev, "the active policy set")
	if clientEtag {
		txn.ExpectEtag(key, cur.rev, next.Name)
	} else {
		txn.ExpectRevision(key, cur.rev, next.Name)
	}
	if prev != nil && prev.Set != next.Name {
		old, err := a.get(ctx, prev.Set)
		switch {
		case errors.Is(err, store.ErrNotFound):
			a.log.WarnContext(ctx, "the active pointer names a missing policy set", "set", prev.Set)
		case err != nil:
			return nil, false, err
		case old.set.State == policyv1.PolicySet_STATE_ACTIVE:
			o := stored(old.set)
			o.State = policyv1.PolicySet_STATE_SUPERSEDED
			txn.ExpectRevision(a.setKey(prev.Set), old.rev, prev.Set).PutProto(a.setKey(prev.Set), o)
		}
	}
	b, err := json.Marshal(act)
	if err != nil {
		return nil, false, err
	}
	txn.PutProto(key, stored(next)).Put(a.activeKey(), b)
	rev, retry, err := a.commit(ctx, txn, attempt)
	if retry || err != nil {
		return nil, retry, err
	}
	next.Etag = store.FormatEtag(rev)
	return next, false, nil
}
