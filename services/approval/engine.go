package approval

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/shared/store"
)

// change is one action being applied to a private copy of a case: it moves the case
// along its flow and collects the events the action writes.
type change struct {
	s   *Service
	c   *approvalv1.Case
	r   *run
	org string
	now time.Time
	// The person acting and the principal they act for ("orgs/{org}/people/{p}").
	actor, onBehalfOf string
	decision          store.Decision
	events            []*approvalv1.CaseEvent
}

// event appends an event of the change.
func (ch *change) event(typ, step, text string) *approvalv1.CaseEvent {
	ch.c.EventCount++
	e := &approvalv1.CaseEvent{
		Name: fmt.Sprintf("%s/events/%d", ch.c.Name, ch.c.EventCount), Case: ch.c.Name,
		Seq: ch.c.EventCount, Type: typ, Actor: ch.actor, OnBehalfOf: ch.onBehalfOf, Step: step,
		PayloadVersion: ch.c.GetPayload().GetVersion(), DecisionId: ch.decision.ID,
		PolicyRevision: ch.decision.PolicyRevision, Time: timestamppb.New(ch.now), Text: text,
	}
	ch.events = append(ch.events, e)
	return e
}

// vars are what the flow's transition conditions read.
func vars(c *approvalv1.Case) flowgraph.Vars {
	p := c.GetPayload()
	return flowgraph.Vars{
		Amount: p.GetAmount(), Emergency: c.GetEmergency().GetActive(),
		PayeeIsPerson: p.GetPayee().GetIsPerson(), Fund: p.GetFund(), Indicator: p.GetIndicator(),
	}
}

// entryNode is the first node of the case's path: where the applicant submits.
func (r *run) entryNode(c *approvalv1.Case) (string, error) {
	return r.graph.Next(flowgraph.Start, vars(c))
}

// path lists the nodes the case passes from start to end with its current payload.
func (r *run) path(c *approvalv1.Case) ([]string, error) {
	v := vars(c)
	var out []string
	for node := flowgraph.Start; ; {
		next, err := r.graph.Next(node, v)
		if err != nil {
			return nil, err
		}
		if next == flowgraph.End {
			return out, nil
		}
		out = append(out, next)
		node = next
	}
}

// stepsOf lists the steps of a node: its members for a parallel group.
func (r *run) stepsOf(node string) []string {
	if r.graph.IsGroup(node) {
		return r.graph.Members(node)
	}
	return []string{node}
}

// rankOf is the rank level of a step: its rank, or its post's.
func (s *Service) rankOf(org string, fs *registryv1.FlowStep) int {
	if r := fs.GetRank(); r != registryv1.Rank_RANK_UNSPECIFIED {
		return int(r)
	}
	if _, rank, ok := s.pdp.Facts().Post(org, idOf(fs.GetPost())); ok {
		return rank
	}
	return 0
}

// unitOf is the unit where a step is acted on: a rank step's unit (the power's acting
// unit when the step names none), a post step's post's unit.
func (s *Service) unitOf(org string, r *run, fs *registryv1.FlowStep) string {
	if fs.GetRank() != registryv1.Rank_RANK_UNSPECIFIED {
		if fs.GetUnit() != "" {
			return fs.GetUnit()
		}
		return r.power.GetPower().GetActingUnit()
	}
	if unit, _, ok := s.pdp.Facts().Post(org, idOf(fs.GetPost())); ok && unit != "" {
		return "orgs/" + org + "/units/" + unit
	}
	return ""
}

// due is when a step activated now must be done: its limit in working days on the
// calendar, or on the emergency channel its limit in hours on the clock (绿色通道 does
// not wait for rest days).
func (ch *change) due(step string) time.Time {
	if ch.r.emergency {
		if h, ok := ch.r.hours[step]; ok {
			return ch.s.calendar().AddHours(ch.now, int(h))
		}
	}
	days := int(ch.r.graph.Step(step).GetTimeLimitDays())
	return ch.s.calendar().AddWorkdays(ch.now, days)
}

