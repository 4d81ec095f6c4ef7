package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
)

// The demo 廉政风险 register of 江城市财政局: risk points of posts (岗位), units (处室) and the
// leadership (领导班子), in the seeds' terms (风险点, 风险表现, 防控措施 in 前期预防 / 中期监控 /
// 后期处置), reviewed in two campaigns. The 2025 campaign is played through its whole
// cycle on the days it happened (the loader is given a risk service whose clock it sets,
// since the publicity period must be over before the register enters into force); the
// 2026 campaign carries the 2025 register forward, adds what the year brought, and is
// played to 公示 on today's clock. Every action is one the rules (policies/risk) allow its
// actor: drafters hold the post or work in the unit, leaders lead and amend, nobody who
// drafted advances the campaign or answers an objection to their own risk point.

// Campaign ids of the demo.
const (
	Campaign2025 = "2025-czj"
	Campaign2026 = "2026-czj"
)

// RiskDraft is one demo risk point and who drafts it.
type RiskDraft struct {
	// ID is the risk point id, fixed so that loading is idempotent.
	ID string
	By string
	// Level and Scope: a post id (POST) or a unit id (UNIT, LEADERSHIP).
	Level                                  riskv1.Level
	Scope                                  string
	Title, Kind                            string
	Description, Manifestations, PastCases string
	Likelihood, Impact                     int32
	// Importance, discretion, frequency (1..5).
	Factors [3]int32
	// PastCase forces the grade (a case happened on this point).
	PastCase bool
	// Powers are power ids; Steps "power/flow/step".
	Powers, Steps []string
	Measures      []*riskv1.Measure
}

func person(id string) string { return personName(id) }

func measure(phase riskv1.Phase, text, responsible, frequency string) *riskv1.Measure {
	return &riskv1.Measure{Phase: phase, Text: text, Responsible: person(responsible), Frequency: frequency}
}

func pre(text, by, freq string) *riskv1.Measure {
	return measure(riskv1.Phase_PHASE_PREVENTION, text, by, freq)
}

func mid(text, by, freq string) *riskv1.Measure {
	return measure(riskv1.Phase_PHASE_MONITORING, text, by, freq)
}

func post(text, by, freq string) *riskv1.Measure {
	return measure(riskv1.Phase_PHASE_DISPOSAL, text, by, freq)
}

const (
	post_  = riskv1.Level_LEVEL_POST
	unit_  = riskv1.Level_LEVEL_UNIT
	leader = riskv1.Level_LEVEL_LEADERSHIP
)

