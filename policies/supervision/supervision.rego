# METADATA
# title: 电子监察 (electronic supervision)
# description: >-
#   The warnings (预警) of the supervision service, which evaluates
#   data.fenquan.supervision.findings on every approval-case event (input.trigger "event")
#   and on a clock (input.trigger "clock": a case with active steps, or a post holding).
#   Each finding names its rule, severity (NOTICE 风险提示, YELLOW 黄牌, RED 红牌) and action
#   (warn, or hold: 拦截), what and whom it is about, a dedupe key (the same situation always
#   gives the same key), the messages, the basis and the working days to respond. The
#   rules' metadata (severity, action, basis, enabled) and every threshold are in
#   data.supervision (supervision/data.json). Not part of the decision: package main does
#   not read it, and it has no deny rules. Files: supervision.rego (the finding, the time
#   limits, signing conduct), payments.rego (国库动态监控: payments and budget),
#   posts.rego (轮岗).
package fenquan.supervision

import data.fenquan.lib

# rule_ids are the ids of every rule of the package; data.supervision.rules has exactly
# these keys (tested).
rule_ids := {
	"overdue_reminder", "overdue_yellow", "overdue_red",
	"large_without_collective", "cash_single", "cash_cumulative_month", "cash_yearly",
	"transfer_to_person", "related_payee", "card_required", "split_payment",
	"frequent_payments", "holiday_payment", "ahead_of_budget", "repeated_pair",
	"fast_sign", "off_hours", "rotation_overdue", "frequent_moves",
	"complaints_on_key_post",
}

# Every rule starts with its trigger (an equality on the input) and its switch
# (data.supervision.rules.<id>.enabled == true), both decided by OPA's rule index, so a
# rule of the other trigger or switched off costs nothing.

# finding builds a finding of rule id: severity, action and basis from the rule's metadata
# (data.supervision.rules[id]), the days to respond from its severity
# (data.supervision.respond_days, 0 when the table lacks it: respond at once).
# deadline_ns is a new deadline the finding sets (overdue_yellow), else 0.
finding(id, subject, person, key, zh, en, deadline_ns) := {
	"rule": id,
	"name": meta.name_zh,
	"severity": meta.severity,
	"action": meta.action,
	"subject": subject,
	"person": person,
	"key": key,
	"zh": zh,
	"en": en,
	"basis": meta.basis,
	"respond_days": object.get(data.supervision.respond_days, meta.severity, 0),
	"deadline_ns": deadline_ns,
} if {
	meta := data.supervision.rules[id]
}

# Units of time (not thresholds), written out: a constant costs no arithmetic.
ns_per_second := 1000000000

ns_per_hour := 3600000000000

ns_per_day := 86400000000000

# offset_ns is China time's offset from UTC (data.supervision.utc_offset_hours).
offset_ns := data.supervision.utc_offset_hours * ns_per_hour

# china_time writes a time (Unix ns) in China time for messages.
china_time(ns) := time.format([ns + offset_ns, "UTC", "2006-01-02 15:04"])

# text is x when it is a string, else "": for optional fields in messages and keys (read
# them with object.get, so that an absent field still gives a finding).
text(x) := x if is_string(x)

else := ""

# event_actor, event_step and day are the event's actor and step and the input's day, ""
# when absent.
event_actor := text(object.get(input.event, "actor", ""))

event_step := text(object.get(input.event, "step", ""))

day := text(object.get(input, "day", ""))

# ---------------------------------------------------------------------------------------
# Time limits (限时办结): clock ticks about an OPEN case that is not held, per active step
# with a time limit. The key names the step and when it became active, so a step returned
# and activated again is a new situation.

# step_key is "<rule>|<case>|<step>|<start_ns>".
step_key(id, a) := sprintf("%s|%s|%s|%v", [id, input.case.name, a.step, object.get(a, "start_ns", 0)])

# overdue_active contains the active steps of the ticked case with a time limit (due_ns > 0),
# when the case is OPEN, not held, and now is a number.
overdue_active contains a if {
	input.trigger == "clock"
	input.case.state == "OPEN"
	not input.case.held
	is_number(input.now_ns)
	some a in input.case.active
	is_number(a.due_ns)
	a.due_ns > 0
}

# yellow_deadline is the new deadline an overdue yellow card gives: the time limit plus
# data.supervision.overdue.yellow_grace_days calendar days.
yellow_deadline(a) := a.due_ns + (data.supervision.overdue.yellow_grace_days * ns_per_day)

