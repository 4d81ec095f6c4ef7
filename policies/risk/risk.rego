# METADATA
# title: 廉政风险评估 (自己找 → 群众帮 → 领导提 → 集体定 → 公示)
# description: >-
#   The yearly campaign that finds, reviews and puts in force the org's risk points, and
#   the measures against them: the stage allows the action, who may draft a risk point of a
#   post, a unit or the leadership, who leads a campaign or amends a risk point, that nobody
#   reviews their own drafts, the stages in order, the publicity period and its objections,
#   the kinds of risk, and the measures' statuses (only the responsible person or a head of
#   the unit puts a measure in place; someone independent verifies it). The 集体定 meeting
#   is package collective's. Tables: data.risk (policies/risk/data.json). Scope:
#   data.risk.actions, per rule data.risk.rule_actions.
package fenquan.risk

import data.fenquan.lib

# Every deny rule starts with its guard, data.risk.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.risk.actions, which the tests check
# holds every action of rule_actions.

# --- who is who (facts read by key; see lib for the day's index)

# leader holds when person is in the org's leadership (data.facts.orgs[org].leadership: the
# people currently in posts of a UNIT_KIND_LEADERSHIP unit).
leader(person) if data.facts.orgs[input.org].leadership[person] == true

# head_of holds when person holds today a post of rank data.risk.head_rank_level (4 处长) or
# above in unit, and has not left.
head_of(person, unit) if {
	some level in data.risk.rank_levels
	level >= data.risk.head_rank_level
	lib.holds_rank(person, level, unit)
}

# works_in holds when person is an active person of unit (their unit in the facts), or
# holds today a post of any rank in it.
works_in(person, unit) if {
	p := data.facts.orgs[input.org].people[person]
	p.unit == unit
	not p.inactive
}

works_in(person, unit) if {
	some level in data.risk.rank_levels
	lib.holds_rank(person, level, unit)
}

# discipline_unit holds when the org's unit is of a kind in data.risk.discipline_unit_kinds
# (UNIT_KIND_DISCIPLINE, 纪检监察).
discipline_unit(unit) if {
	kind := data.facts.orgs[input.org].units[unit].kind
	data.risk.discipline_unit_kinds[kind]
}

# in_discipline holds when person is an active person of a discipline unit, or holds today
# a post in one: from the day's index when it is the input's day, from the dated holdings
# otherwise (as lib.holds).
in_discipline(person) if {
	p := data.facts.orgs[input.org].people[person]
	not p.inactive
	discipline_unit(p.unit)
}

in_discipline(person) if {
	data.facts.today == input.today
	some post, _ in data.facts.orgs[input.org].current[person].posts
	discipline_unit(data.facts.orgs[input.org].posts[post].unit)
}

in_discipline(person) if {
	not data.facts.today == input.today
	some h in data.facts.orgs[input.org].holdings[person]
	discipline_unit(data.facts.orgs[input.org].posts[h.post].unit)
	lib.holding_valid(h)
	lib.active(person)
}

# --- message parts (read only when a rule denies)

# act_zh and act_en name the action on its object: "起草风险点 r-0001", "open risk
# assessment 2026-czj" (data.risk.verbs: a template and the input object whose id it takes).
act_zh := sprintf(verb.zh, [subject_id]) if {
	verb := data.risk.verbs[input.action]
} else := input.action

act_en := sprintf(verb.en, [subject_id]) if {
	verb := data.risk.verbs[input.action]
} else := input.action

subject_id := sprintf("%v", [id]) if {
	id := input[data.risk.verbs[input.action].of].id
} else := "?"

stage_zh(s) := name if {
	name := data.risk.stage_names[s].zh
} else := sprintf("%v", [s])

stage_en(s) := name if {
	name := data.risk.stage_names[s].en
} else := sprintf("%v", [s])

status_zh(s) := name if {
	name := data.risk.measure_statuses[s].zh
} else := sprintf("%v", [s])

status_en(s) := name if {
	name := data.risk.measure_statuses[s].en
} else := sprintf("%v", [s])

# allowed_stages lists, in order, the stages that allow the action, as [zh, en] names; a
# stage that allows it only for a risk point with an upheld objection says so.
allowed_stages := array.concat(
	[[stage_zh(s), stage_en(s)] | some s in data.risk.stage_order; data.risk.stages[s][input.action]],
	[[concat("", [stage_zh(s), "(异议成立的风险点)"]), concat("", [stage_en(s), " (a risk point with an upheld objection)"])] |
		some s in data.risk.stage_order
		data.risk.upheld_objection_stages[s][input.action]
	],
)

