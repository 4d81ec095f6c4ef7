// Command risk serves Fenquan's 廉政风险 register (risk points, campaigns, evidence
// feedback) over gRPC. Configure it with flags or FENQUAN_* environment variables (see
// -help). It follows the registry's org facts with its own service token
// (--service-token-file, a token with the platform role "service"), and reads the
// registry's posts, assignments and flows from etcd to mark risk points for review.
package main

import (
	"context"

	"google.golang.org/grpc"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/risk"
	"github.com/fenquan/fenquan/services/shared/svcmain"
)

func main() {
	svcmain.Main(svcmain.Spec{
		Name: "risk", GRPCPort: 7103, HTTPPort: 7203, GRPCServices: risk.GRPCServices, Policies: policies.FS,
		Build: func(ctx context.Context, d svcmain.Deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
			return risk.New(ctx, risk.Config{Etcd: d.Etcd, KeyRoot: d.KeyRoot, Logger: d.Log, PDP: d.PDP})
		},
	})
}