# METADATA
# title: Time limit approaching (办理时限临近提醒)
# description: >-
#   Clock. An active step of an OPEN, unheld case reaches its time limit within
#   data.supervision.overdue.reminder_lead_hours: due_ns − lead ≤ now < due_ns. About the
#   person who claimed the step ("" if nobody has). Key rule|case|step|start_ns.
# custom:
#   id: overdue_reminder
#   basis: 全面实行岗位责任制、首问负责制、限时办结制、绩效评估制、行政问责制(财政局廉政管理指导方案)
findings contains f if {
	input.trigger == "clock"
	data.supervision.rules.overdue_reminder.enabled == true
	some a in overdue_active
	input.now_ns < a.due_ns
	input.now_ns >= a.due_ns - (data.supervision.overdue.reminder_lead_hours * ns_per_hour)
	f := finding(
		"overdue_reminder",
		input.case.name,
		text(object.get(a, "claimed_by", "")),
		step_key("overdue_reminder", a),
		sprintf("案件 %s 的步骤 %s 将于 %s 到达办理时限,请及时办理", [input.case.name, a.step, china_time(a.due_ns)]),
		sprintf("step %s of case %s reaches its time limit at %s (China time): act on it in time", [a.step, input.case.name, china_time(a.due_ns)]),
		0,
	)
}

# METADATA
# title: Overdue, yellow card (超时黄牌预警)
# description: >-
#   Clock. An active step of an OPEN, unheld case is past its time limit (now ≥ due_ns).
#   The finding sets a new deadline, deadline_ns = due_ns +
#   data.supervision.overdue.yellow_grace_days days. It stays in the findings while the step
#   stays overdue, also once overdue_red fires (same key: the service records it once).
#   Key rule|case|step|start_ns.
# custom:
#   id: overdue_yellow
#   basis: 全面实行岗位责任制、首问负责制、限时办结制、绩效评估制、行政问责制(财政局廉政管理指导方案);对可能引发腐败的苗头性、倾向性问题进行风险预警,综合运用风险提示、诫勉谈话、责令纠错等处置措施,做到早发现、早提醒、早纠正(中央纪委监察部《关于加强廉政风险防控的指导意见》第12条)
findings contains f if {
	input.trigger == "clock"
	data.supervision.rules.overdue_yellow.enabled == true
	some a in overdue_active
	input.now_ns >= a.due_ns
	deadline := yellow_deadline(a)
	f := finding(
		"overdue_yellow",
		input.case.name,
		text(object.get(a, "claimed_by", "")),
		step_key("overdue_yellow", a),
		sprintf("案件 %s 的步骤 %s 已超过办理时限(%s),请于 %s 前办结;逾期未办结将下发整改通知", [input.case.name, a.step, china_time(a.due_ns), china_time(deadline)]),
		sprintf("step %s of case %s is past its time limit (%s, China time): complete it before %s, or a rectification notice follows", [a.step, input.case.name, china_time(a.due_ns), china_time(deadline)]),
		deadline,
	)
}

# METADATA
# title: Overdue past the yellow card's deadline, red card (超时红牌整改通知)
# description: >-
#   Clock. An active step of an OPEN, unheld case is still not done at the deadline its
#   yellow card gave: now ≥ due_ns + data.supervision.overdue.yellow_grace_days days. A
#   rectification notice (整改通知). Key rule|case|step|start_ns.
# custom:
#   id: overdue_red
#   basis: 全面实行岗位责任制、首问负责制、限时办结制、绩效评估制、行政问责制(财政局廉政管理指导方案);对个人存在的问题,按照干部管理权限和责任主体,相应开展警示提醒、诫勉谈话和纠错工作,并下发整改通知书(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
findings contains f if {
	input.trigger == "clock"
	data.supervision.rules.overdue_red.enabled == true
	some a in overdue_active
	deadline := yellow_deadline(a)
	input.now_ns >= deadline
	f := finding(
		"overdue_red",
		input.case.name,
		text(object.get(a, "claimed_by", "")),
		step_key("overdue_red", a),
		sprintf("整改通知:案件 %s 的步骤 %s 办理时限为 %s,超时预警后仍未在 %s 前办结,责令限期整改并书面说明超时原因", [input.case.name, a.step, china_time(a.due_ns), china_time(deadline)]),
		sprintf("rectification notice: step %s of case %s was due at %s and was still not done by the deadline of its overdue warning, %s (China time); correct it and explain the delay in writing", [a.step, input.case.name, china_time(a.due_ns), china_time(deadline)]),
		0,
	)
}

