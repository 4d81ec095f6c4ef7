package cluster

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/tools/internal/demo"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// ApplyDemo applies the demo catalogue (江城市财政局: units, posts, people, powers, flows)
// through the registry.
func (c *Cluster) ApplyDemo(ctx context.Context) error {
	objs, err := demo.Objects()
	if err != nil {
		return err
	}
	tok, err := c.Dev.Mint(up.AdminSub, up.AdminClaims(), time.Hour)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(c.Proc("registry").GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	actx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), 2*time.Minute)
	defer cancel()
	if _, err := registryv1.NewCatalogServiceClient(conn).ApplyCatalog(actx, &registryv1.ApplyCatalogRequest{Objects: objs}, grpc.WaitForReady(true)); err != nil {
		return fmt.Errorf("apply the demo catalogue: %w", err)
	}
	return nil
}
