# METADATA
# title: Test fixtures
# description: >-
#   A small finance bureau (czj) for the policy tests: the 国库处 (gkc) chain
#   经办人→主管责任人→分管处长→处长, the horizontal split 支付审核 / 拨付办理, the 预算处 (ysc)
#   post that manages a fund (管), a six-member leadership team, the discipline office
#   纪检组 (jjz), conflict declarations, a risk assessment campaign, and base inputs for every
#   action. Tests change them with object.union.
package fenquan.fixtures

today := "2026-11-21"

facts := {"orgs": {"czj": org}}

# indexed_facts(day) is facts as the PDP writes them on day: with the day's indexes,
# data.facts.today and orgs[org].current (docs/POLICY.md, lib/lib.rego), built here from
# the fixture org the way the PDP builds them from the registry. Rules read holdings
# through the index only when day is the input's today; main/index_test.rego checks that
# both ways give the same decisions.
indexed_facts(day) := {"today": day, "orgs": {"czj": object.union(org, {"current": current_on(org, day)})}}

# current_on(o, day): for every person of o who is known, not inactive and holds on day at
# least one post: the posts held, their "<unit>|<rank_level>" seats and the funds they
# manage (a post the org does not know is held, but gives no seat and no fund).
current_on(o, day) := {person: entry |
	some person, assignments in o.holdings
	p := o.people[person]
	not p.inactive
	valid := [h | some h in assignments; h.start <= day; day <= object.get({"": "9999-12-31"}, h.end, h.end)]
	count(valid) > 0
	entry := {
		"posts": {h.post: true | some h in valid},
		"seats": {concat("|", [post.unit, format_int(post.rank_level, 10)]): true |
			some h in valid
			post := o.posts[h.post]
		},
		"funds": {code: true |
			some h in valid
			some code in o.posts[h.post].managed_funds
		},
	}
}