// Risks2025 are drafted in the 2025 campaign (自己找), by who holds the post, works in the
// unit, or, for the leadership, a leader.
var Risks2025 = []RiskDraft{
	{
		ID: "r-gkc-zfsh-01", By: "he-wen", Level: post_, Scope: "gkc-zfsh", Kind: "岗位职责",
		Title:          "国库集中支付审核把关不严",
		Description:    "支付审核岗对用款单位提交的支付申请审核支付依据、预算指标、收款人信息，掌握支付与否的审核权。",
		Manifestations: "对不符合规定的支付申请降低审核标准予以通过；收受用款单位好处，加快或拖延支付；对收款人信息与合同不一致的情况不予核对。",
		Likelihood:     3, Impact: 4, Factors: [3]int32{4, 3, 5},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/zfsh"},
		Measures: []*riskv1.Measure{
			pre("实行A、B角双人审核，支付审核要点清单化，逐笔核对指标、用途与收款人。", "he-wen", "每笔"),
			mid("国库支付系统对收款人与合同不一致、超进度支付自动预警，处长每周抽查预警处理情况。", "guo-jianhua", "每周"),
			post("对违规通过的支付申请，责令追回资金，移送纪检监察室追究责任。", "cheng-gang", "发现即办"),
		},
	},
	{
		ID: "r-gkc-bfbl-01", By: "luo-hao", Level: post_, Scope: "gkc-bfbl", Kind: "业务流程",
		Title:          "擅自变更收款账户、违规拨付资金",
		Description:    "拨付办理岗根据审核通过的支付指令办理资金拨付，直接接触收款账户信息。",
		Manifestations: "擅自变更收款账户将资金拨付至非指定账户；截留、挪用、延压拨付资金；与收款单位串通虚列支出。",
		PastCases:      "2019年邻市某区财政局国库拨付员篡改收款账户，先后将1200余万元财政资金转入其控制的账户，被判处有期徒刑十五年。",
		Likelihood:     2, Impact: 5, Factors: [3]int32{5, 2, 5}, PastCase: true,
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/bfbl"},
		Measures: []*riskv1.Measure{
			pre("收款账户信息只能由支付审核环节确认，拨付办理岗无修改权限；账户变更须书面申请、双人复核。", "guo-jianhua", "每笔"),
			mid("每日核对拨付清单与支付指令，银行回单与收款账户逐笔比对。", "gao-jie", "每日"),
			post("发现账户异常立即止付并报告，纪检监察室介入调查。", "cheng-gang", "发现即办"),
		},
	},
	{
		ID: "r-gkc-kjhs-01", By: "zheng-kai", Level: post_, Scope: "gkc-kjhs", Kind: "岗位职责",
		Title:          "总预算会计核算不真实、不及时",
		Description:    "会计核算岗负责总预算会计记账、对账和财政总决算编制。",
		Manifestations: "为掩盖违规拨付调整会计分录；账实不符时不及时报告；出具不真实的会计报表。",
		Likelihood:     2, Impact: 3, Factors: [3]int32{3, 2, 4},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/kjhs"},
		Measures: []*riskv1.Measure{
			pre("会计凭证经复核岗复核后方可记账，调账须处长审批。", "zheng-kai", "每笔"),
			mid("每月与国库、代理银行对账，编制余额调节表。", "liang-xue", "每月"),
		},
	},
	{
		ID: "r-ysc-zbgl-01", By: "wang-li", Level: post_, Scope: "ysc-zbgl", Kind: "岗位职责",
		Title:          "预算指标下达、调整中优亲厚友",
		Description:    "指标管理岗负责预算指标的录入、下达和调整，掌握指标下达的时间和额度。",
		Manifestations: "未按批复下达指标，或人为提前、推迟下达；对关系单位违规追加、调整指标；泄露未公开的指标安排信息。",
		Likelihood:     3, Impact: 4, Factors: [3]int32{4, 4, 4},
		Powers: []string{"zjbf", "ystz"}, Steps: []string{"zjbf/internal/zbsh", "ystz/internal/tz"},
		Measures: []*riskv1.Measure{
			pre("指标下达以人大批复预算和调整审批单为唯一依据，系统控制无依据不得下达。", "wang-li", "每笔"),
			mid("每季度比对指标下达与批复预算，差异由处长说明。", "zhang-wei", "每季度"),
			post("在岗满五年的指标管理人员列入轮岗计划，离岗时进行业务审计。", "zhang-wei", "每年"),
		},
	},
	{
		ID: "r-ysc-ysbz-01", By: "ma-jun", Level: post_, Scope: "ysc-ysbz", Kind: "业务流程",
		Title:          "部门预算编制审核中厚此薄彼",
		Description:    "预算编制岗审核部门预算建议数，提出项目支出安排意见。",
		Manifestations: "对部门项目申报不按标准审核，为关系单位虚增项目、提高标准；收受部门请托在预算安排上给予照顾。",
		Likelihood:     3, Impact: 3, Factors: [3]int32{4, 4, 3},
		Powers: []string{"ysbz"}, Steps: []string{"ysbz/internal/bz"},
		Measures: []*riskv1.Measure{
			pre("项目支出实行项目库管理和评审，编制标准对外公开。", "ma-jun", "每年"),
			mid("预算草案经处务会集体审核，重大项目由局长办公会研究。", "zhang-wei", "每年"),
		},
	},
	{
		ID: "r-sbc-zcjh-01", By: "feng-yu", Level: post_, Scope: "sbc-zcjh", Kind: "业务流程",
		Title:          "社会保障补贴资金支出计划审核不实",
		Description:    "支出计划岗根据民政、人社部门报送的补贴对象和标准编制用款计划。",
		Manifestations: "对补贴对象名册不核实，导致虚报冒领、重复享受；为亲友所在机构多报补贴；与申报单位串通套取资金。",
		Likelihood:     4, Impact: 3, Factors: [3]int32{4, 3, 5},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/zcjh"},
		Measures: []*riskv1.Measure{
			pre("补贴名册与民政、公安、人社数据比对后方可编制用款计划。", "feng-yu", "每批"),
			mid("主管责任人按10%比例抽查补贴对象，结果存档。", "han-bing", "每季度"),
			post("查实虚报冒领的，追回资金并移送相关部门处理。", "song-tao", "发现即办"),
		},
	},
	{
		ID: "r-cgc-jg-01", By: "deng-lin", Level: post_, Scope: "cgc-jg", Kind: "外部环境",
		Title:          "采购方式变更审批中倾向特定供应商",
		Description:    "采购监管岗审查采购人提出的单一来源、竞争性谈判等采购方式变更申请。",
		Manifestations: "对不符合单一来源条件的申请予以通过；接受供应商宴请、礼品；向供应商泄露审查意见。",
		Likelihood:     3, Impact: 4, Factors: [3]int32{4, 4, 3},
		Powers: []string{"cgfs"}, Steps: []string{"cgfs/internal/sc"},
		Measures: []*riskv1.Measure{
			pre("单一来源采购须公示5个工作日并附专家论证意见；与供应商有利害关系的，申报回避，由B角审查。", "deng-lin", "每件"),
			mid("处长每月复核采购方式变更审批结果，统计单一来源比例。", "xu-gang", "每月"),
			post("对违规审批的，撤销审批决定，追究审查人责任。", "cheng-gang", "发现即办"),
		},
	},
	{
		ID: "r-bgs-cg-01", By: "zhao-lei", Level: post_, Scope: "bgs-cg", Kind: "制度机制",
		Title:          "机关采购化整为零规避集中采购",
		Description:    "机关采购与资产管理岗提出局机关采购需求并组织采购、验收。",
		Manifestations: "将达到限额的采购拆分为多次小额采购；指定品牌或供应商；验收走过场，接受以次充好。",
		Likelihood:     3, Impact: 2, Factors: [3]int32{2, 3, 3},
		Powers: []string{"jgcg"}, Steps: []string{"jgcg/internal/xq", "jgcg/internal/ys"},
		Measures: []*riskv1.Measure{
			pre("年初编制机关采购计划，同类品目合并采购。", "zhao-lei", "每年"),
			mid("验收由办公室两人以上共同进行，使用部门参加。", "wang-jing", "每次"),
		},
	},
	{
		ID: "r-kjc-xk-01", By: "xie-peng", Level: post_, Scope: "kjc-xk", Kind: "岗位职责",
		Title:          "代理记账资格审查中吃拿卡要",
		Description:    "行政许可岗审查代理记账机构设立申请材料。",
		Manifestations: "故意刁难申请人，或对材料不全的申请违规通过；超期办理；收受申请人财物。",
		Likelihood:     2, Impact: 2, Factors: [3]int32{2, 2, 2},
		Powers: []string{"dljz"}, Steps: []string{"dljz/external/sc"},
		Measures: []*riskv1.Measure{
			pre("公开许可条件、材料清单和办理时限，实行一次性告知。", "xie-peng", "长期"),
			mid("政务服务窗口对办理时限进行电子监察。", "wang-jing", "每件"),
			post("对投诉查实的，调整岗位并依规处理。", "zeng-hong", "发现即办"),
		},
	},
	{
		ID: "r-fgc-jc-01", By: "jiang-fan", Level: post_, Scope: "fgc-jc", Kind: "外部环境",
		Title:          "会计监督检查中选择性执法",
		Description:    "执法检查岗对被检查单位实施会计信息质量检查，提出处理意见。",
		Manifestations: "对发现的问题隐瞒不报或避重就轻；接受被检查单位吃请、礼品；以查谋私。",
		Likelihood:     2, Impact: 4, Factors: [3]int32{3, 4, 2},
		Powers: []string{"kjcf"}, Steps: []string{"kjcf/internal/dc"},
		Measures: []*riskv1.Measure{
			pre("检查对象随机抽取、检查人员随机选派，检查前签订廉洁承诺。", "yuan-li", "每次"),
			mid("检查底稿经审理岗复核，处罚决定经案件审理。", "lu-jing", "每件"),
		},
	},
	{
		ID: "r-sbc-01", By: "song-tao", Level: unit_, Scope: "sbc", Kind: "制度机制",
		Title:          "社会保障专项资金分配未经集体研究",
		Description:    "社会保障处负责社会保障和就业专项资金的分配、拨付和绩效管理。",
		Manifestations: "专项资金分配方案由个人决定，未经处务会或局长办公会集体研究；分配因素和结果不公开；对资金使用绩效不跟踪。",
		Likelihood:     3, Impact: 4, Factors: [3]int32{5, 3, 3},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/cz", "zjbf/internal/jtjc"},
		Measures: []*riskv1.Measure{
			pre("专项资金分配办法和因素法测算结果在门户网站公开。", "song-tao", "每年"),
			mid("500万元以上的分配方案提交局长办公会集体研究。", "song-tao", "每件"),
		},
	},
	{
		ID: "r-gkc-01", By: "guo-jianhua", Level: unit_, Scope: "gkc", Kind: "外部环境",
		Title:          "财政资金存放和库款调度中的利益输送",
		Description:    "国库处负责库款调度和财政专户资金存放，面对商业银行的营销。",
		Manifestations: "以财政存款换取个人或亲属利益；违规将资金存放于无资质的金融机构；库款调度不按规定程序。",
		Likelihood:     2, Impact: 5, Factors: [3]int32{5, 3, 2},
		Powers: []string{"zjbf"},
		Measures: []*riskv1.Measure{
			pre("财政专户资金存放实行竞争性选择，评审结果经局长办公会审定并公开。", "guo-jianhua", "每年"),
			mid("纪检监察室每半年检查资金存放和库款调度台账。", "cheng-gang", "每半年"),
			post("发现违规存放的，立即收回资金并追责。", "li-minghua", "发现即办"),
		},
	},
	{
		ID: "r-ysc-01", By: "zhang-wei", Level: unit_, Scope: "ysc", Kind: "业务流程",
		Title:          "预算调整追加随意",
		Description:    "预算处负责年度预算执行中的调整、调剂和追加审核。",
		Manifestations: "对不符合条件的追加申请予以通过；大额调剂不报分管局领导审批；年底突击追加预算。",
		Likelihood:     3, Impact: 3, Factors: [3]int32{4, 3, 3},
		Powers: []string{"ystz"}, Steps: []string{"ystz/internal/cz", "ystz/internal/fgld"},
		Measures: []*riskv1.Measure{
			pre("预算调剂限额分级审批，100万元以上报分管局领导。", "zhang-wei", "每件"),
			mid("每季度向局长办公会报告预算调整调剂情况。", "zhang-wei", "每季度"),
			post("对违规调整的，责令纠正并通报。", "li-minghua", "发现即办"),
		},
	},
	{
		ID: "r-cgc-01", By: "xu-gang", Level: unit_, Scope: "cgc", Kind: "制度机制",
		Title:          "政府采购投诉处理不公",
		Description:    "政府采购管理处受理和处理供应商投诉。",
		Manifestations: "偏袒一方当事人；超期处理；投诉处理人员与当事人有利害关系不回避。",
		Likelihood:     2, Impact: 3, Factors: [3]int32{3, 3, 2},
		Powers: []string{"cgts"},
		Measures: []*riskv1.Measure{
			pre("投诉处理实行回避申报，处理决定经处务会集体研究。", "xu-gang", "每件"),
			post("处理决定被行政复议撤销的，倒查责任。", "liu-fang", "发现即办"),
		},
	},
	{
		ID: "r-ldbz-01", By: "liu-fang", Level: leader, Scope: "ldbz", Kind: "制度机制",
		Title:          "“三重一大”事项未经集体决策",
		Description:    "局领导班子对重大决策、重要干部任免、重大项目安排和大额资金使用行使决策权。",
		Manifestations: "主要领导个人说了算，以传阅、会签代替会议决策；会前不充分酝酿，会上不充分讨论；决策后擅自改变集体决定。",
		Likelihood:     2, Impact: 5, Factors: [3]int32{5, 4, 3},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/jtjc"},
		Measures: []*riskv1.Measure{
			pre("制定“三重一大”事项清单，明确集体决策的范围、金额标准和议事规则。", "zhou-jianguo", "每年"),
			mid("会议纪要如实记录每位班子成员的表决意见，纪检监察室列席。", "cheng-gang", "每次"),
			post("对违反集体决策规定的，按党风廉政建设责任制追究责任。", "liu-fang", "发现即办"),
		},
	},
	{
		ID: "r-ldbz-02", By: "liu-fang", Level: leader, Scope: "ldbz", Kind: "岗位职责",
		Title:          "干部选拔任用中的不正之风",
		Description:    "局领导班子研究决定局内干部的选拔任用和交流轮岗。",
		Manifestations: "任人唯亲，搞“带病提拔”；干部交流轮岗不按计划执行，重点岗位人员长期不轮换。",
		Likelihood:     2, Impact: 4, Factors: [3]int32{4, 3, 2},
		Powers: []string{"gbrm", "zdlg"},
		Measures: []*riskv1.Measure{
			pre("干部选拔任用全程纪实，动议、民主推荐、考察、讨论决定逐环节留痕。", "zhou-jianguo", "每次"),
			mid("重点岗位在岗满五年的人员由组织人事部门提出轮岗建议，每年报告执行情况。", "liu-fang", "每年"),
		},
	},
}

