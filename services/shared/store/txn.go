package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Store is one service's handle on etcd: the client, its keyspace, and the highest
// revision it has written (so its caches can serve this process's writes back at once).
type Store struct {
	Client *clientv3.Client
	Keys   Keyspace

	lastWrite atomic.Int64
	noAudit   bool // benchmarks only (export_test.go)
}

// New returns a Store for the service's keyspace.
func New(cli *clientv3.Client, keys Keyspace) *Store {
	return &Store{Client: cli, Keys: keys}
}

// LastWrite is the highest etcd revision this process committed under the keyspace.
func (s *Store) LastWrite() int64 { return s.lastWrite.Load() }

func (s *Store) noteWrite(rev int64) {
	for {
		cur := s.lastWrite.Load()
		if rev <= cur || s.lastWrite.CompareAndSwap(cur, rev) {
			return
		}
	}
}

type guardKind int

const (
	guardRevision guardKind = iota // mod revision equals (0: absent)
	guardExists                    // key exists
	guardNone                      // no key under a prefix
	guardVersion                   // mod revision equals (0: absent); any mismatch is a conflict
	guardSince                     // no key under a prefix written after rev
)

// Guard is one condition of a transaction, with what to tell the caller if it fails.
type Guard struct {
	kind guardKind
	key  string
	rev  int64
	// What names the resource in messages, e.g. "orgs/cz/posts/p1".
	What string
	// Field is the request field the guard stems from, if any (e.g. "post.unit"), so a
	// missing reference becomes a field violation.
	Field string
	// Client marks a revision the client sent (an etag): its failure is final. Other
	// revision guards come from the service's own reads and the operation may be retried.
	Client bool
}

// Txn collects guards and writes to commit atomically.
type Txn struct {
	guards []Guard
	ops    []clientv3.Op
	keys   map[string]bool
}

// NewTxn starts an empty transaction.
func NewTxn() *Txn { return &Txn{keys: map[string]bool{}} }

// ExpectRevision requires key to be at mod revision rev; rev 0 requires it to be absent.
func (t *Txn) ExpectRevision(key string, rev int64, what string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardRevision, key: key, rev: rev, What: what})
	return t
}

// ExpectVersion requires a bookkeeping key (a guard) to be at mod revision rev, 0 meaning
// absent. Unlike ExpectRevision, a mismatch is always a retryable conflict: a guard
// created concurrently is a concurrent change, not an "already exists".
func (t *Txn) ExpectVersion(key string, rev int64, what string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardVersion, key: key, rev: rev, What: what})
	return t
}

// ExpectEtag requires key to be at the revision the client sent as an etag.
func (t *Txn) ExpectEtag(key string, rev int64, what string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardRevision, key: key, rev: rev, What: what, Client: true})
	return t
}

// ExpectExists requires key to exist (a reference target). field names the request field.
func (t *Txn) ExpectExists(key, what, field string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardExists, key: key, What: what, Field: field})
	return t
}

// ExpectNone requires no key under prefix (e.g. nothing refers to a resource).
func (t *Txn) ExpectNone(prefix, what string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardNone, key: prefix, What: what})
	return t
}

// ExpectNoChangeSince requires that no key under prefix was created or changed after
// revision rev: what a service listed from a cache at rev is still the whole of it (a key
// added in between fails the guard, which is a retryable conflict). A deleted key is not
// seen: use it on collections whose keys are not deleted, or guard deletions otherwise.
func (t *Txn) ExpectNoChangeSince(prefix string, rev int64, what string) *Txn {
	t.guards = append(t.guards, Guard{kind: guardSince, key: prefix, rev: rev, What: what})
	return t
}

// Put writes value at key.
func (t *Txn) Put(key string, value []byte, opts ...clientv3.OpOption) *Txn {
	t.ops = append(t.ops, clientv3.OpPut(key, string(value), opts...))
	t.keys[key] = true
	return t
}

// PutProto writes a protobuf value at key.
func (t *Txn) PutProto(key string, m proto.Message) *Txn {
	return t.Put(key, Marshal(m))
}

