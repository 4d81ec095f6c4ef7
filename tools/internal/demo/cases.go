package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
)

// Case is one demo case: who opens it on which flow, what it is about, and the actions
// that bring it to where the demo shows it. People are person ids of the demo org
// ("feng-yu"); every action is one the policy allows its actor (they hold the step's post
// or rank seat today, and no separation, 回避 declaration or 管办分离 stands in the way).
type Case struct {
	// ID is the case id, fixed so that loading is idempotent: "demo-zjbf-01".
	ID string
	// Flow is "power/flow" within the demo org: "zjbf/internal".
	Flow  string
	Title string
	// Applicant opens the case (the caller of CreateCase); A and B are the 主办 and 协办.
	Applicant, A, B string
	Payload         *approvalv1.Payload
	// Emergency, when set, opens the case on the 绿色通道 with this justification.
	Emergency string
	// Script is played in order after the case is opened.
	Script []Action
}

// Action is one Act call of a case's script, by a demo person.
type Action struct {
	By string
	// Roles are org roles the actor needs besides "staff" ("supervisor" to hold a case).
	Roles  []string
	Do     approvalv1.Action
	Step   string
	Text   string
	ToStep string
	// Person is the signer added (加签) or the delegate (委托): a person id.
	Person string
	// UntilDays is the delegation's last day, counted in days from the day of loading.
	UntilDays int
	Payload   *approvalv1.Payload
	Meeting   string
	// Attendees and Recused are person ids.
	Attendees, Recused []string
	Vote               approvalv1.Vote
	Hold               string
}

// The script's vocabulary.

func sign(by, step string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_SIGN, Step: step}
}

func signWith(by, step, comment string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_SIGN, Step: step, Text: comment}
}

// signChain signs the steps in order, each "step:person".
func signChain(steps ...string) []Action {
	out := make([]Action, len(steps))
	for i, s := range steps {
		step, by, _ := strings.Cut(s, ":")
		out[i] = sign(by, step)
	}
	return out
}

func claim(by, step string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_CLAIM, Step: step}
}

func reject(by, step, reason string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_REJECT, Step: step, Text: reason}
}

func returnTo(by, step, to, reason string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_RETURN, Step: step, ToStep: to, Text: reason}
}

func withdraw(by, reason string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_WITHDRAW, Text: reason}
}

func comment(by, step, text string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_COMMENT, Step: step, Text: text}
}

func addSigner(by, step, person string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_ADD_SIGNER, Step: step, Person: person}
}

func delegate(by, step, to string, days int, reason string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_DELEGATE, Step: step, Person: to, UntilDays: days, Text: reason}
}

func updatePayload(by string, p *approvalv1.Payload, reason string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_UPDATE_PAYLOAD, Payload: p, Text: reason}
}

// hold is a 拦截 by a supervisor (纪检监察室).
func hold(by, reason string) Action {
	return Action{By: by, Roles: []string{"supervisor"}, Do: approvalv1.Action_ACTION_HOLD, Text: reason}
}

func convene(by, step string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_CONVENE, Step: step}
}

func attend(by, meeting string, attendees, recused []string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_ATTEND, Meeting: meeting, Attendees: attendees, Recused: recused}
}

func vote(by, meeting string, v approvalv1.Vote) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_VOTE, Meeting: meeting, Vote: v}
}

func closeMeeting(by, meeting, minutes string) Action {
	return Action{By: by, Do: approvalv1.Action_ACTION_CLOSE_MEETING, Meeting: meeting, Text: minutes}
}

func script(parts ...any) []Action {
	var out []Action
	for _, p := range parts {
		switch x := p.(type) {
		case Action:
			out = append(out, x)
		case []Action:
			out = append(out, x...)
		default:
			panic(fmt.Sprintf("demo: script part %T", p))
		}
	}
	return out
}