// Risks2026 are what the 2026 campaign adds to the register carried forward from 2025.
var Risks2026 = []RiskDraft{
	{
		ID: "r-gkc-zfk-01", By: "he-wen", Level: unit_, Scope: "gkc-zfk", Kind: "制度机制",
		Title:          "预算管理一体化系统操作权限管理不严",
		Description:    "2026年国库支付全面切换至预算管理一体化系统，国库支付科负责系统内审核、拨付岗位的权限配置。",
		Manifestations: "一人兼有审核和拨付权限；离岗、轮岗人员权限未及时收回；共用数字证书（UKey）。",
		Likelihood:     3, Impact: 4, Factors: [3]int32{4, 2, 5},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/zfsh", "zjbf/internal/bfbl"},
		Measures: []*riskv1.Measure{
			pre("按不相容岗位分离配置系统权限，UKey实行一人一证。", "he-wen", "长期"),
			mid("每月导出系统权限清单，与在岗人员名单核对。", "fu-yong", "每月"),
			post("发现权限混用的，立即停用并追查已办业务。", "guo-jianhua", "发现即办"),
		},
	},
	{
		ID: "r-sbc-zgzr-01", By: "han-bing", Level: post_, Scope: "sbc-zgzr", Kind: "岗位职责",
		Title:          "主管责任人审核流于形式",
		Description:    "社会保障处主管责任人（综合督办岗）对支出计划进行复核并督办资金拨付进度。",
		Manifestations: "对支出计划只签字不审核；为赶进度放松审核；对A、B角互审中发现的问题不督促整改。",
		Likelihood:     3, Impact: 3, Factors: [3]int32{3, 3, 4},
		Powers: []string{"zjbf"}, Steps: []string{"zjbf/internal/zgzr"},
		Measures: []*riskv1.Measure{
			pre("制定复核要点，签署复核意见须写明核对内容。", "han-bing", "每笔"),
			mid("处长每季度抽查复核记录。", "song-tao", "每季度"),
		},
	},
}