// activate makes a node's steps active.
func (ch *change) activate(node string) {
	for _, id := range ch.r.stepsOf(node) {
		fs := ch.r.graph.Step(id)
		as := &approvalv1.ActiveStep{
			Step: id, DisplayName: fs.GetDisplayName(), Node: node, Post: fs.GetPost(),
			RankLevel: int32(fs.GetRank()), Unit: ch.s.unitOf(ch.org, ch.r, fs),
			StartTime: timestamppb.New(ch.now), DueTime: timestamppb.New(ch.due(id)),
			CollectiveDecision: fs.GetCollectiveDecision(), Payment: fs.GetPayment(),
		}
		ch.c.Active = append(ch.c.Active, as)
		ch.event("step_activated", id, "")
	}
}

// activeStep returns the active step with id, or nil.
func activeStep(c *approvalv1.Case, id string) *approvalv1.ActiveStep {
	for _, as := range c.Active {
		if as.Step == id {
			return as
		}
	}
	return nil
}

// removeActive drops active steps that match.
func removeActive(c *approvalv1.Case, drop func(*approvalv1.ActiveStep) bool) {
	c.Active = slices.DeleteFunc(c.Active, drop)
}

// validSig reports whether step has a signature that still counts.
func validSig(c *approvalv1.Case, step string) bool {
	for _, s := range c.Signatures {
		if s.Step == step && !s.Voided {
			return true
		}
	}
	return false
}

// stepDone reports whether an active step has all it needs: the holder's signature and
// every added signer's.
func stepDone(as *approvalv1.ActiveStep) bool {
	if !as.Signed {
		return false
	}
	for _, p := range as.AddedSigners {
		if !slices.Contains(as.AddedSigned, p) {
			return false
		}
	}
	return true
}

// settle moves the case on after a signature at step: when the step is done it leaves
// the active set, and when its node is done (a group: every member, or any one for 或签)
// the case goes to the next node or completes.
func (ch *change) settle(step string) error {
	as := activeStep(ch.c, step)
	if as == nil || !stepDone(as) {
		return nil
	}
	node := as.Node
	removeActive(ch.c, func(a *approvalv1.ActiveStep) bool { return a.Step == step })
	if pg := ch.r.graph.Group(node); pg != nil {
		if pg.GetMode() == registryv1.ParallelMode_PARALLEL_MODE_ANY {
			// 或签: one member passing passes the group; the others are no longer needed.
			removeActive(ch.c, func(a *approvalv1.ActiveStep) bool { return a.Node == node })
		} else if slices.ContainsFunc(ch.c.Active, func(a *approvalv1.ActiveStep) bool { return a.Node == node }) {
			return nil // 会签: the other members still have to sign
		}
	}
	return ch.advance(node)
}

// advance leaves a completed node for the next one, or completes the case.
func (ch *change) advance(node string) error {
	next, err := ch.r.graph.Next(node, vars(ch.c))
	if err != nil {
		return fmt.Errorf("%w: the flow cannot continue after %s: %v", store.ErrFailedPrecondition, node, err)
	}
	if next == flowgraph.End {
		ch.complete()
		return nil
	}
	ch.activate(next)
	return nil
}

func (ch *change) complete() {
	ch.c.State = approvalv1.Case_STATE_COMPLETED
	ch.c.Active = nil
	ch.c.CloseTime = timestamppb.New(ch.now)
	text := ""
	if ch.c.GetEmergency().GetActive() {
		// 绿色通道 cases are reviewed afterwards (事后审查).
		ch.c.Emergency.FlaggedForReview = true
		text = "emergency channel used: flagged for review"
	}
	ch.event("completed", "", text)
}

// reject ends the case as rejected at step.
func (ch *change) reject(step, reason string) {
	ch.c.State = approvalv1.Case_STATE_REJECTED
	ch.c.Active = nil
	ch.c.CloseTime = timestamppb.New(ch.now)
	ch.event("rejected", step, reason)
}

// voidFrom voids the valid signatures and meetings of the given steps.
func (ch *change) voidSteps(steps map[string]bool, reason string) int {
	n := 0
	for _, s := range ch.c.Signatures {
		if !s.Voided && (steps == nil || steps[s.Step]) {
			s.Voided, s.VoidReason = true, reason
			n++
		}
	}
	for _, m := range ch.c.Meetings {
		if !m.Voided && (steps == nil || steps[m.Step]) {
			m.Voided = true
		}
	}
	return n
}

