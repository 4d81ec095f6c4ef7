package flowgraph

import (
	"fmt"
	"regexp"
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// Env answers questions about the org the flow lives in.
type Env interface {
	PostExists(name string) bool                     // "orgs/{org}/posts/{post}"
	UnitExists(name string) bool                     // "orgs/{org}/units/{unit}"
	RankHeld(rank registryv1.Rank, unit string) bool // some post in that unit has this rank
}

// Options give Validate the context of the flow.
type Options struct {
	Org        string // the flow's org id: posts/units must be "orgs/<Org>/..."
	ActingUnit string // the power's acting unit, used for rank steps without a unit
}

// idPattern is the proto's pattern for step, group and separation ids.
var idPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks f against docs/FLOWS.md "Validation" and returns every violation, with
// field paths relative to the Flow message and messages naming the step (or group,
// transition, separation) concerned. A nil env skips the checks that need the org's
// posts and units. Checks that would only restate a broken reference in other words
// (cycles, reachability) are skipped while references are broken.
func Validate(f *registryv1.Flow, env Env, opts Options) *apierr.Violations {
	if f == nil {
		f = &registryv1.Flow{}
	}
	v := newValidator(f)
	v.checkIDs()
	v.checkMembership()
	graphStart := v.vs.Len()
	v.checkGraph()
	graphClean := v.vs.Len() == graphStart
	v.checkActors(env, opts)
	v.checkLimitsAndGroups()
	v.checkSeparations()
	v.checkEmergency(graphClean)
	return v.vs
}

type validator struct {
	f        *registryv1.Flow
	vs       *apierr.Violations
	step     map[string]int    // step id → index of its first occurrence
	group    map[string]int    // group id → index of its first occurrence
	sep      map[string]int    // separation id → index of its first occurrence
	memberOf map[string]string // step id → its (existing) group
	// broken: some node reference cannot be resolved, so graph-wide checks would only
	// repeat it.
	broken bool
}

func newValidator(f *registryv1.Flow) *validator {
	return &validator{
		f:        f,
		vs:       &apierr.Violations{},
		step:     map[string]int{},
		group:    map[string]int{},
		sep:      map[string]int{},
		memberOf: map[string]string{},
	}
}

// add records a violation whose message starts with its subject.
func (v *validator) add(field string, subj [2]string, en, zh string) {
	v.vs.Add(field, subj[0]+": "+en, subj[1]+"："+zh)
}

// stepSubj names a step: `step "zfsh" (支付审核)`, `步骤 zfsh「支付审核」`.
func stepSubj(s *registryv1.FlowStep, i int) [2]string {
	en, zh := fmt.Sprintf("step #%d", i+1), fmt.Sprintf("第%d个步骤", i+1)
	if s.GetId() != "" {
		en, zh = fmt.Sprintf("step %q", s.GetId()), "步骤 "+s.GetId()
	}
	if n := s.GetDisplayName(); n != "" {
		en += " (" + n + ")"
		zh += "「" + n + "」"
	}
	return [2]string{en, zh}
}

func groupSubj(pg *registryv1.ParallelGroup, i int) [2]string {
	en, zh := fmt.Sprintf("parallel group #%d", i+1), fmt.Sprintf("第%d个并行组", i+1)
	if pg.GetId() != "" {
		en, zh = fmt.Sprintf("parallel group %q", pg.GetId()), "并行组 "+pg.GetId()
	}
	if n := pg.GetDisplayName(); n != "" {
		en += " (" + n + ")"
		zh += "「" + n + "」"
	}
	return [2]string{en, zh}
}

func sepSubj(s *registryv1.Separation, i int) [2]string {
	en, zh := fmt.Sprintf("separation #%d", i+1), fmt.Sprintf("第%d个分离规则", i+1)
	if s.GetId() != "" {
		en, zh = fmt.Sprintf("separation %q", s.GetId()), "分离规则 "+s.GetId()
	}
	if n := s.GetDisplayName(); n != "" {
		en += " (" + n + ")"
		zh += "「" + n + "」"
	}
	return [2]string{en, zh}
}

// node names any node id the way a message should: a step or group with its display
// name, start/end, or the quoted id when it is nothing.
func (v *validator) node(id string) [2]string {
	switch {
	case id == Start:
		return [2]string{"start", "开始"}
	case id == End:
		return [2]string{"end", "结束"}
	case id == "":
		return [2]string{"(nothing)", "（空）"}
	}
	if i, ok := v.step[id]; ok {
		return stepSubj(v.f.Steps[i], i)
	}
	if i, ok := v.group[id]; ok {
		return groupSubj(v.f.ParallelGroups[i], i)
	}
	return [2]string{fmt.Sprintf("%q", id), fmt.Sprintf("“%s”", id)}
}

func (v *validator) transSubj(t *registryv1.Transition) [2]string {
	from, to := v.node(t.GetFrom()), v.node(t.GetTo())
	return [2]string{"transition from " + from[0] + " to " + to[0], "从" + from[1] + "到" + to[1] + "的流转"}
}

// nodeField is the field path of a step or group node (for "this node has a problem").
func (v *validator) nodeField(id string) string {
	if i, ok := v.step[id]; ok {
		return fmt.Sprintf("steps[%d]", i)
	}
	if i, ok := v.group[id]; ok {
		return fmt.Sprintf("parallel_groups[%d]", i)
	}
	return "transitions"
}

// Rule 1: ids unique and well-formed, start/end reserved, steps and groups distinct.
func (v *validator) checkIDs() {
	const (
		badEN = "id must be lower-case letters, digits and hyphens, at most 63, starting and ending with a letter or digit"
		badZH = "标识只能由小写字母、数字和连字符组成，不超过63个字符，且首尾须为字母或数字"
	)
	if len(v.f.GetSteps()) == 0 {
		v.vs.Add("steps", "a flow needs at least one step", "流程至少需要一个步骤")
	}
	for i, s := range v.f.GetSteps() {
		field, subj, id := fmt.Sprintf("steps[%d].id", i), stepSubj(s, i), s.GetId()
		switch {
		case id == "":
			v.add(field, subj, "id is required", "缺少标识")
			v.broken = true
			continue
		case id == Start || id == End:
			v.add(field, subj, fmt.Sprintf("id %q is reserved for the flow's implicit %s node", id, id),
				fmt.Sprintf("标识 %s 为保留字（流程隐含的%s节点）", id, v.node(id)[1]))
			v.broken = true
			continue
		case !idPattern.MatchString(id):
			v.add(field, subj, badEN, badZH)
		}
		if j, dup := v.step[id]; dup {
			v.add(field, subj, fmt.Sprintf("id %q is already used by steps[%d]", id, j), fmt.Sprintf("标识 %s 与 steps[%d] 重复", id, j))
			v.broken = true
			continue
		}
		v.step[id] = i
	}
	for i, pg := range v.f.GetParallelGroups() {
		field, subj, id := fmt.Sprintf("parallel_groups[%d].id", i), groupSubj(pg, i), pg.GetId()
		switch {
		case id == "":
			v.add(field, subj, "id is required", "缺少标识")
			v.broken = true
			continue
		case id == Start || id == End:
			v.add(field, subj, fmt.Sprintf("id %q is reserved for the flow's implicit %s node", id, id),
				fmt.Sprintf("标识 %s 为保留字（流程隐含的%s节点）", id, v.node(id)[1]))
			v.broken = true
			continue
		case !idPattern.MatchString(id):
			v.add(field, subj, badEN, badZH)
		}
		if j, dup := v.step[id]; dup {
			other := stepSubj(v.f.Steps[j], j)
			v.add(field, subj, fmt.Sprintf("id %q is already used by %s; steps and groups need distinct ids", id, other[0]),
				fmt.Sprintf("标识 %s 与%s重复；步骤与并行组的标识不能相同", id, other[1]))
			v.broken = true
			continue
		}
		if j, dup := v.group[id]; dup {
			v.add(field, subj, fmt.Sprintf("id %q is already used by parallel_groups[%d]", id, j), fmt.Sprintf("标识 %s 与 parallel_groups[%d] 重复", id, j))
			v.broken = true
			continue
		}
		v.group[id] = i
	}
	for i, s := range v.f.GetSeparations() {
		field, subj, id := fmt.Sprintf("separations[%d].id", i), sepSubj(s, i), s.GetId()
		switch {
		case id == "":
			v.add(field, subj, "id is required", "缺少标识")
			continue
		case !idPattern.MatchString(id):
			v.add(field, subj, badEN, badZH)
		}
		if j, dup := v.sep[id]; dup {
			v.add(field, subj, fmt.Sprintf("id %q is already used by separations[%d]", id, j), fmt.Sprintf("标识 %s 与 separations[%d] 重复", id, j))
			continue
		}
		v.sep[id] = i
	}
}

// Rule 8, first half: every group a step names exists. Checked early because membership
// decides what the graph's nodes are.
func (v *validator) checkMembership() {
	for i, s := range v.f.GetSteps() {
		pg := s.GetParallelGroup()
		if pg == "" {
			continue
		}
		if _, ok := v.group[pg]; !ok {
			v.broken = true
			if v.declaredGroup(pg) {
				continue // its id is the problem, reported by checkIDs
			}
			v.add(fmt.Sprintf("steps[%d].parallel_group", i), stepSubj(s, i),
				fmt.Sprintf("parallel group %q does not exist", pg), fmt.Sprintf("并行组 %s 不存在", pg))
			continue
		}
		if j, ok := v.step[s.GetId()]; ok && j == i {
			v.memberOf[s.GetId()] = pg
		}
	}
}

// Rule 7: who acts exists.
func (v *validator) checkActors(env Env, opts Options) {
	for i, s := range v.f.GetSteps() {
		subj := stepSubj(s, i)
		unitOK := true
		if u := s.GetUnit(); u != "" {
			unitOK = v.checkName(fmt.Sprintf("steps[%d].unit", i), subj, u, "units", "unit", "处室", opts.Org, env)
		}
		switch a := s.GetActor().(type) {
		case *registryv1.FlowStep_Post:
			if a.Post == "" {
				v.add(fmt.Sprintf("steps[%d].post", i), subj, "post is empty: name the post that acts", "岗位为空：请指定办理岗位")
				continue
			}
			v.checkName(fmt.Sprintf("steps[%d].post", i), subj, a.Post, "posts", "post", "岗位", opts.Org, env)
		case *registryv1.FlowStep_Rank:
			field := fmt.Sprintf("steps[%d].rank", i)
			rank := RankName(a.Rank)
			if a.Rank == registryv1.Rank_RANK_UNSPECIFIED || rank == "" {
				v.add(field, subj, fmt.Sprintf("rank %s is not a rank a step can name", a.Rank),
					fmt.Sprintf("职级 %s 无效", a.Rank))
				continue
			}
			unit, fromPower := s.GetUnit(), false
			if unit == "" {
				unit, fromPower = opts.ActingUnit, true
			}
			switch {
			case unit == "":
				v.add(fmt.Sprintf("steps[%d].unit", i), subj,
					fmt.Sprintf("the step names rank %s but no unit, and the power has no acting unit: set unit", rank),
					fmt.Sprintf("按职级（%s）指定办理人但未指定处室，且职权没有实施主体：请设置 unit", rank))
			case !unitOK || env == nil:
			case !env.RankHeld(a.Rank, unit):
				where, whereZH := fmt.Sprintf("unit %q", unit), "处室 "+unit
				if fromPower {
					where, whereZH = fmt.Sprintf("the power's acting unit %q", unit), "职权的实施主体 "+unit
				}
				v.add(field, subj, fmt.Sprintf("no post of rank %s (%s) in %s", rank, a.Rank, where),
					fmt.Sprintf("%s 中没有职级为%s的岗位", whereZH, rank))
			}
		default:
			v.add(fmt.Sprintf("steps[%d].post", i), subj, "nobody acts: set a post or a rank",
				"未指定办理人：请设置岗位（post）或职级（rank）")
		}
	}
}

// checkName checks that name is "orgs/<org>/<coll>/<id>" in the flow's org and exists.
func (v *validator) checkName(field string, subj [2]string, name, coll, what, whatZH, org string, env Env) bool {
	parts := strings.Split(name, "/")
	wellFormed := len(parts) == 4 && parts[0] == "orgs" && parts[1] != "" && parts[2] == coll && parts[3] != ""
	if !wellFormed || (org != "" && parts[1] != org) {
		pattern := "orgs/{org}/" + coll + "/{id}"
		if org != "" {
			pattern = "orgs/" + org + "/" + coll + "/{id}"
		}
		v.add(field, subj, fmt.Sprintf("%s %q is not a %s of this org (want %s)", what, name, what, pattern),
			fmt.Sprintf("%s %s 不是本单位的%s（应为 %s）", whatZH, name, whatZH, pattern))
		return false
	}
	if env == nil {
		return true
	}
	exists := env.PostExists
	if coll == "units" {
		exists = env.UnitExists
	}
	if !exists(name) {
		v.add(field, subj, fmt.Sprintf("%s %q does not exist", what, name), fmt.Sprintf("%s %s 不存在", whatZH, name))
		return false
	}
	return true
}

// Rule 8: positive limits; every group has at least two members.
func (v *validator) checkLimitsAndGroups() {
	for i, s := range v.f.GetSteps() {
		if d := s.GetTimeLimitDays(); d <= 0 {
			v.add(fmt.Sprintf("steps[%d].time_limit_days", i), stepSubj(s, i),
				fmt.Sprintf("time limit must be positive, got %d working days", d),
				fmt.Sprintf("时限必须为正数（当前为%d个工作日）", d))
		}
	}
	for i, pg := range v.f.GetParallelGroups() {
		if j, ok := v.group[pg.GetId()]; !ok || j != i {
			continue
		}
		var ms []int
		for j, s := range v.f.GetSteps() {
			if s.GetParallelGroup() == pg.GetId() {
				ms = append(ms, j)
			}
		}
		switch len(ms) {
		case 0:
			v.add(fmt.Sprintf("parallel_groups[%d]", i), groupSubj(pg, i),
				"has no member steps; a group needs at least two (a step joins by naming the group in parallel_group)",
				"没有成员步骤；并行组至少需要两个步骤（步骤在 parallel_group 中填写组标识即加入）")
		case 1:
			m := stepSubj(v.f.Steps[ms[0]], ms[0])
			v.add(fmt.Sprintf("parallel_groups[%d]", i), groupSubj(pg, i),
				fmt.Sprintf("has only one member, %s; a group needs at least two", m[0]),
				fmt.Sprintf("只有一个成员%s；并行组至少需要两个步骤", m[1]))
		}
	}
}

// Rule 9: the separations steps name exist, and each has at least two steps.
func (v *validator) checkSeparations() {
	members := map[string][]int{}
	for i, s := range v.f.GetSteps() {
		for j, id := range s.GetSeparations() {
			if _, ok := v.sep[id]; !ok {
				v.add(fmt.Sprintf("steps[%d].separations[%d]", i, j), stepSubj(s, i),
					fmt.Sprintf("separation %q does not exist", id), fmt.Sprintf("分离规则 %s 不存在", id))
				continue
			}
			if ms := members[id]; len(ms) == 0 || ms[len(ms)-1] != i {
				members[id] = append(ms, i)
			}
		}
	}
	for k, sp := range v.f.GetSeparations() {
		if j, ok := v.sep[sp.GetId()]; !ok || j != k {
			continue
		}
		switch ms := members[sp.GetId()]; len(ms) {
		case 0:
			v.add(fmt.Sprintf("separations[%d]", k), sepSubj(sp, k),
				"no step belongs to it; a separation needs at least two steps (a step joins by listing its id in separations)",
				"没有步骤属于它；分离规则至少需要两个步骤（步骤在 separations 中列出其标识即加入）")
		case 1:
			m := stepSubj(v.f.Steps[ms[0]], ms[0])
			v.add(fmt.Sprintf("separations[%d]", k), sepSubj(sp, k),
				fmt.Sprintf("only %s belongs to it; a separation needs at least two steps", m[0]),
				fmt.Sprintf("只有%s属于它；分离规则至少需要两个步骤", m[1]))
		}
	}
}

// Rule 10: the emergency variant refers to what exists, compresses limits rather than
// extends them, and its contracted flow is still a valid graph. The contracted flow is
// checked only when the flow itself passed the graph checks, so that its problems are
// not reported twice.
func (v *validator) checkEmergency(graphClean bool) {
	em := v.f.GetEmergency()
	if em == nil {
		return
	}
	ok := true
	emSubj := [2]string{"emergency variant", "应急流程"}
	switch jrg := em.GetJointReviewGroup(); {
	case jrg == "":
		v.add("emergency.joint_review_group", emSubj, "the joint review group (联合会审) is required: name one of the flow's parallel groups",
			"须指定联合会审的并行组")
	case v.isGroup(jrg) || v.declaredGroup(jrg):
		// A group, or one whose id checkIDs already rejected.
	case v.isStep(jrg):
		v.add("emergency.joint_review_group", v.node(jrg), "is a step, but the joint review (联合会审) must be a parallel group",
			"是步骤，而联合会审须为并行组")
	default:
		v.add("emergency.joint_review_group", emSubj, fmt.Sprintf("joint review group %q is not a parallel group of this flow", jrg),
			fmt.Sprintf("联合会审组 %s 不是本流程的并行组", jrg))
	}

	limited := map[string]int{}
	for i, l := range em.GetStepLimits() {
		field := fmt.Sprintf("emergency.step_limits[%d]", i)
		id := l.GetStep()
		if !v.isStep(id) {
			if v.isGroup(id) {
				v.add(field+".step", v.node(id), "is a parallel group; give limits to its member steps", "是并行组，请为其成员步骤分别设置时限")
			} else {
				v.add(field+".step", emSubj, fmt.Sprintf("step %q does not exist", id), fmt.Sprintf("步骤 %s 不存在", id))
			}
			ok = false
			continue
		}
		subj := v.node(id)
		if j, dup := limited[id]; dup {
			v.add(field+".step", subj, fmt.Sprintf("already has an emergency limit in emergency.step_limits[%d]", j),
				fmt.Sprintf("已在 emergency.step_limits[%d] 设置应急时限", j))
			ok = false
			continue
		}
		limited[id] = i
		days := v.f.Steps[v.step[id]].GetTimeLimitDays()
		switch h := l.GetHours(); {
		case h <= 0:
			v.add(field+".hours", subj, fmt.Sprintf("emergency limit must be positive, got %d hours", h),
				fmt.Sprintf("应急时限必须为正数（当前为%d小时）", h))
		case days > 0 && h > days*HoursPerDay:
			v.add(field+".hours", subj,
				fmt.Sprintf("emergency limit of %d hours exceeds the normal limit of %d working days (%d hours)", h, days, days*HoursPerDay),
				fmt.Sprintf("应急时限%d小时超过正常时限%d个工作日（%d小时）", h, days, days*HoursPerDay))
		}
	}

	for i, id := range em.GetSkipSteps() {
		field := fmt.Sprintf("emergency.skip_steps[%d]", i)
		switch {
		case v.isGroup(id):
			v.add(field, v.node(id), "is a parallel group; only steps outside groups can be skipped", "是并行组；只能跳过不属于并行组的步骤")
		case !v.isStep(id):
			v.add(field, emSubj, fmt.Sprintf("step %q does not exist", id), fmt.Sprintf("步骤 %s 不存在", id))
		case v.memberOf[id] != "":
			pg := v.node(v.memberOf[id])
			v.add(field, v.node(id), fmt.Sprintf("is a member of %s; only steps outside groups can be skipped", pg[0]),
				fmt.Sprintf("属于%s；只能跳过不属于并行组的步骤", pg[1]))
		default:
			continue
		}
		ok = false
	}

	if !ok || !graphClean || v.broken || len(em.GetSkipSteps()) == 0 {
		return
	}
	ef, err := Emergency(v.f)
	if err != nil {
		v.add("emergency.skip_steps", emSubj, "the steps cannot be skipped: "+err.Error(), "无法跳过这些步骤："+err.Error())
		return
	}
	// Only rules 2–6 are the contraction's to break; the ids and memberships of what
	// remains were checked on the flow itself.
	sub := newValidator(ef.Flow)
	sub.checkIDs()
	sub.checkMembership()
	sub.vs = &apierr.Violations{}
	sub.checkGraph()
	skips := em.GetSkipSteps()
	for _, fv := range sub.vs.List() {
		v.vs.Add("emergency.skip_steps",
			"with the skipped steps ("+strings.Join(skips, ", ")+") contracted: "+fv.GetDescription(),
			"跳过应急步骤（"+strings.Join(skips, "、")+"）后："+fv.GetLocalizedMessage().GetMessage())
	}
}

// declaredGroup reports whether some parallel group has this id, even one that checkIDs
// rejected (so that what refers to it is not reported again).
func (v *validator) declaredGroup(id string) bool {
	for _, pg := range v.f.GetParallelGroups() {
		if pg.GetId() == id {
			return true
		}
	}
	return false
}

func (v *validator) isStep(id string) bool  { _, ok := v.step[id]; return ok }
func (v *validator) isGroup(id string) bool { _, ok := v.group[id]; return ok }

// RankName is a rank's Chinese name (经办人 … 主要领导), "" for an unknown rank.
func RankName(r registryv1.Rank) string {
	switch r {
	case registryv1.Rank_RANK_HANDLER:
		return "经办人"
	case registryv1.Rank_RANK_RESPONSIBLE_OFFICER:
		return "主管责任人"
	case registryv1.Rank_RANK_DEPUTY_DIRECTOR:
		return "分管处长"
	case registryv1.Rank_RANK_DIRECTOR:
		return "处长"
	case registryv1.Rank_RANK_LEADER_IN_CHARGE:
		return "分管领导"
	case registryv1.Rank_RANK_PRINCIPAL_LEADER:
		return "主要领导"
	}
	return ""
}