// RiskLoad counts what LoadRisks created.
type RiskLoad struct {
	Campaigns int
	Points    int
}

// History is a risk service for playing a past campaign: the same store and rules, with a
// clock the loader sets (SetDay) to the day each step happened.
type History struct {
	Conn   grpc.ClientConnInterface
	SetDay func(day time.Time)
}

// cst is the rules' calendar.
var cst = time.FixedZone("CST", 8*3600)

func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil {
		panic(err)
	}
	return t.Add(9 * time.Hour)
}

func campaignName(id string) string { return OrgName + "/campaigns/" + id }
func riskName(id string) string     { return OrgName + "/risks/" + id }

// riskPoint is a draft as the API takes it.
func (d RiskDraft) riskPoint(campaign string) *riskv1.RiskPoint {
	scope := OrgName + "/posts/" + d.Scope
	if d.Level != riskv1.Level_LEVEL_POST {
		scope = OrgName + "/units/" + d.Scope
	}
	r := &riskv1.RiskPoint{
		Title: d.Title, Level: d.Level, Scope: scope, Kind: d.Kind,
		Description: d.Description, Manifestations: d.Manifestations, PastCases: d.PastCases,
		Likelihood: d.Likelihood, Impact: d.Impact,
		Factors:  map[string]int32{"importance": d.Factors[0], "discretion": d.Factors[1], "frequency": d.Factors[2]},
		Forced:   map[string]bool{"past_case": d.PastCase},
		Campaign: campaign,
	}
	for _, p := range d.Powers {
		r.Powers = append(r.Powers, OrgName+"/powers/"+p)
	}
	for _, s := range d.Steps {
		parts := strings.Split(s, "/")
		r.Steps = append(r.Steps, &riskv1.StepRef{Flow: OrgName + "/powers/" + parts[0] + "/flows/" + parts[1], Step: parts[2]})
	}
	for _, m := range d.Measures {
		r.Measures = append(r.Measures, &riskv1.Measure{Phase: m.Phase, Text: m.Text, Responsible: m.Responsible, Frequency: m.Frequency})
	}
	return r
}

