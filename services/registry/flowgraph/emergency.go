package flowgraph

import (
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// ErrNoEmergency is returned by Emergency for a flow without an emergency variant.
var ErrNoEmergency = errors.New("the flow has no emergency variant")

// HoursPerDay converts working days to working hours, as docs/FLOWS.md bounds emergency
// limits by time_limit_days × 8.
const HoursPerDay = 8

// EmergencyFlow is the flow as the emergency channel (应急流程 / 绿色通道) runs it.
type EmergencyFlow struct {
	// Flow is a deep copy of the flow with the skipped steps contracted away. Its
	// emergency variant keeps the joint review group and the limits of the remaining
	// steps and has no skip_steps, so deriving the emergency flow again changes nothing.
	Flow *registryv1.Flow
	// StepHours is the limit of every remaining step in working hours: the emergency
	// limit where step_limits gives one, else the normal limit × HoursPerDay.
	StepHours map[string]int32
}

// Emergency derives the emergency flow of f. For each skipped step s (in skip_steps
// order), every pair u → s (condition c1), s → v (c2) becomes u → v with condition
// "(c1) && (c2)", taking the place of u → s among u's transitions. It fails when f has
// no emergency variant (ErrNoEmergency), or when a skipped step does not exist, belongs
// to a parallel group or leads to itself.
func Emergency(f *registryv1.Flow) (*EmergencyFlow, error) {
	if f.GetEmergency() == nil {
		return nil, ErrNoEmergency
	}
	ef := proto.Clone(f).(*registryv1.Flow)
	em := ef.GetEmergency()
	skipped := map[string]bool{}
	for _, s := range em.GetSkipSteps() {
		if skipped[s] {
			continue
		}
		i := slices.IndexFunc(ef.GetSteps(), func(st *registryv1.FlowStep) bool { return st.GetId() == s })
		switch {
		case i < 0:
			return nil, fmt.Errorf("emergency: skipped step %q does not exist", s)
		case ef.Steps[i].GetParallelGroup() != "":
			return nil, fmt.Errorf("emergency: skipped step %q is a member of parallel group %q", s, ef.Steps[i].GetParallelGroup())
		}
		ts, err := contract(ef.GetTransitions(), s)
		if err != nil {
			return nil, err
		}
		ef.Transitions = ts
		ef.Steps = slices.Delete(ef.Steps, i, i+1)
		skipped[s] = true
	}
	em.SkipSteps = nil
	em.StepLimits = slices.DeleteFunc(em.StepLimits, func(l *registryv1.EmergencyStepLimit) bool { return skipped[l.GetStep()] })

	hours := make(map[string]int32, len(ef.GetSteps()))
	for _, st := range ef.GetSteps() {
		hours[st.GetId()] = st.GetTimeLimitDays() * HoursPerDay
	}
	for _, l := range em.GetStepLimits() {
		if _, ok := hours[l.GetStep()]; ok {
			hours[l.GetStep()] = l.GetHours()
		}
	}
	return &EmergencyFlow{Flow: ef, StepHours: hours}, nil
}

// contract removes step s from the transitions, joining each edge into s with each edge
// out of it.
func contract(ts []*registryv1.Transition, s string) ([]*registryv1.Transition, error) {
	var outs []*registryv1.Transition
	for _, t := range ts {
		if t.GetFrom() == s {
			if t.GetTo() == s {
				return nil, fmt.Errorf("emergency: skipped step %q has a transition to itself", s)
			}
			outs = append(outs, t)
		}
	}
	res := make([]*registryv1.Transition, 0, len(ts)+len(outs))
	for _, t := range ts {
		switch {
		case t.GetFrom() == s:
			// Replaced through the edges into s.
		case t.GetTo() == s:
			for _, o := range outs {
				res = append(res, &registryv1.Transition{
					From:      t.GetFrom(),
					To:        o.GetTo(),
					Condition: andConditions(t.GetCondition(), o.GetCondition()),
					Label:     joinLabels(t.GetLabel(), o.GetLabel()),
				})
			}
		default:
			res = append(res, t)
		}
	}
	return res, nil
}

// joinLabels keeps both labels of a contracted pair, since each says why a case goes
// that way.
func joinLabels(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	}
	return a + "，" + b
}
