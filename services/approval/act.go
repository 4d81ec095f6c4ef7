package approval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Reasons of FAILED_PRECONDITION answers that front ends may branch on.
const (
	ReasonCaseClosed   = "CASE_CLOSED"
	ReasonCaseHeld     = "CASE_HELD"
	ReasonStepInactive = "STEP_NOT_ACTIVE"
	ReasonIllegalState = "ILLEGAL_TRANSITION"
	ReasonRequestReuse = requests.ReasonReused
)

// illegal is the FAILED_PRECONDITION of an action the case's state does not allow.
func illegal(reason, en, zh string) error {
	return refused(codes.FailedPrecondition, reason, en, zh)
}

// refused is an error with code, reason and a Chinese message.
func refused(code codes.Code, reason, en, zh string) error {
	return apierr.Refused(code, reason, en, zh, nil)
}

// actor is who acts: the caller's person in the org ("orgs/{org}/people/{p}") and the
// principal when they act as a delegate.
type actor struct {
	principal *auth.Principal
	person    string
	// id is the person id, or "sub:<subject>" for a caller who is no person of the org
	// (a service holding a case for supervision).
	id string
}

// subject is the caller's authenticated subject ("" when unauthenticated).
func (a actor) subject() string {
	if a.principal == nil {
		return ""
	}
	return a.principal.Subject
}

func callerIn(ctx context.Context, org string) actor {
	p := auth.FromContext(ctx)
	a := actor{principal: p}
	if name := p.PersonName(org); name != "" {
		a.person, a.id = name, idOf(name)
	} else if p != nil {
		a.id = "sub:" + p.Subject
	}
	return a
}

// Act performs one action on a case. The case is read, the action planned and decided,
// and the result written in one transaction comparing the case's revision; when another
// action changed the case in between, the action is planned and decided again on the new
// state (a second signer of a step then finds it signed).
func (s *Service) Act(ctx context.Context, req *approvalv1.ActRequest) (*approvalv1.Case, error) {
	org, id, ok := caseName(req.GetName())
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/cases/{case}", "名称应为 orgs/{org}/cases/{case}")
	}
	if req.GetRequestId() == "" {
		return nil, apierr.Field("request_id", "request_id is required: a retry with the same id returns the first result",
			"request_id 必填：以同一 request_id 重试将返回首次结果")
	}
	digest := requests.Digest(req)
	caseKey, reqKey := s.keys.caseKey(org, id), s.requests.Key(org, callerIn(ctx, org).subject(), req.GetRequestId())
	// Serializable reads first: no wait for a read index behind the writes in flight. A
	// stale read costs a retry — the write compares the case's revision and requires the
	// request record to be absent — never a wrong result. But a stale read can also refuse
	// (the case not found yet, its step not yet active, the etag not yet current) what the
	// caller's own last write, acknowledged by another replica on another etcd member,
	// made possible: so a refusal is only given after a linearizable read says the same.
	serial := true
	read := func() []clientv3.OpOption {
		if serial {
			return []clientv3.OpOption{clientv3.WithSerializable()}
		}
		return nil
	}
	for attempt := 1; ; attempt++ {
		resp, err := s.cli.Txn(ctx).Then(clientv3.OpGet(caseKey, read()...), clientv3.OpGet(reqKey, read()...)).Commit()
		if err != nil {
			return nil, storeErr(err)
		}
		if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			return s.replay(ctx, kvs[0], "Act", digest)
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			if serial {
				serial = false
				continue
			}
			return nil, notFound(req.GetName())
		}
		cur := &approvalv1.Case{}
		if err := store.Unmarshal(kvs[0].Value, cur); err != nil {
			return nil, err
		}
		cur.Name = req.GetName()
		rev := kvs[0].ModRevision
		if err := store.CheckEtag(req.GetEtag(), rev, req.GetName()); err != nil {
			if serial {
				serial = false
				continue
			}
			return nil, apierr.FromError(err)
		}
		ch, dctx, err := s.plan(ctx, org, cur, req)
		if err != nil {
			if serial && ctx.Err() == nil {
				serial = false
				continue
			}
			return nil, err
		}
		t := store.NewTxn().ExpectRevision(caseKey, rev, req.GetName())
		if err := s.writeChange(t, org, id, ch); err != nil {
			return nil, err
		}
		if err := s.requests.Add(ctx, t, reqKey, req.GetRequestId(), requests.Record{Method: "Act", Digest: digest, Name: req.GetName()}, s.cfg.Now()); err != nil {
			return nil, err
		}
		newRev, err := s.store.Commit(dctx, t)
		switch {
		case err == nil:
			out := ch.c
			out.Name, out.Etag = req.GetName(), store.FormatEtag(newRev)
			return out, nil
		case errors.Is(err, store.ErrAlreadyExists) && attempt < s.cfg.MaxAttempts:
			serial = false
			continue // the same request was done concurrently: answer with its result
		}
		_, retry := store.Retryable(err)
		if retry && attempt < s.cfg.MaxAttempts {
			serial = false // the member read may be the one behind
			continue
		}
		if retry || errors.Is(err, store.ErrAlreadyExists) {
			return nil, apierr.New(codes.Aborted, "CONTENDED", fmt.Sprintf("%s changed %d times while this action was decided: retry", req.GetName(), attempt), nil)
		}
		return nil, apierr.FromError(err)
	}
}

