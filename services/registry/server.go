package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	auditv1 "github.com/fenquan/fenquan/proto/fenquan/audit/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/policyadmin"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

// GRPCServices are the gRPC services the registry serves.
var GRPCServices = []string{
	registryv1.OrgService_ServiceDesc.ServiceName,
	registryv1.CatalogService_ServiceDesc.ServiceName,
	registryv1.PublicCatalogService_ServiceDesc.ServiceName,
	registryv1.FactsService_ServiceDesc.ServiceName,
	policyv1.PolicyService_ServiceDesc.ServiceName,
	auditv1.AuditService_ServiceDesc.ServiceName,
}

// Config configures the registry.
type Config struct {
	Etcd *clientv3.Client
	// KeyRoot is the root of every Fenquan key, "/fenquan" in deployments.
	KeyRoot string
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PDP is the decision point of the process: the registry keeps its org facts current,
	// and the policy service checks sets with it.
	PDP *pdp.PDP
	// DefaultPolicy is the embedded policy set that serves while none is published.
	DefaultPolicy *pdp.Set
}

// Service is a running registry: its cache is loaded and kept current until the context
// given to New ends.
type Service struct {
	Registry *Registry
	handler  *handler
	policy   *policyadmin.Service
	audit    *auditHandler
}

// New loads the registry's cache from etcd and starts following it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Etcd == nil || cfg.Logger == nil || cfg.PDP == nil {
		return nil, errors.New("registry: Etcd, Logger and PDP are required")
	}
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = "/fenquan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger.With("service", "registry")
	r := &Registry{store: store.New(cfg.Etcd, store.Keyspace{Root: cfg.KeyRoot, Service: "registry"}), log: log, now: cfg.Now}
	r.cache = informer.New(cfg.Etcd, r.store.Keys.Prefix(), r.decode, log)
	r.addIndexes(r.cache)
	r.feed = newFactFeed(r)
	r.cache.OnChange(r.feed.onChange)
	if err := r.cache.Start(ctx); err != nil {
		return nil, err
	}
	r.feed.feedPDP(ctx, cfg.PDP)
	policy := policyadmin.New(policyadmin.Config{Etcd: cfg.Etcd, KeyRoot: cfg.KeyRoot, PDP: cfg.PDP, Default: cfg.DefaultPolicy, Logger: log, Now: cfg.Now})
	return &Service{Registry: r, handler: &handler{r: r, log: log}, policy: policy,
		audit: &auditHandler{cli: cfg.Etcd, root: cfg.KeyRoot, log: log}}, nil
}

// Register adds the registry's gRPC services to a server.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	registryv1.RegisterOrgServiceServer(gs, s.handler)
	registryv1.RegisterCatalogServiceServer(gs, s.handler)
	registryv1.RegisterPublicCatalogServiceServer(gs, s.handler)
	registryv1.RegisterFactsServiceServer(gs, s.handler)
	s.policy.Register(gs)
	auditv1.RegisterAuditServiceServer(gs, s.audit)
}