// Payees of the demo cases (fictional).
var (
	kangning   = &approvalv1.Payee{Name: "江城市康宁养老服务有限公司", Code: "91429001MA49K3XT6B", Account: "4200 1234 5678 0001 2345"} // 曹阳 declared a conflict
	hengxin    = &approvalv1.Payee{Name: "江城恒信信息技术有限公司", Code: "91429001MA4F7Q2L8J", Account: "4200 1234 5678 0002 7781"}  // 邓琳 declared a conflict
	mzj        = &approvalv1.Payee{Name: "江城市民政局", Code: "11429001MB0C5R7T2W", Account: "4200 1234 5678 0100 0031"}
	jbmzj      = &approvalv1.Payee{Name: "江城市江北区民政局", Code: "11429001MB0E7Q2R4X", Account: "4200 1234 5678 0100 0117"}
	fushou     = &approvalv1.Payee{Name: "江城市江北区福寿养老院", Code: "52429001MJH2X8K41C", Account: "4200 1234 5678 0003 1202"}
	yikang     = &approvalv1.Payee{Name: "江城市颐康老年公寓有限公司", Code: "91429001MA4G3T7N5K", Account: "4200 1234 5678 0004 5520"}
	fuliyuan2  = &approvalv1.Payee{Name: "江城市第二社会福利院", Code: "12429001MB1J5K8L3M", Account: "4200 1234 5678 0100 0266"}
	kangda     = &approvalv1.Payee{Name: "江城康达医疗器械有限公司", Code: "91429001MA4K8P1V6Y", Account: "4200 1234 5678 0005 0093"}
	huayuan    = &approvalv1.Payee{Name: "江城华远办公设备有限公司", Code: "91429001MA4C2W5E8T", Account: "4200 1234 5678 0006 3318"}
	qichexiu   = &approvalv1.Payee{Name: "江城市通达汽车维修有限公司", Code: "91429001MA4D9M6H1R", Account: "4200 1234 5678 0007 4410"}
	xinda      = &approvalv1.Payee{Name: "江城信达财务咨询有限公司", Code: "91429001MA4H6N9R3Q"}
	leadership = []string{"zhou-jianguo", "li-minghua", "chen-zhigang", "liu-fang"}
)

// shbz is a payment from the 社会保障专项资金 against indicator.
func shbz(amount float64, indicator string, payee *approvalv1.Payee, purpose string) *approvalv1.Payload {
	return &approvalv1.Payload{Amount: amount, Fund: "ZX-SHBZ-2026", Indicator: indicator, Payee: payee, Purpose: purpose}
}