allowed_zh := concat("、", [n[0] | some n in allowed_stages])

allowed_en := concat(", ", [n[1] | some n in allowed_stages])

# METADATA
# title: The campaign's stage allows the action
# description: >-
#   The campaign is at a stage (campaign.stage) that does not allow the action
#   (data.risk.stages): risk points are drafted at DRAFTING, commented on at COMMENTING,
#   amended at LEADER_REVIEW (and at PUBLICITY when the risk point has an upheld objection,
#   risk.upheld_objection, data.risk.upheld_objection_stages), objected to at PUBLICITY, and
#   the leadership meeting is held at COLLECTIVE.
# custom:
#   id: risk.stage
#   basis: 查找风险点采取自己找、群众帮、领导提、集体定等多种方式进行。查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关……并在一定范围内进行公示(财政局廉政管理指导方案)
deny contains v if {
	data.risk.rule_actions.stage[input.action]
	stage := input.campaign.stage
	not data.risk.stages[stage][input.action]
	not upheld_allows(stage)
	v := lib.violation(
		"risk.stage",
		sprintf("风险评估 %v 现处于“%s”阶段,不得%s;此操作只在%s阶段进行", [input.campaign.id, stage_zh(stage), act_zh, allowed_zh]),
		sprintf("risk assessment %v is at the %s stage, where one may not %s (only at: %s)", [input.campaign.id, stage_en(stage), act_en, allowed_en]),
		"查找风险点采取自己找、群众帮、领导提、集体定等多种方式进行。查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关……并在一定范围内进行公示(财政局廉政管理指导方案)",
	)
}

# upheld_allows holds when the risk point has an upheld objection and the stage allows the
# action on such a risk point.
upheld_allows(stage) if {
	input.risk.upheld_objection == true
	data.risk.upheld_objection_stages[stage][input.action]
}

# METADATA
# title: Who drafts a risk point of a post, a unit or the leadership
# description: >-
#   The person whose posts count (lib.principal) may not draft a risk point at its level:
#   POST — only who holds the post (risk.scope) today, a head (rank ≥ 4 处长) of its unit
#   (risk.unit), or a leader; UNIT — only who works in the unit (their unit in the facts, or
#   a post held in it today), or a leader; LEADERSHIP — only a leader. A level other than
#   these is drafted by nobody.
# custom:
#   id: risk.not_in_scope
#   basis: 股室(所)负责人组织股室(所)全体人员对照职责,查找本股室(所)……存在的廉政风险点……组织党员干部对照各自的岗位职责和制度要求,全面查找个人……存在的廉政风险点(财政局廉政管理指导方案)
deny contains v if {
	data.risk.rule_actions.not_in_scope[input.action]
	person := lib.principal
	not in_scope(person)
	v := lib.violation(
		"risk.not_in_scope",
		sprintf("%s 不得起草%s %v 的风险点 %v:%s", [person, level_zh, input.risk.scope, input.risk.id, who_zh]),
		sprintf("%s may not draft risk point %v of %s %v: %s", [person, input.risk.id, level_en, input.risk.scope, who_en]),
		"股室(所)负责人组织股室(所)全体人员对照职责,查找本股室(所)……存在的廉政风险点……组织党员干部对照各自的岗位职责和制度要求,全面查找个人……存在的廉政风险点(财政局廉政管理指导方案)",
	)
}

in_scope(person) if {
	input.risk.level == "POST"
	lib.holds(person, input.risk.scope)
}

in_scope(person) if {
	input.risk.level == "POST"
	head_of(person, input.risk.unit)
}

in_scope(person) if {
	input.risk.level == "UNIT"
	works_in(person, input.risk.scope)
}

in_scope(person) if {
	data.risk.levels[input.risk.level]
	leader(person)
}

level_zh := data.risk.levels[input.risk.level].zh if data.risk.levels[input.risk.level]

else := sprintf("层级 %v", [input.risk.level])

level_en := data.risk.levels[input.risk.level].en if data.risk.levels[input.risk.level]

else := sprintf("level %v", [input.risk.level])

who_zh := data.risk.levels[input.risk.level].who_zh if data.risk.levels[input.risk.level]

else := "风险点的层级须为 POST(岗位)、UNIT(处室)或 LEADERSHIP(领导班子)"