// maxCaseBytes bounds a stored case (etcd refuses requests over 1.5 MiB by default, and
// every reader of the case pays for its size): comments, signatures and meetings grow a
// case, and one that reached the bound takes no more.
const maxCaseBytes = 1 << 20

// writeChange adds the case and its new events to t; a case grown past maxCaseBytes is
// refused (RESOURCE_EXHAUSTED) and nothing is written.
func (s *Service) writeChange(t *store.Txn, org, id string, ch *change) error {
	c := proto.Clone(ch.c).(*approvalv1.Case)
	c.Name, c.Etag = "", ""
	b := store.Marshal(c)
	if len(b) > maxCaseBytes {
		return refused(codes.ResourceExhausted, "CASE_TOO_LARGE",
			fmt.Sprintf("%s would take %d bytes, over the %d a case may take: put long text in attachments", ch.c.Name, len(b), maxCaseBytes),
			fmt.Sprintf("案件 %s 已达容量上限（%d 字节），长文本请以附件形式提交", ch.c.Name, maxCaseBytes))
	}
	t.Put(s.keys.caseKey(org, id), b)
	if n := len(ch.events); n > 0 {
		// The last event carries the case as it is after the change (eventView).
		ch.events[n-1].CaseAfter = eventView(ch.c)
	}
	for _, e := range ch.events {
		t.Put(s.keys.eventKey(org, id, e.Seq), store.Marshal(e))
	}
	return nil
}

// replay answers a request id that was already done: the case as the first call wrote
// it. A different request under the same id is refused.
func (s *Service) replay(ctx context.Context, kv *mvccpb.KeyValue, method, digest string) (*approvalv1.Case, error) {
	rec, ckv, err := s.requests.Replay(ctx, kv, method, digest, func(name string) (string, bool) {
		org, id, ok := caseName(name)
		return s.keys.caseKey(org, id), ok
	})
	if err != nil {
		return nil, err
	}
	c := &approvalv1.Case{}
	if err := store.Unmarshal(ckv.Value, c); err != nil {
		return nil, err
	}
	c.Name, c.Etag = rec.Name, store.FormatEtag(ckv.ModRevision)
	return c, nil
}

func notFound(name string) error {
	return apierr.New(codes.NotFound, apierr.ReasonNotFound, name+": not found", nil)
}

// storeErr maps an error of reading the store (UNAVAILABLE, or the context's code).
func storeErr(err error) error { return apierr.Unavailable(err) }

// decide asks the decision point; a denial is PERMISSION_DENIED with every violation.
// The returned context carries the decision, which the write requires.
func (s *Service) decide(ctx context.Context, action string, in policyInput) (context.Context, store.Decision, error) {
	dctx, d, err := s.pdp.Require(ctx, action, map[string]any(in))
	if err != nil {
		return nil, store.Decision{}, err
	}
	return dctx, store.Decision{ID: d.DecisionID, PolicyRevision: d.PolicyRevision}, nil
}

// today is the CST date of t.
func today(t time.Time) string { return t.In(cst).Format("2006-01-02") }

// plan decides an action on cur and applies it to a copy. It returns the change and the
// context carrying the decision.
func (s *Service) plan(ctx context.Context, org string, cur *approvalv1.Case, req *approvalv1.ActRequest) (*change, context.Context, error) {
	a := callerIn(ctx, org)
	now := s.cfg.Now()
	c := proto.Clone(cur).(*approvalv1.Case)
	r, err := s.cat.revision(ctx, c.Flow, c.FlowRevision, c.GetEmergency().GetActive())
	if err != nil {
		return nil, nil, apierr.FromError(err)
	}
	ch := &change{s: s, c: c, r: r, org: org, now: now, actor: a.person}
	if a.person == "" {
		ch.actor = a.id // a service holding for supervision: its subject is the actor
	}
	if req.GetAction() == approvalv1.Action_ACTION_SIGN && c.GetPayload().GetIndicator() != "" {
		// Who set the indicator (read by the sign rules) comes from the cache: let it
		// catch up with this process's writes first (a 预算指标 signature given a moment
		// ago counts). Other actions do not read it, so they do not wait.
		if err := s.cache.WaitFor(ctx, s.store.LastWrite()); err != nil {
			return nil, nil, storeErr(err)
		}
	}
	p := &planner{s: s, ch: ch, a: a, req: req, org: org, day: today(now)}
	if err := p.check(); err != nil {
		return nil, nil, err
	}
	in, action, err := p.input()
	if err != nil {
		return nil, nil, err
	}
	dctx, d, err := s.decide(ctx, action, in)
	if err != nil {
		return nil, nil, err
	}
	ch.decision = d
	if err := p.apply(); err != nil {
		return nil, nil, apierr.FromError(err)
	}
	c.UpdateTime = timestamppb.New(now)
	if c.Emergency != nil && c.State == approvalv1.Case_STATE_OPEN {
		c.Emergency.JointReviewPassed = r.jointReviewDone(c)
	}
	return ch, dctx, nil
}

