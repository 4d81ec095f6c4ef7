// Command approval serves Fenquan's approval chain (cases that run a power's flow under
// 分权制衡) over gRPC. Configure it with flags or FENQUAN_* environment variables (see
// -help). It reads powers and flows from the registry (found through etcd discovery) with
// each caller's token, and follows the registry's org facts with its own service token
// (--service-token-file, a token with the platform role "service").
package main

import (
	"context"

	"google.golang.org/grpc"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/approval"
	"github.com/fenquan/fenquan/services/shared/svcmain"
)

func main() {
	svcmain.Main(svcmain.Spec{
		Name: "approval", GRPCPort: 7102, HTTPPort: 7202, GRPCServices: approval.GRPCServices, Policies: policies.FS,
		// The audit log's sealer runs in every approval replica; the elected one seals.
		AuditSealer: true,
		Build: func(ctx context.Context, d svcmain.Deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
			return approval.New(ctx, approval.Config{Etcd: d.Etcd, KeyRoot: d.KeyRoot, Logger: d.Log, PDP: d.PDP, Registry: d.Registry})
		},
	})
}
