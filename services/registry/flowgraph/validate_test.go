package flowgraph_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/registry/flowgraph/flowgraphtest"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

var wuhanOpts = flowgraph.Options{Org: flowgraphtest.Org, ActingUnit: flowgraphtest.ActingUnit}

func fields(vs *apierr.Violations) []string {
	var fs []string
	for _, fv := range vs.List() {
		fs = append(fs, fv.GetField())
	}
	return fs
}

func dump(vs *apierr.Violations) string {
	var b strings.Builder
	for _, fv := range vs.List() {
		b.WriteString("\n  " + fv.GetField() + ": " + fv.GetDescription() + " | " + fv.GetLocalizedMessage().GetMessage())
	}
	return b.String()
}

func TestValidateWuhanFlow(t *testing.T) {
	f := flowgraphtest.Wuhan()
	before := flowgraphtest.Wuhan()
	vs := flowgraph.Validate(f, flowgraphtest.WuhanEnv(), wuhanOpts)
	if vs.Len() != 0 {
		t.Fatalf("Validate(Wuhan) got %d violations, want none:%s", vs.Len(), dump(vs))
	}
	if !protoEqual(f, before) {
		t.Error("Validate modified its input")
	}
}

func TestValidateNilFlowAndEnv(t *testing.T) {
	vs := flowgraph.Validate(nil, nil, flowgraph.Options{})
	got := fields(vs)
	want := []string{"steps", "transitions", "transitions"}
	if !slices.Equal(got, want) {
		t.Errorf("Validate(nil) fields = %q, want %q%s", got, want, dump(vs))
	}
	// Without an env the org facts are not checked, everything else is.
	if vs := flowgraph.Validate(flowgraphtest.Wuhan(), nil, wuhanOpts); vs.Len() != 0 {
		t.Errorf("Validate(Wuhan, nil env) got violations:%s", dump(vs))
	}
}

