package supervision

import (
	"slices"
	"time"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// Ranks of the registry (registryv1.Rank) the owners are found by.
const (
	rankDirector     = 4 // 处长: the unit's head
	rankInCharge     = 5 // 分管领导
	rankPrincipal    = 6 // 主要领导
	rankUnitHeadFrom = rankDirector
)

// owners are who must act on a warning, by its grade, as the org stands on the day:
// 红牌 → the principal leader (主要领导) and the heads of the discipline office; 黄牌 → the
// leaders in charge (分管领导: which leader is in charge of which unit is not in the
// registry, so all of them); 提示 → the heads of the warning's unit. Person names, sorted.
func (s *Service) owners(org, unit string, sev supervisionv1.Severity, now time.Time) []string {
	day := now.In(cst).Format(time.DateOnly)
	key := ownersKey{org, unit, sev, day}
	s.ownersMu.Lock()
	if e, ok := s.ownersMemo[key]; ok && time.Since(e.at) < time.Minute {
		s.ownersMu.Unlock()
		return e.people
	}
	s.ownersMu.Unlock()
	out := s.findOwners(org, unit, sev, day)
	s.ownersMu.Lock()
	if len(s.ownersMemo) > 10000 {
		clear(s.ownersMemo)
	}
	s.ownersMemo[key] = ownersEntry{people: out, at: time.Now()}
	s.ownersMu.Unlock()
	return out
}

// ownersKey and ownersEntry memoise owners for a minute (the org facts move slowly; a
// warning-heavy stream asks the same question many times).
type ownersKey struct {
	org, unit string
	sev       supervisionv1.Severity
	day       string
}

type ownersEntry struct {
	people []string
	at     time.Time
}

func (s *Service) findOwners(org, unit string, sev supervisionv1.Severity, day string) []string {
	f := s.cfg.PDP.Facts()
	var out []string
	add := func(person string) {
		if !slices.Contains(out, person) {
			out = append(out, person)
		}
	}
	leaders := func(rank int) {
		for _, p := range f.Leadership(org, day) {
			for _, seat := range f.Holdings(org, p, day) {
				if seat.Rank == rank {
					add("orgs/" + org + "/people/" + p)
				}
			}
		}
	}
	heads := func(units map[string]bool) {
		for _, h := range f.CurrentHoldings(org, day) {
			if !units[h.Unit] {
				continue
			}
			if _, rank, ok := f.Post(org, idOf(h.Post)); ok && rank >= rankUnitHeadFrom {
				add(h.Person)
			}
		}
	}
	switch sev {
	case supervisionv1.Severity_SEVERITY_RED:
		leaders(rankPrincipal)
		discipline := map[string]bool{}
		for _, u := range f.Units(org) {
			if u.Discipline {
				discipline[u.Name] = true
			}
		}
		heads(discipline)
	case supervisionv1.Severity_SEVERITY_YELLOW:
		leaders(rankInCharge)
	default:
		if unit != "" {
			heads(map[string]bool{unit: true})
		}
	}
	slices.Sort(out)
	return out
}
