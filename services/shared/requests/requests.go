// Package requests makes a service's writes exactly once per client request id: the write
// and a record of the request are one etcd transaction, and a retry with the same id is
// answered from the record — the resource as that transaction wrote it — without writing.
//
// A record lives under <root>/<service>-requests/<org>/<hash of caller and id>, leased for
// 25 hours (one lease per hour, shared by every record of the hour, so etcd holds few
// leases). The caller's subject is part of the key: a request id is the caller's own, so
// nobody reads another caller's result by replaying their id, nor blocks them by using it
// first.
package requests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

// ReasonReused answers a request id used again for a different request.
const ReasonReused = "REQUEST_ID_REUSED"

// Record remembers a done request.
type Record struct {
	Method string `json:"m"`
	// Digest of the request, so a reused id with a different request is refused.
	Digest string `json:"d"`
	// The resource written: the answer is that resource as of the record's mod revision
	// (the same transaction wrote both).
	Name string `json:"n"`
}

// Digest is the digest of a request message (deterministic encoding).
func Digest(m proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Log is one service's request records.
type Log struct {
	cli  *clientv3.Client
	keys store.Keyspace

	mu  sync.Mutex
	cur clientv3.LeaseID
	at  time.Time
}

// New returns the request log of service ("approval" keeps its records under
// <root>/approval-requests/).
func New(cli *clientv3.Client, root, service string) *Log {
	return &Log{cli: cli, keys: store.Keyspace{Root: root, Service: service + "-requests"}}
}

// Key is where the record of caller's request id in org lives.
func (l *Log) Key(org, caller, id string) string {
	h := sha256.Sum256([]byte(caller + "\x00" + id))
	return l.keys.OrgPrefix(org) + hex.EncodeToString(h[:16])
}

// lease is the lease of this hour's records.
func (l *Log) lease(ctx context.Context, now time.Time) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != 0 && now.Sub(l.at) < time.Hour && now.Sub(l.at) >= 0 {
		return l.cur, nil
	}
	resp, err := l.cli.Grant(ctx, int64((25 * time.Hour).Seconds()))
	if err != nil {
		return 0, err
	}
	l.cur, l.at = resp.ID, now
	return l.cur, nil
}

// Add puts rec at key in t, guarded by the key's absence (a concurrent twin of the request
// fails the guard, described as "request <id>").
func (l *Log) Add(ctx context.Context, t *store.Txn, key, id string, rec Record, now time.Time) error {
	lease, err := l.lease(ctx, now)
	if err != nil {
		return apierr.Unavailable(err)
	}
	b, _ := json.Marshal(rec)
	t.ExpectRevision(key, 0, GuardWhat(id)).Put(key, b, clientv3.WithLease(lease))
	return nil
}

// GuardWhat describes the guard Add sets, to recognise its failure.
func GuardWhat(id string) string { return "request " + id }

// Replay answers a recorded request: it checks that the request is the one recorded
// (else ALREADY_EXISTS / REQUEST_ID_REUSED) and returns the record and the resource's
// key-value as the recording transaction wrote it — or, once that revision is compacted,
// as it is now. resourceKey maps the recorded resource name to its key. A record that does
// not decode is returned as a plain error: the handler logs it and answers INTERNAL.
func (l *Log) Replay(ctx context.Context, kv *mvccpb.KeyValue, method, digest string, resourceKey func(name string) (string, bool)) (Record, *mvccpb.KeyValue, error) {
	var rec Record
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return rec, nil, fmt.Errorf("request record %s: %w", kv.Key, err)
	}
	if rec.Method != method || rec.Digest != digest {
		return rec, nil, apierr.New(codes.AlreadyExists, ReasonReused,
			"request_id was already used for a different request; use a new request_id for a new request", nil)
	}
	key, ok := resourceKey(rec.Name)
	if !ok {
		return rec, nil, fmt.Errorf("request record %s names %q", kv.Key, rec.Name)
	}
	rr, err := l.cli.Get(ctx, key, clientv3.WithRev(kv.ModRevision))
	if errors.Is(err, rpctypes.ErrCompacted) {
		rr, err = l.cli.Get(ctx, key)
	}
	if err != nil {
		return rec, nil, apierr.Unavailable(err)
	}
	if len(rr.Kvs) == 0 {
		return rec, nil, apierr.New(codes.NotFound, apierr.ReasonNotFound, rec.Name+": not found", nil)
	}
	return rec, rr.Kvs[0], nil
}
