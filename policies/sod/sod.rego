# METADATA
# title: Separation of duties (分权制衡)
# description: >-
#   The horizontal split of power on a case: A角 and B角 are two people, nobody does two
#   steps of one separation (不相容岗位分离), whoever manages a fund or indicator does not
#   handle it (管办分离), nobody approves their own case, anyone with a conflict stands
#   aside (回避), a delegation does not carry a delegate into a separated role, and who set
#   a budget indicator does not approve payments against it; nobody added as a signer
#   (加签) crosses a separation, signs their own case or step twice, or has a conflict, and
#   nobody who takes part in a case holds (拦截) it. Who signed a step counts with every
#   signature of input.case.signatures, voided ones included: a return (退回) or a payload
#   change voids signatures for the chain's progress (package signoff), but whoever once
#   signed a step of the case stays its signer for separation purposes. Scope:
#   data.sod.actions, and per rule data.sod.rule_actions.
package fenquan.sod

import data.fenquan.lib
import future.keywords.or

# Every deny rule starts with its guard, data.sod.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.sod.actions, which the tests check
# holds every action of rule_actions.

# METADATA
# title: A角 and B角 are two people
# description: A (主办) and B (协办) of a case are the same person.
# custom:
#   id: sod.ab_distinct
#   basis: 推行岗位AB角管理,每一项工作都将主办责任人设为A角,协办责任人设为B角,使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.ab_distinct[input.action]
	input.case.a == input.case.b
	v := lib.violation(
		"sod.ab_distinct",
		sprintf("案件 %s 的A角(主办)和B角(协办)是同一人 %s:A、B角须由两人分别担任", [input.case.id, input.case.a]),
		sprintf("case %s names %s as both A (lead) and B (assisting officer): A and B must be two people", [input.case.id, input.case.a]),
		"推行岗位AB角管理,每一项工作都将主办责任人设为A角,协办责任人设为B角,使之在工作上既互相配合又互相监督制约,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: Separated steps are done by different people
# description: >-
#   The actor, or the principal they act for, already signed another step of a separation
#   this step belongs to (不相容岗位分离: 经办/审核/审批, 支付审核与拨付办理, 调查/决定/执行 …).
#   Every signature of the case counts, voided ones included (voided: true, by a return or
#   a payload change): a reviewer whose signature a return voided, and whom someone else
#   replaced, does not become the approver.
# custom:
#   id: sod.separated_steps
#   basis: 将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.separated_steps[input.action]
	some who in lib.acting
	some sig in input.case.signatures
	who == sig.person or {
		who == sig.on_behalf_of
		_ = sig.person # a signature without a person counts for nobody
	}
	other := sig.step
	other != input.step.id
	some sep in input.step.separations
	other in sep.steps
	v := lib.violation(
		"sod.separated_steps",
		sprintf("%s 已在案件 %s 的步骤 %s 签署%s,不得再%s与之分离的步骤 %s(%s)", [who, input.case.id, other, voided_note_zh(who, other), lib.verb_zh, input.step.id, sep_name(sep)]),
		sprintf("%s already signed step %s of case %s%s and may not %s step %s, which is separated from it (%s)", [who, other, input.case.id, voided_note_en(who, other), lib.verb_en, input.step.id, sep_name(sep)]),
		"将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: 管办分离
# description: >-
#   The step is a handling (办) step and the actor, or their principal, holds today a post
#   that manages (管) the case's fund or budget indicator: a post listed for the code in
#   data.facts.orgs[org].fund_managers, the index of the posts' managed_funds.
# custom:
#   id: sod.manage_handle
#   basis: 设立处内综合督办岗,负责处内资金指标管理及督办工作,对处内指标实行“管”、“办”分离(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.manage_handle[input.action]
	data.sod.handle_controls[input.step.control]
	some [who, post, target] in managing
	v := lib.violation(
		"sod.manage_handle",
		sprintf("管办分离:%s 现任岗位 %s 管理本案(%s)的资金或指标 %s,不得办理“办”步骤 %s", [who, post, input.case.id, target, input.step.id]),
		sprintf("manage/handle separation: %s holds post %s, which manages fund or indicator %s of case %s, and may not act on the handling step %s", [who, post, target, input.case.id, input.step.id]),
		"设立处内综合督办岗,负责处内资金指标管理及督办工作,对处内指标实行“管”、“办”分离(武汉市财政局廉政风险防范体系建设)",
	)
}

# managing contains [who, post, target] when who (the actor or their principal) holds today
# post, which manages target, the case's fund or budget indicator. With the day's index (see
# lib) the funds the person's posts manage are one look-up (most people manage none), and
# the posts are named only when one matches; without it, every assignment of the person is
# checked. The whole index entry is read once (lib.holds finds it cached).
managing contains [who, post, target] if {
	data.facts.today == input.today
	some who in lib.acting
	held := data.facts.orgs[input.org].current[who]
	count(held.funds) > 0
	some target in [input.case.fund, input.case.indicator]
	held.funds[target]
	some post, _ in held.posts
	post in data.facts.orgs[input.org].fund_managers[target]
}

managing contains [who, post, target] if {
	not data.facts.today == input.today
	some who in lib.acting
	some h in data.facts.orgs[input.org].holdings[who]
	post := h.post
	some target in [input.case.fund, input.case.indicator]
	post in data.facts.orgs[input.org].fund_managers[target]
	lib.holding_valid(h)
	lib.active(who)
}

# METADATA
# title: No approval of one's own case
# description: >-
#   The applicant (in person or as the principal of a delegate) claims, signs, rejects or
#   returns a step of their own case other than the entry step, adds a signer to it (加签)
#   or delegates it.
# custom:
#   id: sod.self_approval
#   basis: 按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.self_approval[input.action]
	who := input.case.applicant
	lib.acting[who]
	not input.step.entry
	v := lib.violation(
		"sod.self_approval",
		sprintf("%s 是案件 %s 的申请人,不得%s本案的步骤 %s", [who, input.case.id, lib.verb_zh, input.step.id]),
		sprintf("%s is the applicant of case %s and may not %s its step %s", [who, input.case.id, lib.verb_en, input.step.id]),
		"按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: 回避 (conflict of interest)
# description: >-
#   The actor, or their principal, has a conflict declaration valid today that matches the
#   case's payee: by code when both carry one, or by name.
# custom:
#   id: sod.conflict_of_interest
#   basis: 公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)
deny contains v if {
	data.sod.rule_actions.conflict_of_interest[input.action]
	some who in lib.acting
	some d in data.facts.orgs[input.org].conflicts[who]
	lib.matches_counterparty(d, input.case.payee)
	lib.declaration_valid(d)
	v := lib.violation(
		"sod.conflict_of_interest",
		sprintf("回避:%s 申报了与付款对象 %s 的利害关系(%s,%s 起),不得%s案件 %s", [who, input.case.payee.name, relation_text(d), object.get(d, "from", ""), lib.verb_zh, input.case.id]),
		sprintf("conflict of interest: %s declared a relation with the payee %s (%s, from %s) and may not %s case %s", [who, input.case.payee.name, object.get(d, "relation", ""), object.get(d, "from", ""), lib.verb_en, input.case.id]),
		"公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)",
	)
}

# METADATA
# title: A delegation does not cross a separation
# description: >-
#   Delegating the step would bring the delegate into a separated role: the delegate
#   already signed a step of a separation the delegated step belongs to. Every signature of
#   the case counts, voided ones included (by a return or a payload change): who once
#   signed a step stays its signer for separation purposes.
# custom:
#   id: sod.delegation_separation
#   basis: 将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.delegation_separation[input.action]
	delegate := input.delegation.delegate
	this := input.step.id
	signatures := input.case.signatures
	some sep in input.step.separations
	some sig in signatures
	other := sig.step
	other != this
	other in sep.steps
	delegate in [sig.person, object.get(sig, "on_behalf_of", "")]
	v := lib.violation(
		"sod.delegation_separation",
		sprintf("%s 已在案件 %s 的步骤 %s 签署%s,不得受 %s 委托办理与之分离的步骤 %s(%s)", [delegate, input.case.id, other, voided_note_zh(delegate, other), input.actor.person, input.step.id, sep_name(sep)]),
		sprintf("%s already signed step %s of case %s%s and may not take step %s, separated from it (%s), as the delegate of %s", [delegate, other, input.case.id, voided_note_en(delegate, other), input.step.id, sep_name(sep), input.actor.person]),
		"将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: A delegation does not make the applicant an approver
# description: The delegate is the applicant of the case and the step is not the entry step.
# custom:
#   id: sod.delegation_separation
#   basis: 按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.delegation_separation[input.action]
	input.delegation.delegate == input.case.applicant
	not input.step.entry
	v := lib.violation(
		"sod.delegation_separation",
		sprintf("%s 是案件 %s 的申请人,不得受 %s 委托办理本案的步骤 %s", [input.case.applicant, input.case.id, input.actor.person, input.step.id]),
		sprintf("%s is the applicant of case %s and may not take its step %s as the delegate of %s", [input.case.applicant, input.case.id, input.step.id, input.actor.person]),
		"按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: Who set the indicator does not approve against it
# description: >-
#   The actor, or their principal, signed the 预算指标 step for the case's budget indicator
#   and now signs a payment step, or a step whose duty is an approval duty
#   (data.sod.approval_duties), of a case on that indicator.
# custom:
#   id: sod.indicator_setter
#   basis: 对处内指标实行“管”、“办”分离,增加一道资金指标复核屏障,确保资金管理责任到人(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.indicator_setter[input.action]
	acting := lib.acting
	some who in input.case.indicator_set_by
	acting[who]
	input.case.indicator != ""
	approving_step
	v := lib.violation(
		"sod.indicator_setter",
		sprintf("%s 下达了预算指标 %s,不得审批或支付以该指标列支的案件 %s(步骤 %s,%s)", [who, input.case.indicator, input.case.id, input.step.id, step_duty_zh]),
		sprintf("%s set the budget indicator %s and may not approve or pay case %s against it (step %s, %s)", [who, input.case.indicator, input.case.id, input.step.id, step_duty_en]),
		"对处内指标实行“管”、“办”分离,增加一道资金指标复核屏障,确保资金管理责任到人(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: An added signer does not cross a separation
# description: >-
#   The person added as a signer of the step (加签, input.signer.person) already signed, in
#   person or as the principal of a delegate, another step of a separation this step
#   belongs to. Every signature of the case counts, voided ones included (by a return or a
#   payload change).
# custom:
#   id: sod.added_signer
#   basis: 将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.added_signer[input.action]
	signer := input.signer.person
	this := input.step.id
	signatures := input.case.signatures
	some sep in input.step.separations
	some sig in signatures
	other := sig.step
	other != this
	other in sep.steps
	signer in [sig.person, object.get(sig, "on_behalf_of", "")]
	v := lib.violation(
		"sod.added_signer",
		sprintf("%s 已在案件 %s 的步骤 %s 签署%s,%s 不得将其加签为与之分离的步骤 %s 的签署人(%s)", [signer, input.case.id, other, voided_note_zh(signer, other), input.actor.person, input.step.id, sep_name(sep)]),
		sprintf("%s already signed step %s of case %s%s; %s may not add them as a signer of step %s, which is separated from it (%s)", [signer, other, input.case.id, voided_note_en(signer, other), input.actor.person, input.step.id, sep_name(sep)]),
		"将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: The applicant is not added as a signer
# description: The person added as a signer is the applicant of the case and the step is not the entry step.
# custom:
#   id: sod.added_signer
#   basis: 按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.added_signer[input.action]
	input.signer.person == input.case.applicant
	not input.step.entry
	v := lib.violation(
		"sod.added_signer",
		sprintf("%s 是案件 %s 的申请人,%s 不得将其加签为本案步骤 %s 的签署人", [input.case.applicant, input.case.id, input.actor.person, input.step.id]),
		sprintf("%s is the applicant of case %s; %s may not add them as a signer of its step %s", [input.case.applicant, input.case.id, input.actor.person, input.step.id]),
		"按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: Nobody adds themself as a signer
# description: >-
#   The person added as a signer is the actor, or the principal the actor acts for: one
#   person would sign the step twice.
# custom:
#   id: sod.added_signer
#   basis: 按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.sod.rule_actions.added_signer[input.action]
	signer := input.signer.person
	lib.acting[signer]
	v := lib.violation(
		"sod.added_signer",
		sprintf("%s 正在办理本次加签(本人或作为委托人),不得被加签为案件 %s 步骤 %s 的签署人", [signer, input.case.id, input.step.id]),
		sprintf("%s is adding the signer (in person or as the principal) and may not be added as a signer of step %s of case %s", [signer, input.step.id, input.case.id]),
		"按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关,避免一人独办(武汉市财政局廉政风险防范体系建设)",
	)
}

# METADATA
# title: A conflicted person is not added as a signer
# description: >-
#   The person added as a signer has a conflict declaration valid today that matches the
#   case's payee (by code when both carry one, by name otherwise).
# custom:
#   id: sod.added_signer_conflict
#   basis: 公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)
deny contains v if {
	data.sod.rule_actions.added_signer_conflict[input.action]
	signer := input.signer.person
	lib.declares_conflict(signer, input.case.payee)
	v := lib.violation(
		"sod.added_signer_conflict",
		sprintf("回避:%s 申报了与付款对象 %s 的利害关系,不得被加签为案件 %s 步骤 %s 的签署人", [signer, input.case.payee.name, input.case.id, input.step.id]),
		sprintf("conflict of interest: %s declared a relation with the payee %s and may not be added as a signer of step %s of case %s", [signer, input.case.payee.name, input.step.id, input.case.id]),
		"公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)",
	)
}

# METADATA
# title: Who takes part in a case does not hold it
# description: >-
#   监督与执行分离: a person acting (the actor, or the principal they act for) on a hold
#   (拦截) or its release is the applicant, A (主办) or B (协办) of the case.
# custom:
#   id: sod.supervisor_involved
#   basis: 建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.sod.rule_actions.supervisor_involved[input.action]
	some role, name in case_roles
	who := input.case[role]
	lib.acting[who]
	v := lib.violation(
		"sod.supervisor_involved",
		sprintf("监督与执行分离:%s 是案件 %s 的%s,不得%s本案", [who, input.case.id, name.zh, lib.verb_zh]),
		sprintf("supervision is separate from execution: %s is the %s of case %s and may not %s it", [who, name.en, input.case.id, lib.verb_en]),
		"建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

# case_roles names the roles a person takes in a case, for sod.supervisor_involved.
case_roles := {
	"applicant": {"zh": "申请人", "en": "applicant"},
	"a": {"zh": "A角(主办)", "en": "A (lead)"},
	"b": {"zh": "B角(协办)", "en": "B (assisting officer)"},
}

# METADATA
# title: Who signed a case does not hold it
# description: >-
#   监督与执行分离: a person acting on a hold (拦截) or its release signed a step of the
#   case, in person or as the principal of a delegate. Every signature of the case counts,
#   voided ones included (by a return or a payload change): who took part in the case once
#   does not supervise it.
# custom:
#   id: sod.supervisor_involved
#   basis: 建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.sod.rule_actions.supervisor_involved[input.action]
	some who in lib.acting
	some sig in input.case.signatures
	who == sig.person or {
		who == sig.on_behalf_of
		_ = sig.person # a signature without a person counts for nobody
	}
	v := lib.violation(
		"sod.supervisor_involved",
		sprintf("监督与执行分离:%s 已在案件 %s 的步骤 %s 签署%s,不得%s本案", [who, input.case.id, sig.step, voided_note_zh(who, sig.step), lib.verb_zh]),
		sprintf("supervision is separate from execution: %s signed step %s of case %s%s and may not %s it", [who, sig.step, input.case.id, voided_note_en(who, sig.step), lib.verb_en]),
		"建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

approving_step if input.step.payment == true

approving_step if data.sod.approval_duties[input.step.duty]

step_duty_zh := sprintf("%s,支付步骤", [input.step.duty]) if input.step.payment == true

else := input.step.duty

step_duty_en := sprintf("%s, a payment step", [input.step.duty]) if input.step.payment == true

else := input.step.duty

sep_name(sep) := object.get(sep, "name", object.get(sep, "id", ""))

# voided_note_zh(who, step) and voided_note_en(who, step) are what a message adds when
# every signature who made at step (in person, or as the principal of a delegate) was
# voided, by a return (退回) or a payload change: the signature no longer counts for the
# chain, but who made it is still the step's signer here. Empty when one of them is valid.
# Asked only when a rule denies.
voided_note_zh(who, step) := "" if {
	has_valid_signature(who, step)
} else := "(该签署已因退回或修改而作废,但仍计入分权制衡)"

voided_note_en(who, step) := "" if {
	has_valid_signature(who, step)
} else := " (that signature was voided by a return or a payload change, but still counts for the separation)"

# has_valid_signature(who, step) holds when who signed step, in person or as the principal
# of a delegate, and the signature was not voided (voided absent or false).
has_valid_signature(who, step) if {
	some sig in input.case.signatures
	sig.step == step
	who in [sig.person, object.get(sig, "on_behalf_of", "")]
	object.get(sig, "voided", false) == false
}

relation_text(d) := object.get(data.sod.relations, object.get(d, "relation", ""), object.get(d, "relation", ""))
