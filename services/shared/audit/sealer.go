package audit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"google.golang.org/grpc/metadata"

	"github.com/fenquan/fenquan/services/shared/store"
)

var (
	// ErrFenced: the sealer lost its leadership; what it was about to seal is left to the
	// next leader.
	ErrFenced = errors.New("audit: this sealer no longer leads")
	// ErrNotLeader: Flush was called on a sealer that does not lead.
	ErrNotLeader = errors.New("audit: this sealer does not lead")
)

// Options configures a Sealer.
type Options struct {
	// Interval between seals; default 1s.
	Interval time.Duration
	// Batch is the most entries of one org a seal lists (a revision is never split, so a
	// seal may list more); reaching it seals at once. Default 1000.
	Batch int
	// TTL of the election session in seconds; default 10. A sealer that stops without
	// resigning is replaced after it.
	TTL int
	// Name is this candidate's value in the election; default host-pid.
	Name   string
	Logger *slog.Logger
	Now    func() time.Time
}

// Sealer seals the audit log while it leads the election at LeaderPrefix. Every process
// that runs one competes; only the leader writes, and each seal's transaction is fenced by
// the leader key, so two sealers never both extend a chain.
type Sealer struct {
	cli     *clientv3.Client
	root    string
	o       Options
	flushc  chan flushReq
	leading atomic.Bool
}

type flushReq struct {
	rev  int64
	done chan error
}

