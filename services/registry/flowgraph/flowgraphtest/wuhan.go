package flowgraphtest

import (
	"strings"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// Org is the org of the Wuhan flow; ActingUnit is the power's acting unit (社会保障处).
const (
	Org        = "whcz"
	ActingUnit = "orgs/whcz/units/sbc"
)

// Resource names of the org's units and posts.
const (
	UnitSBC = "orgs/whcz/units/sbc" // 社会保障处
	UnitYSC = "orgs/whcz/units/ysc" // 预算处
	UnitGKC = "orgs/whcz/units/gkc" // 国库处
	UnitJLD = "orgs/whcz/units/jld" // 局领导
	UnitJJZ = "orgs/whcz/units/jjz" // 派驻纪检监察组

	PostYSCHS   = "orgs/whcz/posts/ysc-hs"
	PostGKCHS   = "orgs/whcz/posts/gkc-hs"
	PostJJZHS   = "orgs/whcz/posts/jjz-hs"
	PostYSCZBGL = "orgs/whcz/posts/ysc-zbgl"
	PostGKCZFSH = "orgs/whcz/posts/gkc-zfsh"
	PostGKCBFBL = "orgs/whcz/posts/gkc-bfbl"
	PostGKCKJHS = "orgs/whcz/posts/gkc-kjhs"
)

// Names are the display names of the org's units and posts.
var Names = map[string]string{
	UnitSBC: "社会保障处",
	UnitYSC: "预算处",
	UnitGKC: "国库处",
	UnitJLD: "局领导",
	UnitJJZ: "派驻纪检监察组",

	"orgs/whcz/posts/sbc-jbr":  "社保处经办岗",
	"orgs/whcz/posts/sbc-zgzr": "社保处主管责任人岗",
	"orgs/whcz/posts/sbc-fgcz": "社保处分管处长岗",
	"orgs/whcz/posts/sbc-cz":   "社保处处长岗",
	"orgs/whcz/posts/jld-jz":   "局长",
	PostYSCHS:                  "预算处会审岗",
	PostGKCHS:                  "国库处会审岗",
	PostJJZHS:                  "纪检监察组监督岗",
	PostYSCZBGL:                "预算处指标管理岗",
	PostGKCZFSH:                "国库处支付审核岗",
	PostGKCBFBL:                "国库处拨付办理岗",
	PostGKCKJHS:                "国库处会计核算岗",
}

// Env is an org as maps: the units and posts that exist, and the ranks held in each unit.
type Env struct {
	Units map[string]bool
	Posts map[string]bool
	Ranks map[string][]registryv1.Rank // unit → ranks of its posts
}

func (e Env) PostExists(name string) bool { return e.Posts[name] }
func (e Env) UnitExists(name string) bool { return e.Units[name] }
func (e Env) RankHeld(rank registryv1.Rank, unit string) bool {
	for _, r := range e.Ranks[unit] {
		if r == rank {
			return true
		}
	}
	return false
}

// WuhanEnv is the org the Wuhan flow lives in.
func WuhanEnv() Env {
	e := Env{Units: map[string]bool{}, Posts: map[string]bool{}, Ranks: map[string][]registryv1.Rank{
		UnitSBC: {registryv1.Rank_RANK_HANDLER, registryv1.Rank_RANK_RESPONSIBLE_OFFICER, registryv1.Rank_RANK_DEPUTY_DIRECTOR, registryv1.Rank_RANK_DIRECTOR},
		UnitJLD: {registryv1.Rank_RANK_PRINCIPAL_LEADER, registryv1.Rank_RANK_LEADER_IN_CHARGE},
		UnitGKC: {registryv1.Rank_RANK_HANDLER, registryv1.Rank_RANK_DIRECTOR},
		UnitYSC: {registryv1.Rank_RANK_HANDLER, registryv1.Rank_RANK_DIRECTOR},
		UnitJJZ: {registryv1.Rank_RANK_HANDLER},
	}}
	for name := range Names {
		if strings.HasPrefix(name, "orgs/whcz/units/") {
			e.Units[name] = true
		} else {
			e.Posts[name] = true
		}
	}
	return e
}

// Wuhan returns a fresh copy of the fund-disbursement flow (财政资金拨付):
//
//	支出计划 (经办人) → 主管责任人审核 → 分管处长审批 → [50万元以上] 处长审批 → [500万元以上]
//	局长办公会集体决策 → 预算指标审核 (管) → 支付审核 → 拨付办理 (办, 拨付) → 会计核算 → end
//
// with the emergency channel (绿色通道) branching from 支出计划 to a 联合会审 group, and
// an emergency variant that skips 主管责任人审核 and 处长审批 with limits in hours.
// Step indexes: 0 zcjh, 1 zgzr, 2 fgcz, 3 cz, 4 jwh, 5–7 the 联合会审 members, 8 yszb,
// 9 zfsh, 10 bfbl, 11 kjhs. Transition indexes are as listed in the source.
func Wuhan() *registryv1.Flow {
	rank := func(r registryv1.Rank) *registryv1.FlowStep_Rank { return &registryv1.FlowStep_Rank{Rank: r} }
	post := func(p string) *registryv1.FlowStep_Post { return &registryv1.FlowStep_Post{Post: p} }
	return &registryv1.Flow{
		Name:        "orgs/whcz/powers/czzjbf/flows/internal",
		DisplayName: "财政资金拨付内部流程",
		Kind:        registryv1.FlowKind_FLOW_KIND_INTERNAL,
		Steps: []*registryv1.FlowStep{
			{Id: "zcjh", DisplayName: "支出计划", Actor: rank(registryv1.Rank_RANK_HANDLER), TimeLimitDays: 2,
				Duty: "支出计划", Materials: []string{"用款申请书", "项目合同"}, Separations: []string{"jsp"}},
			{Id: "zgzr", DisplayName: "主管责任人审核", Actor: rank(registryv1.Rank_RANK_RESPONSIBLE_OFFICER), TimeLimitDays: 1,
				Duty: "审核", Separations: []string{"jsp"}},
			{Id: "fgcz", DisplayName: "分管处长审批", Actor: rank(registryv1.Rank_RANK_DEPUTY_DIRECTOR), TimeLimitDays: 1,
				Duty: "审批", Separations: []string{"jsp"}},
			{Id: "cz", DisplayName: "处长审批", Actor: rank(registryv1.Rank_RANK_DIRECTOR), TimeLimitDays: 2, Duty: "审批"},
			{Id: "jwh", DisplayName: "局长办公会集体决策", Actor: rank(registryv1.Rank_RANK_PRINCIPAL_LEADER), Unit: UnitJLD,
				TimeLimitDays: 5, Duty: "决定", CollectiveDecision: true},
			{Id: "ysc-hs", DisplayName: "预算处会审", Actor: post(PostYSCHS), TimeLimitDays: 1, ParallelGroup: "lhhs", Duty: "审核"},
			{Id: "gkc-hs", DisplayName: "国库处会审", Actor: post(PostGKCHS), TimeLimitDays: 1, ParallelGroup: "lhhs", Duty: "审核"},
			{Id: "jjz-hs", DisplayName: "纪检监察会审", Actor: post(PostJJZHS), TimeLimitDays: 1, ParallelGroup: "lhhs",
				Supervision: "派驻纪检监察组全程监督"},
			{Id: "yszb", DisplayName: "预算指标审核", Actor: post(PostYSCZBGL), TimeLimitDays: 2, Duty: "预算指标",
				Control: registryv1.StepControl_STEP_CONTROL_MANAGE, Separations: []string{"gbfl"}},
			{Id: "zfsh", DisplayName: "支付审核", Actor: post(PostGKCZFSH), TimeLimitDays: 1, Duty: "支付审核",
				Separations: []string{"zfbf"}, Standard: "核对预算指标、用款计划与收款人信息"},
			{Id: "bfbl", DisplayName: "拨付办理", Actor: post(PostGKCBFBL), TimeLimitDays: 1, Duty: "拨付办理",
				Control: registryv1.StepControl_STEP_CONTROL_HANDLE, Payment: true, Separations: []string{"zfbf", "gbfl"},
				Supervision: "电子监察实时监控"},
			{Id: "kjhs", DisplayName: "会计核算", Actor: post(PostGKCKJHS), TimeLimitDays: 2, Duty: "会计核算"},
		},
		ParallelGroups: []*registryv1.ParallelGroup{
			{Id: "lhhs", DisplayName: "联合会审", Mode: registryv1.ParallelMode_PARALLEL_MODE_ALL, Veto: true},
		},
		Transitions: []*registryv1.Transition{
			{From: "start", To: "zcjh"}, // 0
			{From: "zcjh", To: "lhhs", Condition: "emergency", Label: "绿色通道"}, // 1
			{From: "zcjh", To: "zgzr"}, // 2
			{From: "zgzr", To: "fgcz"}, // 3
			{From: "fgcz", To: "cz", Condition: "amount >= 500000.0", Label: "50万元以上"}, // 4
			{From: "fgcz", To: "yszb"}, // 5
			{From: "cz", To: "jwh", Condition: "amount >= 5000000.0", Label: "500万元以上"}, // 6
			{From: "cz", To: "yszb"},   // 7
			{From: "jwh", To: "yszb"},  // 8
			{From: "lhhs", To: "yszb"}, // 9
			{From: "yszb", To: "zfsh"}, // 10
			{From: "zfsh", To: "bfbl"}, // 11
			{From: "bfbl", To: "kjhs"}, // 12
			{From: "kjhs", To: "end"},  // 13
		},
		Separations: []*registryv1.Separation{
			{Id: "zfbf", DisplayName: "支付审核与拨付办理分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES},
			{Id: "jsp", DisplayName: "经办、审核、审批分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_INCOMPATIBLE_DUTIES},
			{Id: "gbfl", DisplayName: "预算指标管理与拨付办理分离", Kind: registryv1.SeparationKind_SEPARATION_KIND_MANAGE_HANDLE},
		},
		Emergency: &registryv1.EmergencyVariant{
			JointReviewGroup: "lhhs",
			SkipSteps:        []string{"zgzr", "cz"},
			StepLimits: []*registryv1.EmergencyStepLimit{
				{Step: "zcjh", Hours: 4},
				{Step: "cz", Hours: 8},
				{Step: "yszb", Hours: 8},
				{Step: "zfsh", Hours: 4},
				{Step: "bfbl", Hours: 4},
			},
			Note: "防汛救灾等应急资金",
		},
	}
}
