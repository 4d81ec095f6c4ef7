# 国库动态监控: the payment rules of 电子监察, evaluated on case events (input.trigger
# "event"). They read the case, the org's other payments to the same payee
# (input.related.payments, within data.supervision.lookback_days) and its cash payments
# this year (input.related.cash), the 回避 declarations of the people on the case
# (input.conflicts) and the indicator's budget (input.budget). The service decides what
# "related" means (same payee; this calendar year); the rules only narrow it further
# (fund, windows, amounts).
package fenquan.supervision

import data.fenquan.lib

# paying holds when a payment step of the case is pending (active, not signed) or signed:
# the moment 事前预警 is meant for, and after it.
paying if input.case.payment_pending == true

paying if input.case.paid == true

# live holds when the case is OPEN or COMPLETED (not withdrawn or rejected).
live if input.case.state == "OPEN"

live if input.case.state == "COMPLETED"

# amount is the case's amount when it is a number.
amount := input.case.amount if is_number(input.case.amount)

# payee_text names the payee for messages: "name(code)", or the name alone (always for a
# person: their code may be an ID number).
payee_text := sprintf("%s(%s)", [text(object.get(input.case.payee, "name", "")), input.case.payee.code]) if {
	not input.case.payee.is_person == true
	is_string(input.case.payee.code)
	input.case.payee.code != ""
} else := text(object.get(object.get(input.case, "payee", {}), "name", ""))

# payee_id identifies the payee in keys: its code, or its name when it has none.
payee_id := input.case.payee.code if {
	is_string(input.case.payee.code)
	input.case.payee.code != ""
} else := text(object.get(object.get(input.case, "payee", {}), "name", ""))

# now_date is now as [year, month, day] in China time.
now_date := time.date(input.now_ns + offset_ns) if is_number(input.now_ns)

# split_since and frequent_since are the starts of the windows of split_payment and
# frequent_payments: data.supervision.split_days and frequent_days calendar days before now.
split_since := input.now_ns - (data.supervision.split_days * ns_per_day) if is_number(input.now_ns)

frequent_since := input.now_ns - (data.supervision.frequent_days * ns_per_day) if is_number(input.now_ns)

# METADATA
# title: Large payment without a collective decision (大额资金支付未经集体决策)
# description: >-
#   Event on an OPEN case whose payment step is pending (payment_pending), of at least
#   data.supervision.large_amount (大额, 5,000,000 元 by default, as signoff.large_amount),
#   without a passed 集体决策 bound to the current payload version (collective_passed).
#   Holds the case before the payment is signed. Key rule|case.
# custom:
#   id: large_without_collective
#   basis: 对国库集中支付的大额资金、大额提现和限额以上公务卡转账还款等,实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设);凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.large_without_collective.enabled == true
	input.case.payment_pending == true
	input.case.state == "OPEN"
	amount >= data.supervision.large_amount
	not input.case.collective_passed == true
	f := finding(
		"large_without_collective",
		input.case.name,
		"",
		sprintf("large_without_collective|%s", [input.case.name]),
		sprintf("案件 %s 金额 %s元,达到大额标准 %s元,支付步骤待签署,但尚无与当前版本绑定且已通过的集体决策;支付前须经领导班子集体研究决定", [input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.large_amount)]),
		sprintf("case %s of %s yuan reaches the large-amount threshold of %s yuan and its payment step is pending, but no collective decision bound to the current version has passed; the leadership must decide before it is paid", [input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.large_amount)]),
		0,
	)
}

# METADATA
# title: Large cash withdrawal (单笔大额提现)
# description: >-
#   Event on a case paid in cash (method CASH) whose payment is pending or signed, of more
#   than data.supervision.cash_single_limit. Key rule|case.
# custom:
#   id: cash_single
#   basis: 对国库集中支付的大额资金、大额提现和限额以上公务卡转账还款等,实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.cash_single.enabled == true
	input.case.method == "CASH"
	paying
	amount > data.supervision.cash_single_limit
	f := finding(
		"cash_single",
		input.case.name,
		"",
		sprintf("cash_single|%s", [input.case.name]),
		sprintf("案件 %s 以现金方式支付 %s元,超过单笔提现限额 %s元", [input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.cash_single_limit)]),
		sprintf("case %s pays %s yuan in cash, more than the single cash limit of %s yuan", [input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.cash_single_limit)]),
		0,
	)
}