who_en := data.risk.levels[input.risk.level].who_en if data.risk.levels[input.risk.level]

else := "a risk point's level is POST, UNIT or LEADERSHIP"

# METADATA
# title: A leader, or the head of the unit, leads the campaign and amends risk points
# description: >-
#   The person whose posts count (lib.principal) is not in the org's leadership and does
#   not hold today a post of rank ≥ 4 (处长) in the unit concerned (data.risk.authority: the
#   campaign's unit for risk.campaign.open and .advance — a whole-org campaign, unit "",
#   is led by leaders only — and the risk point's unit for risk.amend and
#   risk.answer_objection).
# custom:
#   id: risk.not_leader
#   basis: 查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);领导班子及成员要……带头查找风险,带头制定和落实措施(江西农业大学廉政风险防范管理工作实施方案)
deny contains v if {
	data.risk.rule_actions.not_leader[input.action]
	person := lib.principal
	not leader(person)
	unit := authority_unit
	not heads(person, unit)
	v := lib.violation(
		"risk.not_leader",
		sprintf("%s 不是领导班子成员%s,不得%s", [person, head_zh(unit), act_zh]),
		sprintf("%s is not a leader%s and may not %s", [person, head_en(unit), act_en]),
		"查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);领导班子及成员要……带头查找风险,带头制定和落实措施(江西农业大学廉政风险防范管理工作实施方案)",
	)
}

# authority_unit is the unit whose head may act besides the leaders: the unit of the input
# object data.risk.authority names for the action, "" when there is none.
default authority_unit := ""

authority_unit := unit if {
	unit := input[data.risk.authority[input.action]].unit
	is_string(unit)
}

heads(person, unit) if {
	unit != ""
	head_of(person, unit)
}

head_zh(unit) := "(全单位的风险评估由领导班子负责)" if unit == ""

else := sprintf(",也未担任处室 %s 的%s及以上职务", [unit, lib.rank_zh(data.risk.head_rank_level)])

head_en(unit) := " (a whole-org risk assessment is led by the leadership)" if unit == ""

else := sprintf(" and holds no post of %s or above in unit %s", [lib.rank_en(data.risk.head_rank_level), unit])

