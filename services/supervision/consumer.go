package supervision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/store"
)

// evalWorkers is how many evaluations of a batch run at once.
var evalWorkers = max(2, runtime.GOMAXPROCS(0))

// checkpoint is the consumer's position: every event up to revision Rev, and the first N
// events written at Rev itself (one approval change writes several events at one
// revision, and a batch may end among them), have been evaluated and their warnings
// committed together with it.
type checkpoint struct {
	Rev      int64 `json:"rev"`
	N        int   `json:"n"`
	Events   int64 `json:"events"`
	Warnings int64 `json:"warnings"`
}

// covers reports whether the i-th event (0-based) written at rev is already consumed.
func (c checkpoint) covers(rev int64, i int) bool {
	return rev < c.Rev || (rev == c.Rev && i < c.N)
}

type consumerStats struct {
	checkpoint atomic.Int64
	events     atomic.Int64
	warnings   atomic.Int64
	lastEvent  atomic.Int64 // unix ns of the last event's time
	lastTick   atomic.Int64
}

func (s *Service) readCheckpoint(ctx context.Context) (checkpoint, int64, error) {
	var cp checkpoint
	kv, err := s.store.Get(ctx, s.keys.checkpointKey())
	if errors.Is(err, store.ErrNotFound) {
		return cp, 0, nil
	}
	if err != nil {
		return cp, 0, err
	}
	if err := json.Unmarshal(kv.Value, &cp); err != nil {
		return cp, 0, fmt.Errorf("supervision checkpoint: %w", err)
	}
	return cp, kv.ModRevision, nil
}

func (s *Service) consumeLoop(ctx context.Context) {
	s.again(ctx, "event stream ended; resuming from the checkpoint", s.Consume)
}

// again runs run until ctx ends, again after each return, waiting between runs with a
// backoff (100 ms doubling to 5 s, reset by a run that lasted a minute).
func (s *Service) again(ctx context.Context, msg string, run func(context.Context) error) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		s.log.Warn(msg, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Consume follows the approval event stream from its start until it ends or ctx does:
// events up to the checkpoint only rebuild the case view; later ones are evaluated and
// their warnings committed in batches, each one transaction with the checkpoint (guarded
// by the checkpoint's revision, so two consumers never both commit the same events).
func (s *Service) Consume(ctx context.Context) error {
	cp, cpRev, err := s.readCheckpoint(ctx)
	if err != nil {
		return err
	}
	s.stats.checkpoint.Store(cp.Rev)
	s.stats.events.Store(cp.Events)
	s.stats.warnings.Store(cp.Warnings)
	// The view is rebuilt from the start of the stream and published (to the clock rules)
	// only once it holds every event up to the checkpoint: a half-rebuilt view would show
	// steps long signed as still waiting.
	view := newCaseView()
	published := cp.Rev == 0
	if published {
		s.view.Store(view)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := approvalv1.NewEventServiceClient(s.cfg.Approval).WatchEvents(s.cfg.CallCtx(sctx), &approvalv1.WatchEventsRequest{Parent: "orgs/-"})
	if err != nil {
		return err
	}
	// Names raised by an earlier run of Consume may not have been committed: start from
	// what the store holds.
	if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
		return err
	}
	clear(s.raised)
	toCommit := make(chan prepared)
	commitErr := make(chan error, 1)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		rev := cpRev
		for p := range toCommit {
			var err error
			if rev, err = s.commitPrepared(ctx, p, rev); err != nil {
				commitErr <- err
				for range toCommit {
				}
				return
			}
		}
	}()
	defer func() { close(toCommit); <-committed }()
	events := make(chan *approvalv1.CaseEvent, 4*s.cfg.Batch)
	errc := make(chan error, 1)
	go func() {
		defer close(events)
		for {
			ev, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case events <- ev:
			case <-sctx.Done():
				errc <- sctx.Err()
				return
			}
		}
	}()
	var (
		atRev int64 // the revision of the last event seen, and how many were seen at it
		atN   int
		batch []*approvalv1.CaseEvent
		idx   []int
	)
	for {
		batch, idx = batch[:0], idx[:0]
		take := func(ev *approvalv1.CaseEvent) {
			if ev.Revision != atRev {
				atRev, atN = ev.Revision, 0
			}
			i := atN
			atN++
			if cp.covers(ev.Revision, i) {
				// Consumed before: it only rebuilds the view.
				if ev.CaseAfter != nil {
					view.apply(ev.CaseAfter)
				}
				if !published && ev.Revision == cp.Rev && i == cp.N-1 {
					s.view.Store(view)
					published = true
				}
				return
			}
			if !published {
				s.view.Store(view)
				published = true
			}
			batch, idx = append(batch, ev), append(idx, i)
		}
		select {
		case ev, ok := <-events:
			if !ok {
				return <-errc
			}
			take(ev)
		case <-ctx.Done():
			return ctx.Err()
		}
	drain:
		for len(batch) < s.cfg.Batch {
			select {
			case ev, ok := <-events:
				if !ok {
					break drain
				}
				take(ev)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			continue
		}
		p, err := s.evaluateBatch(ctx, view, cp, batch, idx)
		if err != nil {
			return err
		}
		// The commit runs while the next batch is evaluated (one in flight: commits stay
		// in order, each guarded by the revision the one before wrote).
		select {
		case toCommit <- p:
		case err := <-commitErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		cp = p.next
	}
}

// evaluateBatch evaluates a batch of new events (applying each change to the view): the
// warnings to raise and the checkpoint after it, for commitPrepared.
func (s *Service) evaluateBatch(ctx context.Context, view *caseView, cp checkpoint, batch []*approvalv1.CaseEvent, idx []int) (prepared, error) {
	// The warnings already raised: in the cache, or committed by this consumer since the
	// cache last caught up (s.raised) — no wait for the cache between batches.
	if len(s.raised) > 20000 {
		if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
			return prepared{}, err
		}
		clear(s.raised)
	}
	// The inputs are built in order (each sees the view as the stream left it at its
	// event), the rules evaluated concurrently, and the findings taken in order again.
	type job struct {
		ev   *approvalv1.CaseEvent
		c    *approvalv1.Case
		in   map[string]any
		fs   []finding
		rev  string
		err  error
		done chan struct{}
	}
	jobs := make([]*job, 0, len(batch))
	work := make(chan *job, len(batch))
	var wg sync.WaitGroup
	for range evalWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.fs, j.rev, j.err = s.findings(ctx, j.in)
				close(j.done)
			}
		}()
	}
	for _, ev := range batch {
		stepStart := view.stepStart(ev.Case, ev.Step)
		if ev.CaseAfter != nil {
			view.apply(ev.CaseAfter)
		}
		c, payments := view.get(ev.Case)
		if c == nil {
			continue // an event of a case whose creation was not seen (should not happen)
		}
		j := &job{ev: ev, c: c, in: s.eventInput(view, ev, c, payments, stepStart), done: make(chan struct{})}
		jobs = append(jobs, j)
		work <- j
	}
	close(work)
	wg.Wait()
	var raised []*supervisionv1.Warning
	seen := map[string]bool{}
	for _, j := range jobs {
		ev, c, fs, rev := j.ev, j.c, j.fs, j.rev
		if j.err != nil {
			return prepared{}, j.err
		}
		flow := c.Flow
		for _, f := range fs {
			w := s.warning(f, orgOf(ev.Case), c.Unit, flow, ev.Step, ev.Time.AsTime(), rev, &supervisionv1.Evidence{
				Event: ev.Name, Type: ev.Type, Revision: ev.Revision, Time: ev.Time, Actor: ev.Actor, Step: ev.Step,
			})
			if seen[w.Name] {
				continue
			}
			seen[w.Name] = true
			if _, exists := s.cache.Get(s.warningKey(w.Name)); exists || s.raised[w.Name] {
				continue
			}
			raised = append(raised, w)
		}
	}
	last := batch[len(batch)-1]
	next := checkpoint{Rev: last.Revision, N: idx[len(idx)-1] + 1, Events: cp.Events + int64(len(batch)), Warnings: cp.Warnings + int64(len(raised))}
	// Raised as far as the next batches are concerned, committed or not yet: a failed
	// commit ends Consume, which starts over from the checkpoint with this set cleared.
	for _, w := range raised {
		s.raised[w.Name] = true
	}
	return prepared{next: next, raised: raised, lastEvent: last.Time.AsTime()}, nil
}

