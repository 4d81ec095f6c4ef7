package supervision

import (
	"context"

	"github.com/fenquan/fenquan/services/shared/store"
)

// CommitFenced commits t as the leader holding the election key at rev would.
func (s *Service) CommitFenced(ctx context.Context, key string, rev int64, t *store.Txn) (int64, error) {
	return s.commitWarnings(withFence(store.SystemWrite(ctx, "test"), fence{key: key, rev: rev}), t)
}

// ElectionPrefix is where the replicas campaign.
func (s *Service) ElectionPrefix() string { return s.keys.electionPrefix() }