// planner checks, builds the decision input for, and applies one action.
type planner struct {
	s   *Service
	ch  *change
	a   actor
	req *approvalv1.ActRequest
	org string
	day string
	// The active step acted on, and the principal when the actor is a delegate.
	as         *approvalv1.ActiveStep
	onBehalfOf string // person name
	meeting    *approvalv1.Meeting
}

var actionNames = map[approvalv1.Action]string{
	approvalv1.Action_ACTION_CLAIM:          "approval.claim",
	approvalv1.Action_ACTION_SIGN:           "approval.sign",
	approvalv1.Action_ACTION_REJECT:         "approval.reject",
	approvalv1.Action_ACTION_RETURN:         "approval.return",
	approvalv1.Action_ACTION_WITHDRAW:       "approval.withdraw",
	approvalv1.Action_ACTION_COMMENT:        "approval.comment",
	approvalv1.Action_ACTION_ADD_SIGNER:     "approval.add_signer",
	approvalv1.Action_ACTION_UPDATE_PAYLOAD: "approval.update_payload",
	approvalv1.Action_ACTION_HOLD:           "approval.hold",
	approvalv1.Action_ACTION_RELEASE:        "approval.release",
	approvalv1.Action_ACTION_CONVENE:        "approval.meeting.convene",
	approvalv1.Action_ACTION_ATTEND:         "approval.meeting.attend",
	approvalv1.Action_ACTION_VOTE:           "approval.meeting.vote",
	approvalv1.Action_ACTION_CLOSE_MEETING:  "approval.meeting.close",
	approvalv1.Action_ACTION_DELEGATE:       "approval.delegate",
}

// stepActions act on an active step named by `step`.
var stepActions = map[approvalv1.Action]bool{
	approvalv1.Action_ACTION_CLAIM: true, approvalv1.Action_ACTION_SIGN: true,
	approvalv1.Action_ACTION_REJECT: true, approvalv1.Action_ACTION_RETURN: true,
	approvalv1.Action_ACTION_ADD_SIGNER: true, approvalv1.Action_ACTION_CONVENE: true,
	approvalv1.Action_ACTION_DELEGATE: true,
}

// textRequired names the actions that need a reason.
var textRequired = map[approvalv1.Action]string{
	approvalv1.Action_ACTION_REJECT:        "a reason to reject",
	approvalv1.Action_ACTION_RETURN:        "a reason to return the case",
	approvalv1.Action_ACTION_WITHDRAW:      "a reason to withdraw the case",
	approvalv1.Action_ACTION_COMMENT:       "the comment",
	approvalv1.Action_ACTION_HOLD:          "the reason for the hold",
	approvalv1.Action_ACTION_RELEASE:       "the reason for the release",
	approvalv1.Action_ACTION_CLOSE_MEETING: "the minutes",
}

// check refuses what the case's state or the request's shape does not allow.
func (p *planner) check() error {
	c, req := p.ch.c, p.req
	act := req.GetAction()
	var v apierr.Violations
	if what, ok := textRequired[act]; ok && req.GetText() == "" {
		v.Add("text", "text is required: "+what, "text 必填")
	}
	if stepActions[act] && req.GetStep() == "" {
		v.Add("step", "step is required: the active step acted on", "step 必填：所办理的当前步骤")
	}
	if v.Len() > 0 {
		return v.Err()
	}
	// A principal who is no person of the org (the supervision service) only holds: a
	// release is a person's recorded decision.
	if p.a.person == "" && act != approvalv1.Action_ACTION_HOLD {
		return apierr.New(codes.PermissionDenied, "NOT_A_PERSON",
			fmt.Sprintf("the caller is no person of org %s: only people act on cases", p.org), nil)
	}
	if c.State != approvalv1.Case_STATE_OPEN && act != approvalv1.Action_ACTION_COMMENT {
		return illegal(ReasonCaseClosed, fmt.Sprintf("%s is %s: no action but a comment is possible", c.Name, stateText(c.State)),
			fmt.Sprintf("案件 %s 已%s，仅可添加意见", c.Name, stateZh(c.State)))
	}
	switch act {
	case approvalv1.Action_ACTION_COMMENT, approvalv1.Action_ACTION_HOLD, approvalv1.Action_ACTION_RELEASE:
	default:
		if c.Held {
			return illegal(ReasonCaseHeld, fmt.Sprintf("%s is held (拦截) by supervision: it cannot advance until released", c.Name),
				fmt.Sprintf("案件 %s 已被拦截，解除前不得继续办理", c.Name))
		}
	}
	if stepActions[act] {
		p.as = activeStep(c, req.GetStep())
		if p.as == nil {
			return illegal(ReasonStepInactive, fmt.Sprintf("step %q of %s is not active (active: %s)", req.GetStep(), c.Name, activeList(c)),
				fmt.Sprintf("案件 %s 的步骤 %s 不在办理中（当前：%s）", c.Name, req.GetStep(), activeList(c)))
		}
		if err := p.resolveDelegation(); err != nil {
			return err
		}
	}
	return nil
}

