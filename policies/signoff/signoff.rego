# METADATA
# title: The sign-off chain (纵向层级把关)
# description: >-
#   The longitudinal chain 经办人→主管责任人→分管处长→处长: who may act at a step, no level
#   skipped, the amount band's rank reached before completion, 集体决策 for 大额, and the
#   emergency channel's justification and 联合会审. The chain's progress counts only the
#   valid signatures (valid_signatures: input.case.signatures not voided by a return or a
#   payload change); the voided ones, which the input carries too, are for the separation
#   rules (package sod). Thresholds: data.signoff.bands and data.signoff.large_amount.
#   Scope: data.signoff.actions, per rule data.signoff.rule_actions.
package fenquan.signoff

import data.fenquan.lib
import future.keywords.or

# Every deny rule starts with its guard, data.signoff.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.signoff.actions, which the tests check
# holds every action of rule_actions.

# step_rank is the rank level of the step: its rank_level, or for a step bound to a post,
# the post's rank level from the org facts.
step_rank := level if {
	level := input.step.rank_level
	level > 0
} else := data.facts.orgs[input.org].posts[input.step.post].rank_level

# METADATA
# title: Only the holder of the step's post acts
# description: >-
#   The actor (or, for a delegate, the principal) does not hold today the step's post, nor
#   a post of the step's rank in the step's unit; people who left hold nothing. A person
#   acting who is in step.added_signers (加签) and has not left may sign the step without
#   holding it, or reject or return it (not claim it, delegate it nor add signers). On
#   approval.reject and approval.return too, only who may act on the step (or was added to
#   sign it) rejects or returns the case. On approval.add_signer, only who may act
#   on the step adds a signer.
# custom:
#   id: signoff.not_holder
#   basis: 将流程与具体岗位紧密结合,将岗位工作内容、依据、方法、标准、程序、责任、要求和办理时限在流程图中予以设置和固化(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.signoff.rule_actions.not_holder[input.action]
	not may_act
	not added_to_sign
	person := lib.principal
	v := lib.violation(
		"signoff.not_holder",
		sprintf("%s 今日(%s)未担任%s,不得%s案件 %s 的步骤 %s", [person, input.today, seat_zh, lib.verb_zh, input.case.id, input.step.id]),
		sprintf("%s does not hold %s today (%s) and may not %s step %s of case %s", [person, seat_en, input.today, lib.verb_en, input.step.id, input.case.id]),
		"将流程与具体岗位紧密结合,将岗位工作内容、依据、方法、标准、程序、责任、要求和办理时限在流程图中予以设置和固化(武汉市财政局廉政风险防范体系建设)",
	)
}

# may_act holds when the principal (lib.principal) holds today the step's post, or a post of
# the step's rank in the step's unit.
may_act if {
	input.step.post != ""
	lib.holds(lib.principal, input.step.post)
}

may_act if {
	input.step.rank_level > 0
	lib.holds_rank(lib.principal, input.step.rank_level, input.step.unit)
}

# added_to_sign holds, on the actions of data.signoff.added_signer_actions (sign, and reject
# or return: an added reviewer may object), when a person acting was added to sign this step
# (加签: step.added_signers, optional) and has not left. It is asked only when may_act fails,
# so the usual signature by the holder never reads it.
added_to_sign if {
	data.signoff.added_signer_actions[input.action]
	some p in input.step.added_signers
	lib.acting[p]
	lib.active(p)
}

seat_zh := sprintf("岗位 %s", [input.step.post]) if {
	input.step.post != ""
} else := sprintf("%s 的%s岗位", [input.step.unit, lib.rank_zh(input.step.rank_level)])

seat_en := sprintf("post %s", [input.step.post]) if {
	input.step.post != ""
} else := sprintf("a %s post in %s", [lib.rank_en(input.step.rank_level), input.step.unit])

