# METADATA
# title: The case and who acts on it
# description: >-
#   Who may act on a case outside its sign-off chain: only the applicant withdraws it (撤回),
#   only the applicant, A角 or B角 changes its payload, only an active person of the org acts
#   on it or is added as a signer (加签), and only a role granting data.case.hold_permission
#   holds (拦截) a case or releases the hold. Scope: data.case.actions, and per rule
#   data.case.rule_actions.
package fenquan.case

import data.fenquan.api
import data.fenquan.lib

# Every deny rule starts with its guard, data.case.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.case.actions, which the tests check
# holds every action of rule_actions.

# METADATA
# title: Only the applicant withdraws
# description: >-
#   No person acting (the actor, or the principal they act for) is the case's applicant.
#   (That nothing is signed yet is the approval service's state check.)
# custom:
#   id: case.not_applicant
#   basis: 全面实行岗位责任制、首问负责制、限时办结制、绩效评估制、行政问责制(财政局廉政管理指导方案)
deny contains v if {
	data.case.rule_actions.not_applicant[input.action]
	not lib.acting[input.case.applicant]
	who := lib.list_text(lib.acting)
	v := lib.violation(
		"case.not_applicant",
		sprintf("%s 不是案件 %s 的申请人(申请人为 %s),不得%s本案", [who, input.case.id, input.case.applicant, lib.verb_zh]),
		sprintf("%s is not the applicant of case %s (the applicant is %s) and may not %s it", [lib.list_text_en(lib.acting), input.case.id, input.case.applicant, lib.verb_en]),
		"全面实行岗位责任制、首问负责制、限时办结制、绩效评估制、行政问责制(财政局廉政管理指导方案)",
	)
}

# METADATA
# title: Only the applicant, A角 or B角 changes the payload
# description: >-
#   No person acting (the actor, or the principal they act for) is the applicant, A (主办)
#   or B (协办) of the case whose payload (amount, payee, fund, indicator) they change.
# custom:
#   id: case.not_editor
#   basis: 推行岗位AB角管理,每一项工作都将主办责任人设为A角,协办责任人设为B角,使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.case.rule_actions.not_editor[input.action]
	not editor
	v := lib.violation(
		"case.not_editor",
		sprintf("%s 不是案件 %s 的申请人(%s)、A角(%s)或B角(%s),不得修改本案的金额、付款对象、资金或指标", [lib.list_text(lib.acting), input.case.id, input.case.applicant, input.case.a, input.case.b]),
		sprintf("%s is neither the applicant (%s) nor A (%s) nor B (%s) of case %s and may not change its amount, payee, fund or indicator", [lib.list_text_en(lib.acting), input.case.applicant, input.case.a, input.case.b, input.case.id]),
		"推行岗位AB角管理,每一项工作都将主办责任人设为A角,协办责任人设为B角,使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# editor holds when a person acting is the applicant, A or B of the case.
editor if lib.acting[input.case.applicant]

editor if lib.acting[input.case.a]

editor if lib.acting[input.case.b]

# METADATA
# title: Only an active person of the org acts on a case
# description: >-
#   The actor (input.actor.person) is not an active person of the org: unknown to its facts,
#   or marked as having left.
# custom:
#   id: case.inactive_actor
#   basis: 明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	data.case.rule_actions.inactive_actor[input.action]
	person := input.actor.person
	not lib.active(person)
	v := lib.violation(
		"case.inactive_actor",
		sprintf("%s 不是本单位(%s)的在职人员(未登记或已离职),不得对案件 %s 进行“%s”", [person, input.org, input.case.id, lib.verb_zh]),
		sprintf("%s is not an active person of org %s (unknown or left) and may not %s case %s", [person, input.org, lib.verb_en, input.case.id]),
		"明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# METADATA
# title: Only an active person of the org is added as a signer
# description: >-
#   The person added as a signer of the step (input.signer.person, 加签) is not an active
#   person of the org: unknown to its facts, or marked as having left.
# custom:
#   id: case.signer_inactive
#   basis: 明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	data.case.rule_actions.signer_inactive[input.action]
	signer := input.signer.person
	not lib.active(signer)
	v := lib.violation(
		"case.signer_inactive",
		sprintf("%s 不是本单位(%s)的在职人员(未登记或已离职),不得被加签为案件 %s 步骤 %s 的签署人", [signer, input.org, input.case.id, input.step.id]),
		sprintf("%s is not an active person of org %s (unknown or left) and may not be added as a signer of step %s of case %s", [signer, input.org, input.step.id, input.case.id]),
		"明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# METADATA
# title: Only a role granting the hold permission holds a case
# description: >-
#   No role of the caller grants data.case.hold_permission (approval.holds.write): neither an
#   org role of input.roles that is not a platform role, nor a platform role (platform: true)
#   of input.platform_roles. Roles and grants are package api's (data.api.roles, an exact
#   permission, "*", or a trailing ".*" family).
# custom:
#   id: case.hold_permission
#   basis: 对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设);明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	data.case.rule_actions.hold_permission[input.action]
	not hold_granted
	perm := data.case.hold_permission
	v := lib.violation(
		"case.hold_permission",
		sprintf("%s 的角色(本单位:%s;平台:%s)均未授予权限 %s,不得%s案件 %s;该权限由角色 %s 授予", [input.actor.person, roles_text(object.get(input, "roles", [])), roles_text(object.get(input, "platform_roles", [])), perm, lib.verb_zh, input.case.id, lib.list_text(hold_granting)]),
		sprintf("no role of %s (org: %s; platform: %s) grants the permission %s, needed to %s case %s; it comes with the role(s) %s", [input.actor.person, roles_text_en(object.get(input, "roles", [])), roles_text_en(object.get(input, "platform_roles", [])), perm, lib.verb_en, input.case.id, lib.list_text_en(hold_granting)]),
		"对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设);明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# hold_granted holds when an org role of input.roles (not a platform role), or a platform
# role of input.platform_roles, grants the hold permission (api.grants).
hold_granted if {
	some name in input.roles
	role := data.api.roles[name]
	object.get(role, "platform", false) == false
	api.grants(role.permissions, data.case.hold_permission)
}

hold_granted if {
	some name in input.platform_roles
	role := data.api.roles[name]
	object.get(role, "platform", false) == true
	api.grants(role.permissions, data.case.hold_permission)
}

# hold_granting is the roles that grant the hold permission, so a denial says whom to ask
# (computed only when denying; the role table is small and is not org facts).
hold_granting := sort([name |
	some name, role in data.api.roles
	api.grants(role.permissions, data.case.hold_permission)
])

# roles_text and roles_text_en list the roles a caller holds, or say there are none.
roles_text(xs) := lib.list_text(names) if {
	is_array(xs)
	names := [x | some x in xs; is_string(x)]
	count(names) > 0
} else := "无"

roles_text_en(xs) := lib.list_text_en(names) if {
	is_array(xs)
	names := [x | some x in xs; is_string(x)]
	count(names) > 0
} else := "none"