// resolveDelegation checks on_behalf_of against the step's delegation; a delegate acting
// on the step acts for the principal even without saying so.
func (p *planner) resolveDelegation() error {
	as, req := p.as, p.req
	obo := req.GetOnBehalfOf()
	if obo == "" && as.Delegate != "" && as.Delegate == p.a.person {
		obo = as.DelegatedBy
	}
	if obo == "" {
		return nil
	}
	if as.Delegate != p.a.person || as.DelegatedBy != obo {
		return illegal(ReasonIllegalState, fmt.Sprintf("%s has not delegated step %s to %s", obo, as.Step, p.a.person),
			fmt.Sprintf("%s 未将步骤 %s 委托给 %s", obo, as.Step, p.a.person))
	}
	if as.DelegatedUntil != "" && as.DelegatedUntil < p.day {
		return illegal(ReasonIllegalState, fmt.Sprintf("the delegation of step %s by %s ended on %s", as.Step, obo, as.DelegatedUntil),
			fmt.Sprintf("%s 对步骤 %s 的委托已于 %s 到期", obo, as.Step, as.DelegatedUntil))
	}
	p.onBehalfOf = obo
	p.ch.onBehalfOf = obo
	return nil
}

// principal is whose post counts: the principal of a delegate, else the actor.
func (p *planner) principal() string {
	if p.onBehalfOf != "" {
		return p.onBehalfOf
	}
	return p.a.person
}

func activeList(c *approvalv1.Case) string {
	if len(c.Active) == 0 {
		return "none"
	}
	ids := make([]string, len(c.Active))
	for i, a := range c.Active {
		ids[i] = a.Step
	}
	return fmt.Sprint(ids)
}

func stateText(s approvalv1.Case_State) string {
	switch s {
	case approvalv1.Case_STATE_COMPLETED:
		return "completed"
	case approvalv1.Case_STATE_REJECTED:
		return "rejected"
	case approvalv1.Case_STATE_WITHDRAWN:
		return "withdrawn"
	}
	return "open"
}

func stateZh(s approvalv1.Case_State) string {
	switch s {
	case approvalv1.Case_STATE_COMPLETED:
		return "办结"
	case approvalv1.Case_STATE_REJECTED:
		return "驳回"
	case approvalv1.Case_STATE_WITHDRAWN:
		return "撤回"
	}
	return "在办"
}

