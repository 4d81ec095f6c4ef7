// Package supervision is Fenquan's 电子监察: it consumes the approval service's case event
// stream, evaluates the supervision rules (Rego, package fenquan.supervision, through the
// policy decision point) on every change of a case and on a clock, and records what they
// find as warnings — each exactly once: a warning's id is derived from the rule's dedupe
// key, and the stream position (the checkpoint) is committed in the same etcd transaction
// as the warnings it produced, so a restart resumes where the last commit ended and
// neither misses nor repeats one (docs/SUPERVISION.md).
package supervision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

// GRPCServices are the gRPC services the supervision service serves.
var GRPCServices = []string{supervisionv1.SupervisionService_ServiceDesc.ServiceName, supervisionv1.ComplaintService_ServiceDesc.ServiceName}

// Config configures the supervision service.
type Config struct {
	Etcd *clientv3.Client
	// KeyRoot is the root of every Fenquan key, "/fenquan" in deployments.
	KeyRoot string
	Logger  *slog.Logger
	// Now is the clock of the clock rules; default time.Now.
	Now func() time.Time
	// PDP evaluates the supervision rules; its org facts must be kept current.
	PDP *pdp.PDP
	// Approval is a connection to the approval service: its event stream, and holds.
	Approval grpc.ClientConnInterface
	// Risk is a connection to the risk service, which counts each warning on a flow's
	// step against the risk points there (nil: no feedback).
	Risk grpc.ClientConnInterface
	// CallCtx adds the service's own credentials (platform role "service") to its calls.
	CallCtx func(context.Context) context.Context
	// Tick is how often the clock rules run; default one minute. Negative: never (tests
	// call Tick).
	Tick time.Duration
	// Lookback is how far back related payments are gathered for a case (split payments,
	// frequency, repeated pairs); default 90 days (data.supervision.lookback_days).
	Lookback time.Duration
	// Batch is the most events committed in one transaction; default 256.
	Batch int
	// NoConsumer leaves the stream alone (a replica serving reads only, or tests that
	// drive Consume themselves).
	NoConsumer bool
	// Instance names this replica in the leader election; default host-pid.
	Instance string
	// LeaseTTL is the leader's lease in seconds: a leader that dies is replaced within it
	// (one that stops cleanly, at once). Default 10.
	LeaseTTL int
}

// Service is a running supervision service.
type Service struct {
	cfg   Config
	log   *slog.Logger
	keys  keys
	store *store.Store
	cache *informer.Cache
	view  atomic.Pointer[caseView]
	stats consumerStats
	wake  chan struct{} // nudges the hold worker
	cal   *calendar

	ownersMu   sync.Mutex
	ownersMemo map[ownersKey]ownersEntry
	// raised holds the names of the warnings this consumer committed that the cache may not
	// show yet: the next batch dedupes against it instead of waiting for the cache.
	raised map[string]bool
	// warnRev is the highest revision at which this process wrote warnings: its cache of
	// warnings serves them back once there (checkpoint-only commits do not count — the
	// cache follows the warnings only, and would wait for a progress notice).
	warnRev atomic.Int64
	// leader is set while this replica leads (leader.go).
	leader atomic.Bool
}

// keys (docs/SUPERVISION.md, "Keys"):
//
//	<root>/supervision/<org>/warnings/<id>          Warning (without name, etag)
//	<root>/supervision-state/-/consumer/checkpoint  checkpoint: the last event revision consumed
type keys struct {
	data  store.Keyspace
	state store.Keyspace
}

func (k keys) warningKey(org, id string) string { return k.data.Key(org, "warnings", id) }
func (k keys) checkpointKey() string            { return k.state.Key(store.PlatformOrg, "consumer", "checkpoint") }

// warningID is the id of the warning a finding's key gives: the same situation is the same
// warning however often (or by however many replicas) it is evaluated.
func warningID(rule, key string) string {
	h := sha256.Sum256([]byte(rule + "\x00" + key))
	return "w" + hex.EncodeToString(h[:12])
}

