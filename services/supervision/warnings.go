package supervision

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/store"
)

func cloneWarning(w *supervisionv1.Warning) *supervisionv1.Warning {
	return proto.Clone(w).(*supervisionv1.Warning)
}

func nowTS(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func (s *Service) fresh(ctx context.Context) error {
	if err := s.cache.WaitFor(ctx, s.warnRev.Load()); err != nil {
		return apierr.Unavailable(err)
	}
	return nil
}

// GetWarning reads a warning from the cache.
func (s *Service) GetWarning(ctx context.Context, name string) (*supervisionv1.Warning, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	it, ok := s.cache.Get(s.warningKey(name))
	if !ok {
		return nil, apierr.New(codes.NotFound, "NOT_FOUND", name+" does not exist", nil)
	}
	return it.Obj.(*supervisionv1.Warning), nil
}

func open(st supervisionv1.WarningState) bool {
	return st != supervisionv1.WarningState_WARNING_STATE_CLOSED && st != supervisionv1.WarningState_WARNING_STATE_DISMISSED
}

// ListWarnings lists an org's warnings, newest key order (by id), with filters.
func (s *Service) ListWarnings(ctx context.Context, req *supervisionv1.ListWarningsRequest) (*supervisionv1.ListWarningsResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	prefix := s.keys.data.CollectionPrefix(org, "warnings")
	query := fmt.Sprintf("warnings|%s|%s|%d|%d|%s|%s|%v", org, req.GetRule(), req.GetSeverity(), req.GetState(), req.GetSubject(), req.GetUnit(), req.GetOpenOnly())
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	var kept []*informer.Item
	s.cache.Ascend(prefix, "", func(it *informer.Item) bool {
		w, ok := it.Obj.(*supervisionv1.Warning)
		if ok && (req.GetRule() == "" || w.Rule == req.GetRule()) &&
			(req.GetSeverity() == 0 || w.Severity == req.GetSeverity()) &&
			(req.GetState() == 0 || w.State == req.GetState()) &&
			(req.GetSubject() == "" || w.Subject == req.GetSubject()) &&
			(req.GetUnit() == "" || w.Unit == req.GetUnit()) &&
			(!req.GetOpenOnly() || open(w.State)) {
			kept = append(kept, it)
		}
		return true
	})
	resp := &supervisionv1.ListWarningsResponse{TotalSize: int32(len(kept))}
	items, token := pageOf(kept, after, n, prefix, query)
	for _, it := range items {
		resp.Warnings = append(resp.Warnings, it.Obj.(*supervisionv1.Warning))
	}
	resp.NextPageToken = token
	return resp, nil
}

// pageOf takes from kept (in key order) the page after the key after — at most n items —
// and the token of the next page ("" when nothing follows).
func pageOf(kept []*informer.Item, after string, n int, prefix, query string) ([]*informer.Item, string) {
	var out []*informer.Item
	for i, it := range kept {
		if it.Key <= after {
			continue
		}
		if len(out) == n {
			return out, page.Encode(prefix, kept[i-1].Key, query)
		}
		out = append(out, it)
	}
	return out, ""
}

// transitions: which action moves a warning from which states to which.
// transitions is the state each lifecycle act moves a warning to; in which states an act
// applies is the policy's (package oversight, data.oversight.transitions).
var transitions = map[supervisionv1.WarningAction]supervisionv1.WarningState{
	supervisionv1.WarningAction_WARNING_ACTION_REVIEW:  supervisionv1.WarningState_WARNING_STATE_REVIEWED,
	supervisionv1.WarningAction_WARNING_ACTION_DISMISS: supervisionv1.WarningState_WARNING_STATE_DISMISSED,
	supervisionv1.WarningAction_WARNING_ACTION_TRACE:   supervisionv1.WarningState_WARNING_STATE_TRACED,
	supervisionv1.WarningAction_WARNING_ACTION_RECTIFY: supervisionv1.WarningState_WARNING_STATE_RECTIFIED,
	supervisionv1.WarningAction_WARNING_ACTION_CLOSE:   supervisionv1.WarningState_WARNING_STATE_CLOSED,
}

// stageDays is the time limit of each stage a warning enters, in working days.
var stageDays = map[supervisionv1.WarningState]int{
	supervisionv1.WarningState_WARNING_STATE_REVIEWED:  5,
	supervisionv1.WarningState_WARNING_STATE_TRACED:    10,
	supervisionv1.WarningState_WARNING_STATE_RECTIFIED: 5,
}

// ActOnWarning moves a warning through its lifecycle, records a disposition, or releases
// its hold, in one transaction guarded by the warning's revision (and the etag sent). The
// policy decides the act (supervision.warning.act: 监督与执行分离, the lifecycle's order,
// the dispositions).
func (s *Service) ActOnWarning(ctx context.Context, req *supervisionv1.ActOnWarningRequest) (*supervisionv1.Warning, error) {
	w, err := s.GetWarning(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	org := orgOf(w.Name)
	who, err := personActing(ctx, org)
	if err != nil {
		return nil, err
	}
	subject, err := s.warningSubject(ctx, w, req.GetAction(), req.GetDisposition())
	if err != nil {
		return nil, err
	}
	if ctx, err = s.decideAct(ctx, "supervision.warning.act", org, subject); err != nil {
		return nil, err
	}
	rev, err := sentEtag(w.Etag, req.GetEtag(), w.Name)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	next := cloneWarning(w)
	switch act := req.GetAction(); act {
	case supervisionv1.WarningAction_WARNING_ACTION_DISPOSE:
		next.Dispositions = append(next.Dispositions, &supervisionv1.Disposition{Kind: req.GetDisposition(), Text: req.GetText(), By: who, Time: nowTS(now), DecisionId: decisionID(ctx)})
	case supervisionv1.WarningAction_WARNING_ACTION_RELEASE_HOLD:
		if w.Hold == "" || w.Hold == holdPending || strings.HasPrefix(w.Hold, holdRefused) || w.HoldReleased {
			return nil, apierr.Refused(codes.FailedPrecondition, "NO_HOLD", w.Name+" has no hold in place to release", "该预警没有待解除的拦截", nil)
		}
		if req.GetText() == "" {
			return nil, apierr.Field("text", "text is required: the recorded decision to release", "text 必填：解除拦截的决定")
		}
		// The release is the supervisor's own act on the case: their token goes along, and
		// the approval service decides it (监督与执行分离 and the hold permission).
		if _, err := approvalv1.NewCaseServiceClient(s.cfg.Approval).Act(auth.ForwardToken(ctx), &approvalv1.ActRequest{
			Name: w.Subject, Action: approvalv1.Action_ACTION_RELEASE, Hold: w.Hold, Text: req.GetText(), RequestId: "svr-" + idOf(w.Name) + "-" + req.GetRequestId(),
		}); err != nil {
			return nil, err
		}
		next.HoldReleased = true
		next.History = append(next.History, &supervisionv1.WarningChange{From: w.State, To: w.State, By: who, Text: "解除拦截：" + req.GetText(), Time: nowTS(now), DecisionId: decisionID(ctx)})
	default:
		to, ok := transitions[act]
		if !ok {
			return nil, apierr.Field("action", "unknown action", "未知操作")
		}
		if req.GetText() == "" && act != supervisionv1.WarningAction_WARNING_ACTION_REVIEW {
			return nil, apierr.Field("text", "text is required: what was found or done", "text 必填")
		}
		next.History = append(next.History, &supervisionv1.WarningChange{From: w.State, To: to, By: who, Text: req.GetText(), Time: nowTS(now), DecisionId: decisionID(ctx)})
		next.State = to
		if d, ok := stageDays[to]; ok {
			next.DueTime = nowTS(s.cal.addWorkingDays(now, d))
		} else {
			next.DueTime = nil
		}
	}
	next.UpdateTime = nowTS(now)
	k := s.warningKey(w.Name)
	nrev, err := s.commitWarnings(ctx, store.NewTxn().ExpectRevision(k, rev, w.Name).Put(k, storedWarning(next)))
	for attempt := 0; err != nil && req.GetAction() == supervisionv1.WarningAction_WARNING_ACTION_RELEASE_HOLD && attempt < 8; attempt++ {
		// The case is released already: record it on the warning as it is now (the
		// workers rewrite warnings), whatever else changed meanwhile.
		if _, ok := store.Retryable(err); !ok {
			break
		}
		cur, gerr := s.GetWarning(ctx, w.Name)
		if gerr != nil {
			return nil, gerr
		}
		crev, _ := store.ParseEtag(cur.Etag)
		next = cloneWarning(cur)
		next.HoldReleased = true
		next.History = append(next.History, &supervisionv1.WarningChange{From: cur.State, To: cur.State, By: who, Text: "解除拦截：" + req.GetText(), Time: nowTS(now), DecisionId: decisionID(ctx)})
		next.UpdateTime = nowTS(now)
		nrev, err = s.commitWarnings(ctx, store.NewTxn().ExpectRevision(k, crev, w.Name).Put(k, storedWarning(next)))
	}
	if err != nil {
		return nil, err
	}
	next.Etag = store.FormatEtag(nrev)
	return next, nil
}

// decisionID is the id of the access decision in ctx (the interceptor's).
func decisionID(ctx context.Context) string {
	ds := store.Decisions(ctx)
	if len(ds) == 0 {
		return ""
	}
	return ds[len(ds)-1].ID
}

// personActing is the caller's person name in org; only people act on warnings and
// complaints (NOT_A_PERSON otherwise).
func personActing(ctx context.Context, org string) (string, error) {
	g, _ := auth.FromContext(ctx).Grant(org)
	if g.Person == "" {
		return "", apierr.New(codes.PermissionDenied, "NOT_A_PERSON", "only a person of org "+org+" acts on its warnings and complaints", nil)
	}
	return "orgs/" + org + "/people/" + g.Person, nil
}

// sentEtag is the revision of a cached resource (its etag), checked against the etag the
// client sent, if any (a stale one is FAILED_PRECONDITION).
func sentEtag(etag, sent, name string) (int64, error) {
	rev, err := store.ParseEtag(etag)
	if err != nil {
		return 0, err
	}
	if sent != "" {
		if err := store.CheckEtag(sent, rev, name); err != nil {
			return 0, apierr.FromError(err)
		}
	}
	return rev, nil
}
