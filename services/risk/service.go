// Package risk is Fenquan's 廉政风险 register: risk points at post, unit and leadership
// level, graded by the policy decision point, owned by grade, with measures in three
// phases, reviewed in yearly campaigns (自己找 → 群众帮 → 领导提 → 集体定 → 公示 → in
// force). Every state change is decided by the policy decision point before anything is
// written and is one etcd transaction guarded by the mod revisions it read, writing the
// resource, its new version and the request record together (docs/RISK.md).
//
// Lists, stats and the campaign facts the rules need (drafters, open objections) are
// served from a watch-fed cache of the register; versions are read from etcd.
package risk

import (
	"context"
	"errors"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
)

// GRPCServices are the gRPC services the risk service serves.
var GRPCServices = []string{riskv1.RiskService_ServiceDesc.ServiceName}

// Config configures the risk service.
type Config struct {
	Etcd *clientv3.Client
	// KeyRoot is the root of every Fenquan key, "/fenquan" in deployments.
	KeyRoot string
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PDP decides every action; its org facts must be kept current (FollowFacts).
	PDP *pdp.PDP
	// MaxAttempts bounds how often an action is re-run when what it read changed before
	// it wrote; default 8.
	MaxAttempts int
	// NoRegistryWatch turns off marking risk points for review on registry changes
	// (posts, assignments, flows under <root>/registry/).
	NoRegistryWatch bool
}

// Service is a running risk service: its caches are loaded and kept current until the
// context given to New ends.
type Service struct {
	cfg      Config
	log      *slog.Logger
	keys     keys
	store    *store.Store
	cli      *clientv3.Client
	pdp      *pdp.PDP
	requests *requests.Log
	cache    *informer.Cache
	reg      *registryView
}

// Indexes of the register cache; values are prefixed by the org.
const (
	idxCampaign = "campaign" // org|campaign name → risk points
)

// New loads the service's caches from etcd and starts following them.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Etcd == nil || cfg.Logger == nil || cfg.PDP == nil {
		return nil, errors.New("risk: Etcd, Logger and PDP are required")
	}
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = "/fenquan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	k := newKeys(cfg.KeyRoot)
	s := &Service{
		cfg: cfg, log: cfg.Logger.With("service", "risk"), keys: k,
		store: store.New(cfg.Etcd, k.data), cli: cfg.Etcd, pdp: cfg.PDP, requests: requests.New(cfg.Etcd, cfg.KeyRoot, "risk"),
	}
	s.cache = informer.New(cfg.Etcd, k.data.Prefix(), s.decode, s.log)
	s.cache.AddIndex(idxCampaign, func(key string, obj any) []string {
		r, ok := obj.(*riskv1.RiskPoint)
		if !ok || r.Campaign == "" {
			return nil
		}
		org, coll, _, _ := k.data.Parse(key)
		if coll != "risks" {
			return nil // a copy in the register in force
		}
		return []string{org + "|" + r.Campaign}
	})
	if err := s.cache.Start(ctx); err != nil {
		return nil, err
	}
	reg, err := s.startRegistryView(ctx, !cfg.NoRegistryWatch)
	if err != nil {
		return nil, err
	}
	s.reg = reg
	return s, nil
}

// Register adds the service's gRPC services to a server.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	riskv1.RegisterRiskServiceServer(gs, &handler{s: s, log: s.log})
}

// decode turns a stored key into its cached object: a risk point or a campaign, complete
// with name and etag (served as they are; treat them as immutable).
func (s *Service) decode(key string, value []byte, modRev int64) (any, error) {
	org, coll, ids, ok := s.keys.data.Parse(key)
	if !ok || len(ids) != 1 {
		return nil, nil
	}
	switch coll {
	case "risks", "inforce":
		r := &riskv1.RiskPoint{}
		if err := store.Unmarshal(value, r); err != nil {
			return nil, err
		}
		r.Name = riskName(org, ids[0])
		if coll == "risks" {
			// The register's copy is not the record a client writes to: no etag.
			r.Etag = store.FormatEtag(modRev)
		}
		return r, nil
	case "campaigns":
		c := &riskv1.Campaign{}
		if err := store.Unmarshal(value, c); err != nil {
			return nil, err
		}
		c.Name, c.Etag = campaignName(org, ids[0]), store.FormatEtag(modRev)
		return c, nil
	}
	return nil, nil
}

// fresh waits until the cache holds this instance's last write (read-your-writes).
func (s *Service) fresh(ctx context.Context) error {
	if err := s.cache.WaitFor(ctx, s.store.LastWrite()); err != nil {
		return storeErr(err)
	}
	return nil
}

// campaignRisks lists the cached risk points of a campaign (current versions), by key.
func (s *Service) campaignRisks(org, campaign string) []*informer.Item {
	var out []*informer.Item
	s.cache.AscendIndex(idxCampaign, org+"|"+campaign, s.keys.data.CollectionPrefix(org, "risks"), "", func(it *informer.Item) bool {
		out = append(out, it)
		return true
	})
	return out
}