# unit_month_cash is the cash of the case's unit on the other cases created this calendar
# month (China time).
unit_month_cash := sum([c.amount |
	some c in input.related.cash
	c.unit == input.case.unit
	is_number(c.amount)
	is_number(c.time_ns)
	d := time.date(c.time_ns + offset_ns)
	d[0] == now_date[0]
	d[1] == now_date[1]
])

# year_cash is the org's cash on the other cases created this calendar year (China time).
year_cash := sum([c.amount |
	some c in input.related.cash
	is_number(c.amount)
	is_number(c.time_ns)
	time.date(c.time_ns + offset_ns)[0] == now_date[0]
])

# METADATA
# title: Monthly cash of a unit over the limit (处室当月提现累计超限)
# description: >-
#   Event on a case paid in cash whose payment is pending or signed, when its amount and the
#   cash of the other cases of its unit created this calendar month (China time) add up to
#   more than data.supervision.cash_month_limit. Key rule|case.
# custom:
#   id: cash_cumulative_month
#   basis: 对国库集中支付的大额资金、大额提现和限额以上公务卡转账还款等,实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.cash_cumulative_month.enabled == true
	input.case.method == "CASH"
	paying
	total := amount + unit_month_cash
	total > data.supervision.cash_month_limit
	f := finding(
		"cash_cumulative_month",
		input.case.name,
		"",
		sprintf("cash_cumulative_month|%s", [input.case.name]),
		sprintf("%s %d年%d月现金支付累计 %s元(含案件 %s 的 %s元),超过月度提现限额 %s元", [text(object.get(input.case, "unit", "")), now_date[0], now_date[1], lib.amount_text(total), input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.cash_month_limit)]),
		sprintf("the cash payments of %s in %d-%02d add up to %s yuan (%s yuan of them on case %s), more than the monthly cash limit of %s yuan", [text(object.get(input.case, "unit", "")), now_date[0], now_date[1], lib.amount_text(total), lib.amount_text(amount), input.case.name, lib.amount_text(data.supervision.cash_month_limit)]),
		0,
	)
}

# METADATA
# title: Yearly cash over the limit (本年提现累计超限)
# description: >-
#   Event on a case paid in cash whose payment is pending or signed, when its amount and the
#   cash of every other case of the org created this calendar year (China time) add up to
#   more than data.supervision.cash_year_limit. Key rule|case.
# custom:
#   id: cash_yearly
#   basis: 对国库集中支付的大额资金、大额提现和限额以上公务卡转账还款等,实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.cash_yearly.enabled == true
	input.case.method == "CASH"
	paying
	total := amount + year_cash
	total > data.supervision.cash_year_limit
	f := finding(
		"cash_yearly",
		input.case.name,
		"",
		sprintf("cash_yearly|%s", [input.case.name]),
		sprintf("本单位 %d 年现金支付累计 %s元(含案件 %s 的 %s元),超过年度提现限额 %s元", [now_date[0], lib.amount_text(total), input.case.name, lib.amount_text(amount), lib.amount_text(data.supervision.cash_year_limit)]),
		sprintf("the org's cash payments in %d add up to %s yuan (%s yuan of them on case %s), more than the yearly cash limit of %s yuan", [now_date[0], lib.amount_text(total), lib.amount_text(amount), input.case.name, lib.amount_text(data.supervision.cash_year_limit)]),
		0,
	)
}

# item is the case's expense item code, "" when it has none.
item := x if {
	x := input.case.item
	is_string(x)
} else := ""

# METADATA
# title: Large transfer to a person (向个人账户大额转账)
# description: >-
#   Event on a case paying a person (payee.is_person) other than in cash, whose payment is
#   pending or signed, of more than data.supervision.transfer_to_person_limit, for an
#   expense item not in data.supervision.transfer_to_person_items (劳务费, 助学金, 奖励金 …;
#   a case without an item is not exempt). Key rule|case.
# custom:
#   id: transfer_to_person
#   basis: 对每笔支付信息实施动态监控和及时反馈处置,对国库集中支付的大额资金……实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.transfer_to_person.enabled == true
	input.case.payee.is_person == true
	not input.case.method == "CASH"
	paying
	amount > data.supervision.transfer_to_person_limit
	not data.supervision.transfer_to_person_items[item]
	f := finding(
		"transfer_to_person",
		input.case.name,
		"",
		sprintf("transfer_to_person|%s", [input.case.name]),
		sprintf("案件 %s 向个人 %s 转账 %s元,超过 %s元,且支出事项(%s)不属于劳务费、助学金等应付个人的事项", [input.case.name, payee_text, lib.amount_text(amount), lib.amount_text(data.supervision.transfer_to_person_limit), item]),
		sprintf("case %s transfers %s yuan to the person %s, more than %s yuan, for an expense item (%s) that is not one paid to persons (service fees, grants …)", [input.case.name, lib.amount_text(amount), payee_text, lib.amount_text(data.supervision.transfer_to_person_limit), item]),
		0,
	)
}

