package approval

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/store"
)

// fresh waits until the cache holds this instance's last write (read-your-writes).
func (s *Service) fresh(ctx context.Context) error {
	if err := s.cache.WaitFor(ctx, s.store.LastWrite()); err != nil {
		return apierr.FromError(err)
	}
	return nil
}

// GetCase reads a case from the store (FULL view).
func (s *Service) GetCase(ctx context.Context, name string) (*approvalv1.Case, error) {
	org, id, ok := caseName(name)
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/cases/{case}", "名称应为 orgs/{org}/cases/{case}")
	}
	rr, err := s.cli.Get(ctx, s.keys.caseKey(org, id))
	if err != nil {
		return nil, storeErr(err)
	}
	if len(rr.Kvs) == 0 {
		return nil, notFound(name)
	}
	return decodeCase(rr.Kvs[0].Value, name, rr.Kvs[0].ModRevision)
}

func decodeCase(b []byte, name string, rev int64) (*approvalv1.Case, error) {
	c := &approvalv1.Case{}
	if err := store.Unmarshal(b, c); err != nil {
		return nil, err
	}
	c.Name, c.Etag = name, store.FormatEtag(rev)
	return c, nil
}

// full reads the FULL view of the cases named, in one round trip.
func (s *Service) full(ctx context.Context, names []string) ([]*approvalv1.Case, error) {
	ops := make([]clientv3.Op, len(names))
	for i, n := range names {
		org, id, _ := caseName(n)
		ops[i] = clientv3.OpGet(s.keys.caseKey(org, id))
	}
	out := make([]*approvalv1.Case, 0, len(names))
	for len(ops) > 0 {
		n := min(len(ops), 1000)
		batch := names[:n]
		resp, err := s.cli.Txn(ctx).Then(ops[:n]...).Commit()
		if err != nil {
			return nil, storeErr(err)
		}
		for i, r := range resp.Responses {
			kvs := r.GetResponseRange().Kvs
			if len(kvs) == 0 {
				continue // deleted since listed
			}
			c, err := decodeCase(kvs[0].Value, batch[i], kvs[0].ModRevision)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		ops, names = ops[n:], names[n:]
	}
	return out, nil
}

// ListCases lists cases by state, unit, power, applicant, held or due date, from the
// cache, in the order they were opened (a due_before filter lists them by earliest due
// time instead).
func (s *Service) ListCases(ctx context.Context, req *approvalv1.ListCasesRequest) (*approvalv1.ListCasesResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	query := fmt.Sprintf("cases|%s|%d|%s|%s|%s|%v|%v", org, req.GetState(), req.GetUnit(), req.GetPower(), req.GetApplicant(),
		req.GetDueBefore().AsTime().UnixNano(), req.GetHeldOnly())
	prefix := s.keys.data.CollectionPrefix(org, "cases")
	keep := func(sm *summary) bool {
		return (req.GetState() == 0 || sm.state == req.GetState()) &&
			(req.GetUnit() == "" || sm.unit == req.GetUnit()) &&
			(req.GetPower() == "" || sm.power == req.GetPower()) &&
			(req.GetApplicant() == "" || sm.applicant == req.GetApplicant()) &&
			(!req.GetHeldOnly() || sm.held)
	}
	var sums []*summary
	next := ""
	if req.GetDueBefore() != nil {
		var err error
		sums, next, err = s.listByDue(org, req.GetPageToken(), query, req.GetDueBefore().AsTime(), n, keep)
		if err != nil {
			return nil, err
		}
	} else {
		after, err := page.Decode(req.GetPageToken(), prefix, query)
		if err != nil {
			return nil, err
		}
		visit := func(it *informer.Item) bool {
			sm, ok := it.Obj.(*summary)
			if !ok || !keep(sm) {
				return true
			}
			if len(sums) == n {
				next = page.Encode(prefix, sums[n-1].key(s), query)
				return false
			}
			sums = append(sums, sm)
			return true
		}
		if idx, val := s.pickIndex(org, req); idx != "" {
			s.cache.AscendIndex(idx, val, prefix, after, visit)
		} else {
			s.cache.Ascend(prefix, after, visit)
		}
	}
	resp := &approvalv1.ListCasesResponse{NextPageToken: next}
	if req.GetView() == approvalv1.CaseView_CASE_VIEW_FULL {
		names := make([]string, len(sums))
		for i, sm := range sums {
			names[i] = sm.name
		}
		cs, err := s.full(ctx, names)
		if err != nil {
			return nil, err
		}
		resp.Cases = cs
		return resp, nil
	}
	for _, sm := range sums {
		resp.Cases = append(resp.Cases, sm.basic())
	}
	return resp, nil
}

// key is the case's store key.
func (sm *summary) key(s *Service) string {
	org, id, _ := caseName(sm.name)
	return s.keys.caseKey(org, id)
}

// pickIndex chooses the most selective index the filters allow ("" = scan the org).
func (s *Service) pickIndex(org string, req *approvalv1.ListCasesRequest) (string, string) {
	type cand struct{ idx, val string }
	var cs []cand
	if req.GetApplicant() != "" {
		cs = append(cs, cand{idxApplicant, org + "|" + req.GetApplicant()})
	}
	if req.GetPower() != "" {
		cs = append(cs, cand{idxPower, org + "|" + req.GetPower()})
	}
	if req.GetUnit() != "" {
		cs = append(cs, cand{idxUnit, org + "|" + req.GetUnit()})
	}
	if req.GetState() != 0 {
		cs = append(cs, cand{idxState, org + "|" + req.GetState().String()})
	}
	if req.GetHeldOnly() {
		cs = append(cs, cand{idxHeld, org})
	}
	best, bestN := cand{}, -1
	for _, c := range cs {
		if n := s.cache.CountIndex(c.idx, c.val); bestN < 0 || n < bestN {
			best, bestN = c, n
		}
	}
	return best.idx, best.val
}

// listByDue lists the cases with an active step due before t, by their earliest such
// step's due time. A case is listed at its earliest active step only, so it appears once.
func (s *Service) listByDue(org, token, query string, t time.Time, n int, keep func(*summary) bool) ([]*summary, string, error) {
	after, err := decodeDueToken(token, query)
	if err != nil {
		return nil, "", err
	}
	var out []*summary
	next := ""
	var last dueEntry
	s.due.ascend(org, after, t, func(e dueEntry) bool {
		it, ok := s.cache.Get(e.key)
		if !ok {
			return true
		}
		sm, ok := it.Obj.(*summary)
		if !ok || !keep(sm) {
			return true
		}
		first := earliest(sm)
		if first == nil || first.step != e.step || first.due != e.due {
			return true // listed at its earliest step, or a stale entry
		}
		if len(out) == n {
			next = encodeDueToken(last, query)
			return false
		}
		out, last = append(out, sm), e
		return true
	})
	return out, next, nil
}

// earliest is the active step due first.
func earliest(sm *summary) *cachedStep {
	var best *cachedStep
	for i := range sm.active {
		a := &sm.active[i]
		if a.due == 0 {
			continue
		}
		if best == nil || a.due < best.due || (a.due == best.due && a.step < best.step) {
			best = a
		}
	}
	return best
}

func encodeDueToken(e dueEntry, query string) string {
	return page.Encode("", strconv.FormatInt(e.due, 10)+"\x00"+e.key+"\x00"+e.step, query)
}

func decodeDueToken(token, query string) (dueEntry, error) {
	raw, err := page.Decode(token, "", query)
	if err != nil || raw == "" {
		return dueEntry{}, err
	}
	parts := strings.SplitN(raw, "\x00", 3)
	due, perr := strconv.ParseInt(parts[0], 10, 64)
	if len(parts) != 3 || perr != nil {
		return dueEntry{}, apierr.Field("page_token", "page token is malformed", "分页令牌无效")
	}
	return dueEntry{due: due, key: parts[1], step: parts[2]}, nil
}

// ListInbox lists the steps waiting for the caller: of the posts they hold today, of
// their rank seats, claimed by them, delegated to them, or added for them to sign. A page
// holds up to page_size cases (with every step of the case that waits for the caller),
// oldest case first.
func (s *Service) ListInbox(ctx context.Context, req *approvalv1.ListInboxRequest) (*approvalv1.ListInboxResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	a := callerIn(ctx, org)
	if a.person == "" {
		return nil, apierr.New(codes.FailedPrecondition, "NOT_A_PERSON", fmt.Sprintf("the caller is no person of org %s: there is no inbox", org), nil)
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	mine := map[string]bool{"person:" + a.id: true}
	for _, seat := range s.pdp.Facts().Holdings(org, a.id, today(s.cfg.Now())) {
		mine["post:"+seat.Post] = true
		if seat.Unit != "" && seat.Rank > 0 {
			mine["seat:"+seat.Unit+"|"+strconv.Itoa(seat.Rank)] = true
		}
	}
	keys := make([]string, 0, len(mine))
	for k := range mine {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	query := "inbox|" + org + "|" + a.id
	prefix := s.keys.data.CollectionPrefix(org, "cases")
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	// Merge the index streams: up to n+1 cases from each, in key order.
	found := map[string]*informer.Item{}
	for _, k := range keys {
		got := 0
		s.cache.AscendIndex(idxInbox, org+"|"+k, prefix, after, func(it *informer.Item) bool {
			found[it.Key] = it
			got++
			return got <= n
		})
	}
	order := make([]string, 0, len(found))
	for k := range found {
		order = append(order, k)
	}
	slices.Sort(order)
	resp := &approvalv1.ListInboxResponse{}
	if len(order) > n {
		order = order[:n]
		resp.NextPageToken = page.Encode(prefix, order[n-1], query)
	}
	for _, k := range order {
		sm := found[k].Obj.(*summary)
		basic := sm.basic()
		for i := range sm.active {
			for _, w := range sm.active[i].waitsFor() {
				if mine[w.key] {
					resp.Items = append(resp.Items, &approvalv1.InboxItem{Case: basic, Step: basic.Active[i], OnBehalfOf: w.onBehalfOf})
					break
				}
			}
		}
	}
	return resp, nil
}

// ListOverdueSteps lists the active steps past their due time, most overdue first.
func (s *Service) ListOverdueSteps(ctx context.Context, req *approvalv1.ListOverdueStepsRequest) (*approvalv1.ListOverdueStepsResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	query := "overdue|" + org + "|" + req.GetUnit()
	after, err := decodeDueToken(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	resp := &approvalv1.ListOverdueStepsResponse{}
	var last dueEntry
	s.due.ascend(org, after, s.cfg.Now(), func(e dueEntry) bool {
		it, ok := s.cache.Get(e.key)
		if !ok {
			return true
		}
		sm, ok := it.Obj.(*summary)
		if !ok {
			return true
		}
		var st *cachedStep
		for i := range sm.active {
			if a := &sm.active[i]; a.step == e.step && a.due == e.due {
				st = a
			}
		}
		if st == nil || (req.GetUnit() != "" && st.unit != req.GetUnit()) {
			return true
		}
		if len(resp.Steps) == n {
			resp.NextPageToken = encodeDueToken(last, query)
			return false
		}
		resp.Steps = append(resp.Steps, &approvalv1.OverdueStep{Case: sm.basic(), Step: st.proto()})
		last = e
		return true
	})
	return resp, nil
}

// ListCaseEvents reads a case's timeline from the store, in order.
func (s *Service) ListCaseEvents(ctx context.Context, req *approvalv1.ListCaseEventsRequest) (*approvalv1.ListCaseEventsResponse, error) {
	org, id, ok := caseName(req.GetParent())
	if !ok {
		return nil, apierr.Field("parent", "parent must be orgs/{org}/cases/{case}", "parent 应为 orgs/{org}/cases/{case}")
	}
	n := page.Size(req.GetPageSize())
	prefix := s.keys.eventsOf(org, id)
	query := "events|" + req.GetParent()
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	from := prefix
	if after != "" {
		from = after + "\x00"
	}
	rr, err := s.cli.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(int64(n+1)))
	if err != nil {
		return nil, storeErr(err)
	}
	if len(rr.Kvs) == 0 && after == "" {
		// A case always has its "created" event: no events means no case.
		if cr, err := s.cli.Get(ctx, s.keys.caseKey(org, id), clientv3.WithCountOnly()); err == nil && cr.Count == 0 {
			return nil, notFound(req.GetParent())
		}
	}
	resp := &approvalv1.ListCaseEventsResponse{}
	for i, kv := range rr.Kvs {
		if i == n {
			resp.NextPageToken = page.Encode(prefix, string(rr.Kvs[n-1].Key), query)
			break
		}
		e := &approvalv1.CaseEvent{}
		if err := store.Unmarshal(kv.Value, e); err != nil {
			return nil, err
		}
		e.Revision = kv.ModRevision
		resp.Events = append(resp.Events, e)
	}
	return resp, nil
}
