// Package approval is Fenquan's approval chain: cases (办件) that run a power's published
// flow under 分权制衡. Every action on a case is decided by the policy decision point
// before anything is written, and is one etcd transaction that compares the case's
// revision and writes the case, its events and the request record together — exactly one
// of two concurrent signers of a step succeeds, and a retried request returns the first
// result without writing again.
//
// Lists (cases, inbox, overdue steps) are served from a watch-fed cache of case
// summaries; a case's full state is read from etcd.
package approval

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/approval/calendar"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
)

// GRPCServices are the gRPC services the approval service serves.
var GRPCServices = []string{
	approvalv1.CaseService_ServiceDesc.ServiceName,
	approvalv1.EventService_ServiceDesc.ServiceName,
	approvalv1.CalendarService_ServiceDesc.ServiceName,
}

// Config configures the approval service.
type Config struct {
	Etcd *clientv3.Client
	// KeyRoot is the root of every Fenquan key, "/fenquan" in deployments.
	KeyRoot string
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PDP decides every action; its org facts must be kept current (FollowFacts).
	PDP *pdp.PDP
	// Registry is a connection to the registry: powers and flows are read from its
	// catalogue with the caller's token.
	Registry grpc.ClientConnInterface
	// Calendar is the working-day calendar for the years no calendar was stored for;
	// default calendar.Default() (China's official schedules).
	Calendar *calendar.Calendar
	// MaxAttempts bounds how often an action is re-run when the case changed between
	// reading and writing it (another action won the race); default 8.
	MaxAttempts int
}

// Service is a running approval service: its cache is loaded and kept current until the
// context given to New ends.
type Service struct {
	cfg   Config
	log   *slog.Logger
	keys  keys
	store *store.Store
	cli   *clientv3.Client
	pdp   *pdp.PDP
	cat   *catalog
	// requests records request ids (exactly once).
	requests *requests.Log
	cache    *informer.Cache
	due      *dueIndex
	// cal is the calendar in force: the default with the stored years applied.
	cal atomic.Pointer[calendar.Calendar]
	// stored holds the years stored in etcd (year → Year, etag), guarded by calMu.
	calMu  sync.Mutex
	stored map[int]storedYear
}

type storedYear struct {
	year calendar.Year
	rev  int64
}

// Indexes of the case cache. Values are prefixed by the org, so one index serves all orgs.
const (
	idxState     = "state"     // org|state
	idxUnit      = "unit"      // org|unit name
	idxPower     = "power"     // org|power name
	idxApplicant = "applicant" // org|person name
	idxHeld      = "held"      // org
	idxInbox     = "inbox"     // org|post:<post> | org|seat:<unit>|<rank> | org|person:<person>
	idxIndicator = "indicator" // org|indicator code, for cases that set an indicator
)

// New loads the service's cache from etcd and starts following it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Etcd == nil || cfg.Logger == nil || cfg.PDP == nil || cfg.Registry == nil {
		return nil, errors.New("approval: Etcd, Logger, PDP and Registry are required")
	}
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = "/fenquan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Calendar == nil {
		cfg.Calendar = calendar.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	k := newKeys(cfg.KeyRoot)
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("service", "approval"), keys: k,
		store: store.New(cfg.Etcd, k.data), cli: cfg.Etcd, pdp: cfg.PDP,
		cat: newCatalog(cfg.Registry), requests: requests.New(cfg.Etcd, cfg.KeyRoot, "approval"),
		due: newDueIndex(), stored: map[int]storedYear{},
	}
	s.cal.Store(cfg.Calendar)
	s.cache = informer.New(cfg.Etcd, k.data.Prefix(), s.decode, s.log)
	s.addIndexes()
	s.cache.OnChange(s.onChange)
	if err := s.cache.Start(ctx); err != nil {
		return nil, err
	}
	// The first list emits no changes: index what it loaded.
	s.reloadCalendars()
	s.due.load(func(add func(string, *summary)) {
		s.cache.Ascend(k.data.Prefix(), "", func(it *informer.Item) bool {
			if sm, ok := it.Obj.(*summary); ok && len(sm.active) > 0 {
				add(it.Key, sm)
			}
			return true
		})
	})
	return s, nil
}