# involved holds when person signed the case, claimed one of its active steps, or is its
# applicant, 主办 (A) or 协办 (B).
involved(person) if {
	some role in ["applicant", "a", "b"]
	object.get(input.case, role, "") == person
}

involved(person) if {
	some s in input.case.signatures
	s.person == person
}

involved(person) if {
	some a in input.case.active
	a.claimed_by == person
}

# declared_payee holds when a 回避 entry (a payee code or name) names the case's payee:
# by code, or by name (compared as lib.matches_counterparty does: codes trimmed and
# upper-cased, names without blanks and with full-width brackets folded).
declared_payee(entry) if {
	code := lib.norm_code(object.get(input.case.payee, "code", ""))
	code != ""
	lib.norm_code(entry) == code
}

declared_payee(entry) if {
	name := lib.norm_name(object.get(input.case.payee, "name", ""))
	name != ""
	lib.norm_name(entry) == name
}

# METADATA
# title: Payee related to a signer (收款人与经办审批人员存在利害关系)
# description: >-
#   Event on an OPEN case not yet paid, when a person who signed it, claimed one of its
#   active steps, or is its applicant, A or B has declared the payee (code or name) under
#   回避 (input.conflicts). One
#   finding per person; holds the case. Key rule|case|person|payee (code, or name).
# custom:
#   id: related_payee
#   basis: 公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条);对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.related_payee.enabled == true
	input.case.state == "OPEN"
	not input.case.paid == true
	some person, entries in input.conflicts
	involved(person)
	some entry in entries
	declared_payee(entry)
	f := finding(
		"related_payee",
		input.case.name,
		person,
		sprintf("related_payee|%s|%s|%s", [input.case.name, person, payee_id]),
		sprintf("%s 已就收款人 %s 申报回避,却参与了案件 %s(金额 %s元)的签署或办理;支付前须核实并更换经办审批人员", [person, payee_text, input.case.name, lib.amount_text(object.get(input.case, "amount", 0))]),
		sprintf("%s declared a conflict of interest with the payee %s, yet signed or claimed a step of case %s (%s yuan); verify and replace them before it is paid", [person, payee_text, input.case.name, lib.amount_text(object.get(input.case, "amount", 0))]),
		0,
	)
}

# METADATA
# title: Official card required (应使用公务卡结算而未使用)
# description: >-
#   Event on a case whose payment is pending or signed, for an expense item of the 公务卡强制结算目录
#   (data.supervision.card_required_items), of more than 0 元, paid other than by the
#   official card (method not CARD). Key rule|case.
# custom:
#   id: card_required
#   basis: 对国库集中支付的大额资金、大额提现和限额以上公务卡转账还款等,实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.card_required.enabled == true
	data.supervision.card_required_items[item]
	not input.case.method == "CARD"
	paying
	amount > 0
	f := finding(
		"card_required",
		input.case.name,
		"",
		sprintf("card_required|%s", [input.case.name]),
		sprintf("案件 %s 的支出事项 %s 属于公务卡强制结算目录,却以%s方式支付 %s元,应使用公务卡结算", [input.case.name, item, method_zh, lib.amount_text(amount)]),
		sprintf("case %s pays %s yuan for expense item %s, which must be settled with the official card, by %s", [input.case.name, lib.amount_text(amount), item, method_en]),
		0,
	)
}

# method_zh and method_en name the payment method for messages.
method_zh := m if {
	m := {"TRANSFER": "转账", "CASH": "现金", "": "未指定"}[input.case.method]
} else := text(object.get(input.case, "method", ""))

method_en := m if {
	m := {"TRANSFER": "transfer", "CASH": "cash", "": "an unspecified method"}[input.case.method]
} else := text(object.get(input.case, "method", ""))