org := {
	"people": {
		"feng-yu": {"unit": "gkc", "inactive": false},
		"cao-yang": {"unit": "gkc", "inactive": false},
		"he-wen": {"unit": "gkc", "inactive": false},
		"liu-fang": {"unit": "gkc", "inactive": false},
		"gao-yan": {"unit": "gkc", "inactive": false},
		"sun-li": {"unit": "gkc", "inactive": false},
		"zhou-min": {"unit": "gkc", "inactive": false},
		"wu-gang": {"unit": "gkc", "inactive": false},
		"zhang-wei": {"unit": "ysc", "inactive": false},
		"lin-tao": {"unit": "ysc", "inactive": false},
		"qian-hao": {"unit": "gkc", "inactive": false},
		"tang-jie": {"unit": "gkc", "inactive": false},
		"ma-lin": {"unit": "gkc", "inactive": true},
		"zhou-jianguo": {"unit": "jz", "inactive": false},
		"li-minghua": {"unit": "jz", "inactive": false},
		"wang-qiang": {"unit": "jz", "inactive": false},
		"zhao-lei": {"unit": "jz", "inactive": false},
		"xu-hong": {"unit": "jz", "inactive": false},
		"deng-yi": {"unit": "jz", "inactive": false},
		"jiang-hui": {"unit": "jjz", "inactive": false},
		"bai-xue": {"unit": "gkc", "inactive": false},
	},
	"units": {
		"jz": {"kind": "UNIT_KIND_LEADERSHIP", "parent": ""},
		"gkc": {"kind": "UNIT_KIND_DIVISION", "parent": ""},
		"ysc": {"kind": "UNIT_KIND_DIVISION", "parent": ""},
		"jjz": {"kind": "UNIT_KIND_DISCIPLINE", "parent": ""},
	},
	"posts": {
		"gkc-jb": {"unit": "gkc", "rank_level": 1, "key_post": false, "rotation_months": 0, "managed_funds": []},
		"gkc-zfsh": {"unit": "gkc", "rank_level": 1, "key_post": true, "rotation_months": 60, "managed_funds": []},
		"gkc-bfbl": {"unit": "gkc", "rank_level": 1, "key_post": true, "rotation_months": 60, "managed_funds": []},
		"gkc-zgzr": {"unit": "gkc", "rank_level": 2, "key_post": false, "rotation_months": 0, "managed_funds": []},
		"gkc-fgcz": {"unit": "gkc", "rank_level": 3, "key_post": true, "rotation_months": 60, "managed_funds": []},
		"gkc-cz": {"unit": "gkc", "rank_level": 4, "key_post": true, "rotation_months": 60, "managed_funds": []},
		"ysc-zbgl": {"unit": "ysc", "rank_level": 1, "key_post": true, "rotation_months": 60, "managed_funds": ["ZX-SHBZ-2026", "ZB-2026-0012"]},
		"ysc-fgcz": {"unit": "ysc", "rank_level": 3, "key_post": true, "rotation_months": 60, "managed_funds": []},
		"jz-jz": {"unit": "jz", "rank_level": 6, "key_post": true, "rotation_months": 0, "managed_funds": []},
		"jz-fgld": {"unit": "jz", "rank_level": 5, "key_post": true, "rotation_months": 0, "managed_funds": []},
		"jjz-jcy": {"unit": "jjz", "rank_level": 1, "key_post": false, "rotation_months": 0, "managed_funds": []},
	},
	"holdings": {
		"feng-yu": [{"post": "gkc-jb", "ab_role": "A", "start": "2020-01-01", "end": ""}],
		"cao-yang": [{"post": "gkc-jb", "ab_role": "B", "start": "2021-05-01", "end": ""}],
		"he-wen": [{"post": "gkc-zfsh", "ab_role": "A", "start": "2019-03-01", "end": ""}],
		"liu-fang": [{"post": "gkc-bfbl", "ab_role": "A", "start": "2022-07-01", "end": ""}],
		"gao-yan": [
			{"post": "ysc-zbgl", "ab_role": "B", "start": "2018-01-01", "end": "2022-12-31"},
			{"post": "gkc-bfbl", "ab_role": "B", "start": "2023-01-01", "end": ""},
		],
		"sun-li": [{"post": "gkc-zgzr", "ab_role": "A", "start": "2018-09-01", "end": ""}],
		"zhou-min": [{"post": "gkc-fgcz", "ab_role": "A", "start": "2017-03-01", "end": ""}],
		"wu-gang": [{"post": "gkc-cz", "ab_role": "A", "start": "2016-01-01", "end": ""}],
		"zhang-wei": [{"post": "ysc-zbgl", "ab_role": "A", "start": "2020-01-01", "end": ""}],
		"lin-tao": [{"post": "ysc-fgcz", "ab_role": "A", "start": "2019-01-01", "end": ""}],
		"qian-hao": [{"post": "gkc-zfsh", "ab_role": "A", "start": "2014-01-01", "end": "2019-02-28"}],
		"tang-jie": [{"post": "gkc-zfsh", "ab_role": "B", "start": "2026-12-01", "end": ""}],
		"ma-lin": [{"post": "gkc-zfsh", "ab_role": "B", "start": "2019-03-01", "end": ""}],
		"zhou-jianguo": [{"post": "jz-jz", "ab_role": "A", "start": "2021-01-01", "end": ""}],
		"li-minghua": [{"post": "jz-fgld", "ab_role": "A", "start": "2021-01-01", "end": ""}],
		"bai-xue": [{"post": "jjz-jcy", "ab_role": "A", "start": "2024-01-01", "end": ""}],
	},
	"holders": {},
	"conflicts": {
		"sun-li": [{"name": "某某建设有限公司", "code": "91420100MA4K2XXXX", "relation": "CONFLICT_RELATION_RELATIVE", "from": "2026-01-01", "until": ""}],
		"wang-qiang": [{"name": "某某建设有限公司", "code": "", "relation": "CONFLICT_RELATION_FORMER_EMPLOYMENT", "from": "2024-01-01", "until": "2025-12-31"}],
		"xu-hong": [{"name": "某某建设有限公司(武汉)", "code": "", "relation": "CONFLICT_RELATION_FINANCIAL_INTEREST", "from": "2026-06-01", "until": "2026-11-21"}],
	},
	"fund_managers": {"ZX-SHBZ-2026": ["ysc-zbgl"], "ZB-2026-0012": ["ysc-zbgl"]},
	"leadership": {
		"zhou-jianguo": true, "li-minghua": true, "wang-qiang": true,
		"zhao-lei": true, "xu-hong": true, "deng-yi": true,
	},
}