# METADATA
# title: Nobody reviews their own risk points
# description: >-
#   risk.campaign.advance: from a stage of data.risk.self_review_stages on (LEADER_REVIEW and
#   later), a person acting (the actor or their principal) drafted a risk point of the
#   campaign (campaign.drafters).
# custom:
#   id: risk.self_review
#   basis: 查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.risk.rule_actions.self_review[input.action]
	input.action == "risk.campaign.advance"
	data.risk.self_review_stages[input.campaign.stage]
	some p in lib.acting
	p in input.campaign.drafters
	v := lib.violation(
		"risk.self_review",
		sprintf("%s 起草了风险评估 %v 的风险点,自“%s”阶段起不得推进本评估(风险点须由他人审定)", [p, input.campaign.id, stage_zh(input.campaign.stage)]),
		sprintf("%s drafted risk points of risk assessment %v and, from the %s stage on, may not advance it: others review them", [p, input.campaign.id, stage_en(input.campaign.stage)]),
		"查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: Nobody answers objections to their own risk point
# description: >-
#   risk.answer_objection: a person acting (the actor or their principal) drafted the risk
#   point objected to (risk.drafted_by).
# custom:
#   id: risk.self_review
#   basis: 查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.risk.rule_actions.self_review[input.action]
	input.action == "risk.answer_objection"
	p := input.risk.drafted_by
	lib.acting[p]
	v := lib.violation(
		"risk.self_review",
		sprintf("%s 起草了风险点 %v,不得答复对它的异议(%s)", [p, input.risk.id, objector_zh]),
		sprintf("%s drafted risk point %v and may not answer an objection to it (%s)", [p, input.risk.id, objector_en]),
		"查找出来的岗位、股室(所)和领导班子风险点要经过局领导班子审核把关(财政局廉政管理指导方案);使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

objector_zh := "匿名异议" if input.objection.by == ""

else := sprintf("%v 提出的异议", [input.objection.by])

objector_en := "an anonymous objection" if input.objection.by == ""

else := sprintf("raised by %v", [input.objection.by])

# METADATA
# title: The stages in order
# description: >-
#   risk.campaign.advance: campaign.to_stage is not the stage that follows campaign.stage
#   (data.risk.advance). COLLECTIVE is left only by closing its leadership meeting
#   (risk.meeting.close, data.risk.left_by), and IN_FORCE is the last stage.
# custom:
#   id: risk.stage_order
#   basis: 按照“高”、“中”、“低”三个等级进行评定,并经单位领导班子集体审定(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条);查找风险点采取自己找、群众帮、领导提、集体定等多种方式进行(财政局廉政管理指导方案)
deny contains v if {
	data.risk.rule_actions.stage_order[input.action]
	from := input.campaign.stage
	to := input.campaign.to_stage
	not data.risk.advance[from] == to
	v := lib.violation(
		"risk.stage_order",
		sprintf("风险评估 %v 不得从“%s”阶段进入“%s”阶段:%s", [input.campaign.id, stage_zh(from), stage_zh(to), next_zh(from)]),
		sprintf("risk assessment %v may not move from the %s stage to the %s stage: %s", [input.campaign.id, stage_en(from), stage_en(to), next_en(from)]),
		"按照“高”、“中”、“低”三个等级进行评定,并经单位领导班子集体审定(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条);查找风险点采取自己找、群众帮、领导提、集体定等多种方式进行(财政局廉政管理指导方案)",
	)
}

next_zh(from) := sprintf("下一阶段是“%s”", [stage_zh(next)]) if {
	next := data.risk.advance[from]
} else := sprintf("“%s”阶段只能通过%s离开", [stage_zh(from), by]) if {
	by := data.risk.left_by[from].zh
} else := "此后没有可进入的阶段"

next_en(from) := sprintf("the next stage is %s", [stage_en(next)]) if {
	next := data.risk.advance[from]
} else := sprintf("the %s stage is left only by %s", [stage_en(from), by]) if {
	by := data.risk.left_by[from].en
} else := "no stage follows it"

# publicity_ended holds when the publicity period (公示) has passed: publicity_end is set and
# today is after it (publicity_end is its last day).
publicity_ended if {
	end := input.campaign.publicity_end
	is_string(end)
	end != ""
	input.today > end
}

# METADATA
# title: The publicity period runs its course
# description: >-
#   risk.campaign.advance to IN_FORCE (data.risk.in_force_stage) while the publicity period
#   has not passed: campaign.publicity_end is "" (publicity not started) or not before
#   today.
# custom:
#   id: risk.publicity_open
#   basis: 领导小组办公室对各部门上报的风险点以及防范措施进行统一审定后,通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
deny contains v if {
	data.risk.rule_actions.publicity_open[input.action]
	input.campaign.to_stage == data.risk.in_force_stage
	not publicity_ended
	v := lib.violation(
		"risk.publicity_open",
		sprintf("风险评估 %v 的公示期%s,公示期满后方可正式实施", [input.campaign.id, publicity_zh]),
		sprintf("the publicity period of risk assessment %v %s: it comes into force only after the period is over", [input.campaign.id, publicity_en]),
		"领导小组办公室对各部门上报的风险点以及防范措施进行统一审定后,通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)",
	)
}

publicity_zh := "尚未开始" if input.campaign.publicity_end == ""

else := sprintf("至 %v 截止,今日(%s)尚未期满", [input.campaign.publicity_end, input.today])

publicity_en := "has not started" if input.campaign.publicity_end == ""

else := sprintf("runs until %v and is not over today (%s)", [input.campaign.publicity_end, input.today])

# METADATA
# title: Every objection answered before force
# description: >-
#   risk.campaign.advance to IN_FORCE while objections raised in the publicity period are
#   unanswered (campaign.open_objections > 0).
# custom:
#   id: risk.objections_open
#   basis: 通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
deny contains v if {
	data.risk.rule_actions.objections_open[input.action]
	input.campaign.to_stage == data.risk.in_force_stage
	n := input.campaign.open_objections
	is_number(n)
	n > 0
	v := lib.violation(
		"risk.objections_open",
		sprintf("风险评估 %v 尚有 %v 条公示异议未答复,答复后方可正式实施", [input.campaign.id, n]),
		sprintf("risk assessment %v has %v unanswered objections from its publicity period: it comes into force only once they are answered", [input.campaign.id, n]),
		"通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)",
	)
}

# METADATA
# title: Objections within the publicity period
# description: >-
#   risk.object after the publicity period: today is after campaign.publicity_end (its last
#   day).
# custom:
#   id: risk.publicity_over
#   basis: 通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
deny contains v if {
	data.risk.rule_actions.publicity_over[input.action]
	publicity_ended
	v := lib.violation(
		"risk.publicity_over",
		sprintf("风险评估 %v 的公示期已于 %v 截止,今日(%s)不得再对风险点 %v 提出异议", [input.campaign.id, input.campaign.publicity_end, input.today, input.risk.id]),
		sprintf("the publicity period of risk assessment %v ended on %v: no objection to risk point %v may be raised today (%s)", [input.campaign.id, input.campaign.publicity_end, input.risk.id, input.today]),
		"通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督。公示期满后,正式印发执行(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)",
	)
}

# scheme is the kind scheme the org follows (data.risk.org_schemes, else the default).
scheme := object.get(data.risk.org_schemes, input.org, data.risk.default_scheme)

# METADATA
# title: A known kind of risk
# description: >-
#   The risk point's kind (risk.kind) is not a kind of the scheme the org follows
#   (data.risk.kind_schemes[data.risk.org_schemes[org] or data.risk.default_scheme].kinds).
# custom:
#   id: risk.unknown_kind
#   basis: 认真查找岗位职责、业务流程、制度机制、外部环境等方面可能引起腐败的风险(江西农业大学廉政风险防范管理工作实施方案);重点查找权力行使、制度机制和思想道德等方面存在的廉政风险(中央纪委监察部《关于加强廉政风险防控的指导意见》第5条)
deny contains v if {
	data.risk.rule_actions.unknown_kind[input.action]
	kind := input.risk.kind
	not data.risk.kind_schemes[scheme].kinds[kind]
	known := object.keys(object.get(data.risk.kind_schemes, [scheme, "kinds"], {}))
	v := lib.violation(
		"risk.unknown_kind",
		sprintf("风险点 %v 的类型“%v”不在本单位采用的风险类型中(%s)", [input.risk.id, kind, lib.list_text(known)]),
		sprintf("the kind %q of risk point %v is not one of the org's risk kinds (%s)", [sprintf("%v", [kind]), input.risk.id, lib.list_text_en(known)]),
		"认真查找岗位职责、业务流程、制度机制、外部环境等方面可能引起腐败的风险(江西农业大学廉政风险防范管理工作实施方案);重点查找权力行使、制度机制和思想道德等方面存在的廉政风险(中央纪委监察部《关于加强廉政风险防控的指导意见》第5条)",
	)
}

# METADATA
# title: Measures move one step at a time
# description: >-
#   risk.measure.update: the change from measure.from to measure.to is not in
#   data.risk.measure_transitions (PLANNED → IN_PLACE → VERIFIED, one step forward, or back
#   to PLANNED).
# custom:
#   id: risk.measure_order
#   basis: 按照执行环节中廉政风险前期预防、中期监控机制和后期处置的办法,组织对审核后的防范措施进行实施和监控(财政局廉政管理指导方案)
deny contains v if {
	data.risk.rule_actions.measure_order[input.action]
	from := input.measure.from
	to := input.measure.to
	not data.risk.measure_transitions[from][to]
	v := lib.violation(
		"risk.measure_order",
		sprintf("风险点 %v 的防控措施 %v 不得从“%s”改为“%s”:措施须逐步落实、核实,或退回计划", [input.risk.id, input.measure.id, status_zh(from), status_zh(to)]),
		sprintf("measure %v of risk point %v may not move from %s to %s: a measure moves one step forward, or back to planned", [input.measure.id, input.risk.id, status_en(from), status_en(to)]),
		"按照执行环节中廉政风险前期预防、中期监控机制和后期处置的办法,组织对审核后的防范措施进行实施和监控(财政局廉政管理指导方案)",
	)
}

# METADATA
# title: The responsible person puts a measure in place
# description: >-
#   risk.measure.update to a status of data.risk.responsible_statuses (IN_PLACE) by someone
#   (lib.principal) who is not the measure's responsible person (measure.responsible) and
#   holds no post of rank ≥ 4 (处长) in the risk point's unit (risk.unit) today.
# custom:
#   id: risk.not_responsible
#   basis: 对不同等级的廉政风险实行分级管理、分级负责、责任到人(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条)
deny contains v if {
	data.risk.rule_actions.not_responsible[input.action]
	data.risk.responsible_statuses[input.measure.to]
	person := lib.principal
	person != input.measure.responsible
	not head_of(person, input.risk.unit)
	v := lib.violation(
		"risk.not_responsible",
		sprintf("%s 不是风险点 %v 防控措施 %v 的责任人(%v),也未担任处室 %v 的%s及以上职务,不得将其标为“%s”", [person, input.risk.id, input.measure.id, input.measure.responsible, input.risk.unit, lib.rank_zh(data.risk.head_rank_level), status_zh(input.measure.to)]),
		sprintf("%s is neither the person responsible for measure %v of risk point %v (%v) nor holds a post of %s or above in unit %v, and may not mark it %s", [person, input.measure.id, input.risk.id, input.measure.responsible, lib.rank_en(data.risk.head_rank_level), input.risk.unit, status_en(input.measure.to)]),
		"对不同等级的廉政风险实行分级管理、分级负责、责任到人(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条)",
	)
}

# METADATA
# title: Nobody verifies their own measure
# description: >-
#   risk.measure.update to a status of data.risk.verify_statuses (VERIFIED) by a person
#   acting (the actor or their principal) who is the measure's responsible person
#   (measure.responsible) or the risk point's drafter (risk.drafted_by); one violation each.
# custom:
#   id: risk.self_verify
#   basis: 各级纪检监察机关、承担预防腐败工作的职能部门要认真履行职责,加强监督检查,推动廉政风险防控工作的落实(中央纪委监察部《关于加强廉政风险防控的指导意见》第14条)
deny contains v if {
	data.risk.rule_actions.self_verify[input.action]
	data.risk.verify_statuses[input.measure.to]
	some [p, role_zh, role_en] in [
		[input.measure.responsible, "责任人", "the person responsible for it"],
		[input.risk.drafted_by, "风险点的起草人", "the drafter of the risk point"],
	]
	lib.acting[p]
	v := lib.violation(
		"risk.self_verify",
		sprintf("%s 是风险点 %v 防控措施 %v 的%s,不得核实该措施", [p, input.risk.id, input.measure.id, role_zh]),
		sprintf("%s is %s and may not verify measure %v of risk point %v", [p, role_en, input.measure.id, input.risk.id]),
		"各级纪检监察机关、承担预防腐败工作的职能部门要认真履行职责,加强监督检查,推动廉政风险防控工作的落实(中央纪委监察部《关于加强廉政风险防控的指导意见》第14条)",
	)
}

# METADATA
# title: A leader or the discipline office verifies a measure
# description: >-
#   risk.measure.update to a status of data.risk.verify_statuses (VERIFIED) by someone
#   (lib.principal) who is neither in the org's leadership nor a person of a discipline unit
#   (data.risk.discipline_unit_kinds: their unit in the facts, or a post held in one today).
# custom:
#   id: risk.self_verify
#   basis: 各级纪检监察机关、承担预防腐败工作的职能部门要认真履行职责,加强监督检查,推动廉政风险防控工作的落实(中央纪委监察部《关于加强廉政风险防控的指导意见》第14条)
deny contains v if {
	data.risk.rule_actions.self_verify[input.action]
	data.risk.verify_statuses[input.measure.to]
	person := lib.principal
	not leader(person)
	not in_discipline(person)
	v := lib.violation(
		"risk.self_verify",
		sprintf("%s 既不是领导班子成员,也不是纪检监察部门人员,不得核实风险点 %v 的防控措施 %v", [person, input.risk.id, input.measure.id]),
		sprintf("%s is neither a leader nor a person of the discipline office and may not verify measure %v of risk point %v", [person, input.measure.id, input.risk.id]),
		"各级纪检监察机关、承担预防腐败工作的职能部门要认真履行职责,加强监督检查,推动廉政风险防控工作的落实(中央纪委监察部《关于加强廉政风险防控的指导意见》第14条)",
	)
}

# METADATA
# title: Only an active person of the org comments and objects
# description: >-
#   risk.comment, risk.object: the actor (input.actor.person) is not an active person of the
#   org: unknown to its facts, or marked as having left.
# custom:
#   id: risk.inactive_actor
#   basis: 通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
deny contains v if {
	data.risk.rule_actions.inactive_actor[input.action]
	person := input.actor.person
	not lib.active(person)
	v := lib.violation(
		"risk.inactive_actor",
		sprintf("%v 不是本单位(%v)的在职人员(未登记或已离职),不得%s", [person, input.org, act_zh]),
		sprintf("%v is not an active person of org %v (unknown or left) and may not %s", [person, input.org, act_en]),
		"通过办公网、电子显示屏进行公示,广泛征求意见,接受干部职工的监督(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)",
	)
}