// Delete removes key.
func (t *Txn) Delete(key string) *Txn {
	t.ops = append(t.ops, clientv3.OpDelete(key))
	t.keys[key] = true
	return t
}

// DeletePrefix removes every key under prefix.
func (t *Txn) DeletePrefix(prefix string) *Txn {
	t.ops = append(t.ops, clientv3.OpDelete(prefix, clientv3.WithPrefix()))
	return t
}

// Writes reports whether the transaction writes key.
func (t *Txn) Writes(key string) bool { return t.keys[key] }

// Empty reports whether there is nothing to write.
func (t *Txn) Empty() bool { return len(t.ops) == 0 }

// Size is the number of guards and writes.
func (t *Txn) Size() int { return len(t.guards) + len(t.ops) }

// Commit runs the transaction. When a guard fails nothing is written and the error is a
// *GuardError naming the first guard that failed (wrapping ErrConflict, ErrAlreadyExists,
// ErrNotFound, ErrMissingReference or ErrReferenced).
//
// The context must carry a policy decision (WithDecision) or be marked SystemWrite:
// otherwise nothing is written and the error is ErrNoDecision.
//
// The same transaction appends an audit entry to the log of each org it writes (see
// AuditEntry): who, when, which service and method, the decisions or the system reason,
// and each key's op, value digest and expected previous revision.
func (s *Store) Commit(ctx context.Context, t *Txn) (int64, error) {
	if len(t.ops) == 0 {
		return 0, nil
	}
	if len(Decisions(ctx)) == 0 && ctx.Value(systemKey{}) == nil {
		return 0, ErrNoDecision
	}
	cmps := make([]clientv3.Cmp, 0, len(t.guards))
	diag := make([]clientv3.Op, 0, len(t.guards))
	for _, g := range t.guards {
		switch g.kind {
		case guardRevision:
			if g.rev == 0 {
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(g.key), "=", 0))
			} else {
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g.key), "=", g.rev))
			}
			diag = append(diag, clientv3.OpGet(g.key, clientv3.WithKeysOnly()))
		case guardVersion:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g.key), "=", g.rev))
			diag = append(diag, clientv3.OpGet(g.key, clientv3.WithKeysOnly()))
		case guardExists:
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(g.key), ">", 0))
			diag = append(diag, clientv3.OpGet(g.key, clientv3.WithKeysOnly()))
		case guardSince:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g.key), "<", g.rev+1).WithPrefix())
			diag = append(diag, clientv3.OpGet(g.key, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithMinModRev(g.rev+1), clientv3.WithLimit(1)))
		case guardNone:
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(g.key), "=", 0).WithPrefix())
			diag = append(diag, clientv3.OpGet(g.key, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(3)))
		}
	}
	ops := t.ops
	if !s.noAudit {
		// The entries' guards come after the transaction's: diagnosis reads resp.Responses
		// by guard index. An entry id taken already (never in practice) fails as a retryable
		// conflict.
		acmps, aops := s.auditOps(ctx, t)
		cmps = append(cmps, acmps...)
		ops = append(ops[:len(ops):len(ops)], aops...)
	}
	if len(cmps) > MaxTxnOps || len(ops) > MaxTxnOps {
		return 0, fmt.Errorf("%w: %d writes and %d checks, at most %d each", ErrTooLarge, len(ops), len(cmps), MaxTxnOps)
	}
	resp, err := s.Client.Txn(ctx).If(cmps...).Then(ops...).Else(diag...).Commit()
	if err != nil {
		return 0, mapEtcdError(err)
	}
	if resp.Succeeded {
		s.noteWrite(resp.Header.Revision)
		return resp.Header.Revision, nil
	}
	for i, g := range t.guards {
		if gerr := diagnose(g, resp.Responses[i].GetResponseRange()); gerr != nil {
			gerr.(*GuardError).Rev = resp.Header.Revision
			return 0, gerr
		}
	}
	// Every guard holds again on re-read: the state moved under us in between.
	return 0, fmt.Errorf("%w: retry", ErrConflict)
}