// NewSealer returns a sealer of the audit log under root.
func NewSealer(cli *clientv3.Client, root string, o Options) *Sealer {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.TTL <= 0 {
		o.TTL = 10
	}
	if o.Name == "" {
		host, _ := os.Hostname()
		o.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sealer{cli: cli, root: root, o: o, flushc: make(chan flushReq)}
}

// Leading reports whether this sealer leads now.
func (s *Sealer) Leading() bool { return s.leading.Load() }

// Run competes for the election and seals while leading, until ctx ends (it then resigns
// and returns nil). Losing the leadership or etcd starts over.
func (s *Sealer) Run(ctx context.Context) error {
	for {
		err := s.runTerm(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.o.Logger.Warn("audit sealer: leadership term ended; campaigning again", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// Flush seals everything committed before it is called. Only the leader flushes; others
// return ErrNotLeader.
func (s *Sealer) Flush(ctx context.Context) error {
	if !s.leading.Load() {
		return ErrNotLeader
	}
	resp, err := s.cli.Get(ctx, ProgressKey(s.root))
	if err != nil {
		return err
	}
	req := flushReq{rev: resp.Header.Revision, done: make(chan error, 1)}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for sent := false; !sent; {
		select {
		case s.flushc <- req:
			sent = true
		case <-t.C:
			if !s.leading.Load() {
				return ErrNotLeader
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sealer) runTerm(ctx context.Context) error {
	t, end, err := s.campaign(ctx)
	if err != nil {
		return err
	}
	defer end()
	return t.lead(ctx)
}

// term is one leadership: the fence (leader key and its create revision), the heads of
// the orgs sealed, and the entries seen and not sealed yet.
type term struct {
	s        *Sealer
	sess     *concurrency.Session
	key      string
	rev      int64
	heads    map[string]*headState
	pending  map[string][]SealedEntry
	seen     int64 // every audit event through this revision has been received
	progress int64 // every org is sealed through this revision (ProgressKey)
}

type headState struct {
	Head
	exists bool
	modRev int64 // of the head key and of the last seal's key (one transaction)
}

// campaign waits to lead. end resigns (revoking the session's lease, so another sealer
// takes over at once).
func (s *Sealer) campaign(ctx context.Context) (*term, func(), error) {
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	lease, err := s.cli.Grant(gctx, int64(s.o.TTL))
	cancel()
	if err != nil {
		return nil, nil, err
	}
	// The session outlives ctx until end revokes it.
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(s.o.TTL), concurrency.WithLease(lease.ID), concurrency.WithContext(sctx))
	if err != nil {
		scancel()
		return nil, nil, err
	}
	cctx, ccancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-sess.Done():
		case <-cctx.Done():
		}
		ccancel()
	}()
	el := concurrency.NewElection(sess, LeaderPrefix(s.root))
	err = el.Campaign(cctx, s.o.Name)
	ccancel()
	if err != nil {
		_ = sess.Close()
		scancel()
		return nil, nil, err
	}
	t := &term{s: s, sess: sess, key: el.Key(), rev: el.Rev(), heads: map[string]*headState{}, pending: map[string][]SealedEntry{}}
	s.leading.Store(true)
	s.o.Logger.Info("audit sealer: leading", "name", s.o.Name, "key", t.key)
	return t, func() {
		s.leading.Store(false)
		_ = sess.Close()
		scancel()
	}, nil
}

func (t *term) log() *slog.Logger { return t.s.o.Logger }

// lead seals until ctx ends or the session is lost.
func (t *term) lead(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.sess.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := t.loop(ctx)
	select {
	case <-t.sess.Done():
		return ErrFenced
	default:
		return err
	}
}

func (t *term) loop(ctx context.Context) (err error) {
	var waiters []flushReq
	defer func() {
		for _, w := range waiters {
			w.done <- cmp.Or(err, ErrFenced) // the term ends: flushes wait no longer
		}
	}()
	if err := t.loadProgress(ctx); err != nil {
		return err
	}
	t.seen = t.progress
	// The watch has a gRPC stream of its own, so progress requests answer for it alone.
	wbase := metadata.AppendToOutgoingContext(ctx, "fenquan-watch", "audit-sealer")
	watch := func(from int64) (clientv3.WatchChan, context.CancelFunc) {
		wctx, wcancel := context.WithCancel(wbase)
		return t.s.cli.Watch(wctx, store.AuditPrefix(t.s.root), clientv3.WithPrefix(), clientv3.WithRev(from)), wcancel
	}
	wch, wcancel := watch(t.seen + 1)
	defer func() { wcancel() }()
	tick := time.NewTicker(t.s.o.Interval)
	defer tick.Stop()
	var retryT *time.Ticker // while flushes wait: ask for the watch's progress again
	var retry <-chan time.Time
	defer func() {
		if retryT != nil {
			retryT.Stop()
		}
	}()
	// answer seals when a flush waits for what is seen, and answers those waiters.
	answer := func() error {
		var ready, rest []flushReq
		for _, w := range waiters {
			if w.rev <= t.seen {
				ready = append(ready, w)
			} else {
				rest = append(rest, w)
			}
		}
		if len(ready) == 0 {
			return nil
		}
		err := t.sealAll(ctx)
		for _, w := range ready {
			w.done <- err
		}
		waiters = rest
		if len(waiters) == 0 && retryT != nil {
			retryT.Stop()
			retryT, retry = nil, nil
		}
		return err
	}
	fatal := func(err error) bool { return errors.Is(err, ErrFenced) || ctx.Err() != nil }
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case resp, ok := <-wch:
			if !ok {
				return errors.New("audit sealer: watch closed")
			}
			if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
				// The history since the last seal is gone: read what is there now.
				wcancel()
				t.log().Warn("audit sealer: log history compacted; re-reading the log", "from", t.seen+1, "compacted", resp.CompactRevision)
				if err := t.catchUp(ctx); err != nil {
					return err
				}
				wch, wcancel = watch(t.seen + 1)
				continue
			}
			if err := resp.Err(); err != nil {
				return err
			}
			for _, ev := range resp.Events {
				t.add(ev)
			}
			if resp.IsProgressNotify() {
				t.seen = max(t.seen, resp.Header.Revision)
			}
			if t.full() {
				if err := t.sealAll(ctx); err != nil && fatal(err) {
					return err
				}
			}
			if err := answer(); err != nil && fatal(err) {
				return err
			}
		case <-tick.C:
			if err := t.sealAll(ctx); err != nil {
				if fatal(err) {
					return err
				}
				t.log().Warn("audit sealer: seal failed; will retry", "err", err)
			}
		case w := <-t.s.flushc:
			waiters = append(waiters, w)
			if err := answer(); err != nil && fatal(err) {
				return err
			}
			if len(waiters) > 0 && retryT == nil {
				_ = t.s.cli.RequestProgress(wbase)
				retryT = time.NewTicker(50 * time.Millisecond)
				retry = retryT.C
			}
		case <-retry:
			// A progress request is only answered while the watch is in sync: ask again.
			_ = t.s.cli.RequestProgress(wbase)
		}
	}
}

// add takes one watch event.
func (t *term) add(ev *clientv3.Event) {
	org, id, ok := splitAuditKey(t.s.root, string(ev.Kv.Key))
	if !ok {
		return
	}
	t.seen = max(t.seen, ev.Kv.ModRevision)
	if ev.Type == mvccpb.DELETE {
		t.log().Error("audit sealer: an audit entry was deleted", "org", org, "entry", id, "revision", ev.Kv.ModRevision)
		return
	}
	if ev.Kv.Version > 1 {
		// Sealed anyway: the seal of its first version no longer matches, which Verify
		// reports.
		t.log().Error("audit sealer: an audit entry was rewritten", "org", org, "entry", id, "revision", ev.Kv.ModRevision)
	}
	t.addKV(org, id, ev.Kv)
}

func (t *term) addKV(org, id string, kv *mvccpb.KeyValue) {
	t.pending[org] = append(t.pending[org], SealedEntry{ID: id, Rev: kv.ModRevision, D: EntryDigest(kv.Key, kv.Value)})
}

func (t *term) full() bool {
	for _, es := range t.pending {
		if len(es) >= t.s.o.Batch {
			return true
		}
	}
	return false
}

// catchUp reads the whole log at the current revision and takes every entry written after
// the progress (those of orgs sealed further are skipped when sealing).
func (t *term) catchUp(ctx context.Context) error {
	kvs, rev, err := readPrefix(ctx, t.s.cli, store.AuditPrefix(t.s.root), 0)
	if err != nil {
		return err
	}
	t.pending = map[string][]SealedEntry{}
	for _, kv := range kvs {
		if kv.ModRevision <= t.progress {
			continue
		}
		if org, id, ok := splitAuditKey(t.s.root, string(kv.Key)); ok {
			t.addKV(org, id, kv)
		}
	}
	t.seen = rev
	if err := t.sealAll(ctx); err != nil {
		if errors.Is(err, ErrFenced) || ctx.Err() != nil {
			return err
		}
		t.log().Warn("audit sealer: seal failed; will retry", "err", err) // what is read stays pending
	}
	return nil
}

func (t *term) loadProgress(ctx context.Context) error {
	resp, err := t.s.cli.Get(ctx, ProgressKey(t.s.root))
	if err != nil {
		return err
	}
	t.progress = 0
	if len(resp.Kvs) > 0 {
		if t.progress, err = strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64); err != nil {
			return fmt.Errorf("audit sealer: progress %q: %w", resp.Kvs[0].Value, err)
		}
	}
	return nil
}

// sealAll seals every org's pending entries through t.seen, then records the progress.
func (t *term) sealAll(ctx context.Context) error {
	orgs := make([]string, 0, len(t.pending))
	for org := range t.pending {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	var failed error
	for _, org := range orgs {
		if err := t.sealOrg(ctx, org); err != nil {
			if errors.Is(err, ErrFenced) || ctx.Err() != nil {
				return err
			}
			t.log().Error("audit sealer: sealing failed", "org", org, "err", err)
			failed = cmp.Or(failed, err)
			continue
		}
		delete(t.pending, org)
	}
	if failed != nil || t.seen <= t.progress {
		return failed
	}
	resp, err := t.s.cli.Txn(ctx).If(t.fence()).Then(clientv3.OpPut(ProgressKey(t.s.root), strconv.FormatInt(t.seen, 10))).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return ErrFenced
	}
	t.progress = t.seen
	return nil
}

// fence holds while this term's leader key is the one it campaigned with.
func (t *term) fence() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)
}