// prepared is an evaluated batch, ready to commit.
type prepared struct {
	next      checkpoint
	raised    []*supervisionv1.Warning
	lastEvent time.Time
}

// commitPrepared commits a batch's warnings with the advanced checkpoint, guarded by the
// checkpoint's revision, and returns the new revision.
func (s *Service) commitPrepared(ctx context.Context, p prepared, cpRev int64) (int64, error) {
	b, _ := json.Marshal(p.next)
	t := store.NewTxn().ExpectVersion(s.keys.checkpointKey(), cpRev, "supervision checkpoint")
	for _, w := range p.raised {
		k := s.warningKey(w.Name)
		t.ExpectRevision(k, 0, w.Name).Put(k, storedWarning(w))
	}
	t.Put(s.keys.checkpointKey(), b)
	commit := func(ctx context.Context, t *store.Txn) (int64, error) { return s.store.Commit(ctx, fenced(ctx, t)) }
	if len(p.raised) > 0 {
		commit = s.commitWarnings // fenced too
	}
	rev, err := commit(store.SystemWrite(ctx, "supervision: warnings raised by the rules"), t)
	if err != nil {
		return 0, err
	}
	s.stats.checkpoint.Store(p.next.Rev)
	s.stats.events.Store(p.next.Events)
	s.stats.warnings.Store(p.next.Warnings)
	s.stats.lastEvent.Store(p.lastEvent.UnixNano())
	if len(p.raised) > 0 {
		s.nudgeHolds() // holds to place, warnings for the risk register
	}
	return rev, nil
}

// warningKey is the key of a warning name.
func (s *Service) warningKey(name string) string {
	return s.keys.warningKey(orgOf(name), idOf(name))
}

// storedWarning is a warning as stored (no name, no etag).
func storedWarning(w *supervisionv1.Warning) []byte { return stored(w, &w.Name, &w.Etag) }

// stored is m as stored: marshalled without its name and etag (which the key and its
// revision give), left as they were.
func stored(m proto.Message, name, etag *string) []byte {
	n, e := *name, *etag
	*name, *etag = "", ""
	b := store.Marshal(m)
	*name, *etag = n, e
	return b
}

// status is where the consumer stands.
func (s *Service) status() *supervisionv1.ConsumerStatus {
	st := &supervisionv1.ConsumerStatus{
		Checkpoint: s.stats.checkpoint.Load(), Events: s.stats.events.Load(), Warnings: s.stats.warnings.Load(),
		PendingHolds: int32(len(s.pendingHolds())), Leader: s.leader.Load(), Instance: s.cfg.Instance,
	}
	if t := s.stats.lastEvent.Load(); t > 0 {
		st.LastEventTime = timestamppb.New(time.Unix(0, t))
	}
	if t := s.stats.lastTick.Load(); t > 0 {
		st.LastTick = timestamppb.New(time.Unix(0, t))
	}
	return st
}

// Status is where the consumer stands (as GetConsumerStatus answers).
func (s *Service) Status() *supervisionv1.ConsumerStatus { return s.status() }
