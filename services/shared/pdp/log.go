package pdp

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Record is one decision as logged.
type Record struct {
	ID             string    `json:"id"`
	Time           time.Time `json:"time"`
	Service        string    `json:"service"`
	Action         string    `json:"action"`
	Org            string    `json:"org,omitempty"`
	Actor          string    `json:"actor,omitempty"`
	Resource       string    `json:"resource,omitempty"`
	PolicyRevision string    `json:"policy_revision"`
	InputDigest    string    `json:"input_digest"`
	// Input is the decided input; sinks that record the digest compute it from it (off the
	// decision path). Never serialised.
	Input      ast.Object  `json:"-"`
	Allowed    bool        `json:"allowed"`
	Violations []Violation `json:"violations,omitempty"`
	Micros     int64       `json:"micros"`
}

// DecisionLog receives every decision. Record must not block the decision: slow sinks
// buffer.
type DecisionLog interface {
	Record(ctx context.Context, r Record)
}

// Logs fans a record out to several logs.
type Logs []DecisionLog

// Record implements DecisionLog.
func (ls Logs) Record(ctx context.Context, r Record) {
	for _, l := range ls {
		l.Record(ctx, r)
	}
}

type slogLog struct{ l *slog.Logger }

// LogToSlog writes denials at info and allowances at debug.
func LogToSlog(l *slog.Logger) DecisionLog { return slogLog{l: l} }

func (s slogLog) Record(ctx context.Context, r Record) {
	lvl := slog.LevelDebug
	if !r.Allowed {
		lvl = slog.LevelInfo
	}
	if !s.l.Enabled(ctx, lvl) {
		return
	}
	rules := make([]string, len(r.Violations))
	for i, v := range r.Violations {
		rules[i] = v.Rule
	}
	s.l.Log(ctx, lvl, "policy decision", "decision_id", r.ID, "action", r.Action, "org", r.Org, "actor", r.Actor,
		"resource", r.Resource, "allowed", r.Allowed, "rules", rules, "policy_revision", r.PolicyRevision, "us", r.Micros)
}

// EtcdLog writes decisions to etcd into the audit log of their org, under
// <root>/audit/<org>/d/<id> (org "_" for platform decisions), where the audit sealer seals
// them with the org's state changes. Records are batched (up to 500 a transaction, or
// every 100ms) so deciding never waits for a disk write; each is created, never
// overwritten (a retried batch skips the records already written). A crash can lose the
// last batch of records; state changes also carry their decision id in their own
// transaction and audit entry, so no change is ever without its decision.
type EtcdLog struct {
	cli  *clientv3.Client
	root string
	log  *slog.Logger

	mu      sync.Mutex
	pending []Record
	kick    chan struct{}
	done    chan struct{}
}

// NewEtcdLog starts a writer; it flushes and stops when ctx ends (wait on Done).
func NewEtcdLog(ctx context.Context, cli *clientv3.Client, root string, log *slog.Logger) *EtcdLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &EtcdLog{cli: cli, root: root, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run(ctx)
	return l
}

// Prefix is where the decisions of org are.
func (l *EtcdLog) Prefix(org string) string {
	if org == "" {
		org = "_"
	}
	return store.AuditOrgPrefix(l.root, org) + "d/"
}

// Record implements DecisionLog.
func (l *EtcdLog) Record(_ context.Context, r Record) {
	l.mu.Lock()
	l.pending = append(l.pending, r)
	full := len(l.pending) >= 500
	if len(l.pending) > 100000 {
		// etcd is down for long: keep the newest, count the loss.
		l.pending = l.pending[len(l.pending)-100000:]
		l.log.Warn("decision log backlog full; oldest records dropped")
	}
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Done is closed after the last flush.
func (l *EtcdLog) Done() <-chan struct{} { return l.done }

// Flush writes what is pending now.
func (l *EtcdLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), 500)
		if err := l.write(ctx, batch[:n]); err != nil {
			l.mu.Lock()
			l.pending = append(batch, l.pending...)
			l.mu.Unlock()
			return err
		}
		batch = batch[n:]
	}
	return nil
}

// write creates the records of batch, each guarded to be new: the audit log is append
// only, and rewriting a sealed record (a batch retried after a commit whose answer was
// lost) would read as tampering. Records found written already are dropped.
func (l *EtcdLog) write(ctx context.Context, batch []Record) error {
	keys := make([]string, len(batch))
	vals := make([]string, len(batch))
	for i := range batch {
		r := &batch[i]
		if r.InputDigest == "" && r.Input != nil {
			r.InputDigest = digest(r.Input)
		}
		b, _ := json.Marshal(r)
		keys[i], vals[i] = l.Prefix(r.Org)+r.ID, string(b)
	}
	for len(keys) > 0 {
		cmps := make([]clientv3.Cmp, len(keys))
		puts := make([]clientv3.Op, len(keys))
		gets := make([]clientv3.Op, len(keys))
		for i, k := range keys {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
			puts[i] = clientv3.OpPut(k, vals[i])
			gets[i] = clientv3.OpGet(k, clientv3.WithKeysOnly())
		}
		resp, err := l.cli.Txn(ctx).If(cmps...).Then(puts...).Else(gets...).Commit()
		if err != nil {
			return err
		}
		if resp.Succeeded {
			return nil
		}
		var k2, v2 []string
		for i, r := range resp.Responses {
			if len(r.GetResponseRange().Kvs) == 0 {
				k2, v2 = append(k2, keys[i]), append(v2, vals[i])
			}
		}
		keys, vals = k2, v2
	}
	return nil
}

func (l *EtcdLog) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := l.Flush(fctx); err != nil {
				l.log.Warn("decision log: final flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
		case <-l.kick:
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := l.Flush(fctx); err != nil && ctx.Err() == nil {
			l.log.Warn("decision log: flush failed; will retry", "err", err)
		}
		cancel()
	}
}