# ---------------------------------------------------------------------------------------
# Signing conduct: events of a case.

# METADATA
# title: Payment signed on a rest day (节假日办理支付)
# description: >-
#   Event "signed" of a payment step (event.payment) on a weekend or holiday of the working
#   calendar (input.rest_day). About the actor. Key rule|case|seq.
# custom:
#   id: holiday_payment
#   basis: 建立完善权力网上公开运行和在线电子监察系统……实现网上实时动态监控(中央纪委监察部《关于加强廉政风险防控的指导意见》第11条)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.holiday_payment.enabled == true
	input.event.type == "signed"
	input.event.payment == true
	input.rest_day == true
	f := finding(
		"holiday_payment",
		input.case.name,
		event_actor,
		sprintf("holiday_payment|%s|%v", [input.case.name, object.get(input.event, "seq", 0)]),
		sprintf("%s 于节假日(%s)签署了案件 %s 的支付步骤 %s,金额 %s元", [event_actor, day, input.case.name, event_step, lib.amount_text(input.case.amount)]),
		sprintf("%s signed the payment step %s of case %s (%s yuan) on a rest day (%s)", [event_actor, event_step, input.case.name, lib.amount_text(input.case.amount), day]),
		0,
	)
}

# METADATA
# title: Acted outside working hours (非工作时间办理)
# description: >-
#   Event of a person acting on the case (data.supervision.off_hours_event_types: signed,
#   claimed, rejected, returned) outside working hours (input.working_hours false, which
#   includes rest days). About the actor. Key rule|case|seq.
# custom:
#   id: off_hours
#   basis: 建立完善权力网上公开运行和在线电子监察系统……实现网上实时动态监控(中央纪委监察部《关于加强廉政风险防控的指导意见》第11条)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.off_hours.enabled == true
	data.supervision.off_hours_event_types[input.event.type]
	input.working_hours == false
	is_number(input.event.time_ns)
	f := finding(
		"off_hours",
		input.case.name,
		event_actor,
		sprintf("off_hours|%s|%v", [input.case.name, object.get(input.event, "seq", 0)]),
		sprintf("%s 于非工作时间(%s)办理案件 %s 的步骤 %s(%s)", [event_actor, china_time(input.event.time_ns), input.case.name, event_step, input.event.type]),
		sprintf("%s acted on step %s of case %s (%s) outside working hours (%s, China time)", [event_actor, event_step, input.case.name, input.event.type, china_time(input.event.time_ns)]),
		0,
	)
}

# METADATA
# title: Large case signed too fast (大额事项签署过快)
# description: >-
#   Event "signed" on a case of at least data.supervision.fast_sign_amount, less than
#   data.supervision.fast_sign_seconds after the step became active (event.step_start_ns > 0;
#   0 ≤ time_ns − step_start_ns < the limit). About the actor. Key rule|case|step.
# custom:
#   id: fast_sign
#   basis: 对业务处室资金分配及支出审核、财政审批事项,按照经办人、主管责任人、分管处长、处长的程序,实行纵向层级把关(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.fast_sign.enabled == true
	input.event.type == "signed"
	is_number(input.case.amount)
	input.case.amount >= data.supervision.fast_sign_amount
	start := input.event.step_start_ns
	is_number(start)
	start > 0
	is_number(input.event.time_ns)
	elapsed := input.event.time_ns - start
	elapsed >= 0
	elapsed < data.supervision.fast_sign_seconds * ns_per_second
	seconds := floor(elapsed / ns_per_second)
	f := finding(
		"fast_sign",
		input.case.name,
		event_actor,
		sprintf("fast_sign|%s|%s", [input.case.name, event_step]),
		sprintf("案件 %s 金额 %s元(不低于 %s元),%s 在步骤 %s 到达后 %v 秒即签署,少于 %v 秒,审核把关可能流于形式", [input.case.name, lib.amount_text(input.case.amount), lib.amount_text(data.supervision.fast_sign_amount), event_actor, event_step, seconds, data.supervision.fast_sign_seconds]),
		sprintf("%s signed step %s of case %s (%s yuan, at least %s) %v seconds after it became active, under %v seconds: the review may have been a formality", [event_actor, event_step, input.case.name, lib.amount_text(input.case.amount), lib.amount_text(data.supervision.fast_sign_amount), seconds, data.supervision.fast_sign_seconds]),
		0,
	)
}