# split_parts are the amounts of the other payments to the payee from the case's fund,
# created within data.supervision.split_days before now, each above 0 and below
# data.supervision.split_limit.
split_parts := [p.amount |
	some p in input.related.payments
	p.fund == input.case.fund
	is_number(p.amount)
	p.amount > 0
	p.amount < data.supervision.split_limit
	is_number(p.time_ns)
	p.time_ns >= split_since
]

# METADATA
# title: Suspected split payment (疑似拆分支付)
# description: >-
#   Event on a live (OPEN or COMPLETED) case of more than 0 and less than
#   data.supervision.split_limit, when at least data.supervision.split_min_related other
#   payments to the same payee from the same fund, created within
#   data.supervision.split_days before now (a payment exactly split_days old counts), each
#   above 0 and below the limit, bring the total with this case to the limit or above: a
#   payment split to stay under the 大额 threshold. Key rule|case.
# custom:
#   id: split_payment
#   basis: 对国库集中支付的大额资金……实行事前预警防范,对异常违规情况,实施拦截纠偏(武汉市财政局廉政风险防范体系建设);凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.split_payment.enabled == true
	live
	amount > 0
	amount < data.supervision.split_limit
	parts := split_parts
	count(parts) >= data.supervision.split_min_related
	total := amount + sum(parts)
	total >= data.supervision.split_limit
	f := finding(
		"split_payment",
		input.case.name,
		"",
		sprintf("split_payment|%s", [input.case.name]),
		sprintf("案件 %s 向 %s 支付 %s元,与近 %v 天内同一资金(%s)向同一收款人的另 %d 笔支付(每笔均低于 %s元)合计 %s元,达到 %s元,疑似拆分支付规避大额审批", [input.case.name, payee_text, lib.amount_text(amount), data.supervision.split_days, text(object.get(input.case, "fund", "")), count(parts), lib.amount_text(data.supervision.split_limit), lib.amount_text(total), lib.amount_text(data.supervision.split_limit)]),
		sprintf("case %s pays %s yuan to %s; with %d other payments to the same payee from the same fund (%s) in the last %v days, each below %s yuan, the total is %s yuan, reaching %s yuan: the payment may have been split to escape the large-amount approval", [input.case.name, lib.amount_text(amount), payee_text, count(parts), text(object.get(input.case, "fund", "")), data.supervision.split_days, lib.amount_text(data.supervision.split_limit), lib.amount_text(total), lib.amount_text(data.supervision.split_limit)]),
		0,
	)
}

# frequent_recent are the other payments to the payee created within
# data.supervision.frequent_days before now.
frequent_recent := [p.case |
	some p in input.related.payments
	is_number(p.time_ns)
	p.time_ns >= frequent_since
]

# METADATA
# title: Frequent payments to one payee (短期内向同一收款人频繁支付)
# description: >-
#   Event on a live case when at least data.supervision.frequent_count other payments to
#   the same payee were created within data.supervision.frequent_days before now (this case
#   not counted). Key rule|case.
# custom:
#   id: frequent_payments
#   basis: 对每笔支付信息实施动态监控和及时反馈处置(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.frequent_payments.enabled == true
	live
	n := count(frequent_recent)
	n >= data.supervision.frequent_count
	f := finding(
		"frequent_payments",
		input.case.name,
		"",
		sprintf("frequent_payments|%s", [input.case.name]),
		sprintf("近 %v 天内已向收款人 %s 支付其他 %d 笔,达到 %v 笔的提示标准,案件 %s 又向其支付 %s元", [data.supervision.frequent_days, payee_text, n, data.supervision.frequent_count, input.case.name, lib.amount_text(object.get(input.case, "amount", 0))]),
		sprintf("%d other payments to the payee %s were made in the last %v days (%v or more), and case %s pays it %s yuan again", [n, payee_text, data.supervision.frequent_days, data.supervision.frequent_count, input.case.name, lib.amount_text(object.get(input.case, "amount", 0))]),
		0,
	)
}

