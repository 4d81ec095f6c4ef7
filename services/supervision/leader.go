package supervision

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Leadership. Every replica serves reads and the people's acts (warnings, complaints);
// only one — the leader, elected through etcd — consumes the event stream, runs the clock
// rules and places holds. Every write the leader makes on its own account carries a
// fence: the leader key's revision, compared in the same transaction, so a replica that
// lost its lease (paused, partitioned) and has not noticed yet cannot write anything: its
// transaction fails and it stops.

// fence is the leadership a write is made under: the election key and its revision.
type fence struct {
	key string
	rev int64
}

type fenceKey struct{}

func withFence(ctx context.Context, f fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// fenced adds ctx's fence, if any, to t as a guard.
func fenced(ctx context.Context, t *store.Txn) *store.Txn {
	if f, ok := ctx.Value(fenceKey{}).(fence); ok {
		t.ExpectRevision(f.key, f.rev, "supervision leadership")
	}
	return t
}

// electionPrefix is where the replicas campaign.
func (k keys) electionPrefix() string { return k.state.Key(store.PlatformOrg, "leader") + "/" }

// leadLoop campaigns for the leadership until ctx ends; while leading it runs the
// consumer, the hold worker and the clock, and stops them the moment the lease is lost.
func (s *Service) leadLoop(ctx context.Context) {
	s.again(ctx, "leadership ended; campaigning again", s.lead)
}

// lead campaigns once and, once elected, leads until the session or ctx ends.
func (s *Service) lead(ctx context.Context) error {
	// The session is not bound to ctx: closing it revokes the lease, so the next replica
	// takes over at once instead of waiting for the lease to expire.
	sess, err := concurrency.NewSession(s.cfg.Etcd, concurrency.WithTTL(s.cfg.LeaseTTL))
	if err != nil {
		return err
	}
	defer sess.Close()
	e := concurrency.NewElection(sess, s.keys.electionPrefix())
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-sess.Done(): // lease lost while campaigning
			cancel()
		case <-cctx.Done():
		}
	}()
	err = e.Campaign(cctx, s.cfg.Instance)
	if err != nil {
		cancel()
		return fmt.Errorf("campaign: %w", err)
	}
	f := fence{key: e.Key(), rev: e.Rev()}
	s.leader.Store(true)
	s.log.Info("leading: consuming the event stream, running the clock and placing holds", "instance", s.cfg.Instance, "lease", int64(sess.Lease()))
	lctx := withFence(cctx, f)
	var wg sync.WaitGroup
	for _, run := range s.leaderWork() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(lctx)
		}()
	}
	select {
	case <-sess.Done():
		err = fmt.Errorf("lease %x lost", int64(sess.Lease()))
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	s.leader.Store(false)
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer rcancel()
	_ = e.Resign(rctx)
	return err
}

// leaderWork is what the leader runs.
func (s *Service) leaderWork() []func(context.Context) {
	work := []func(context.Context){s.consumeLoop, s.holdLoop}
	if s.cfg.Tick > 0 {
		work = append(work, s.clockLoop)
	}
	return work
}

// defaultInstance names this process in the election: host and pid.
func defaultInstance() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// Leader reports whether this replica leads now.
func (s *Service) Leader() bool { return s.leader.Load() }