// riskPlayer plays risk actions through one connection, with per-person tokens.
type riskPlayer struct {
	ctx    context.Context
	cl     riskv1.RiskServiceClient
	token  func(person string, roles ...string) (string, error)
	tokens map[string]string
	step   int
	prefix string
}

func (p *riskPlayer) as(person string) (context.Context, error) {
	tok, ok := p.tokens[person]
	if !ok {
		var err error
		if tok, err = p.token(person); err != nil {
			return nil, fmt.Errorf("token for %s: %w", person, err)
		}
		p.tokens[person] = tok
	}
	return metadata.AppendToOutgoingContext(p.ctx, "authorization", "Bearer "+tok), nil
}

// do runs one call as person; what names it for errors.
func (p *riskPlayer) do(person, what string, call func(ctx context.Context, requestID string) error) error {
	p.step++
	ctx, err := p.as(person)
	for attempt := 0; err == nil; attempt++ {
		err = call(ctx, fmt.Sprintf("%s-%d", p.prefix, p.step))
		// CONTENDED: the register kept changing while the step was decided (supervision
		// records its warnings on the risk points as the demo cases are played). Nothing
		// was written: do it again, as a client would.
		if status.Code(err) != codes.Aborted || attempt == 20 {
			break
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	if err != nil {
		err = errors.New(describe(err))
	}
	if err != nil {
		return fmt.Errorf("demo risks %s: %s by %s: %w", p.prefix, what, person, err)
	}
	return nil
}

func (p *riskPlayer) advance(by, campaign string, to riskv1.Stage, text string) error {
	return p.do(by, "advance to "+to.String(), func(ctx context.Context, rid string) error {
		_, err := p.cl.ReviewCampaign(ctx, &riskv1.ReviewCampaignRequest{Name: campaignName(campaign), Action: riskv1.ReviewAction_REVIEW_ACTION_ADVANCE, ToStage: to, Text: text, RequestId: rid})
		return err
	})
}

func (p *riskPlayer) draft(campaign string, d RiskDraft) error {
	return p.do(d.By, "draft "+d.ID, func(ctx context.Context, rid string) error {
		_, err := p.cl.CreateRisk(ctx, &riskv1.CreateRiskRequest{Parent: OrgName, RiskId: d.ID, Risk: d.riskPoint(campaignName(campaign)), RequestId: rid})
		return err
	})
}

func (p *riskPlayer) comment(by, risk, text string, anonymous bool) error {
	return p.do(by, "comment on "+risk, func(ctx context.Context, rid string) error {
		_, err := p.cl.CommentRisk(ctx, &riskv1.CommentRiskRequest{Name: riskName(risk), Text: text, Anonymous: anonymous, RequestId: rid})
		return err
	})
}

// meeting holds the 集体定 meeting of the leadership: convened and chaired by chair, every
// leader present and voting yes, closed with minutes (which starts the publicity).
func (p *riskPlayer) meeting(chair, campaign string, leaders []string, minutes string) error {
	name := campaignName(campaign)
	var c *riskv1.Campaign
	if err := p.do(chair, "convene", func(ctx context.Context, rid string) error {
		var err error
		c, err = p.cl.ReviewCampaign(ctx, &riskv1.ReviewCampaignRequest{Name: name, Action: riskv1.ReviewAction_REVIEW_ACTION_CONVENE, RequestId: rid})
		return err
	}); err != nil {
		return err
	}
	m := c.Meetings[len(c.Meetings)-1].Id
	var attendees []string
	for _, l := range leaders {
		attendees = append(attendees, personName(l))
	}
	if err := p.do(chair, "attend "+m, func(ctx context.Context, rid string) error {
		_, err := p.cl.ReviewCampaign(ctx, &riskv1.ReviewCampaignRequest{Name: name, Action: riskv1.ReviewAction_REVIEW_ACTION_ATTEND, Meeting: m, Attendees: attendees, RequestId: rid})
		return err
	}); err != nil {
		return err
	}
	for _, l := range leaders {
		if err := p.do(l, "vote in "+m, func(ctx context.Context, rid string) error {
			_, err := p.cl.ReviewCampaign(ctx, &riskv1.ReviewCampaignRequest{Name: name, Action: riskv1.ReviewAction_REVIEW_ACTION_VOTE, Meeting: m, Vote: "yes", RequestId: rid})
			return err
		}); err != nil {
			return err
		}
	}
	return p.do(chair, "close "+m, func(ctx context.Context, rid string) error {
		_, err := p.cl.ReviewCampaign(ctx, &riskv1.ReviewCampaignRequest{Name: name, Action: riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING, Meeting: m, Text: minutes, RequestId: rid})
		return err
	})
}

func (p *riskPlayer) measure(by, risk string, idx int, to riskv1.MeasureStatus, evidence string) error {
	return p.do(by, fmt.Sprintf("measure %d of %s to %s", idx+1, risk, to), func(ctx context.Context, rid string) error {
		r, err := p.cl.GetRisk(ctx, &riskv1.GetRiskRequest{Name: riskName(risk)})
		if err != nil {
			return err
		}
		_, err = p.cl.UpdateMeasure(ctx, &riskv1.UpdateMeasureRequest{Name: riskName(risk), Measure: r.Measures[idx].Id, Status: to, Evidence: []string{evidence}, RequestId: rid})
		return err
	})
}

// exists reports whether the campaign was loaded before.
func (p *riskPlayer) exists(campaign string) (bool, error) {
	ctx, err := p.as("zhou-jianguo")
	if err != nil {
		return false, err
	}
	_, err = p.cl.GetCampaign(ctx, &riskv1.GetCampaignRequest{Name: campaignName(campaign)}, grpc.WaitForReady(true))
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("demo risks: look up %s: %s", campaign, describe(err))
}

// The leadership (局领导班子): 周建国 局长 chairs and leads the campaigns (he drafts no risk
// point, so he may advance them); 刘芳 drafts the leadership's risk points.
var riskLeaders = []string{"zhou-jianguo", "li-minghua", "chen-zhigang", "liu-fang"}

// LoadRisks loads the demo register: the 2025 campaign, played on history's clock through
// to in force, and the 2026 campaign carried forward from it and played to 公示 on live.
// A campaign that exists already is skipped entirely, so loading again creates nothing.
// history is called only when the 2025 campaign is to be played.
func LoadRisks(ctx context.Context, live grpc.ClientConnInterface, history func() (History, error), token func(person string, roles ...string) (string, error)) (RiskLoad, error) {
	var n RiskLoad
	lp := &riskPlayer{ctx: ctx, cl: riskv1.NewRiskServiceClient(live), token: token, tokens: map[string]string{}, prefix: Campaign2025}
	done, err := lp.exists(Campaign2025)
	if err != nil {
		return n, err
	}
	if !done {
		h, err := history()
		if err != nil {
			return n, fmt.Errorf("demo risks: %w", err)
		}
		hp := &riskPlayer{ctx: ctx, cl: riskv1.NewRiskServiceClient(h.Conn), token: token, tokens: lp.tokens, prefix: Campaign2025}
		if err := play2025(hp, h.SetDay); err != nil {
			return n, err
		}
		n.Campaigns++
		n.Points += len(Risks2025)
		// The live service learns of the history's writes through its watch: wait for the
		// register in force before carrying it forward.
		if err := waitInForce(ctx, lp, Campaign2025, len(Risks2025)); err != nil {
			return n, err
		}
	}
	lp.prefix = Campaign2026
	done, err = lp.exists(Campaign2026)
	if err != nil || done {
		return n, err
	}
	if err := play2026(lp); err != nil {
		return n, err
	}
	n.Campaigns++
	n.Points += len(Risks2026)
	return n, nil
}

func play2025(p *riskPlayer, setDay func(time.Time)) error {
	c := Campaign2025
	setDay(day("2025-10-13"))
	if err := p.do("zhou-jianguo", "open", func(ctx context.Context, rid string) error {
		_, err := p.cl.CreateCampaign(ctx, &riskv1.CreateCampaignRequest{Parent: OrgName, CampaignId: c, RequestId: rid, Campaign: &riskv1.Campaign{
			Title: "江城市财政局2025年度廉政风险点排查与防控", Year: 2025, PublicityDays: 5,
		}})
		return err
	}); err != nil {
		return err
	}
	// 自己找: everyone drafts the risk points of their post, unit or (leaders) the leadership.
	for _, d := range Risks2025 {
		if err := p.draft(c, d); err != nil {
			return err
		}
	}
	setDay(day("2025-10-24"))
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_COMMENTING, "自己找阶段结束，转入群众帮，征求干部职工意见。"); err != nil {
		return err
	}
	// 群众帮.
	setDay(day("2025-10-28"))
	for _, cm := range []struct {
		by, risk, text string
		anon           bool
	}{
		{"gao-jie", "r-gkc-bfbl-01", "建议增加“收款账户变更须由用款单位书面确认并经支付审核岗复核”的措施，拨付岗只执行、不修改。", false},
		{"cao-yang", "r-sbc-zcjh-01", "部分社区上报的高龄津贴名册中有已故人员未及时注销，建议每批与公安户籍、殡葬数据比对。", true},
		{"lin-xiaoyan", "r-gkc-zfsh-01", "年底集中支付时审核压力大，建议明确加急支付的审批权限，避免“先付后补”。", false},
		{"xu-ting", "r-ysc-01", "年底突击追加的情况确实存在，建议11月后追加事项一律提交局长办公会。", false},
	} {
		if err := p.comment(cm.by, cm.risk, cm.text, cm.anon); err != nil {
			return err
		}
	}
	setDay(day("2025-11-03"))
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_LEADER_REVIEW, "群众帮阶段结束，请分管领导审核把关。"); err != nil {
		return err
	}
	// 领导提: 陈志刚 (分管社会保障) raises the likelihood of the 社会保障处 risk and adds a
	// measure after the comments.
	setDay(day("2025-11-06"))
	if err := p.do("chen-zhigang", "amend r-sbc-01", func(ctx context.Context, rid string) error {
		// Read, change, write with the etag read — and read again when the risk point
		// changed in between (supervision records its warnings on the register as the demo
		// cases are played): optimistic concurrency as any client does it.
		for attempt := 0; ; attempt++ {
			cur, err := p.cl.GetRisk(ctx, &riskv1.GetRiskRequest{Name: riskName("r-sbc-01")})
			if err != nil {
				return err
			}
			r := proto.Clone(cur).(*riskv1.RiskPoint)
			r.Likelihood = 4
			r.Measures = append(r.Measures, post("对未经集体研究分配的资金，暂停拨付并重新履行决策程序，追究处室负责人责任。", "chen-zhigang", "发现即办"))
			r.ChangeNote = "领导提：结合群众意见，上调可能性并增加后期处置措施。"
			_, err = p.cl.UpdateRisk(ctx, &riskv1.UpdateRiskRequest{Risk: r, UpdateMask: []string{"likelihood", "measures"}, RequestId: rid})
			if status.Code(err) != codes.FailedPrecondition || attempt == 5 {
				return err
			}
		}
	}); err != nil {
		return err
	}
	setDay(day("2025-11-14"))
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_COLLECTIVE, "领导审核完毕，提交局党组会集体审定。"); err != nil {
		return err
	}
	// 集体定 → 公示 (5 days from the meeting).
	setDay(day("2025-11-18"))
	if err := p.meeting("zhou-jianguo", c, riskLeaders, "2025年第18次局长办公会：应到4人，实到4人，一致同意2025年度廉政风险点及防控措施，予以公示。"); err != nil {
		return err
	}
	// 公示: one objection, answered by the leader in charge (not its drafter).
	setDay(day("2025-11-20"))
	if err := p.do("xu-ting", "object to r-ysc-zbgl-01", func(ctx context.Context, rid string) error {
		_, err := p.cl.FileObjection(ctx, &riskv1.FileObjectionRequest{Name: riskName("r-ysc-zbgl-01"), Text: "指标管理岗可直接在系统中调整指标，风险可能性评定偏低，建议上调。", RequestId: rid})
		return err
	}); err != nil {
		return err
	}
	setDay(day("2025-11-21"))
	if err := p.do("li-minghua", "answer the objection to r-ysc-zbgl-01", func(ctx context.Context, rid string) error {
		_, err := p.cl.AnswerObjection(ctx, &riskv1.AnswerObjectionRequest{Name: riskName("r-ysc-zbgl-01"), Objection: "o1", RequestId: rid,
			Answer: "经核实，一体化系统已限定指标调整须依调整审批单并经处长确认，直接调整的权限已收回；维持原评定，调整审批单控制已列入前期预防措施。"})
		return err
	}); err != nil {
		return err
	}
	// In force once the publicity period is over.
	setDay(day("2025-11-25"))
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_IN_FORCE, "公示期满，异议已答复，正式印发执行（江财廉〔2025〕9号）。"); err != nil {
		return err
	}
	// Measures in place, and verified by the 纪检监察室.
	setDay(day("2025-12-10"))
	for _, m := range []struct {
		by, risk string
		idx      int
	}{
		{"he-wen", "r-gkc-zfsh-01", 0},
		{"guo-jianhua", "r-gkc-bfbl-01", 0},
		{"feng-yu", "r-sbc-zcjh-01", 0},
	} {
		if err := p.measure(m.by, m.risk, m.idx, riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE, "措施落实记录（2025年12月）"); err != nil {
			return err
		}
	}
	setDay(day("2026-01-15"))
	for _, r := range []string{"r-gkc-zfsh-01", "r-gkc-bfbl-01"} {
		if err := p.measure("cheng-gang", r, 0, riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED, "纪检监察室2026年1月专项检查"); err != nil {
			return err
		}
	}
	return nil
}