// input builds the decision input of the action (after the state checks that need no
// decision).
func (p *planner) input() (policyInput, string, error) {
	s, ch, req := p.s, p.ch, p.req
	c, r := ch.c, ch.r
	act := req.GetAction()
	action := actionNames[act]
	in := s.baseInput(p.org, p.day, p.a.id, idOrEmpty(p.onBehalfOf))
	in["power"] = powerInput(r)
	withStep := func() {
		in["step"] = s.stepInput(p.org, r, c, p.as.Step, p.as)
	}
	switch act {
	case approvalv1.Action_ACTION_CLAIM:
		if p.as.CollectiveDecision {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is decided by the leadership (集体决策): convene a meeting", p.as.Step),
				fmt.Sprintf("步骤 %s 须经集体决策，请召集会议", p.as.Step))
		}
		if p.as.Signed {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is already signed", p.as.Step), fmt.Sprintf("步骤 %s 已签署", p.as.Step))
		}
		if p.as.ClaimedBy != "" {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s was claimed by %s (首问负责制)", p.as.Step, p.as.ClaimedBy),
				fmt.Sprintf("步骤 %s 已由 %s 受理（首问负责制）", p.as.Step, p.as.ClaimedBy))
		}
		withStep()
	case approvalv1.Action_ACTION_SIGN:
		if p.as.CollectiveDecision {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is decided by the leadership (集体决策): it is signed by closing a meeting that passes", p.as.Step),
				fmt.Sprintf("步骤 %s 须经集体决策，以会议表决通过签署", p.as.Step))
		}
		if !p.addedSigner() {
			if p.as.Signed {
				return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is already signed; it waits for its added signers", p.as.Step),
					fmt.Sprintf("步骤 %s 已签署，等待加签人签署", p.as.Step))
			}
			if p.as.ClaimedBy != "" && p.as.ClaimedBy != p.principal() {
				return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s was claimed by %s (首问负责制): only they or their delegate sign it", p.as.Step, p.as.ClaimedBy),
					fmt.Sprintf("步骤 %s 已由 %s 受理（首问负责制），仅其本人或受托人可签署", p.as.Step, p.as.ClaimedBy))
			}
		}
		// One person, one signature per step: not again as holder, added signer or delegate.
		for _, who := range []string{p.a.person, p.onBehalfOf} {
			if err := signedAt(c, p.as.Step, who); err != nil {
				return nil, "", err
			}
		}
		withStep()
		if !p.addedSigner() {
			// The holder's signature: being added to sign exempts nobody from holding it.
			in["step"].(map[string]any)["added_signers"] = []any{}
		}
		if pen := c.GetPayload().GetPenalty(); pen != nil {
			in["penalty"] = penaltyInput(r, pen)
		}
	case approvalv1.Action_ACTION_REJECT, approvalv1.Action_ACTION_RETURN:
		if !p.addedSigner() {
			if err := p.claimedByOther(); err != nil {
				return nil, "", err
			}
		}
		if act == approvalv1.Action_ACTION_REJECT {
			withStep()
			break
		}
		if p.as.CollectiveDecision {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is decided by the leadership (集体决策): it is not returned, the meeting decides", p.as.Step),
				fmt.Sprintf("步骤 %s 须经集体决策，不得退回", p.as.Step))
		}
		to := req.GetToStep()
		if to == "" {
			return nil, "", apierr.Field("to_step", "to_step is required: the earlier step to return to", "to_step 必填：退回至的步骤")
		}
		if r.graph.Step(to) == nil {
			return nil, "", apierr.Field("to_step", fmt.Sprintf("%q is no step of the flow", to), fmt.Sprintf("流程中没有步骤 %q", to))
		}
		if r.order[r.graph.NodeOf(to)] >= r.order[p.as.Node] || !validSig(c, to) {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is not an earlier, signed step of %s: a case returns to a step it has passed", to, c.Name),
				fmt.Sprintf("步骤 %s 不是案件 %s 已办理的前序步骤", to, c.Name))
		}
		withStep()
	case approvalv1.Action_ACTION_WITHDRAW:
		entry, _ := r.entryNode(c)
		for _, sg := range c.Signatures {
			if !sg.Voided && r.graph.NodeOf(sg.Step) != entry {
				return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("%s cannot be withdrawn: step %s is already signed", c.Name, sg.Step),
					fmt.Sprintf("案件 %s 的步骤 %s 已签署，不得撤回", c.Name, sg.Step))
			}
		}
	case approvalv1.Action_ACTION_COMMENT:
	case approvalv1.Action_ACTION_ADD_SIGNER:
		person := req.GetPerson()
		if err := p.checkPerson("person", person); err != nil {
			return nil, "", err
		}
		if p.as.CollectiveDecision {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is decided by the leadership (集体决策): no signer can be added", p.as.Step),
				fmt.Sprintf("步骤 %s 须经集体决策，不得加签", p.as.Step))
		}
		if err := signedAt(c, p.as.Step, person); err != nil {
			return nil, "", err
		}
		if slices.Contains(p.as.AddedSigners, person) {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("%s is already an added signer of step %s", person, p.as.Step),
				fmt.Sprintf("%s 已是步骤 %s 的加签人", person, p.as.Step))
		}
		withStep()
		in["signer"] = map[string]any{"person": idOf(person)}
	case approvalv1.Action_ACTION_UPDATE_PAYLOAD:
		np := req.GetPayload()
		if np == nil {
			return nil, "", apierr.Field("payload", "payload is required: the new version", "payload 必填")
		}
		next := proto.Clone(c).(*approvalv1.Case)
		next.Payload = proto.Clone(np).(*approvalv1.Payload)
		next.Payload.Version = c.GetPayload().GetVersion() + 1
		normalizePayload(next.Payload)
		in["case"] = s.caseInput(p.org, r, next, "")
		return in, action, nil
	case approvalv1.Action_ACTION_HOLD, approvalv1.Action_ACTION_RELEASE:
		g, _ := p.a.principal.Grant(p.org)
		in["roles"] = strs(g.Roles)
		var platform []string
		if p.a.principal != nil {
			platform = p.a.principal.PlatformRoles
		}
		in["platform_roles"] = strs(platform)
		hold := map[string]any{"id": "", "reason": req.GetText(), "rule": req.GetRule()}
		if act == approvalv1.Action_ACTION_RELEASE {
			h := openHold(c, req.GetHold())
			if h == nil {
				return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("%s has no open hold %q", c.Name, req.GetHold()),
					fmt.Sprintf("案件 %s 没有未解除的拦截 %q", c.Name, req.GetHold()))
			}
			hold = map[string]any{"id": h.Id, "reason": req.GetText(), "rule": h.Rule}
		}
		in["hold"] = hold
	case approvalv1.Action_ACTION_CONVENE:
		if !p.as.CollectiveDecision {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s is not a 集体决策 step", p.as.Step), fmt.Sprintf("步骤 %s 不是集体决策步骤", p.as.Step))
		}
		for _, m := range c.Meetings {
			if m.Step == p.as.Step && !m.Closed && !m.Voided {
				return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("meeting %s for step %s is still open", m.Id, m.Step),
					fmt.Sprintf("步骤 %s 的会议 %s 尚未结束", m.Step, m.Id))
			}
		}
		var members []string
		for _, id := range s.pdp.Facts().Leadership(p.org, p.day) {
			members = append(members, personName(p.org, id))
		}
		p.meeting = &approvalv1.Meeting{
			Id: "m" + strconv.Itoa(len(c.Meetings)+1), Step: p.as.Step, Members: members,
			ProposalVersion: c.GetPayload().GetVersion(), ConveneTime: timestamppb.New(ch.now), ConvenedBy: p.a.person,
		}
		withStep()
		in["meeting"] = meetingInput(p.meeting, "")
	case approvalv1.Action_ACTION_ATTEND, approvalv1.Action_ACTION_VOTE, approvalv1.Action_ACTION_CLOSE_MEETING:
		m := openMeeting(c, req.GetMeeting())
		if m == nil {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("%s has no open meeting %q", c.Name, req.GetMeeting()),
				fmt.Sprintf("案件 %s 没有进行中的会议 %q", c.Name, req.GetMeeting()))
		}
		p.as = activeStep(c, m.Step)
		if p.as == nil {
			return nil, "", illegal(ReasonStepInactive, fmt.Sprintf("step %s of meeting %s is not active", m.Step, m.Id),
				fmt.Sprintf("会议 %s 所议步骤 %s 不在办理中", m.Id, m.Step))
		}
		p.meeting = proto.Clone(m).(*approvalv1.Meeting)
		vote := ""
		switch act {
		case approvalv1.Action_ACTION_ATTEND:
			for i, n := range req.GetAttendees() {
				if err := p.checkPerson(fmt.Sprintf("attendees[%d]", i), n); err != nil {
					return nil, "", err
				}
			}
			for i, n := range req.GetRecused() {
				if err := p.checkPerson(fmt.Sprintf("recused[%d]", i), n); err != nil {
					return nil, "", err
				}
			}
			p.meeting.Attendees, p.meeting.Recused = dedupe(req.GetAttendees()), dedupe(req.GetRecused())
		case approvalv1.Action_ACTION_VOTE:
			if req.GetVote() == approvalv1.Vote_VOTE_UNSPECIFIED {
				return nil, "", apierr.Field("vote", "vote is required", "vote 必填")
			}
			vote = voteName(req.GetVote())
		}
		withStep()
		in["meeting"] = meetingInput(p.meeting, vote)
	case approvalv1.Action_ACTION_DELEGATE:
		person := req.GetPerson()
		if err := p.checkPerson("person", person); err != nil {
			return nil, "", err
		}
		if req.GetUntil() == "" {
			return nil, "", apierr.Field("until", "until is required: the last day of the delegation", "until 必填：委托截止日期")
		}
		if _, err := time.Parse("2006-01-02", req.GetUntil()); err != nil || req.GetUntil() < p.day {
			return nil, "", apierr.Field("until", "until must be a date, today or later", "until 应为今日或之后的日期")
		}
		if person == p.a.person {
			return nil, "", apierr.Field("person", "a person cannot delegate to themself", "不得委托本人")
		}
		if p.as.ClaimedBy != "" && p.as.ClaimedBy != p.a.person {
			return nil, "", illegal(ReasonIllegalState, fmt.Sprintf("step %s was claimed by %s: only they delegate it", p.as.Step, p.as.ClaimedBy),
				fmt.Sprintf("步骤 %s 已由 %s 受理，仅其本人可委托", p.as.Step, p.as.ClaimedBy))
		}
		if err := signedAt(c, p.as.Step, person); err != nil {
			return nil, "", err
		}
		withStep()
		in["delegation"] = map[string]any{"delegate": idOf(person), "from": p.day, "until": req.GetUntil()}
	default:
		return nil, "", apierr.Field("action", "unknown action", "未知操作")
	}
	step := ""
	if p.as != nil {
		step = p.as.Step
	}
	in["case"] = s.caseInput(p.org, r, c, step)
	return in, action, nil
}