# METADATA
# title: No level of the chain skipped
# description: >-
#   A rank level on the case's path (case.path_rank_levels) below the step's rank level has
#   no valid signature. Voided signatures are ignored: a level whose signature a return or
#   a payload change voided is signed again before a higher level signs.
# custom:
#   id: signoff.level_skipped
#   basis: 对业务处室资金分配及支出审核、财政审批事项,按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.signoff.rule_actions.level_skipped[input.action]
	rank := step_rank
	some level in input.case.path_rank_levels
	level < rank
	not level in signed_levels
	v := lib.violation(
		"signoff.level_skipped",
		sprintf("案件 %s 尚无%s签署,%s不得越级签署步骤 %s", [input.case.id, lib.rank_zh(level), lib.rank_zh(step_rank), input.step.id]),
		sprintf("case %s has no signature of the %s yet; the %s may not skip that level by signing step %s", [input.case.id, lib.rank_en(level), lib.rank_en(step_rank), input.step.id]),
		"对业务处室资金分配及支出审核、财政审批事项,按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关(武汉市财政局廉政风险防范体系建设)",
	)
}

# valid_signatures are the signatures that still count for the chain's progress: those
# of input.case.signatures not voided (voided absent or false). A signature voided by a
# return or a payload change completes nothing, reaches no level: the step is signed
# again. (Anything but false in voided is taken as voided: the chain then asks for more.)
valid_signatures := [sig |
	some sig in input.case.signatures
	object.get(sig, "voided", false) == false
]

# signed_levels is the set of rank levels with a valid signature.
signed_levels contains sig.rank_level if some sig in valid_signatures

# band is the amount band (data.signoff.bands, [from, below)) holding the case amount;
# cases of 0 元 select none. A band without below is open-ended.
band := b if {
	amount := input.case.amount
	amount > 0
	some b in data.signoff.bands
	amount >= b.from
	amount < object.get(b, "below", 1e18)
}

# signed_at_or_above holds when a valid signature has rank level at least level.
signed_at_or_above(level) if {
	some sig in valid_signatures
	sig.rank_level >= level
}

# highest_signed is the highest rank level with a valid signature, 0 without any.
highest_signed := max([l | some sig in valid_signatures; l := sig.rank_level]) if {
	count(valid_signatures) > 0
} else := 0

# reached is the highest rank level of the chain once this signature is added.
reached := max([highest_signed, step_rank]) if step_rank

else := highest_signed

# METADATA
# title: The amount band's rank signs before completion
# description: >-
#   Completing the case (step.last) when its amount band (data.signoff.bands) requires a
#   higher rank level than any valid signature, this one included, has. Voided signatures
#   are ignored: a 处长 signature voided by a return or a payload change does not carry the
#   case through the band.
# custom:
#   id: signoff.amount_band
#   basis: 对业务处室资金分配及支出审核、财政审批事项,按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.signoff.rule_actions.amount_band[input.action]
	input.step.last == true
	required := band.rank_level
	step_rank < required
	not signed_at_or_above(required)
	v := lib.violation(
		"signoff.amount_band",
		sprintf("案件 %s 金额 %s元,须经%s签署方可办结;目前最高仅到%s,步骤 %s 不得办结", [input.case.id, lib.amount_text(input.case.amount), lib.rank_zh(required), lib.rank_zh(reached), input.step.id]),
		sprintf("case %s of %s yuan must be signed by the %s before it completes; the highest signature so far is the %s, so step %s may not complete it", [input.case.id, lib.amount_text(input.case.amount), lib.rank_en(required), lib.rank_en(reached), input.step.id]),
		"对业务处室资金分配及支出审核、财政审批事项,按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关(武汉市财政局廉政风险防范体系建设)",
	)
}

# collective_bound holds when a passed 集体决策 is bound to the case's current payload.
collective_bound if {
	input.case.collective.passed == true
	input.case.collective.payload_version == input.case.payload_version
}