// New loads the warnings cache and, unless NoConsumer, campaigns for the leadership: the
// leader consumes the event stream, places holds and runs the clock (leader.go). All run
// until ctx ends.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Etcd == nil || cfg.Logger == nil || cfg.PDP == nil {
		return nil, errors.New("supervision: Etcd, Logger and PDP are required")
	}
	if !cfg.NoConsumer && (cfg.Approval == nil || cfg.CallCtx == nil) {
		return nil, errors.New("supervision: Approval and CallCtx are required to consume the event stream")
	}
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = "/fenquan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick == 0 {
		cfg.Tick = time.Minute
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = 90 * 24 * time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Instance == "" {
		cfg.Instance = defaultInstance()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10
	}
	k := keys{data: store.Keyspace{Root: cfg.KeyRoot, Service: "supervision"}, state: store.Keyspace{Root: cfg.KeyRoot, Service: "supervision-state"}}
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("service", "supervision"), keys: k,
		store: store.New(cfg.Etcd, k.data), wake: make(chan struct{}, 1), ownersMemo: map[ownersKey]ownersEntry{}, raised: map[string]bool{},
	}
	s.view.Store(newCaseView())
	s.cal = newCalendar(nil)
	if cfg.Approval != nil && cfg.CallCtx != nil {
		s.cal = newCalendar(s.approvalCalendar)
	}
	s.cache = informer.New(cfg.Etcd, k.data.Prefix(), s.decode, s.log)
	s.cache.AddIndex(idxPendingHold, func(_ string, obj any) []string {
		if w, ok := obj.(*supervisionv1.Warning); ok && w.Hold == holdPending {
			return []string{"p"}
		}
		return nil
	})
	s.cache.AddIndex(idxPendingRisk, func(_ string, obj any) []string {
		if w, ok := obj.(*supervisionv1.Warning); ok && !w.RiskRecorded && w.Flow != "" && w.Step != "" {
			return []string{"p"}
		}
		return nil
	})
	if err := s.cache.Start(ctx); err != nil {
		return nil, err
	}
	if !cfg.NoConsumer {
		go s.leadLoop(ctx)
	}
	return s, nil
}

// Register adds the service's gRPC services to a server.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	supervisionv1.RegisterSupervisionServiceServer(gs, &handler{s: s, log: s.log})
	supervisionv1.RegisterComplaintServiceServer(gs, &complaintHandler{s: s, log: s.log})
}

func (s *Service) decode(key string, value []byte, modRev int64) (any, error) {
	org, coll, ids, ok := s.keys.data.Parse(key)
	if !ok || len(ids) != 1 {
		return nil, nil
	}
	if coll == "complaints" {
		c := &supervisionv1.Complaint{}
		if err := store.Unmarshal(value, c); err != nil {
			return nil, err
		}
		c.Name, c.Etag = complaintName(org, ids[0]), store.FormatEtag(modRev)
		return c, nil
	}
	if coll != "warnings" {
		return nil, nil
	}
	w := &supervisionv1.Warning{}
	if err := store.Unmarshal(value, w); err != nil {
		return nil, err
	}
	w.Name, w.Etag = warningName(org, ids[0]), store.FormatEtag(modRev)
	return w, nil
}

func warningName(org, id string) string { return "orgs/" + org + "/supervision/warnings/" + id }

// commitWarnings commits a transaction that writes warnings and notes its revision.
func (s *Service) commitWarnings(ctx context.Context, t *store.Txn) (int64, error) {
	rev, err := s.store.Commit(ctx, fenced(ctx, t))
	if err == nil {
		for {
			cur := s.warnRev.Load()
			if rev <= cur || s.warnRev.CompareAndSwap(cur, rev) {
				break
			}
		}
	}
	return rev, err
}
