package cluster

import (
	"context"

	"github.com/fenquan/fenquan/tools/internal/up"
)

// ApplyDemo applies the demo catalogue (江城市财政局: units, posts, people, powers, flows)
// through the registry, as `fenquan up --demo` does.
func (c *Cluster) ApplyDemo(ctx context.Context) error {
	_, _, err := up.ApplyDemoCatalog(ctx, c.Dev, c.Proc("registry").GRPC)
	return err
}
