package approval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Event retention. Events are keys (<root>/approval-events/<org>/<case>/<seq>) kept as
// long as their case: they are the case's timeline. A stream resumes from any revision:
// while etcd still holds the history after it (the compaction window), from the watch;
// once that history is compacted, by reading the event keys written after the revision
// (every event key is written once, so its mod revision is when the event happened) and
// then watching on. So a consumer that was down for any length of time catches up
// without a gap; only the cost of catching up grows with the time it was away (a scan of
// the org's event keys).

// WatchEvents sends the events written after from (in revision order, within a revision
// in the order they were written) and then follows new ones until ctx ends.
func (s *Service) WatchEvents(ctx context.Context, parent string, from int64, send func(*approvalv1.CaseEvent) error) error {
	org := strings.TrimPrefix(parent, "orgs/")
	prefix := s.keys.events.Prefix()
	if org != "-" {
		prefix = s.keys.events.OrgPrefix(org)
	}
	for {
		wctx, cancel := context.WithCancel(ctx)
		wch := s.cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1))
		next, err := s.follow(wch, from, send)
		cancel()
		if ctx.Err() != nil {
			return apierr.FromError(ctx.Err())
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			// The history after from is gone: read the event keys written since.
			if next, err = s.catchUp(ctx, prefix, from, 0, send); err != nil {
				return err
			}
			from = next
			continue
		}
		if err != nil {
			return err
		}
		from = next // the watch ended (leader lost): resume where it stopped
	}
}

// follow sends the watch's events until it ends; it returns the revision reached.
func (s *Service) follow(wch clientv3.WatchChan, from int64, send func(*approvalv1.CaseEvent) error) (int64, error) {
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if resp.CompactRevision > 0 || errors.Is(err, rpctypes.ErrCompacted) {
				return from, rpctypes.ErrCompacted
			}
			return from, nil
		}
		for _, ev := range resp.Events {
			if ev.Type != mvccpb.PUT || ev.Kv.CreateRevision != ev.Kv.ModRevision {
				continue // events are written once; anything else is not a new event
			}
			e, err := decodeEvent(ev.Kv)
			if err != nil {
				s.log.Error("undecodable case event skipped", "key", string(ev.Kv.Key), "err", err)
				continue
			}
			if err := send(e); err != nil {
				return from, err
			}
			from = ev.Kv.ModRevision
		}
	}
	return from, nil
}

// EventsBetween sends the events of parent ("orgs/{org}" or "orgs/-") written after
// revision from up to revision to, in revision order, and returns: a window of the past.
// The events are read as the store held them at revision to (ErrCompacted, answered
// FAILED_PRECONDITION, when that is no longer kept).
func (s *Service) EventsBetween(ctx context.Context, parent string, from, to int64, send func(*approvalv1.CaseEvent) error) error {
	org := strings.TrimPrefix(parent, "orgs/")
	prefix := s.keys.events.Prefix()
	if org != "-" {
		prefix = s.keys.events.OrgPrefix(org)
	}
	if to <= from {
		return nil
	}
	_, err := s.catchUp(ctx, prefix, from, to, send)
	if errors.Is(err, rpctypes.ErrCompacted) {
		return apierr.Refused(codes.FailedPrecondition, "REVISION_COMPACTED",
			fmt.Sprintf("revision %d is compacted: choose a later to_revision", to), fmt.Sprintf("版本 %d 已被压缩，请选择更新的截止版本", to), nil)
	}
	return err
}

// catchUp sends the events written after from by reading the event keys (at revision at,
// 0 for the newest, a page at a time), in revision order; it returns that revision.
func (s *Service) catchUp(ctx context.Context, prefix string, from, at int64, send func(*approvalv1.CaseEvent) error) (int64, error) {
	const pageSize = 2000
	var kvs []*mvccpb.KeyValue
	key, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	for {
		// No WithMinModRev: etcd would then read the whole range for every page. The keys
		// are paged in key order and filtered here.
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if at > 0 {
			opts = append(opts, clientv3.WithRev(at))
		}
		rr, err := s.cli.Get(ctx, key, opts...)
		if errors.Is(err, rpctypes.ErrCompacted) {
			return from, rpctypes.ErrCompacted
		}
		if err != nil {
			return from, storeErr(err)
		}
		if at == 0 {
			at = rr.Header.Revision
		}
		for _, kv := range rr.Kvs {
			if kv.ModRevision > from {
				kvs = append(kvs, kv)
			}
		}
		if !rr.More || len(rr.Kvs) == 0 {
			break
		}
		key = string(rr.Kvs[len(rr.Kvs)-1].Key) + "\x00"
	}
	slices.SortFunc(kvs, func(a, b *mvccpb.KeyValue) int {
		if a.ModRevision != b.ModRevision {
			return int(a.ModRevision - b.ModRevision)
		}
		return strings.Compare(string(a.Key), string(b.Key))
	})
	for _, kv := range kvs {
		e, err := decodeEvent(kv)
		if err != nil {
			continue
		}
		if err := send(e); err != nil {
			return from, err
		}
	}
	return at, nil
}

func decodeEvent(kv *mvccpb.KeyValue) (*approvalv1.CaseEvent, error) {
	e := &approvalv1.CaseEvent{}
	if err := store.Unmarshal(kv.Value, e); err != nil {
		return nil, err
	}
	e.Revision = kv.ModRevision
	return e, nil
}