// addedSigner reports whether the principal signs as an added signer (加签) who has not
// signed yet.
func (p *planner) addedSigner() bool {
	who := p.principal()
	return slices.Contains(p.as.AddedSigners, who) && !slices.Contains(p.as.AddedSigned, who)
}

// checkPerson checks a person named in the request: of this org, known and active.
func (p *planner) checkPerson(field, name string) error {
	if name == "" {
		return apierr.Field(field, field+" is required", field+" 必填")
	}
	org, coll, ok := splitPerson(name)
	if !ok || coll != "people" || org != p.org {
		return apierr.Field(field, fmt.Sprintf("%q is not a person of org %s (orgs/%s/people/{person})", name, p.org, p.org),
			fmt.Sprintf("%q 不是本单位人员", name))
	}
	if !p.s.pdp.Facts().Active(p.org, idOf(name)) {
		return apierr.Field(field, fmt.Sprintf("%s is not an active person of org %s", name, p.org), fmt.Sprintf("%s 不是本单位在职人员", name))
	}
	return nil
}

func splitPerson(name string) (org, coll string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "orgs" || parts[1] == "" || parts[3] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func openHold(c *approvalv1.Case, id string) *approvalv1.Hold {
	for _, h := range c.Holds {
		if h.Id == id && h.ReleaseTime == nil {
			return h
		}
	}
	return nil
}

func openMeeting(c *approvalv1.Case, id string) *approvalv1.Meeting {
	for _, m := range c.Meetings {
		if m.Id == id && !m.Closed && !m.Voided {
			return m
		}
	}
	return nil
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func dedupe(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// apply changes the case once the action is allowed.
func (p *planner) apply() error {
	ch, req := p.ch, p.req
	c, now := ch.c, ch.now
	switch req.GetAction() {
	case approvalv1.Action_ACTION_CLAIM:
		p.as.ClaimedBy = p.principal()
		p.firstResponsible()
		ch.event("claimed", p.as.Step, req.GetText())
	case approvalv1.Action_ACTION_SIGN:
		rank := p.s.rankOf(p.org, ch.r.graph.Step(p.as.Step))
		c.Signatures = append(c.Signatures, &approvalv1.Signature{
			Step: p.as.Step, Person: p.a.person, OnBehalfOf: p.onBehalfOf, PayloadVersion: c.GetPayload().GetVersion(),
			RankLevel: int32(rank), DecisionId: ch.decision.ID, PolicyRevision: ch.decision.PolicyRevision,
			Time: timestamppb.New(now), Comment: req.GetText(), Duty: ch.r.graph.Step(p.as.Step).GetDuty(),
		})
		if p.addedSigner() {
			p.as.AddedSigned = append(p.as.AddedSigned, p.principal())
		} else {
			p.as.Signed = true
			if p.as.ClaimedBy == "" {
				p.as.ClaimedBy = p.principal()
			}
			p.firstResponsible()
		}
		ch.event("signed", p.as.Step, req.GetText())
		return ch.settle(p.as.Step)
	case approvalv1.Action_ACTION_REJECT:
		pg := ch.r.graph.Group(p.as.Node)
		if pg != nil && pg.GetMode() == registryv1.ParallelMode_PARALLEL_MODE_ANY && !pg.GetVeto() {
			// 或签 without 一票否决: this member declines; the group fails only when all do.
			removeActive(c, func(a *approvalv1.ActiveStep) bool { return a.Step == p.as.Step })
			c.DeclinedSteps = append(c.DeclinedSteps, p.as.Step)
			ch.event("declined", p.as.Step, req.GetText())
			if slices.ContainsFunc(c.Active, func(a *approvalv1.ActiveStep) bool { return a.Node == p.as.Node }) {
				return nil
			}
		}
		if p.as.CollectiveDecision {
			// The leadership did not pass it: the open meeting, if any, closes as failed.
			for _, m := range c.Meetings {
				if m.Step == p.as.Step && !m.Closed && !m.Voided {
					m.Closed, m.Passed, m.Minutes, m.CloseTime = true, false, req.GetText(), timestamppb.New(now)
					ch.event("meeting_closed", m.Step, m.Id+": not passed")
				}
			}
		}
		ch.reject(p.as.Step, req.GetText())
	case approvalv1.Action_ACTION_RETURN:
		ch.event("returned", p.as.Step, req.GetToStep()+": "+req.GetText())
		ch.returnTo(ch.r.graph.NodeOf(req.GetToStep()), req.GetText())
	case approvalv1.Action_ACTION_WITHDRAW:
		c.State, c.Active = approvalv1.Case_STATE_WITHDRAWN, nil
		c.CloseTime = timestamppb.New(now)
		ch.event("withdrawn", "", req.GetText())
	case approvalv1.Action_ACTION_COMMENT:
		c.Comments = append(c.Comments, &approvalv1.Comment{Person: p.a.person, Text: req.GetText(), Time: timestamppb.New(now), Step: req.GetStep()})
		ch.event("commented", req.GetStep(), req.GetText())
	case approvalv1.Action_ACTION_ADD_SIGNER:
		p.as.AddedSigners = append(p.as.AddedSigners, req.GetPerson())
		ch.event("signer_added", p.as.Step, req.GetPerson())
	case approvalv1.Action_ACTION_UPDATE_PAYLOAD:
		np := proto.Clone(req.GetPayload()).(*approvalv1.Payload)
		np.Version = c.GetPayload().GetVersion() + 1
		normalizePayload(np)
		c.Payload = np
		ch.event("payload_updated", "", req.GetText())
		return ch.restart(fmt.Sprintf("payload changed to version %d", np.Version))
	case approvalv1.Action_ACTION_HOLD:
		c.Holds = append(c.Holds, &approvalv1.Hold{
			Id: "h" + strconv.Itoa(len(c.Holds)+1), Reason: req.GetText(), HeldBy: p.heldBy(), Rule: req.GetRule(), HoldTime: timestamppb.New(now),
		})
		c.Held = true
		ch.event("held", "", req.GetText())
	case approvalv1.Action_ACTION_RELEASE:
		h := openHold(c, req.GetHold())
		h.ReleasedBy, h.ReleaseReason, h.ReleaseTime = p.heldBy(), req.GetText(), timestamppb.New(now)
		c.Held = slices.ContainsFunc(c.Holds, func(h *approvalv1.Hold) bool { return h.ReleaseTime == nil })
		ch.event("released", "", req.GetHold()+": "+req.GetText())
	case approvalv1.Action_ACTION_CONVENE:
		c.Meetings = append(c.Meetings, p.meeting)
		ch.event("meeting_convened", p.as.Step, p.meeting.Id)
	case approvalv1.Action_ACTION_ATTEND:
		m := openMeeting(c, req.GetMeeting())
		m.Attendees, m.Recused = p.meeting.Attendees, p.meeting.Recused
		ch.event("attendance_recorded", m.Step, m.Id)
	case approvalv1.Action_ACTION_VOTE:
		m := openMeeting(c, req.GetMeeting())
		if m.Votes == nil {
			m.Votes = map[string]approvalv1.Vote{}
		}
		m.Votes[p.a.person] = req.GetVote()
		ch.event("voted", m.Step, m.Id+": "+voteName(req.GetVote()))
	case approvalv1.Action_ACTION_CLOSE_MEETING:
		m := openMeeting(c, req.GetMeeting())
		m.Closed, m.Passed, m.Minutes, m.CloseTime = true, true, req.GetText(), timestamppb.New(now)
		ch.event("meeting_closed", m.Step, m.Id)
		as := activeStep(c, m.Step)
		c.Signatures = append(c.Signatures, &approvalv1.Signature{
			Step: m.Step, Person: p.a.person, PayloadVersion: m.ProposalVersion,
			RankLevel: int32(p.s.rankOf(p.org, ch.r.graph.Step(m.Step))), DecisionId: ch.decision.ID,
			PolicyRevision: ch.decision.PolicyRevision, Time: timestamppb.New(now), Meeting: m.Id,
			Duty: ch.r.graph.Step(m.Step).GetDuty(),
		})
		as.Signed = true
		ch.event("signed", m.Step, "集体决策 "+m.Id)
		return ch.settle(m.Step)
	case approvalv1.Action_ACTION_DELEGATE:
		p.as.Delegate, p.as.DelegatedBy, p.as.DelegatedUntil = req.GetPerson(), p.a.person, req.GetUntil()
		ch.event("delegated", p.as.Step, req.GetPerson()+" until "+req.GetUntil())
	}
	return nil
}

// heldBy names who holds or releases: the person, or the service's subject.
func (p *planner) heldBy() string {
	if p.a.person != "" {
		return p.a.person
	}
	return p.a.id
}

// firstResponsible records the first officer, other than the applicant, who takes a
// step of the case (首问负责制).
func (p *planner) firstResponsible() {
	c := p.ch.c
	if c.FirstResponsible == "" && p.principal() != c.Applicant {
		c.FirstResponsible = p.principal()
	}
}

// signedAt refuses a second signature by who at step: who already signed it, in person,
// as an added signer or as a delegate's principal (one person, one signature per step).
func signedAt(c *approvalv1.Case, step, who string) error {
	if who == "" {
		return nil
	}
	for _, sg := range c.Signatures {
		if !sg.Voided && sg.Step == step && (sg.Person == who || sg.OnBehalfOf == who) {
			return illegal(ReasonIllegalState, fmt.Sprintf("%s already signed step %s: one person signs a step once", who, step),
				fmt.Sprintf("%s 已签署步骤 %s，同一人不得重复签署", who, step))
		}
	}
	return nil
}

// claimedByOther refuses acting on a step someone else claimed (首问负责制).
func (p *planner) claimedByOther() error {
	if p.as.ClaimedBy != "" && p.as.ClaimedBy != p.principal() {
		return illegal(ReasonIllegalState, fmt.Sprintf("step %s was claimed by %s (首问负责制): only they or their delegate act on it", p.as.Step, p.as.ClaimedBy),
			fmt.Sprintf("步骤 %s 已由 %s 受理（首问负责制），仅其本人或受托人可办理", p.as.Step, p.as.ClaimedBy))
	}
	return nil
}

// eventView is the case as an event carries it: the BASIC view with what supervision
// evaluates — the payload without attachments, purpose or penalty, the signatures not
// voided (without comments), and the closed meetings (without votes and minutes).
func eventView(c *approvalv1.Case) *approvalv1.Case {
	v := summarize(c, c.Name, 0).basic()
	p := c.GetPayload()
	v.Payload = &approvalv1.Payload{
		Version: p.GetVersion(), Amount: p.GetAmount(), Fund: p.GetFund(), Indicator: p.GetIndicator(),
		Payee: p.GetPayee(), Method: p.GetMethod(), Item: p.GetItem(),
	}
	for _, sg := range c.Signatures {
		if sg.Voided {
			continue
		}
		v.Signatures = append(v.Signatures, &approvalv1.Signature{
			Step: sg.Step, Person: sg.Person, OnBehalfOf: sg.OnBehalfOf, PayloadVersion: sg.PayloadVersion,
			RankLevel: sg.RankLevel, Time: sg.Time, Duty: sg.Duty, Meeting: sg.Meeting,
		})
	}
	for _, m := range c.Meetings {
		if m.Closed {
			v.Meetings = append(v.Meetings, &approvalv1.Meeting{
				Id: m.Id, Step: m.Step, ProposalVersion: m.ProposalVersion, Closed: true, Passed: m.Passed, Voided: m.Voided, CloseTime: m.CloseTime,
			})
		}
	}
	return v
}
