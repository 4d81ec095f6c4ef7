package pdp

import (
	"context"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/store"
)

// The audit entries store.Commit writes name the verified caller: store cannot import auth
// (auth's errors import store), so the decision point, which every service links, tells
// it how to find the caller.
func init() { store.SetActorResolver(callerActor) }

func callerActor(ctx context.Context, org string) store.Actor {
	p := auth.FromContext(ctx)
	if p == nil {
		return store.Actor{}
	}
	return store.Actor{Subject: p.Subject, Person: p.PersonName(org)}
}