// Cases are the demo's cases, in the order they are opened.
//
// 资金拨付 (zjbf) runs 支出计划 (社会保障处: 冯雨 A, 曹阳 B) → 主管责任人 (韩冰) → 分管处长 (唐慧) →
// 处长 (宋涛, from 50万) → 局长办公会 (from 500万) → 预算指标 (王丽/徐婷) → 支付审核 (何文/林晓燕) →
// 拨付办理 (罗浩/高洁) → 会计核算 (郑凯/梁雪); the 绿色通道 replaces 主管责任人 and 分管处长 by the
// 联合会审 of the 预算处, 国库处 and 社会保障处 directors. The chain is fixed by the separations:
// who did 支出计划 may not review, 韩冰 (主管责任人) may not also be 分管处长 (B角), 唐慧 (分管处长)
// may not also be 处长 (B角).
var Cases = []Case{
	{
		ID: "demo-zjbf-01", Flow: "zjbf/internal", Title: "2026年第四季度城乡居民养老服务补贴资金拨付",
		Applicant: "feng-yu", A: "feng-yu", B: "cao-yang",
		Payload: shbz(6800000, "ZB-2026-SB-0031", mzj, "按《江城市养老服务补贴管理办法》拨付第四季度居家和机构养老服务补贴，惠及老年人2.3万人。"),
		Script: script(
			signWith("feng-yu", "zcjh", "用款计划与预算指标、项目进度相符，申请拨付。"),
			signChain("zgzr:han-bing", "fgcz:tang-hui"),
			signWith("song-tao", "cz", "同意，金额500万元以上，提请局长办公会集体研究。"),
			convene("zhou-jianguo", "jtjc"),
			attend("zhou-jianguo", "m1", leadership, nil),
			vote("li-minghua", "m1", approvalv1.Vote_VOTE_YES),
			vote("chen-zhigang", "m1", approvalv1.Vote_VOTE_YES),
		),
	},
	{
		ID: "demo-zjbf-02", Flow: "zjbf/internal", Title: "江北区“11·18”暴雨灾害受灾群众临时生活救助资金（绿色通道）",
		Applicant: "cao-yang", A: "cao-yang", B: "feng-yu",
		Payload:   shbz(2600000, "ZB-2026-SB-0047", jbmzj, "江北区受灾群众临时生活救助，按每人每日30元、救助15天核拨。"),
		Emergency: "11月18日江北区特大暴雨致1.2万名群众受灾，市防指要求48小时内将临时生活救助资金拨付到位（江防指〔2026〕17号）。",
		Script: script(
			sign("cao-yang", "zcjh"),
			signWith("zhang-wei", "lhhs-ys", "应急事由属实，动用预备费指标 ZB-2026-SB-0047。"),
			signWith("guo-jianhua", "lhhs-gk", "库款充足，同意优先安排支付。"),
			signWith("song-tao", "lhhs-sb", "救助对象、标准和金额经民政部门核定。"),
			sign("wang-li", "zbsh"),
			comment("he-wen", "zfsh", "收款账户已与区民政局核对一致，今日内完成支付审核。"),
		),
	},
	{
		ID: "demo-zjbf-03", Flow: "zjbf/internal", Title: "江北区福寿养老院2026年第三季度运营补贴",
		Applicant: "feng-yu", A: "feng-yu", B: "cao-yang",
		Payload: shbz(380000, "ZB-2026-SB-0019", fushou, "按核定床位数和入住率拨付第三季度运营补贴。"),
		Script: script(
			signChain("zcjh:feng-yu", "zgzr:han-bing", "fgcz:tang-hui", "zbsh:xu-ting", "zfsh:lin-xiaoyan", "bfbl:gao-jie", "kjhs:liang-xue"),
			comment("liang-xue", "", "已按总预算会计制度记账，凭证号 记-2026-11-0386。"),
		),
	},
	{
		ID: "demo-zjbf-04", Flow: "zjbf/internal", Title: "2026年度高龄津贴（第四批）拨付",
		Applicant: "feng-yu", A: "feng-yu", B: "cao-yang",
		Payload: shbz(1500000, "ZB-2026-SB-0022", mzj, "第四批80周岁以上老年人高龄津贴。"),
		Script: script(
			signChain("zcjh:feng-yu", "zgzr:han-bing", "fgcz:tang-hui"),
			returnTo("song-tao", "cz", "zcjh", "高龄津贴发放花名册与民政部门核定人数不一致（多出37人），请核实后重新提交。"),
			updatePayload("feng-yu", shbz(1463000, "ZB-2026-SB-0022", mzj, "第四批80周岁以上老年人高龄津贴（按民政核定名册核减37人）。"), "按民政部门核定名册核减37人，金额调整为146.3万元。"),
			signWith("feng-yu", "zcjh", "已按核定名册更正。"),
			signChain("zgzr:han-bing", "fgcz:tang-hui", "cz:song-tao", "zbsh:wang-li", "zfsh:he-wen"),
		),
	},
	{
		ID: "demo-zjbf-05", Flow: "zjbf/internal", Title: "颐康老年公寓新增床位一次性建设补贴",
		Applicant: "cao-yang", A: "cao-yang", B: "feng-yu",
		Payload: shbz(260000, "ZB-2026-SB-0019", yikang, "新增养老床位52张，按每张5000元申请一次性建设补贴。"),
		Script: script(
			signChain("zcjh:cao-yang", "zgzr:han-bing"),
			reject("tang-hui", "fgcz", "该机构尚未完成养老机构备案，不符合《江城市养老服务补贴管理办法》第八条规定的补贴条件，不予拨付。"),
		),
	},
	{
		ID: "demo-zjbf-06", Flow: "zjbf/internal", Title: "康宁养老服务有限公司2026年度护理型床位运营补贴",
		Applicant: "feng-yu", A: "feng-yu", B: "cao-yang",
		Payload: shbz(450000, "ZB-2026-SB-0019", kangning, "护理型床位90张的年度运营补贴。"),
		// Nothing is signed: supervision holds the case as soon as it sees it (related_payee:
		// its B角 declared the payee), so a signature after creation would race the hold.
		Script: script(
			hold("cheng-gang", "收款单位法定代表人系社会保障处曹阳同志胞兄（已申报回避），本案却将其列为B角。暂停办理，核实回避落实情况。"),
			comment("han-bing", "zgzr", "已知悉，待纪检监察室核实后再行审核。"),
		),
	},
	{
		ID: "demo-zjbf-07", Flow: "zjbf/internal", Title: "江城市第二社会福利院护理楼适老化改造项目资金",
		Applicant: "cao-yang", A: "cao-yang", B: "feng-yu",
		Payload: shbz(5200000, "ZB-2026-SB-0052", fuliyuan2, "护理楼适老化改造工程进度款（工程进度70%）。"),
		Script: script(
			signChain("zcjh:cao-yang", "zgzr:han-bing", "fgcz:tang-hui", "cz:song-tao"),
			convene("zhou-jianguo", "jtjc"),
			attend("zhou-jianguo", "m1", []string{"zhou-jianguo", "li-minghua", "chen-zhigang"}, nil),
			vote("chen-zhigang", "m1", approvalv1.Vote_VOTE_YES),
			vote("li-minghua", "m1", approvalv1.Vote_VOTE_YES),
			vote("zhou-jianguo", "m1", approvalv1.Vote_VOTE_YES),
			closeMeeting("zhou-jianguo", "m1", "2026年第21次局长办公会：应到4人，实到3人（刘芳同志出差请假），一致同意按工程进度拨付。"),
			signChain("zbsh:xu-ting", "zfsh:he-wen", "bfbl:luo-hao", "kjhs:zheng-kai"),
		),
	},
	{
		// 预算调整 (ystz): 预算编制岗 (马骏 A, 徐婷 B) → 主管责任人 (吴强 A, 马骏 B) → 分管处长
		// (黄敏 A, 吴强 B) → 处长 (张伟 A, 黄敏 B, from 20万) → 分管局领导 (from 100万) → 指标管理岗.
		ID: "demo-ystz-01", Flow: "ystz/internal", Title: "江北区老旧小区适老化改造项目预算调剂",
		Applicant: "xu-ting", A: "xu-ting", B: "ma-jun",
		Payload: &approvalv1.Payload{Amount: 800000, Fund: "YS-2026-YBGG", Indicator: "ZB-2026-YS-0208", Purpose: "由一般公共服务支出调剂至社会保障和就业支出，用于老旧小区适老化改造。"},
		Script: script(
			sign("xu-ting", "sq"),
			sign("ma-jun", "zgzr"),
			delegate("huang-min", "fgcz", "wu-qiang", 10, "赴省财政厅参加预算管理培训，委托吴强同志代为审批。"),
		),
	},
	{
		ID: "demo-ystz-02", Flow: "ystz/internal", Title: "预算处2026年机关公用经费调剂",
		Applicant: "ma-jun", A: "ma-jun", B: "xu-ting",
		Payload: &approvalv1.Payload{Amount: 150000, Fund: "YS-2026-JGGY", Indicator: "ZB-2026-YS-0077", Purpose: "会议费结余调剂用于预算编审系统运维。"},
		Script: script(
			signChain("sq:ma-jun", "zgzr:wu-qiang"),
			addSigner("huang-min", "fgcz", "zhang-wei"),
			signWith("huang-min", "fgcz", "涉及跨科目调剂，请处长加签。"),
			signWith("zhang-wei", "fgcz", "同意调剂。"),
			sign("wang-li", "tz"),
		),
	},
	{
		// 政府采购方式变更审批 (cgfs): 窗口 (王静 A, 孙丽 B) → 采购监管岗 (邓琳 A, 彭飞 B) → 处长
		// (许刚 A, 邓琳 B) → 分管局领导 (from 500万) → 送达 (窗口).
		ID: "demo-cgfs-01", Flow: "cgfs/internal", Title: "市政务数据中心核心数据库系统升级项目采购方式变更（单一来源）",
		Applicant: "sun-li", A: "sun-li", B: "wang-jing",
		Payload: &approvalv1.Payload{Amount: 1200000, Payee: hengxin, Purpose: "原系统供应商专有技术，申请由公开招标变更为单一来源采购；已公示5个工作日无异议。"},
		Script: script(
			sign("sun-li", "sl"),
			comment("peng-fei", "sc", "邓琳同志已申报与该供应商的利害关系，本案由B角彭飞审核（回避）。"),
			signChain("sc:peng-fei", "cz:xu-gang", "sd:wang-jing"),
		),
	},
	{
		ID: "demo-cgfs-02", Flow: "cgfs/internal", Title: "市第一人民医院医用直线加速器采购方式变更（单一来源）",
		Applicant: "wang-jing", A: "wang-jing", B: "sun-li",
		Payload: &approvalv1.Payload{Amount: 4800000, Payee: kangda, Purpose: "与现有放疗系统兼容的唯一供应商，申请单一来源采购；专家论证意见已附。"},
		Script: script(
			signChain("sl:wang-jing", "sc:deng-lin"),
			claim("xu-gang", "cz"),
		),
	},
	{
		// 局机关政府采购 (jgcg): 机关采购岗 (赵磊 A, 王静 B) → 分管局领导 → 组织采购 → 履约验收 (办公室经办人).
		ID: "demo-jgcg-01", Flow: "jgcg/internal", Title: "局机关2026年办公设备更新采购",
		Applicant: "zhao-lei", A: "zhao-lei", B: "wang-jing",
		Payload: &approvalv1.Payload{Amount: 360000, Fund: "JG-2026-GYJF", Payee: huayuan, Purpose: "更新到达使用年限的台式计算机60台、打印机15台。"},
		Script: script(
			sign("zhao-lei", "xq"),
			signWith("li-minghua", "fgld", "同意，按政府采购框架协议执行。"),
			signChain("zx:wang-jing", "ys:sun-li"),
		),
	},
	{
		ID: "demo-jgcg-02", Flow: "jgcg/internal", Title: "局机关公务用车定点维修服务采购",
		Applicant: "zhao-lei", A: "zhao-lei", B: "wang-jing",
		Payload: &approvalv1.Payload{Amount: 120000, Fund: "JG-2026-GYJF", Payee: qichexiu, Purpose: "2027年度公务用车定点维修服务。"},
		Script: script(
			sign("zhao-lei", "xq"),
			withdraw("zhao-lei", "经与分管领导沟通，并入2027年度集中采购计划，本次申请撤回。"),
		),
	},
	{
		// 代理记账机构设立审批 (dljz): 申请、受理 (窗口) → 审查 (会计处行政许可岗) → 决定 (会计处处长) → 送达.
		ID: "demo-dljz-01", Flow: "dljz/external", Title: "江城信达财务咨询有限公司代理记账资格申请",
		Applicant: "sun-li", A: "sun-li", B: "wang-jing",
		Payload: &approvalv1.Payload{Payee: xinda, Purpose: "申请代理记账资格；专职从业人员5名，业务负责人具有会计师资格。"},
		Script: script(
			sign("sun-li", "sq"),
			signChain("sl:wang-jing", "sc:xie-peng"),
		),
	},
}

