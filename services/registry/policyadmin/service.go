package policyadmin

import (
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

// GRPCServices are the gRPC services this package serves (for server.Config).
var GRPCServices = []string{policyv1.PolicyService_ServiceDesc.ServiceName}

// Config configures the policy service.
type Config struct {
	Etcd *clientv3.Client
	// KeyRoot is the root of every Fenquan key, "/fenquan" in deployments.
	KeyRoot string
	// PDP is the decision point of this process: CheckPolicy evaluates with it.
	PDP *pdp.PDP
	// Default is the set embedded in the binaries, which serves while nothing is
	// published: a proposal's changed files are computed against it then.
	Default *pdp.Set
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service is the policy service.
type Service struct {
	admin   *admin
	handler *handler
}

// New returns the policy service.
func New(cfg Config) *Service {
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = "/fenquan"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With("service", "policy")
	a := &admin{
		cli:   cfg.Etcd,
		store: store.New(cfg.Etcd, store.Keyspace{Root: cfg.KeyRoot, Service: "policy"}),
		root:  cfg.KeyRoot,
		pdp:   cfg.PDP,
		def:   cfg.Default,
		log:   log,
		now:   cfg.Now,
	}
	return &Service{admin: a, handler: &handler{a: a, log: log}}
}

// Register adds the policy service to a gRPC server.
func (s *Service) Register(gs grpc.ServiceRegistrar) {
	policyv1.RegisterPolicyServiceServer(gs, s.handler)
}