# The payee of the base cases, and the one some officers declared a conflict with.
payee := {"name": "武汉某某科技有限公司", "code": "91420100MA4ABCDE12", "is_person": false}

conflicted_payee := {"name": "某某建设有限公司", "code": "91420100MA4K2XXXX", "is_person": false}

actor(person) := {"person": person, "on_behalf_of": ""}

delegate(person, principal) := {"person": person, "on_behalf_of": principal}

sig(step, person, rank) := {"step": step, "person": person, "on_behalf_of": "", "payload_version": 3, "rank_level": rank}

# voided_sig(step, person, rank, version): a signature made on payload version version and
# voided since, by a return (退回) or a payload change; the approval service sends it in
# case.signatures with "voided": true. The separation rules (sod) count it, the chain's
# progress (signoff) does not.
voided_sig(step, person, rank, version) := object.union(sig(step, person, rank), {"payload_version": version, "voided": true})

# The flow of the case (专项资金拨付, zjbf): 经办 zcjh → 审核 zgsh (主管责任人) → 审批 fgcz
# (分管处长) → 审批 cz (处长) → 支付审核 zfsh → 拨付办理 bfbl (pays, completes).
separations := {
	"jsh": {"id": "jsh", "kind": "INCOMPATIBLE_DUTIES", "name": "经办与审核分离", "steps": ["zcjh", "zgsh"]},
	"zfbf": {"id": "zfbf", "kind": "INCOMPATIBLE_DUTIES", "name": "支付审核与拨付办理分离", "steps": ["zfsh", "bfbl"]},
	# jbshsp, the demo's 经办/审核/审批 separation over the whole chain, is on no fixture step:
	# the tests that need it put it on the step they act on.
	"jbshsp": {"id": "jbshsp", "kind": "INCOMPATIBLE_DUTIES", "name": "经办、审核与审批分离", "steps": ["zcjh", "zgsh", "fgcz", "cz"]},
}

steps := {
	"zcjh": {
		"id": "zcjh", "duty": "经办", "entry": true, "last": false,
		"post": "gkc-jb", "rank_level": 0, "unit": "gkc",
		"control": "HANDLE", "payment": false, "collective_decision": false,
		"separations": [separations.jsh],
	},
	"zgsh": {
		"id": "zgsh", "duty": "审核", "entry": false, "last": false,
		"post": "", "rank_level": 2, "unit": "gkc",
		"control": "MANAGE", "payment": false, "collective_decision": false,
		"separations": [separations.jsh],
	},
	"fgcz": {
		"id": "fgcz", "duty": "审批", "entry": false, "last": false,
		"post": "", "rank_level": 3, "unit": "gkc",
		"control": "MANAGE", "payment": false, "collective_decision": false,
		"separations": [],
	},
	"cz": {
		"id": "cz", "duty": "审批", "entry": false, "last": false,
		"post": "", "rank_level": 4, "unit": "gkc",
		"control": "MANAGE", "payment": false, "collective_decision": false,
		"separations": [],
	},
	"zfsh": {
		"id": "zfsh", "duty": "支付审核", "entry": false, "last": false,
		"post": "gkc-zfsh", "rank_level": 0, "unit": "gkc",
		"control": "HANDLE", "payment": false, "collective_decision": false,
		"separations": [separations.zfbf],
	},
	"bfbl": {
		"id": "bfbl", "duty": "拨付办理", "entry": false, "last": true,
		"post": "gkc-bfbl", "rank_level": 0, "unit": "gkc",
		"control": "HANDLE", "payment": true, "collective_decision": false,
		"separations": [separations.zfbf],
	},
}

