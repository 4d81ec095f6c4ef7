package approval

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/store"
)

// catalog reads the powers and flows cases run on, from the registry's API (with the
// caller's token: the caller must be able to read them). Published revisions never
// change, so they are kept once read.
type catalog struct {
	cat  registryv1.CatalogServiceClient
	mu   sync.Mutex
	runs map[string]*run // flow revision name (+ "#emergency")
	pows map[string]*registryv1.PowerRevision
}

func newCatalog(conn grpc.ClientConnInterface) *catalog {
	return &catalog{cat: registryv1.NewCatalogServiceClient(conn), runs: map[string]*run{}, pows: map[string]*registryv1.PowerRevision{}}
}

// run is a pinned flow revision, ready to execute: the graph (contracted for the
// emergency channel), its steps, and the power revision it belongs to.
type run struct {
	flow      *registryv1.Flow
	revision  int32
	graph     *flowgraph.Graph
	hours     map[string]int32 // emergency limits in hours; nil on the normal channel
	emergency bool
	power     *registryv1.PowerRevision
	order     map[string]int // node → position in topological order (for 退回)
}

// pinned reads the latest published revisions of a flow and its power, for a new case.
func (c *catalog) pinned(ctx context.Context, flowName string, emergency bool) (*run, error) {
	ctx = auth.ForwardToken(ctx)
	f, err := c.cat.GetFlow(ctx, &registryv1.GetFlowRequest{Name: flowName})
	if err != nil {
		return nil, fieldError("case.flow", err)
	}
	if f.PublishedRevision == 0 {
		return nil, apierr.Field("case.flow", flowName+" has never been published", flowName+" 尚未发布")
	}
	return c.revision(ctx, flowName, f.PublishedRevision, emergency)
}

// revision returns a flow revision ready to run (a case's pinned one).
func (c *catalog) revision(ctx context.Context, flowName string, rev int32, emergency bool) (*run, error) {
	key := fmt.Sprintf("%s/revisions/%d", flowName, rev)
	if emergency {
		key += "#emergency"
	}
	c.mu.Lock()
	r, ok := c.runs[key]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	ctx = auth.ForwardToken(ctx)
	fr, err := c.cat.GetFlowRevision(ctx, &registryv1.GetFlowRevisionRequest{Name: fmt.Sprintf("%s/revisions/%d", flowName, rev)})
	if err != nil {
		return nil, err
	}
	power, err := c.power(ctx, fr.Flow.Name, fr.PowerRevision)
	if err != nil {
		return nil, err
	}
	r = &run{flow: fr.Flow, revision: fr.RevisionId, power: power}
	if emergency {
		if fr.Flow.Emergency == nil {
			return nil, apierr.Field("case.emergency.active", fr.Flow.Name+" has no emergency channel (绿色通道)", fr.Flow.Name+" 未设置应急流程（绿色通道）")
		}
		ef, err := flowgraph.Emergency(fr.Flow)
		if err != nil {
			return nil, err
		}
		r.flow, r.hours, r.emergency = ef.Flow, ef.StepHours, true
	}
	if r.graph, err = flowgraph.Build(r.flow); err != nil {
		return nil, fmt.Errorf("%s: %w (%v)", key, store.ErrFailedPrecondition, err)
	}
	r.order = map[string]int{}
	for i, n := range r.graph.TopoOrder() {
		r.order[n] = i
	}
	c.mu.Lock()
	c.runs[key] = r
	c.mu.Unlock()
	return r, nil
}

func (c *catalog) power(ctx context.Context, flowName string, rev int32) (*registryv1.PowerRevision, error) {
	powerName := flowName[:len(flowName)-len("/flows/")-len(idOf(flowName))]
	key := fmt.Sprintf("%s/revisions/%d", powerName, rev)
	c.mu.Lock()
	p, ok := c.pows[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := c.cat.GetPowerRevision(ctx, &registryv1.GetPowerRevisionRequest{Name: key})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.pows[key] = p
	c.mu.Unlock()
	return p, nil
}

// fieldError turns a registry NotFound for a name the request gave into a field violation.
func fieldError(field string, err error) error {
	if status.Code(err) == codes.NotFound {
		return apierr.Field(field, status.Convert(err).Message(), "所引用的资源不存在")
	}
	return err
}