// MaxTxnOps is the most guards or writes one transaction may carry; the embedded etcd
// is configured with the same limit (etcdx.MaxTxnOps).
const MaxTxnOps = 10000

// GuardError says which guard of a failed transaction did not hold.
type GuardError struct {
	Guard Guard
	// Rev is the store's revision when the guard was found failing: a retry should first
	// let its caches reach it.
	Rev      int64
	sentinel error
	detail   string
}

func (e *GuardError) Error() string {
	return e.Guard.What + ": " + e.detail
}

// Unwrap returns the sentinel (ErrConflict, ErrAlreadyExists, ...).
func (e *GuardError) Unwrap() error { return e.sentinel }

// Retryable reports whether err is a conflict on a revision the service read itself (not
// a client's etag): running the operation again on fresher data may succeed.
func Retryable(err error) (rev int64, ok bool) {
	var ge *GuardError
	if errors.As(err, &ge) && errors.Is(err, ErrConflict) && !ge.Guard.Client {
		return ge.Rev, true
	}
	return 0, false
}

func diagnose(g Guard, rr *etcdserverpb.RangeResponse) error {
	var kvs []*mvccpb.KeyValue
	if rr != nil {
		kvs = rr.Kvs
	}
	fail := func(sentinel error, detail string) error {
		return &GuardError{Guard: g, sentinel: sentinel, detail: detail}
	}
	switch g.kind {
	case guardRevision:
		switch {
		case g.rev == 0 && len(kvs) > 0:
			return fail(ErrAlreadyExists, ErrAlreadyExists.Error())
		case g.rev != 0 && len(kvs) == 0:
			return fail(ErrNotFound, "no longer exists")
		case g.rev != 0 && kvs[0].ModRevision != g.rev:
			return fail(ErrConflict, fmt.Sprintf("%s (etag %d, now %d): read it again and retry", ErrConflict, g.rev, kvs[0].ModRevision))
		}
	case guardVersion:
		var cur int64
		if len(kvs) > 0 {
			cur = kvs[0].ModRevision
		}
		if cur != g.rev {
			return fail(ErrConflict, fmt.Sprintf("%s: retry", ErrConflict))
		}
	case guardSince:
		if len(kvs) > 0 {
			return fail(ErrConflict, fmt.Sprintf("%s: %s changed since revision %d: retry", ErrConflict, strings.TrimPrefix(string(kvs[0].Key), g.key), g.rev))
		}
	case guardExists:
		if len(kvs) == 0 {
			return fail(ErrMissingReference, "does not exist")
		}
	case guardNone:
		if len(kvs) > 0 {
			refs := make([]string, 0, len(kvs))
			for _, kv := range kvs {
				refs = append(refs, strings.TrimPrefix(string(kv.Key), g.key))
			}
			more := ""
			if rr.Count > int64(len(kvs)) {
				more = fmt.Sprintf(" and %d more", rr.Count-int64(len(kvs)))
			}
			return fail(ErrReferenced, fmt.Sprintf("still referenced by %s%s", strings.Join(refs, ", "), more))
		}
	}
	return nil
}

func mapEtcdError(err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge),
		errors.Is(err, rpctypes.ErrGRPCTooManyOps), errors.Is(err, rpctypes.ErrGRPCRequestTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case codes.Canceled:
		return context.Canceled
	}
	return fmt.Errorf("etcd: %w", err)
}

// Get reads one key, returning ErrNotFound when it is absent.
func (s *Store) Get(ctx context.Context, key string) (*mvccpb.KeyValue, error) {
	resp, err := s.Client.Get(ctx, key)
	if err != nil {
		return nil, mapEtcdError(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return resp.Kvs[0], nil
}

// Marshal encodes a stored value (deterministic, so equal values give equal bytes).
func Marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		// Only invalid UTF-8 in strings fails, and every request is validated first.
		panic(fmt.Sprintf("store: marshal %T: %v", m, err))
	}
	return b
}

// Unmarshal decodes a stored value.
func Unmarshal(b []byte, m proto.Message) error {
	return proto.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, m)
}
