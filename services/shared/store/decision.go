package store

import (
	"context"
	"errors"
)

// Decision identifies the policy decision that allowed a write.
type Decision struct {
	ID             string `json:"id"`
	PolicyRevision string `json:"policy_revision"`
}

// ErrNoDecision: a write was attempted without a policy decision in its context. It is a
// programming error (an entry point that forgot to ask the policy decision point); the
// write is refused, so forgetting fails closed.
var ErrNoDecision = errors.New("refusing to write without a policy decision")

type decisionKey struct{}

// WithDecision returns ctx carrying d (appended to any decisions already carried).
func WithDecision(ctx context.Context, d Decision) context.Context {
	prev, _ := ctx.Value(decisionKey{}).([]Decision)
	return context.WithValue(ctx, decisionKey{}, append(prev[:len(prev):len(prev)], d))
}

// Decisions returns the decisions ctx carries, oldest first.
func Decisions(ctx context.Context) []Decision {
	ds, _ := ctx.Value(decisionKey{}).([]Decision)
	return ds
}

type systemKey struct{}

// SystemWrite marks ctx as a write the service makes on its own account rather than for
// a caller (bookkeeping that no policy governs, e.g. a consumer's checkpoint). Every use
// names its reason; docs/DESIGN.md lists them.
func SystemWrite(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, systemKey{}, reason)
}