collective_zh := "集体决策未通过" if {
	input.case.collective.passed != true
} else := sprintf("集体决策通过的是第 %v 版,案件现为第 %v 版", [input.case.collective.payload_version, input.case.payload_version])

collective_en := "no collective decision has passed" if {
	input.case.collective.passed != true
} else := sprintf("the collective decision passed version %v, the case is now at version %v", [input.case.collective.payload_version, input.case.payload_version])

# METADATA
# title: 大额 needs 集体决策
# description: >-
#   The amount is at or above the 大额 threshold (data.signoff.large_amount) and a payment
#   step or the completion is signed without a passed 集体决策 bound to the current payload
#   version.
# custom:
#   id: signoff.collective_required
#   basis: 凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
deny contains v if {
	data.signoff.rule_actions.collective_required[input.action]
	input.case.amount >= data.signoff.large_amount
	input.step.payment == true or input.step.last == true # the step pays out or completes the case
	not collective_bound
	v := lib.violation(
		"signoff.collective_required",
		sprintf("案件 %s 金额 %s元,达到大额标准 %s元,须经集体决策;%s,不得签署步骤 %s", [input.case.id, lib.amount_text(input.case.amount), lib.amount_text(data.signoff.large_amount), collective_zh, input.step.id]),
		sprintf("case %s of %s yuan reaches the large-amount threshold of %s yuan and needs a collective decision; %s, so step %s may not be signed", [input.case.id, lib.amount_text(input.case.amount), lib.amount_text(data.signoff.large_amount), collective_en, input.step.id]),
		"凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)",
	)
}

# METADATA
# title: The emergency channel needs a justification
# description: The case runs the emergency channel (绿色通道) without a recorded justification.
# custom:
#   id: signoff.emergency_justification
#   basis: 对相关重要事项、涉及民生的突发性事件等工作,建立联合会审机制,建立资金拨付绿色通道(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.signoff.rule_actions.emergency_justification[input.action]
	input.case.emergency.active == true
	not justified
	v := lib.violation(
		"signoff.emergency_justification",
		sprintf("案件 %s 走应急流程(绿色通道)但未记录启用理由,不得%s步骤 %s", [input.case.id, lib.verb_zh, input.step.id]),
		sprintf("case %s runs the emergency channel without a recorded justification; step %s may not be %s", [input.case.id, input.step.id, participle_en]),
		"对相关重要事项、涉及民生的突发性事件等工作,建立联合会审机制,建立资金拨付绿色通道(武汉市财政局廉政风险防范体系建设)",
	)
}

# justified holds when the case records a justification for the emergency channel.
justified if {
	j := input.case.emergency.justification
	is_string(j)
	trim_space(j) != ""
}

participle_en := "claimed" if input.action == "approval.claim"

else := "signed"

# METADATA
# title: The emergency channel pays only after 联合会审
# description: >-
#   On the emergency channel, a payment step or the completion is signed before the joint
#   review (联合会审) passed.
# custom:
#   id: signoff.emergency_joint_review
#   basis: 对相关重要事项、涉及民生的突发性事件等工作,建立联合会审机制,建立资金拨付绿色通道(武汉市财政局廉政风险防范体系建设)
deny contains v if {
	data.signoff.rule_actions.emergency_joint_review[input.action]
	input.case.emergency.active == true
	input.step.payment == true or input.step.last == true # the step pays out or completes the case
	input.case.emergency.joint_review_passed != true
	v := lib.violation(
		"signoff.emergency_joint_review",
		sprintf("案件 %s 走应急流程,联合会审尚未通过,不得签署支付或办结步骤 %s", [input.case.id, input.step.id]),
		sprintf("case %s runs the emergency channel and its joint review has not passed; the payment or completing step %s may not be signed", [input.case.id, input.step.id]),
		"对相关重要事项、涉及民生的突发性事件等工作,建立联合会审机制,建立资金拨付绿色通道(武汉市财政局廉政风险防范体系建设)",
	)
}