// Step indexes in flowgraphtest.Wuhan: 0 zcjh, 1 zgzr, 2 fgcz, 3 cz, 4 jwh, 5 ysc-hs,
// 6 gkc-hs, 7 jjz-hs (the 联合会审 group), 8 yszb, 9 zfsh, 10 bfbl, 11 kjhs.
func TestValidateRules(t *testing.T) {
	type edit func(f *registryv1.Flow)
	tests := []struct {
		name string
		edit edit
		// want is every violation's field, in order: the rule's own and nothing it
		// would cascade into.
		want []string
		// en and zh must appear in the messages of one violation (naming its step).
		en, zh string
	}{
		// 1. Ids.
		{"duplicate step id", func(f *registryv1.Flow) {
			f.Steps = append(f.Steps, &registryv1.FlowStep{Id: "zfsh", DisplayName: "支付复核", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCKJHS}, TimeLimitDays: 1})
		}, []string{"steps[12].id"}, `step "zfsh" (支付复核): id "zfsh" is already used by steps[9]`, `步骤 zfsh「支付复核」：标识 zfsh 与 steps[9] 重复`},
		{"reserved step id", func(f *registryv1.Flow) { f.Steps[11].Id = "end"; f.Transitions[12].To = "end" },
			[]string{"steps[11].id", "transitions[13].from"}, `step "end" (会计核算): id "end" is reserved`, `步骤 end「会计核算」：标识 end 为保留字`},
		{"malformed step id", func(f *registryv1.Flow) { rename(f, "zfsh", "ZFSH") },
			[]string{"steps[9].id"}, `step "ZFSH" (支付审核): id must be lower-case`, `步骤 ZFSH「支付审核」：标识只能由小写字母`},
		{"group id equal to a step id", func(f *registryv1.Flow) { rename(f, "lhhs", "kjhs") },
			[]string{"parallel_groups[0].id"}, `parallel group "kjhs" (联合会审): id "kjhs" is already used by step "kjhs" (会计核算)`, `并行组 kjhs「联合会审」：标识 kjhs 与步骤 kjhs「会计核算」重复`},
		{"empty step id", func(f *registryv1.Flow) { f.Steps[8].Id = "" },
			[]string{"steps[8].id", "transitions[5].to", "transitions[7].to", "transitions[8].to", "transitions[9].to", "transitions[10].from", "emergency.step_limits[2].step"},
			`step #9 (预算指标审核): id is required`, `第9个步骤「预算指标审核」：缺少标识`},

		// 2. References.
		{"transition to an unknown node", func(f *registryv1.Flow) { f.Transitions[4].To = "cz2" },
			[]string{"transitions[4].to"}, `transition from step "fgcz" (分管处长审批) to "cz2": "cz2" is not a step or parallel group`, `从步骤 fgcz「分管处长审批」到“cz2”的流转：cz2 不是本流程的步骤或并行组`},
		{"transition from a member step", func(f *registryv1.Flow) { f.Transitions[9].From = "gkc-hs" },
			[]string{"transitions[9].from"}, `step "gkc-hs" (国库处会审) is a member of parallel group "lhhs" (联合会审); transitions must name the group`, `步骤 gkc-hs「国库处会审」属于并行组 lhhs「联合会审」，流转须引用并行组`},
		{"transition into start", func(f *registryv1.Flow) { f.Transitions[13].To = "start" },
			[]string{"transitions[13].to", "transitions"}, `transition from step "kjhs" (会计核算) to start: no transition may enter start`, `从步骤 kjhs「会计核算」到开始的流转：不能流转回开始节点`},
		{"transition out of end", func(f *registryv1.Flow) {
			f.Transitions = append(f.Transitions, &registryv1.Transition{From: "end", To: "kjhs"})
		}, []string{"transitions[14].from"}, `transition from end to step "kjhs" (会计核算): no transition may leave end`, `从结束到步骤 kjhs「会计核算」的流转：结束节点之后不能再有流转`},
		{"self-loop", func(f *registryv1.Flow) {
			f.Transitions = slices.Insert(f.Transitions, 11, &registryv1.Transition{From: "zfsh", To: "zfsh", Condition: "amount < 0.0"})
		}, []string{"transitions[11].to"}, `step "zfsh" (支付审核): transition to itself`, `步骤 zfsh「支付审核」：流转指向自身`},

		// 3. Outgoing and incoming transitions.
		{"step without outgoing transition", func(f *registryv1.Flow) { f.Transitions = f.Transitions[:13] },
			[]string{"steps[11]", "transitions"}, `step "kjhs" (会计核算): no outgoing transition`, `步骤 kjhs「会计核算」：没有后续流转`},
		{"group without outgoing transition", func(f *registryv1.Flow) { f.Transitions = slices.Delete(f.Transitions, 9, 10) },
			[]string{"parallel_groups[0]"}, `parallel group "lhhs" (联合会审): no outgoing transition`, `并行组 lhhs「联合会审」：没有后续流转`},
		{"start without outgoing transition", func(f *registryv1.Flow) { f.Transitions = f.Transitions[1:] },
			[]string{"transitions"}, `start has no outgoing transition`, `开始节点没有流转`},

		// 4. Cycles.
		{"cycle", func(f *registryv1.Flow) {
			f.Transitions = slices.Insert(f.Transitions, 11, &registryv1.Transition{From: "zfsh", To: "yszb", Condition: "indicator == \"\"", Label: "退回"})
		}, []string{"transitions[11]"}, `step "zfsh" (支付审核): cycle: yszb → zfsh → yszb`, `步骤 zfsh「支付审核」：存在循环：yszb → zfsh → yszb`},

		// 5. Reachability.
		{"unreachable step", func(f *registryv1.Flow) {
			f.Steps = append(f.Steps, &registryv1.FlowStep{Id: "fh", DisplayName: "复核", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCZFSH}, TimeLimitDays: 1})
			f.Transitions = append(f.Transitions, &registryv1.Transition{From: "fh", To: "end"})
		}, []string{"steps[12]"}, `step "fh" (复核): not reachable from start: no transition leads to it`, `步骤 fh「复核」：从开始无法到达：没有流向它的流转`},
		{"unreachable chain", func(f *registryv1.Flow) {
			f.Steps = append(f.Steps,
				&registryv1.FlowStep{Id: "fh", DisplayName: "复核", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCZFSH}, TimeLimitDays: 1},
				&registryv1.FlowStep{Id: "gd", DisplayName: "归档", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCKJHS}, TimeLimitDays: 1})
			f.Transitions = append(f.Transitions, &registryv1.Transition{From: "fh", To: "gd"}, &registryv1.Transition{From: "gd", To: "end"})
		}, []string{"steps[12]", "steps[13]"}, `step "gd" (归档): not reachable from start: it is entered only from fh, which start does not reach either`, `步骤 gd「归档」：从开始无法到达：只有 fh 流向它，而它们也无法从开始到达`},
		{"loop without a way out", func(f *registryv1.Flow) {
			f.Steps = append(f.Steps,
				&registryv1.FlowStep{Id: "bz", DisplayName: "补正", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCZFSH}, TimeLimitDays: 1},
				&registryv1.FlowStep{Id: "fh", DisplayName: "复核", Actor: &registryv1.FlowStep_Post{Post: flowgraphtest.PostGKCKJHS}, TimeLimitDays: 1})
			f.Transitions = slices.Insert(f.Transitions, 12,
				&registryv1.Transition{From: "bfbl", To: "bz", Condition: "payee_is_person"})
			f.Transitions = append(f.Transitions, &registryv1.Transition{From: "bz", To: "fh"}, &registryv1.Transition{From: "fh", To: "bz"})
		}, []string{"transitions[16]", "steps[12]"}, `step "bz" (补正): end is not reachable from it: bz, fh lead only to each other`, `步骤 bz「补正」：无法到达结束：bz、fh 只相互流转，没有出口`},

		// 6. Default branches and conditions.
		{"last transition conditional", func(f *registryv1.Flow) { f.Transitions[5].Condition = "amount < 500000.0" },
			[]string{"transitions[5].condition"}, `step "fgcz" (分管处长审批): it has no default branch: its last transition (to step "yszb" (预算指标审核)) has a condition`, `步骤 fgcz「分管处长审批」：缺少默认分支`},
		{"only transition conditional", func(f *registryv1.Flow) { f.Transitions[13].Condition = "amount > 0.0" },
			[]string{"transitions[13].condition"}, `step "kjhs" (会计核算): its only transition (to end) has a condition`, `步骤 kjhs「会计核算」：唯一的流转（到结束）带有条件`},
		{"condition not boolean", func(f *registryv1.Flow) { f.Transitions[4].Condition = "amount * 2.0" },
			[]string{"transitions[4].condition"}, `transition from step "fgcz" (分管处长审批) to step "cz" (处长审批): the condition is not valid: the condition must be boolean, but it is double`, `从步骤 fgcz「分管处长审批」到步骤 cz「处长审批」的流转：条件表达式无效`},
		{"condition with unknown variable", func(f *registryv1.Flow) { f.Transitions[4].Condition = "amout >= 500000.0" },
			[]string{"transitions[4].condition"}, `undeclared reference to 'amout'`, `条件表达式无效`},

		// 7. Actors.
		{"post does not exist", func(f *registryv1.Flow) { setPost(f.Steps[9], "orgs/whcz/posts/nope") },
			[]string{"steps[9].post"}, `step "zfsh" (支付审核): post "orgs/whcz/posts/nope" does not exist`, `步骤 zfsh「支付审核」：岗位 orgs/whcz/posts/nope 不存在`},
		{"post of another org", func(f *registryv1.Flow) { setPost(f.Steps[9], "orgs/hbcz/posts/gkc-zfsh") },
			[]string{"steps[9].post"}, `step "zfsh" (支付审核): post "orgs/hbcz/posts/gkc-zfsh" is not a post of this org (want orgs/whcz/posts/{id})`, `步骤 zfsh「支付审核」：岗位 orgs/hbcz/posts/gkc-zfsh 不是本单位的岗位`},
		{"rank not held in the acting unit", func(f *registryv1.Flow) {
			f.Steps[0].Actor = &registryv1.FlowStep_Rank{Rank: registryv1.Rank_RANK_PRINCIPAL_LEADER}
		}, []string{"steps[0].rank"}, `step "zcjh" (支出计划): no post of rank 主要领导 (RANK_PRINCIPAL_LEADER) in the power's acting unit "orgs/whcz/units/sbc"`, `步骤 zcjh「支出计划」：职权的实施主体 orgs/whcz/units/sbc 中没有职级为主要领导的岗位`},
		{"unit does not exist", func(f *registryv1.Flow) { f.Steps[4].Unit = "orgs/whcz/units/dzz" },
			[]string{"steps[4].unit"}, `step "jwh" (局长办公会集体决策): unit "orgs/whcz/units/dzz" does not exist`, `步骤 jwh「局长办公会集体决策」：处室 orgs/whcz/units/dzz 不存在`},
		{"nobody acts", func(f *registryv1.Flow) { f.Steps[11].Actor = nil },
			[]string{"steps[11].post"}, `step "kjhs" (会计核算): nobody acts`, `步骤 kjhs「会计核算」：未指定办理人`},

		// 8. Limits and groups.
		{"time limit not positive", func(f *registryv1.Flow) { f.Steps[9].TimeLimitDays = 0 },
			[]string{"steps[9].time_limit_days"}, `step "zfsh" (支付审核): time limit must be positive`, `步骤 zfsh「支付审核」：时限必须为正数`},
		{"group with one member", func(f *registryv1.Flow) { f.Steps = slices.Delete(f.Steps, 6, 8) },
			[]string{"parallel_groups[0]"}, `parallel group "lhhs" (联合会审): has only one member, step "ysc-hs" (预算处会审)`, `并行组 lhhs「联合会审」：只有一个成员步骤 ysc-hs「预算处会审」`},
		{"step names a missing group", func(f *registryv1.Flow) { f.Steps[5].ParallelGroup = "lhhs2" },
			[]string{"steps[5].parallel_group"}, `step "ysc-hs" (预算处会审): parallel group "lhhs2" does not exist`, `步骤 ysc-hs「预算处会审」：并行组 lhhs2 不存在`},

		// 9. Separations.
		{"step names a missing separation", func(f *registryv1.Flow) { f.Steps[9].Separations = []string{"zfbf2"} },
			[]string{"steps[9].separations[0]", "separations[0]"}, `step "zfsh" (支付审核): separation "zfbf2" does not exist`, `步骤 zfsh「支付审核」：分离规则 zfbf2 不存在`},
		{"separation with one step", func(f *registryv1.Flow) { f.Steps[10].Separations = []string{"gbfl"} },
			[]string{"separations[0]"}, `separation "zfbf" (支付审核与拨付办理分离): only step "zfsh" (支付审核) belongs to it`, `分离规则 zfbf「支付审核与拨付办理分离」：只有步骤 zfsh「支付审核」属于它`},

		// 10. The emergency variant.
		{"joint review names a step", func(f *registryv1.Flow) { f.Emergency.JointReviewGroup = "zfsh" },
			[]string{"emergency.joint_review_group"}, `step "zfsh" (支付审核): is a step, but the joint review (联合会审) must be a parallel group`, `步骤 zfsh「支付审核」：是步骤，而联合会审须为并行组`},
		{"emergency limit above the normal one", func(f *registryv1.Flow) { f.Emergency.StepLimits[0].Hours = 17 },
			[]string{"emergency.step_limits[0].hours"}, `step "zcjh" (支出计划): emergency limit of 17 hours exceeds the normal limit of 2 working days (16 hours)`, `步骤 zcjh「支出计划」：应急时限17小时超过正常时限2个工作日（16小时）`},
		{"emergency limit for a missing step", func(f *registryv1.Flow) { f.Emergency.StepLimits[1].Step = "cz2" },
			[]string{"emergency.step_limits[1].step"}, `emergency variant: step "cz2" does not exist`, `应急流程：步骤 cz2 不存在`},
		{"skipping a member step", func(f *registryv1.Flow) { f.Emergency.SkipSteps = append(f.Emergency.SkipSteps, "jjz-hs") },
			[]string{"emergency.skip_steps[2]"}, `step "jjz-hs" (纪检监察会审): is a member of parallel group "lhhs" (联合会审)`, `步骤 jjz-hs「纪检监察会审」：属于并行组 lhhs「联合会审」`},
		{"contracted flow invalid", func(f *registryv1.Flow) {
			// A CEL line comment is harmless on its own but swallows the ")" that
			// and-ing appends, so skipping 处长审批 breaks the condition into 局长办公会.
			f.Transitions[4].Condition = "amount >= 500000.0 // 50万"
		}, []string{"emergency.skip_steps"}, `with the skipped steps (zgzr, cz) contracted: transition from step "fgcz" (分管处长审批) to step "jwh" (局长办公会集体决策): the condition is not valid`, `跳过应急步骤（zgzr、cz）后：从步骤 fgcz「分管处长审批」到步骤 jwh「局长办公会集体决策」的流转：条件表达式无效`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowgraphtest.Wuhan()
			tt.edit(f)
			vs := flowgraph.Validate(f, flowgraphtest.WuhanEnv(), wuhanOpts)
			if got := fields(vs); !slices.Equal(got, tt.want) {
				t.Fatalf("fields = %q, want %q%s", got, tt.want, dump(vs))
			}
			i := slices.IndexFunc(vs.List(), func(fv *errdetails.BadRequest_FieldViolation) bool {
				return strings.Contains(fv.GetDescription(), tt.en)
			})
			if i < 0 {
				t.Fatalf("no message contains %q:%s", tt.en, dump(vs))
			}
			if got := vs.List()[i].GetLocalizedMessage().GetMessage(); !strings.Contains(got, tt.zh) {
				t.Errorf("Chinese message = %q, want it to contain %q", got, tt.zh)
			}
		})
	}
}

// rename changes a step's or group's id everywhere the flow refers to it.
func rename(f *registryv1.Flow, from, to string) {
	for _, s := range f.Steps {
		if s.Id == from {
			s.Id = to
		}
		if s.ParallelGroup == from {
			s.ParallelGroup = to
		}
	}
	for _, g := range f.ParallelGroups {
		if g.Id == from {
			g.Id = to
		}
	}
	for _, t := range f.Transitions {
		if t.From == from {
			t.From = to
		}
		if t.To == from {
			t.To = to
		}
	}
	em := f.Emergency
	if em.JointReviewGroup == from {
		em.JointReviewGroup = to
	}
	for i, s := range em.SkipSteps {
		if s == from {
			em.SkipSteps[i] = to
		}
	}
	for _, l := range em.StepLimits {
		if l.Step == from {
			l.Step = to
		}
	}
}

func setPost(s *registryv1.FlowStep, post string) {
	s.Actor = &registryv1.FlowStep_Post{Post: post}
}

func protoEqual(a, b *registryv1.Flow) bool { return proto.Equal(a, b) }
