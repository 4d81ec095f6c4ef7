// Command supervision serves Fenquan's 电子监察 over gRPC: it consumes the approval
// service's case event stream, evaluates the supervision rules, raises warnings exactly
// once, asks the approval service to hold cases, and feeds the risk register. Configure
// it with flags or FENQUAN_* environment variables (see -help); it calls the approval and
// risk services with its own service token (--service-token-file, a token with the
// platform role "service"). Run one consumer per cluster for now: replicas serve reads,
// and a second consumer only loses its commits to the first (the checkpoint is guarded).
package main

import (
	"context"

	"google.golang.org/grpc"

	"github.com/fenquan/fenquan/policies"
	"github.com/fenquan/fenquan/services/shared/svcmain"
	"github.com/fenquan/fenquan/services/supervision"
)

func main() {
	svcmain.Main(svcmain.Spec{
		Name: "supervision", GRPCPort: 7104, HTTPPort: 7204, GRPCServices: supervision.GRPCServices, Policies: policies.FS,
		Build: func(ctx context.Context, d svcmain.Deps) (interface{ Register(grpc.ServiceRegistrar) }, error) {
			ap, err := d.Dial("approval")
			if err != nil {
				return nil, err
			}
			rk, err := d.Dial("risk")
			if err != nil {
				return nil, err
			}
			return supervision.New(ctx, supervision.Config{Etcd: d.Etcd, KeyRoot: d.KeyRoot, Logger: d.Log, PDP: d.PDP, Approval: ap, Risk: rk, CallCtx: d.CallCtx})
		},
	})
}