// Register adds the service's gRPC services to a server.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	h := &handler{s: s, log: s.log}
	approvalv1.RegisterCaseServiceServer(gs, h)
	approvalv1.RegisterEventServiceServer(gs, h)
	approvalv1.RegisterCalendarServiceServer(gs, h)
}

// calendar is the working-day calendar in force.
func (s *Service) calendar() *calendar.Calendar { return s.cal.Load() }

// decode turns a stored key into its cached object: a case summary or a calendar year.
func (s *Service) decode(key string, value []byte, modRev int64) (any, error) {
	org, coll, ids, ok := s.keys.data.Parse(key)
	if !ok || len(ids) != 1 {
		return nil, nil
	}
	switch coll {
	case "cases":
		c := &approvalv1.Case{}
		if err := store.Unmarshal(value, c); err != nil {
			return nil, err
		}
		return summarize(c, "orgs/"+org+"/cases/"+ids[0], modRev), nil
	case "calendars":
		if org != store.PlatformOrg {
			return nil, nil
		}
		c := &approvalv1.Calendar{}
		if err := store.Unmarshal(value, c); err != nil {
			return nil, err
		}
		c.Name, c.Etag = "calendars/"+ids[0], store.FormatEtag(modRev)
		return c, nil
	}
	return nil, nil
}

func (s *Service) addIndexes() {
	one := func(f func(org string, sm *summary) string) informer.IndexFunc {
		return func(key string, obj any) []string {
			sm, ok := obj.(*summary)
			if !ok {
				return nil
			}
			if v := f(sm.org(), sm); v != "" {
				return []string{v}
			}
			return nil
		}
	}
	s.cache.AddIndex(idxState, one(func(org string, sm *summary) string { return org + "|" + sm.state.String() }))
	s.cache.AddIndex(idxUnit, one(func(org string, sm *summary) string { return org + "|" + sm.unit }))
	s.cache.AddIndex(idxPower, one(func(org string, sm *summary) string { return org + "|" + sm.power }))
	s.cache.AddIndex(idxApplicant, one(func(org string, sm *summary) string { return org + "|" + sm.applicant }))
	s.cache.AddIndex(idxHeld, one(func(org string, sm *summary) string {
		if sm.held {
			return org
		}
		return ""
	}))
	s.cache.AddIndex(idxIndicator, one(func(org string, sm *summary) string {
		if sm.indicator != "" && len(sm.signers) > 0 {
			return org + "|" + sm.indicator
		}
		return ""
	}))
	s.cache.AddIndex(idxInbox, func(key string, obj any) []string {
		sm, ok := obj.(*summary)
		if !ok {
			return nil
		}
		return sm.inboxKeys()
	})
}

// onChange keeps the due-time index and the calendar current.
func (s *Service) onChange(evs []informer.Event) {
	calendars := false
	for _, ev := range evs {
		prev, _ := ev.Prev.(*summary)
		next, _ := ev.Obj.(*summary)
		if prev != nil || next != nil {
			s.due.change(ev.Key, prev, next)
		}
		if _, ok := ev.Obj.(*approvalv1.Calendar); ok {
			calendars = true
		} else if _, ok := ev.Prev.(*approvalv1.Calendar); ok {
			calendars = true
		}
	}
	if calendars {
		s.reloadCalendars()
	}
}

// reloadCalendars rebuilds the calendar in force from the default and the stored years.
func (s *Service) reloadCalendars() {
	s.calMu.Lock()
	defer s.calMu.Unlock()
	cal := s.cfg.Calendar
	stored := map[int]storedYear{}
	s.cache.Ascend(s.keys.data.CollectionPrefix(store.PlatformOrg, "calendars"), "", func(it *informer.Item) bool {
		c, ok := it.Obj.(*approvalv1.Calendar)
		if !ok {
			return true
		}
		y, err := yearOf(c)
		if err != nil {
			s.log.Error("stored calendar is invalid; ignored", "calendar", c.Name, "err", err)
			return true
		}
		next, err := cal.With(y)
		if err != nil {
			s.log.Error("stored calendar is invalid; ignored", "calendar", c.Name, "err", err)
			return true
		}
		cal, stored[y.Year] = next, storedYear{year: y, rev: it.ModRev}
		return true
	})
	s.stored = stored
	s.cal.Store(cal)
}