chain_signatures := [
	sig("zcjh", "feng-yu", 1),
	sig("zgsh", "sun-li", 2),
	sig("fgcz", "zhou-min", 3),
	sig("cz", "wu-gang", 4),
]

case := {
	"id": "c-0001", "power": "zjbf", "category": "POWER_CATEGORY_INTERNAL_FINANCE",
	"applicant": "feng-yu", "a": "feng-yu", "b": "cao-yang",
	"amount": 1200000.0, "fund": "ZX-SHBZ-2026", "indicator": "ZB-2026-0012",
	"payee": payee,
	"payload_version": 3,
	"emergency": {"active": false, "justification": "", "joint_review_passed": false},
	"indicator_set_by": ["zhang-wei"],
	"signatures": chain_signatures,
	"path_rank_levels": [1, 2, 3, 4],
	"collective": {"passed": false, "payload_version": 0},
}

power := {"legal_basis": "《中华人民共和国预算法》第五十三条"}

# approval builds an approval input for action by person at step, on the base case.
approval(action, person, step) := {
	"action": action, "org": "czj", "today": today,
	"actor": actor(person),
	"case": case, "step": steps[step], "power": power,
	"penalty": null, "meeting": null,
}

# create: 经办人 feng-yu opens the case, A feng-yu, B cao-yang.
create := object.union(approval("approval.create", "feng-yu", "zcjh"), {"case": {"signatures": []}})

# sign: 支付审核 he-wen signs zfsh after the chain signed.
sign := approval("approval.sign", "he-wen", "zfsh")

# sign_last: 拨付办理 liu-fang pays and completes the case after zfsh was signed.
sign_last := object.union(
	approval("approval.sign", "liu-fang", "bfbl"),
	{"case": {"signatures": array.concat(chain_signatures, [sig("zfsh", "he-wen", 1)])}},
)

# sign_chain(person, step, signed): a chain step signed after the listed signatures.
sign_chain(person, step, signed) := object.union(
	approval("approval.sign", person, step),
	{"case": {"signatures": signed}},
)

claim := approval("approval.claim", "he-wen", "zfsh")

# The leadership meeting (集体决策) on a 大额 case of 8,000,000 元.
members := ["zhou-jianguo", "li-minghua", "wang-qiang", "zhao-lei", "xu-hong", "deng-yi"]

meeting := {
	"members": members,
	"attendees": members,
	"recused": [],
	"votes": {},
	"proposal_version": 3,
	"vote": "yes",
}

vote(person) := object.union(
	approval("approval.meeting.vote", person, "cz"),
	{"case": {"amount": 8000000.0}, "meeting": meeting},
)

close(m) := object.union(
	approval("approval.meeting.close", "zhou-jianguo", "cz"),
	{"case": {"amount": 8000000.0}, "meeting": m},
)

# convene: the 局长 zhou-jianguo convenes the leadership on the 大额 case; attend(m): he
# records who is present and who stood aside.
convene := object.union(
	approval("approval.meeting.convene", "zhou-jianguo", "cz"),
	{"case": {"amount": 8000000.0}, "meeting": {"members": members, "attendees": [], "recused": [], "votes": {}, "proposal_version": 3}},
)

attend(m) := object.union(
	approval("approval.meeting.attend", "zhou-jianguo", "cz"),
	{"case": {"amount": 8000000.0}, "meeting": m},
)

# withdraw: the applicant feng-yu withdraws his case before anyone signed it.
withdraw := object.union(approval("approval.withdraw", "feng-yu", "zcjh"), {"case": {"signatures": []}})

# comment: 支付审核 he-wen comments on the case.
comment := approval("approval.comment", "he-wen", "zfsh")