// restart voids everything given on the payload (signatures and meetings), clears the
// active steps and activates the entry node again: the case runs from the start on the
// new version.
func (ch *change) restart(reason string) error {
	ch.voidSteps(nil, reason)
	ch.c.Active, ch.c.DeclinedSteps = nil, nil
	if ch.c.Emergency != nil {
		ch.c.Emergency.JointReviewPassed = false
	}
	entry, err := ch.r.entryNode(ch.c)
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrFailedPrecondition, err)
	}
	ch.activate(entry)
	return nil
}

// returnTo voids the signatures from node `to` on (in the flow's order), clears the
// active steps and activates `to` again.
func (ch *change) returnTo(to string, reason string) {
	from := ch.r.order[to]
	steps := map[string]bool{}
	for node, i := range ch.r.order {
		if i >= from {
			for _, st := range ch.r.stepsOf(node) {
				steps[st] = true
			}
		}
	}
	ch.voidSteps(steps, "returned: "+reason)
	ch.c.Active = nil
	ch.c.DeclinedSteps = slices.DeleteFunc(ch.c.DeclinedSteps, func(s string) bool { return steps[s] })
	if ch.c.Emergency != nil && ch.r.flow.GetEmergency() != nil && steps[firstMember(ch.r, ch.r.flow.GetEmergency().GetJointReviewGroup())] {
		ch.c.Emergency.JointReviewPassed = false
	}
	ch.activate(to)
}

func firstMember(r *run, node string) string {
	if ms := r.stepsOf(node); len(ms) > 0 {
		return ms[0]
	}
	return node
}

// jointReviewDone reports whether the emergency channel's 联合会审 group has passed: the
// group node is behind the case (each member signed for 会签, one for 或签).
func (r *run) jointReviewDone(c *approvalv1.Case) bool {
	em := r.flow.GetEmergency()
	if !r.emergency || em == nil {
		return false
	}
	node := em.GetJointReviewGroup()
	if slices.ContainsFunc(c.Active, func(a *approvalv1.ActiveStep) bool { return a.Node == node }) {
		return false
	}
	members := r.stepsOf(node)
	signed := 0
	for _, m := range members {
		if validSig(c, m) {
			signed++
		}
	}
	if pg := r.graph.Group(node); pg != nil && pg.GetMode() == registryv1.ParallelMode_PARALLEL_MODE_ANY {
		return signed > 0
	}
	return signed == len(members) && signed > 0
}

// isLast reports whether completing step completes the case: its node leads to the end
// and (in a group) no other member is still needed.
func (r *run) isLast(c *approvalv1.Case, step string) bool {
	node := r.graph.NodeOf(step)
	if pg := r.graph.Group(node); pg != nil && pg.GetMode() != registryv1.ParallelMode_PARALLEL_MODE_ANY {
		for _, a := range c.Active {
			if a.Node == node && a.Step != step {
				return false
			}
		}
	}
	next, err := r.graph.Next(node, vars(c))
	return err == nil && next == flowgraph.End
}

// pathRankLevels are the rank levels of the steps on the case's path, ascending; for an
// action on step, of the steps before it.
func (s *Service) pathRankLevels(org string, r *run, c *approvalv1.Case, step string) []int {
	nodes, err := r.path(c)
	if err != nil {
		return nil
	}
	seen := map[int]bool{}
	for _, n := range nodes {
		if step != "" && r.order[n] >= r.order[r.graph.NodeOf(step)] {
			// Only the levels before the step acted on: a lower rank acting later on the
			// path (拨付办理 after the 处长) is no level the step skips.
			continue
		}
		for _, st := range r.stepsOf(n) {
			if lv := s.rankOf(org, r.graph.Step(st)); lv > 0 {
				seen[lv] = true
			}
		}
	}
	out := make([]int, 0, len(seen))
	for lv := range seen {
		out = append(out, lv)
	}
	sort.Ints(out)
	return out
}
