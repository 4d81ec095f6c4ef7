package supervision

import (
	"context"
	"time"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/store"
)

func (s *Service) clockLoop(ctx context.Context) {
	// The first tick soon after the start (the rotation rules need no case view; the time
	// limits catch up on the next tick once the view is rebuilt), then every Tick.
	first := time.NewTimer(min(5*time.Second, s.cfg.Tick))
	defer first.Stop()
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		case <-t.C:
		}
		if n, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("clock rules failed; the next tick retries", "err", err)
		} else if n > 0 {
			s.log.Info("clock rules raised warnings", "warnings", n)
		}
	}
}

// maxTickWrites bounds one transaction of the clock rules' warnings.
const maxTickWrites = 1000

// Tick evaluates the clock rules at Now: each open case of the view (time limits:
// 预警 → 黄牌 → 红牌), and each post holding of every org the decision point knows (轮岗).
// The warnings not raised before are committed, each guarded by its absence, so a tick
// repeated (or run by two replicas) raises each warning once. It returns how many it
// raised.
func (s *Service) Tick(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	rev := ""
	var raised []*supervisionv1.Warning
	seen := map[string]bool{}
	if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
		return 0, err
	}
	add := func(w *supervisionv1.Warning) {
		if seen[w.Name] {
			return
		}
		seen[w.Name] = true
		if _, ok := s.cache.Get(s.warningKey(w.Name)); !ok {
			raised = append(raised, w)
		}
	}
	view := s.view.Load()
	for _, c := range view.open() {
		if len(c.Active) == 0 {
			continue
		}
		_, payments := view.get(c.Name)
		in := s.baseInput("clock", orgOf(c.Name), now)
		in["case"] = caseInput(c, payments)
		fs, r, err := s.findings(ctx, in)
		if err != nil {
			return 0, err
		}
		rev = r
		for _, f := range fs {
			step := ""
			if len(c.Active) == 1 {
				step = c.Active[0].Step
			}
			add(s.warning(f, orgOf(c.Name), c.Unit, c.Flow, step, now, rev))
		}
	}
	day := now.In(cst).Format(time.DateOnly)
	for _, org := range s.cfg.PDP.Facts().Orgs() {
		for _, h := range s.cfg.PDP.Facts().CurrentHoldings(org, day) {
			in := s.baseInput("clock", org, now)
			in["holding"] = map[string]any{
				"post": h.Post, "person": h.Person, "unit": h.Unit, "since": h.Since, "key_post": h.KeyPost,
				"rotation_years": h.RotationMonths / 12, "moves_this_year": h.MovesThisYear,
			}
			fs, r, err := s.findings(ctx, in)
			if err != nil {
				return 0, err
			}
			rev = r
			for _, f := range fs {
				add(s.warning(f, org, h.Unit, "", "", now, rev))
			}
		}
	}
	total := len(raised)
	for len(raised) > 0 {
		n := min(len(raised), maxTickWrites)
		t := store.NewTxn()
		for _, w := range raised[:n] {
			k := s.warningKey(w.Name)
			t.ExpectRevision(k, 0, w.Name).Put(k, storedWarning(w))
		}
		if _, err := s.commitWarnings(store.SystemWrite(ctx, "supervision: warnings raised by the clock rules"), t); err != nil {
			return 0, err
		}
		for _, w := range raised[:n] {
			if w.Hold != "" {
				s.nudgeHolds()
			}
		}
		raised = raised[n:]
	}
	s.stats.lastTick.Store(now.UnixNano())
	return total, nil
}