# update_payload: the applicant feng-yu raises the amount; the case is sent as it will be
# after the change (version 4, its signatures voided).
update_payload := object.union(
	approval("approval.update_payload", "feng-yu", "zcjh"),
	{"case": {"amount": 1300000.0, "payload_version": 4, "signatures": []}},
)

# add_signer(person, step, signer): person, acting on step, requires signer's signature at
# it as well (加签). add_signer: 支付审核 he-wen adds 预算处分管处长 lin-tao at zfsh.
add_signer_at(person, step, signer) := object.union(
	approval("approval.add_signer", person, step),
	{"signer": {"person": signer}},
)

add_signer := add_signer_at("he-wen", "zfsh", "lin-tao")

# sign_added: lin-tao, added to zfsh, signs it without holding its post.
sign_added := object.union(sign, {"actor": actor("lin-tao"), "step": {"added_signers": ["lin-tao"]}})

# hold_by(person, roles, platform_roles): person holds (拦截) the case at 支付审核 with the
# roles they hold. hold: the 监察员 wang-jing (not in the org's facts) holds it;
# hold_by_service: the supervision service, a platform principal, does; release: the
# 监察员 releases the hold.
hold_by(person, roles, platform_roles) := object.union(
	approval("approval.hold", person, "zfsh"),
	{
		"roles": roles, "platform_roles": platform_roles,
		"hold": {"id": "", "reason": "大额资金支付前预警,待核实付款对象", "rule": "supervision.large_payment"},
	},
)

hold := hold_by("wang-jing", ["supervisor"], [])

hold_by_service := hold_by("sub:svc-supervision", [], ["service"])

release := object.union(hold, {"action": "approval.release", "hold": {"id": "h-0001"}})

# A 行政处罚 case at its 决定 step, with the benchmark item of CATALOG.md.
tiers := [
	{"id": "minor", "display_name": "轻微", "circumstance_codes": ["first_offence", "corrected_promptly"], "min_amount": 0, "max_amount": 0},
	{"id": "general", "display_name": "一般", "circumstance_codes": ["corrected_within_deadline"], "min_amount": 5000, "max_amount": 50000},
	{"id": "serious", "display_name": "较重", "circumstance_codes": ["not_corrected"], "min_amount": 50000, "max_amount": 200000},
	{"id": "grave", "display_name": "严重", "circumstance_codes": ["obstructed_inspection", "repeated"], "min_amount": 200000, "max_amount": 1000000},
]

penalty(codes, amount) := {
	"item": "kj-42",
	"circumstance_codes": codes,
	"amount": amount,
	"benchmark": {"tiers": tiers},
}

decide(p) := object.union(
	approval("approval.sign", "wu-gang", "cz"),
	{
		"case": {"category": "POWER_CATEGORY_PENALTY", "amount": 0, "fund": "", "indicator": ""},
		"step": {"id": "jd", "duty": "决定", "last": true, "control": "MANAGE"},
		"penalty": p,
	},
)

api(person, permission, roles, platform_roles) := {
	"action": "api.access", "org": "czj", "today": today,
	"actor": actor(person),
	"permission": permission, "roles": roles, "platform_roles": platform_roles,
}

platform_api(person, permission, platform_roles) := object.union(
	api(person, permission, [], platform_roles),
	{"org": ""},
)

risk(likelihood, impact, factors, forced) := {
	"action": "risk.grade", "org": "czj", "today": today,
	"actor": actor("zhou-jianguo"),
	"risk": {"likelihood": likelihood, "impact": impact, "factors": factors, "forced": forced},
}

low_factors := {"importance": 1, "discretion": 1, "frequency": 1}

no_force := {"major_impact": false, "unlimited_discretion": false, "past_case": false}

# --- the risk assessment (廉政风险评估, docs/RISK.md)

# The discipline office 纪检组 (jjz, UNIT_KIND_DISCIPLINE): jiang-hui belongs to it (no post
# in the fixture); bai-xue, of the 国库处, holds its 纪检员 post jjz-jcy since 2024.