// LoadCases opens the demo cases and plays their scripts through the CaseService API,
// each call with the bearer token token mints for its person. It returns how many cases
// it created. A case that exists already (GetCase finds it) is skipped entirely, so
// loading again on the same data creates nothing.
func LoadCases(ctx context.Context, conn grpc.ClientConnInterface, token func(person string, roles ...string) (string, error)) (int, error) {
	cl := approvalv1.NewCaseServiceClient(conn)
	tokens := map[string]string{}
	as := func(person string, roles ...string) (context.Context, error) {
		key := strings.Join(append([]string{person}, roles...), "|")
		tok, ok := tokens[key]
		if !ok {
			var err error
			if tok, err = token(person, roles...); err != nil {
				return nil, fmt.Errorf("token for %s: %w", person, err)
			}
			tokens[key] = tok
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), nil
	}
	// Delegations run until a day counted from today, on the service's calendar (CST).
	today := time.Now().In(time.FixedZone("CST", 8*3600))
	created := 0
	for _, dc := range Cases {
		name := OrgName + "/cases/" + dc.ID
		actx, err := as(dc.Applicant)
		if err != nil {
			return created, fmt.Errorf("demo case %s: %w", dc.ID, err)
		}
		_, err = cl.GetCase(actx, &approvalv1.GetCaseRequest{Name: name}, grpc.WaitForReady(true))
		switch status.Code(err) {
		case codes.OK:
			continue // loaded before
		case codes.NotFound:
		default:
			return created, fmt.Errorf("demo case %s: look it up: %s", dc.ID, describe(err))
		}
		c := &approvalv1.Case{
			Title: dc.Title, Flow: OrgName + "/powers/" + strings.Replace(dc.Flow, "/", "/flows/", 1),
			A: personName(dc.A), B: personName(dc.B), Payload: dc.Payload,
		}
		if dc.Emergency != "" {
			c.Emergency = &approvalv1.Emergency{Active: true, Justification: dc.Emergency}
		}
		if _, err := cl.CreateCase(actx, &approvalv1.CreateCaseRequest{
			Parent: OrgName, CaseId: dc.ID, Case: c, RequestId: dc.ID + "-0",
		}); err != nil {
			return created, fmt.Errorf("demo case %s: open by %s: %s", dc.ID, dc.Applicant, describe(err))
		}
		created++
		for i, a := range dc.Script {
			req := &approvalv1.ActRequest{
				Name: name, Action: a.Do, Step: a.Step, Text: a.Text, ToStep: a.ToStep, Payload: a.Payload,
				Meeting: a.Meeting, Vote: a.Vote, Hold: a.Hold,
				RequestId: fmt.Sprintf("%s-%d", dc.ID, i+1),
			}
			if a.Person != "" {
				req.Person = personName(a.Person)
			}
			if a.UntilDays > 0 {
				req.Until = today.AddDate(0, 0, a.UntilDays).Format(time.DateOnly)
			}
			for _, p := range a.Attendees {
				req.Attendees = append(req.Attendees, personName(p))
			}
			for _, p := range a.Recused {
				req.Recused = append(req.Recused, personName(p))
			}
			pctx, err := as(a.By, a.Roles...)
			if err == nil {
				_, err = cl.Act(pctx, req)
				if err != nil {
					err = errors.New(describe(err))
				}
			}
			if err != nil {
				return created, fmt.Errorf("demo case %s: action %d (%s): %w", dc.ID, i+1, a, err)
			}
		}
	}
	return created, nil
}

// String names an action for errors: "sign zgzr by han-bing".
func (a Action) String() string {
	verb := strings.ToLower(strings.TrimPrefix(a.Do.String(), "ACTION_"))
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(verb, "_", " "))
	for _, s := range []string{a.Step, a.Meeting} {
		if s != "" {
			b.WriteString(" " + s)
		}
	}
	if a.ToStep != "" {
		b.WriteString(" to " + a.ToStep)
	}
	if a.Person != "" {
		b.WriteString(" " + a.Person)
	}
	b.WriteString(" by " + a.By)
	return b.String()
}

func personName(id string) string { return OrgName + "/people/" + id }

// describe renders a gRPC error with what the server said: the status, its message, the
// fields it refused, and for PERMISSION_DENIED every policy violation.
func describe(err error) string {
	st := status.Convert(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	for _, d := range st.Details() {
		switch x := d.(type) {
		case *errdetails.BadRequest:
			for _, fv := range x.FieldViolations {
				fmt.Fprintf(&b, "; %s: %s", fv.Field, fv.Description)
			}
		case *apiv1.PolicyDenial:
			for _, v := range x.Violations {
				fmt.Fprintf(&b, "; violation %s: %s", v.Rule, v.En)
			}
		}
	}
	return b.String()
}