func play2026(p *riskPlayer) error {
	c := Campaign2026
	if err := p.do("zhou-jianguo", "open", func(ctx context.Context, rid string) error {
		_, err := p.cl.CreateCampaign(ctx, &riskv1.CreateCampaignRequest{Parent: OrgName, CampaignId: c, RequestId: rid, Campaign: &riskv1.Campaign{
			Title: "江城市财政局2026年度廉政风险点动态调整（回头看）", Year: 2026, CarryFrom: campaignName(Campaign2025), PublicityDays: 7,
		}})
		return err
	}); err != nil {
		return err
	}
	for _, d := range Risks2026 {
		if err := p.draft(c, d); err != nil {
			return err
		}
	}
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_COMMENTING, "新增风险点查找完毕，征求意见。"); err != nil {
		return err
	}
	if err := p.comment("luo-hao", "r-gkc-zfk-01", "轮岗后原岗位权限未及时收回的情况今年出现过一次，建议轮岗当日收回。", false); err != nil {
		return err
	}
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_LEADER_REVIEW, "征求意见结束。"); err != nil {
		return err
	}
	if err := p.advance("zhou-jianguo", c, riskv1.Stage_STAGE_COLLECTIVE, "提交局党组会集体审定。"); err != nil {
		return err
	}
	return p.meeting("zhou-jianguo", c, riskLeaders, "2026年第20次局长办公会：应到4人，实到4人，一致同意2026年度廉政风险点动态调整结果，予以公示。")
}

// waitInForce waits until the live service's register shows the campaign's want risk
// points in force.
func waitInForce(ctx context.Context, p *riskPlayer, campaign string, want int) error {
	actx, err := p.as("zhou-jianguo")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.cl.ListRisks(actx, &riskv1.ListRisksRequest{Parent: OrgName, Campaign: campaignName(campaign), PageSize: 1000})
		if err != nil {
			return fmt.Errorf("demo risks: list %s: %s", campaign, describe(err))
		}
		in := 0
		for _, r := range resp.Risks {
			if r.InForce {
				in++
			}
		}
		if in >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo risks: the register of %s is not in force on the live service (%d of %d)", campaign, in, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
