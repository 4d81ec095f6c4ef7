package policyadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

// maxListPage caps a page of the history below page.MaxSize: every stored version carries
// its files, and a page is read from etcd with them.
const maxListPage = 100

// listFingerprint binds page tokens to this list.
const listFingerprint = "policySets"

// etcdErr maps a failed etcd read.
func etcdErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}

// list returns the sets newest first, without their files (the BASIC view). Pages are by
// key (AIP-158): the token is the last key returned, so a page stays stable while sets
// are added.
func (a *admin) list(ctx context.Context, size int32, token string) ([]*policyv1.PolicySet, string, error) {
	n := min(page.Size(size), maxListPage)
	prefix := a.setsPrefix()
	before, err := page.Decode(token, prefix, listFingerprint)
	if err != nil {
		return nil, "", err
	}
	end := store.PrefixEnd(prefix)
	if before != "" {
		end = before
	}
	// etcd sorts a descending range before applying the limit, reading the whole range:
	// so the keys are listed alone, then the page's values read as one ascending range
	// at the same revision.
	keys, err := a.cli.Get(ctx, prefix, clientv3.WithRange(end), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	if err != nil {
		return nil, "", etcdErr(err)
	}
	if len(keys.Kvs) == 0 {
		return nil, "", nil
	}
	hi, lo := string(keys.Kvs[0].Key), string(keys.Kvs[len(keys.Kvs)-1].Key)
	vals, err := a.cli.Get(ctx, lo, clientv3.WithRange(hi+"\x00"), clientv3.WithRev(keys.Header.Revision))
	if err != nil {
		return nil, "", etcdErr(err)
	}
	out := make([]*policyv1.PolicySet, 0, len(vals.Kvs))
	for _, kv := range slices.Backward(vals.Kvs) {
		ps := &policyv1.PolicySet{}
		if err := store.Unmarshal(kv.Value, ps); err != nil {
			return nil, "", fmt.Errorf("%s: %w", kv.Key, err)
		}
		ps.Name = collection + strings.TrimPrefix(string(kv.Key), prefix)
		ps.Etag = store.FormatEtag(kv.ModRevision)
		ps.Files = nil
		out = append(out, ps)
	}
	next := ""
	if keys.More {
		next = page.Encode(prefix, lo, listFingerprint)
	}
	return out, next, nil
}

// status returns the active pointer and what every running instance reported, read at
// one revision.
func (a *admin) status(ctx context.Context) (*policyv1.PolicyStatus, error) {
	resp, err := a.cli.Txn(ctx).Then(
		clientv3.OpGet(a.activeKey()),
		clientv3.OpGet(pdp.StatusPrefix(a.root), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, etcdErr(err)
	}
	out := &policyv1.PolicyStatus{}
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		var act pdp.Activation
		if err := json.Unmarshal(kvs[0].Value, &act); err != nil {
			return nil, fmt.Errorf("active policy pointer: %w", err)
		}
		out.Active = act.Set
	}
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		var st pdp.InstanceStatus
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			// One instance's garbled report must not hide the others.
			a.log.WarnContext(ctx, "unreadable policy status report", "key", string(kv.Key), "err", err)
			continue
		}
		is := &policyv1.InstanceStatus{
			Service: st.Service, Instance: st.Instance, Revision: st.Revision,
			RefusedRevision: st.RefusedRevision, Problems: st.Problems,
		}
		if !st.Time.IsZero() {
			is.UpdateTime = timestamppb.New(st.Time)
		}
		out.Instances = append(out.Instances, is)
	}
	return out, nil
}

// check evaluates action on input with this process's decision point, without acting.
func (a *admin) check(ctx context.Context, action string, input *structpb.Struct) (*policyv1.CheckPolicyResponse, error) {
	if a.pdp == nil {
		return nil, apierr.New(codes.Unavailable, "NO_DECISION_POINT", "this process has no policy decision point", nil)
	}
	d, err := a.pdp.Decide(ctx, action, input.AsMap())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, apierr.Field("input", err.Error(), "决策输入无效")
	}
	out, err := structpb.NewStruct(d.Output)
	if err != nil {
		return nil, fmt.Errorf("decision output: %w", err)
	}
	resp := &policyv1.CheckPolicyResponse{
		Allowed: d.Allowed, Output: out, PolicyRevision: d.PolicyRevision, DecisionId: d.DecisionID,
	}
	for _, v := range d.Violations {
		resp.Violations = append(resp.Violations, &apiv1.PolicyViolation{
			Rule: v.Rule, Zh: v.Zh, En: v.En, Basis: v.Basis, LegalBasis: v.LegalBasis,
		})
	}
	return resp, nil
}
