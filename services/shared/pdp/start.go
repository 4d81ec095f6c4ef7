package pdp

import (
	"context"
	"io/fs"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// StartOptions configures the decision point of a service process.
type StartOptions struct {
	Service, Instance string
	Etcd              *clientv3.Client
	Root              string
	// Default is the embedded policy set (policies.FS).
	Default  fs.FS
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// EmbeddedSet reads the policy set compiled into the binary (policies.FS), named
// "embedded@<digest>".
func EmbeddedSet(fsys fs.FS) (*Set, error) {
	def, err := SetFromFS(fsys, "")
	if err != nil {
		return nil, err
	}
	def.Revision = "embedded@" + def.Digest()[:12]
	return def, nil
}

// Start builds the PDP of a service process: it decides with the embedded default set
// until a set is published, follows the published sets in etcd, and logs every decision
// to the structured log and to etcd (where audit reads them). It returns once a set is
// loaded.
func Start(ctx context.Context, o StartOptions) (*PDP, error) {
	def, err := EmbeddedSet(o.Default)
	if err != nil {
		return nil, err
	}
	elog := NewEtcdLog(ctx, o.Etcd, o.Root, o.Logger)
	p := New(Config{
		Service:  o.Service,
		Logger:   o.Logger,
		Registry: o.Registry,
		Log:      Logs{LogToSlog(o.Logger), elog},
	})
	if err := p.Follow(ctx, FollowConfig{Etcd: o.Etcd, Root: o.Root, Service: o.Service, Instance: o.Instance, Default: def, Logger: o.Logger}); err != nil {
		return nil, err
	}
	return p, nil
}
