package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
)

// The audit log: every Commit appends, in its own transaction, one entry per org it
// writes to <root>/audit/<org>/e/<id>, guarded to be created (never overwritten). Policy
// decision records go to <root>/audit/<org>/d/<id> (pdp.EtcdLog). Package audit seals,
// verifies and exports the log; docs/AUDIT.md describes it.

// AuditPrefix is every org's audit log, ending in "/".
func AuditPrefix(root string) string { return root + "/audit/" }

// AuditOrgPrefix is the audit log of org (entries and decision records), ending in "/".
func AuditOrgPrefix(root, org string) string { return AuditPrefix(root) + org + "/" }

// AuditEntryKey is where the audit entry id of org is.
func AuditEntryKey(root, org, id string) string { return AuditOrgPrefix(root, org) + "e/" + id }

// DecisionRecordKey is where the policy decision record id of org is.
func DecisionRecordKey(root, org, id string) string {
	return AuditOrgPrefix(root, org) + "d/" + id
}

// platformServices are the keyspaces without an org segment: <root>/policy/... holds the
// policy sets, the active pointer and the sequence, all platform-wide.
var platformServices = map[string]bool{"policy": true}

// AuditOrg is the org whose audit log records a write of key: the <org> segment of
// <root>/<service>/<org>/..., or PlatformOrg for platform keyspaces and keys of no org.
func AuditOrg(root, key string) string {
	rest, ok := strings.CutPrefix(key, root+"/")
	if !ok {
		return PlatformOrg
	}
	svc, rest, ok := strings.Cut(rest, "/")
	if !ok || platformServices[svc] {
		return PlatformOrg
	}
	org, _, ok := strings.Cut(rest, "/")
	if !ok || org == "" {
		return PlatformOrg
	}
	return org
}

// Actor is who a write is made for.
type Actor struct {
	// Subject is the caller's token subject.
	Subject string `json:"subject,omitempty"`
	// Person is the caller's person in the org ("orgs/{org}/people/{id}"), if any.
	Person string `json:"person,omitempty"`
}

type actorKey struct{}

// WithActor returns ctx naming the actor of its writes explicitly (otherwise the
// resolver set with SetActorResolver names it).
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

var actorResolver atomic.Pointer[func(ctx context.Context, org string) Actor]

// SetActorResolver sets how Commit finds the actor of a write to org from its context
// (package pdp sets it to the verified caller of auth.FromContext, which this package
// cannot import).
func SetActorResolver(f func(ctx context.Context, org string) Actor) {
	actorResolver.Store(&f)
}

func actorOf(ctx context.Context, org string) *Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return &a
	}
	if f := actorResolver.Load(); f != nil {
		if a := (*f)(ctx, org); a != (Actor{}) {
			return &a
		}
	}
	return nil
}

// AuditEntry is one audit entry: one transaction's writes to one org.
type AuditEntry struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Actor   *Actor    `json:"actor,omitempty"`
	// Method is the gRPC method being served, when the write is made for a call.
	Method string `json:"method,omitempty"`
	// Decisions allowed the write; System is the reason of a write made on the service's
	// own account (SystemWrite). One of the two is set.
	Decisions []Decision   `json:"decisions,omitempty"`
	System    string       `json:"system,omitempty"`
	Writes    []AuditWrite `json:"writes"`
}

// AuditWrite is one key a transaction wrote.
type AuditWrite struct {
	Key string `json:"key"`
	// Op is "put", "delete" or "delete_prefix" (Key is then the prefix).
	Op string `json:"op"`
	// After is the SHA-256 (hex) of the value put; empty for deletes.
	After string `json:"after,omitempty"`
	// PrevRev is the mod revision the transaction's guard expected the key at (0: it did
	// not exist); absent when no guard named the key.
	PrevRev *int64 `json:"prev_rev,omitempty"`
}

// ValueDigest is the digest of a value in audit entries (SHA-256, hex).
func ValueDigest(v []byte) string {
	h := sha256.Sum256(v)
	return hex.EncodeToString(h[:])
}

// NewAuditID returns a unique, roughly time-ordered id: 16 hex digits of Unix nanoseconds
// and 8 random ones.
func NewAuditID(t time.Time) string {
	return fmt.Sprintf("%016x%08x", uint64(t.UnixNano()), rand.Uint32())
}

// auditOps returns the guards and puts appending t's audit entries (one per org written).
func (s *Store) auditOps(ctx context.Context, t *Txn) ([]clientv3.Cmp, []clientv3.Op) {
	prev := map[string]int64{}
	for _, g := range t.guards {
		if g.kind == guardRevision || g.kind == guardVersion {
			prev[g.key] = g.rev
		}
	}
	now := time.Now().UTC()
	method, _ := grpc.Method(ctx)
	system, _ := ctx.Value(systemKey{}).(string)
	decisions := Decisions(ctx)
	var orgs []string
	byOrg := map[string]*AuditEntry{}
	for _, op := range t.ops {
		key := string(op.KeyBytes())
		w := AuditWrite{Key: key}
		switch {
		case op.IsPut():
			w.Op, w.After = "put", ValueDigest(op.ValueBytes())
		case len(op.RangeBytes()) > 0:
			w.Op = "delete_prefix"
		default:
			w.Op = "delete"
		}
		if r, ok := prev[key]; ok && w.Op != "delete_prefix" {
			w.PrevRev = &r
		}
		org := AuditOrg(s.Keys.Root, key)
		e := byOrg[org]
		if e == nil {
			e = &AuditEntry{Time: now, Service: s.Keys.Service, Actor: actorOf(ctx, org), Method: method,
				Decisions: decisions, System: system}
			byOrg[org] = e
			orgs = append(orgs, org)
		}
		e.Writes = append(e.Writes, w)
	}
	cmps := make([]clientv3.Cmp, 0, len(orgs))
	ops := make([]clientv3.Op, 0, len(orgs))
	for _, org := range orgs {
		key := AuditEntryKey(s.Keys.Root, org, NewAuditID(now))
		b, err := json.Marshal(byOrg[org])
		if err != nil {
			panic(fmt.Sprintf("store: audit entry: %v", err)) // only strings and numbers
		}
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		ops = append(ops, clientv3.OpPut(key, string(b)))
	}
	return cmps, ops
}