# campaign(stage) is the bureau's 2026 campaign at stage: he-wen and liu-fang drafted its
# risk points; the publicity runs until 2026-12-05.
campaign(stage) := {
	"id": "2026-czj", "stage": stage, "to_stage": "", "unit": "",
	"drafters": ["he-wen", "liu-fang"], "publicity_end": "2026-12-05", "open_objections": 0,
}

# risk_point is he-wen's risk point on his post 支付审核 (gkc-zfsh) of the 国库处.
risk_point := {
	"id": "r-0001", "level": "POST", "scope": "gkc-zfsh", "unit": "gkc", "kind": "业务流程",
	"drafted_by": "he-wen", "likelihood": 3, "impact": 4,
	"factors": {"importance": 4, "discretion": 3, "frequency": 5},
	"forced": no_force, "upheld_objection": false,
}

# risk_action(action, person, fields) is a risk input: the common fields and fields.
risk_action(action, person, fields) := object.union(
	{"action": action, "org": "czj", "today": today, "actor": actor(person)},
	fields,
)

# open_campaign: the 局长 opens the whole bureau's campaign.
open_campaign := risk_action("risk.campaign.open", "zhou-jianguo", {"campaign": object.union(campaign(""), {"drafters": [], "publicity_end": ""})})

# advance(from, to, person): person moves the campaign from stage from to stage to.
advance(from, to, person) := risk_action("risk.campaign.advance", person, {"campaign": object.union(campaign(from), {"to_stage": to})})

# draft: he-wen drafts the risk point of his own post.
draft := risk_action("risk.draft", "he-wen", {"campaign": campaign("DRAFTING"), "risk": risk_point})

# draft_by(person, patch): person drafts the risk point with patch applied.
draft_by(person, patch) := risk_action("risk.draft", person, {"campaign": campaign("DRAFTING"), "risk": object.union(risk_point, patch)})

# amend: the 国库处 处长 wu-gang amends it in the leaders' review.
amend := risk_action("risk.amend", "wu-gang", {"campaign": campaign("LEADER_REVIEW"), "risk": risk_point})

# risk_comment: cao-yang comments on it while comments are asked for.
risk_comment := risk_action("risk.comment", "cao-yang", {"campaign": campaign("COMMENTING"), "risk": risk_point})

# risk_object: feng-yu objects to it in the publicity period.
risk_object := risk_action("risk.object", "feng-yu", {"campaign": campaign("PUBLICITY"), "risk": risk_point})

# answer_objection: wu-gang answers feng-yu's objection.
answer_objection := risk_action("risk.answer_objection", "wu-gang", {
	"campaign": campaign("PUBLICITY"), "risk": risk_point,
	"objection": {"by": "feng-yu"},
})

# measure_update(from, to, person): person moves the measure he-wen is responsible for.
measure_update(from, to, person) := risk_action("risk.measure.update", person, {
	"risk": risk_point,
	"measure": {"id": "m-1", "responsible": "he-wen", "from": from, "to": to},
})

# The leadership meeting (集体定) of the campaign: risk_convene, risk_attend(m),
# risk_vote(person), risk_close(m), as for cases.
risk_meeting := {"members": members, "attendees": members, "recused": [], "votes": {}}

risk_convene := risk_action("risk.meeting.convene", "zhou-jianguo", {
	"campaign": campaign("COLLECTIVE"),
	"meeting": {"members": members, "attendees": [], "recused": [], "votes": {}},
})

risk_attend(m) := risk_action("risk.meeting.attend", "zhou-jianguo", {"campaign": campaign("COLLECTIVE"), "meeting": m})

risk_vote(person) := risk_action("risk.meeting.vote", person, {"campaign": campaign("COLLECTIVE"), "meeting": object.union(risk_meeting, {"vote": "yes"})})

risk_close(m) := risk_action("risk.meeting.close", "zhou-jianguo", {"campaign": campaign("COLLECTIVE"), "meeting": m})
