package pdp

import (
	"context"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// FollowFacts keeps p's org facts current from the registry's FactsService over conn,
// until ctx ends: each (re)connection starts with a snapshot that replaces what is held,
// then applies changes. It returns once the first snapshot is loaded (or ctx ends).
// callCtx adds what the calls carry (the service's own token).
func (p *PDP) FollowFacts(ctx context.Context, conn grpc.ClientConnInterface, callCtx func(context.Context) context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if callCtx == nil {
		callCtx = func(c context.Context) context.Context { return c }
	}
	first := make(chan struct{})
	go func() {
		backoff := 100 * time.Millisecond
		synced := false
		for ctx.Err() == nil {
			err := p.followOnce(ctx, registryv1.NewFactsServiceClient(conn), callCtx, func() {
				if !synced {
					synced = true
					close(first)
				}
				backoff = 100 * time.Millisecond
			})
			if ctx.Err() != nil {
				return
			}
			log.Warn("policy facts stream ended; reconnecting", "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}()
	select {
	case <-first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *PDP) followOnce(ctx context.Context, c registryv1.FactsServiceClient, callCtx func(context.Context) context.Context, synced func()) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.WatchFacts(callCtx(sctx), &registryv1.WatchFactsRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	var snap []FactEvent
	inSnapshot := false
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		switch x := ev.Event.(type) {
		case *registryv1.FactsEvent_SnapshotBegin:
			inSnapshot, snap = true, nil
		case *registryv1.FactsEvent_SnapshotEnd:
			inSnapshot = false
			if err := p.facts.Reset(ctx, snap); err != nil {
				return err
			}
			snap = nil
			synced()
		case *registryv1.FactsEvent_Change:
			fe := FactEvent{Name: x.Change.Name, Delete: x.Change.Deleted, Resource: changeResource(x.Change)}
			if inSnapshot {
				snap = append(snap, fe)
				continue
			}
			if err := p.facts.Apply(ctx, []FactEvent{fe}); err != nil {
				return err
			}
		}
	}
}

func changeResource(c *registryv1.FactChange) proto.Message {
	switch x := c.Resource.(type) {
	case *registryv1.FactChange_Person:
		return x.Person
	case *registryv1.FactChange_Unit:
		return x.Unit
	case *registryv1.FactChange_Post:
		return x.Post
	case *registryv1.FactChange_Assignment:
		return x.Assignment
	case *registryv1.FactChange_ConflictDeclaration:
		return x.ConflictDeclaration
	}
	return nil
}