# METADATA
# title: Spending ahead of the budget schedule (预算执行超序时进度)
# description: >-
#   Event on a live case with the indicator's budget: spent / annual (input.budget.spent,
#   this case included; annual from input.budget.annual, else the org's table
#   data.supervision.indicator_budgets[org][indicator]) is more than the month's cumulative
#   share
#   (data.supervision.budget_schedule_percent[month − 1]) plus
#   data.supervision.budget_tolerance_points percentage points. Compared as
#   spent × 100 > annual × (share + tolerance), so a boundary is exact. Key
#   rule|org|indicator|YYYY-MM: one notice per indicator and month, whichever case shows it.
# custom:
#   id: ahead_of_budget
#   basis: 建立健全资金审核各环节的标准与程序规范,加强预算、国库这两道重要闸门的把关和内部控制管理(武汉市财政局廉政风险防范体系建设)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.ahead_of_budget.enabled == true
	live
	b := input.budget
	annual := budget_annual
	annual > 0
	is_number(b.spent)
	is_number(b.month)
	share := data.supervision.budget_schedule_percent[b.month - 1]
	limit := share + data.supervision.budget_tolerance_points
	b.spent * 100 > annual * limit
	indicator := text(object.get(input.case, "indicator", ""))
	f := finding(
		"ahead_of_budget",
		input.case.name,
		"",
		sprintf("ahead_of_budget|%s|%s|%d-%02d", [text(object.get(input, "org", "")), indicator, now_date[0], b.month]),
		sprintf("指标 %s 年度预算 %s元,截至 %d 月已支出(含案件 %s)%s元,执行进度 %.1f%%,超过序时进度 %v%% 加 %v 个百分点", [indicator, lib.amount_text(annual), b.month, input.case.name, lib.amount_text(b.spent), (b.spent * 100) / annual, share, data.supervision.budget_tolerance_points]),
		sprintf("indicator %s has spent %s yuan (case %s included) of its annual %s yuan by month %d: %.1f%%, more than the schedule's %v%% plus %v points", [indicator, lib.amount_text(b.spent), input.case.name, lib.amount_text(annual), b.month, (b.spent * 100) / annual, share, data.supervision.budget_tolerance_points]),
		0,
	)
}

# budget_annual is the indicator's annual budget: the input's, else the org's table.
budget_annual := input.budget.annual if {
	is_number(input.budget.annual)
} else := a if {
	a := data.supervision.indicator_budgets[input.org][input.case.indicator]
	is_number(a)
}

# signed_as holds when person signed the related payment p with a duty of duties.
signed_as(p, person, duties) if {
	some s in p.signers
	s.person == person
	duties[s.duty]
}

# pair_payments counts the other payments to the payee on which handler signed with a
# handle duty and reviewer with a review duty.
pair_payments(handler, reviewer) := count([p.case |
	some p in input.related.payments
	signed_as(p, handler, data.supervision.handle_duties)
	signed_as(p, reviewer, data.supervision.review_duties)
])

# METADATA
# title: Same handler and reviewer again and again (经办与审核人员固定搭配)
# description: >-
#   Event on a live case its reviewer has signed: a person who signed it with a handle duty
#   (data.supervision.handle_duties: 经办, 支出计划) and another who signed it with a review
#   duty (data.supervision.review_duties: 审核, 复核, 支付审核) signed so together at least
#   data.supervision.pair_count other payments to the same payee (completed or not) within
#   the lookback. About the reviewer. Key rule|case|handler|reviewer.
# custom:
#   id: repeated_pair
#   basis: 将资金按预算指标、支出计划、支付审核、拨付办理、会计核算等环节拆分,由同职级不同岗位分别行使,形成岗位与岗位之间的相互制约(武汉市财政局廉政风险防范体系建设);对重要部门负责人、重点岗位人员应按规定实行定期轮岗交流(财政局廉政管理指导方案)
findings contains f if {
	input.trigger == "event"
	data.supervision.rules.repeated_pair.enabled == true
	live
	some r in input.case.signatures
	data.supervision.review_duties[r.duty]
	some h in input.case.signatures
	data.supervision.handle_duties[h.duty]
	h.person != r.person
	n := pair_payments(h.person, r.person)
	n >= data.supervision.pair_count
	f := finding(
		"repeated_pair",
		input.case.name,
		r.person,
		sprintf("repeated_pair|%s|%s|%s", [input.case.name, h.person, r.person]),
		sprintf("经办人 %s 与审核人 %s 在近 %v 天内已共同办理向收款人 %s 的其他支付 %d 笔(不少于 %v 笔),案件 %s 又由二人经办、审核,岗位制约可能失效", [h.person, r.person, data.supervision.lookback_days, payee_text, n, data.supervision.pair_count, input.case.name]),
		sprintf("the handler %s and the reviewer %s together signed %d other payments to the payee %s in the last %v days (%v or more), and sign case %s too: the check between their posts may have stopped working", [h.person, r.person, n, payee_text, data.supervision.lookback_days, data.supervision.pair_count, input.case.name]),
		0,
	)
}