func (t *term) head(ctx context.Context, org string) (*headState, error) {
	if h, ok := t.heads[org]; ok {
		return h, nil
	}
	resp, err := t.s.cli.Get(ctx, HeadKey(t.s.root, org))
	if err != nil {
		return nil, err
	}
	h := &headState{}
	if len(resp.Kvs) > 0 {
		if err := json.Unmarshal(resp.Kvs[0].Value, &h.Head); err != nil {
			return nil, fmt.Errorf("the head of org %s does not decode: %w", org, err)
		}
		h.exists, h.modRev = true, resp.Kvs[0].ModRevision
	}
	t.heads[org] = h
	return h, nil
}

// sealOrg seals the pending entries of org written after its head, in batches.
func (t *term) sealOrg(ctx context.Context, org string) error {
	h, err := t.head(ctx, org)
	if err != nil {
		return err
	}
	var es []SealedEntry
	for _, e := range t.pending[org] {
		if e.Rev > h.ToRev {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(a, b SealedEntry) int {
		return cmp.Or(cmp.Compare(a.Rev, b.Rev), cmp.Compare(a.ID, b.ID))
	})
	for len(es) > 0 {
		n := min(len(es), t.s.o.Batch)
		for n < len(es) && es[n].Rev == es[n-1].Rev {
			n++ // never split a revision
		}
		toRev := es[n-1].Rev
		if n == len(es) {
			toRev = max(toRev, t.seen)
		}
		seal := Seal{Time: t.s.o.Now().UTC(), FromRev: h.ToRev, ToRev: toRev, Entries: es[:n:n], Prev: h.Hash, PrevModRev: h.modRev}
		if h.exists {
			seal.Seq = h.Seq + 1
		}
		seal.Hash = seal.ComputeHash()
		if h, err = t.write(ctx, org, h, seal); err != nil {
			delete(t.heads, org) // read it again before the next attempt
			return err
		}
		t.heads[org] = h
		es = es[n:]
	}
	return nil
}

// write commits seal as the next of org's chain: only while this term leads, the head is
// the one read and the seal's key is new.
func (t *term) write(ctx context.Context, org string, h *headState, seal Seal) (*headState, error) {
	sk, hk := SealKey(t.s.root, org, seal.Seq), HeadKey(t.s.root, org)
	cmps := []clientv3.Cmp{t.fence(), clientv3.Compare(clientv3.CreateRevision(sk), "=", 0)}
	if h.exists {
		cmps = append(cmps,
			clientv3.Compare(clientv3.ModRevision(SealKey(t.s.root, org, h.Seq)), "=", h.modRev),
			clientv3.Compare(clientv3.ModRevision(hk), "=", h.modRev))
	} else {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(hk), "=", 0))
	}
	next := Head{Seq: seal.Seq, Hash: seal.Hash, ToRev: seal.ToRev}
	sb, _ := json.Marshal(seal)
	hb, _ := json.Marshal(next)
	resp, err := t.s.cli.Txn(ctx).If(cmps...).
		Then(clientv3.OpPut(sk, string(sb)), clientv3.OpPut(hk, string(hb))).
		Else(clientv3.OpGet(t.key, clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 0 || kvs[0].CreateRevision != t.rev {
			return nil, ErrFenced
		}
		return nil, fmt.Errorf("the seal chain of org %s is not where this sealer read it (seal %d): left as it is", org, seal.Seq)
	}
	return &headState{Head: next, exists: true, modRev: resp.Header.Revision}, nil
}

// WaitSealed waits until the running sealer has sealed every org through rev, a revision
// at which the log was written (an entry put or deleted: the progress moves with the log's
// writes only), polling. E.g. to verify right after a change, or after tampering with the
// log in a test. With no sealer running it ends with ctx.
func WaitSealed(ctx context.Context, cli *clientv3.Client, root string, rev int64) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		resp, err := cli.Get(ctx, ProgressKey(root))
		if err != nil {
			return err
		}
		if len(resp.Kvs) > 0 {
			if p, err := strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64); err == nil && p >= rev {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
