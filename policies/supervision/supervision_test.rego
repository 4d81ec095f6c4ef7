# METADATA
# title: Tests of 电子监察
# description: >-
#   For every rule of package fenquan.supervision: it fires with its severity, action and
#   key; it stays quiet on its boundary, for the other trigger, and when switched off in
#   data. Also the overdue ladder, the fields of every finding, and rule_ids against
#   data.supervision.rules. Inputs are built from ev (an event), tick (a clock tick about a
#   case) and post_tick (a clock tick about a post holding) with object.union.
package fenquan.supervision_test

import data.fenquan.supervision as sv

# 2026-11-20 10:00 China time (02:00 UTC), a Friday.
now := 1795140000000000000

sec := 1000000000

hour := 3600000000000

day := 86400000000000

# 2026-11-01 00:00 and 2026-01-01 00:00 China time.
november_start := 1793462400000000000

year_start := 1767196800000000000

c1 := "orgs/czj/cases/c1"

sun_li := "orgs/czj/people/sun-li"

feng_yu := "orgs/czj/people/feng-yu"

zhao_lei := "orgs/czj/people/zhao-lei"

payee_code := "91420100MA4K000001"

base_case := {
	"name": c1,
	"unit": "orgs/czj/units/gkc",
	"power": "orgs/czj/powers/zfsp",
	"state": "OPEN",
	"held": false,
	"amount": 100000,
	"fund": "F01",
	"indicator": "IND-2026-001",
	"item": "30227",
	"method": "TRANSFER",
	"payee": {"code": payee_code, "name": "某某建设有限公司", "is_person": false},
	"collective_passed": false,
	"payment_pending": false,
	"paid": false,
	"create_ns": now - (5 * day),
	"active": [{"step": "zfsh", "payment": true, "start_ns": now - hour, "due_ns": 0, "claimed_by": sun_li}],
	"signatures": [{"step": "jb", "person": feng_yu, "duty": "经办", "time_ns": now - (2 * hour)}],
}

ev := {
	"trigger": "event",
	"org": "czj",
	"now_ns": now,
	"day": "2026-11-20",
	"rest_day": false,
	"working_hours": true,
	"event": {"type": "signed", "actor": feng_yu, "step": "jb", "payment": false, "seq": 7, "time_ns": now, "step_start_ns": now - hour},
	"case": base_case,
	"related": {"payments": [], "cash": []},
	"conflicts": {},
}

tick := {
	"trigger": "clock",
	"org": "czj",
	"now_ns": now,
	"day": "2026-11-20",
	"rest_day": false,
	"working_hours": true,
	"case": base_case,
}

holding := {
	"post": "orgs/czj/posts/gkc-zfsh",
	"person": sun_li,
	"unit": "orgs/czj/units/gkc",
	"since": "2023-03-01",
	"key_post": true,
	"rotation_years": 0,
	"moves_this_year": 0,
}

post_tick := {
	"trigger": "clock",
	"org": "czj",
	"now_ns": now,
	"day": "2026-11-20",
	"rest_day": false,
	"working_hours": true,
	"holding": holding,
}

# --- helpers

found(inp) := fs if {
	fs := sv.findings with input as inp
}

of(inp, id) := [f | some f in found(inp); f.rule == id]

ids(inp) := {f.rule | some f in found(inp)}

fires(inp, id) if count(of(inp, id)) > 0

quiet(inp, id) if count(of(inp, id)) == 0

# only is the one finding of rule id (undefined unless there is exactly one).
only(inp, id) := fs[0] if {
	fs := of(inp, id)
	count(fs) == 1
}

with_case(inp, patch) := object.union(inp, {"case": patch})

# as_tick is the event input's case on a clock tick (and tick's case on an event).
as_tick(inp) := object.union(object.remove(inp, ["event", "related", "conflicts"]), {"trigger": "clock"})

as_event(inp) := object.union(ev, object.union(object.remove(inp, ["trigger"]), {"trigger": "event"}))

mentions(f, words) if {
	every w in words {
		contains(f.zh, w)
	}
}

# --- one firing input per rule

step_due(due) := with_case(tick, {"active": [{"step": "zfsh", "payment": true, "start_ns": now - (2 * day), "due_ns": due, "claimed_by": sun_li}]})

fire_overdue_reminder := step_due(now + (10 * hour))

fire_overdue_yellow := step_due(now - hour)

fire_overdue_red := step_due(now - (4 * day))

fire_large_without_collective := with_case(ev, {"amount": 5000000, "payment_pending": true})

cash(amount) := with_case(ev, {"method": "CASH", "amount": amount, "payment_pending": true})

fire_cash_single := cash(50001)

month_cash(extra) := object.union(cash(10000), {"related": {"cash": [extra]}})

unit_cash(amount, t) := {"case": "orgs/czj/cases/c0", "unit": "orgs/czj/units/gkc", "amount": amount, "time_ns": t}

other_cash(amount, t) := {"case": "orgs/czj/cases/c9", "unit": "orgs/czj/units/other", "amount": amount, "time_ns": t}

fire_cash_cumulative_month := month_cash(unit_cash(190001, now - day))

fire_cash_yearly := month_cash(other_cash(990001, now - day))

to_person(amount, it) := with_case(ev, {"payee": {"code": "420100199001010011", "name": "张某", "is_person": true}, "amount": amount, "item": it, "payment_pending": true})

fire_transfer_to_person := to_person(50001, "30227")

declared(person, entries) := object.union(ev, {"conflicts": {person: entries}})

fire_related_payee := declared(sun_li, [payee_code])

card(method, amount) := with_case(ev, {"item": "30211", "method": method, "amount": amount, "payment_pending": true})

fire_card_required := card("TRANSFER", 1)

payment(id, amount, fund, t) := {
	"case": id, "payee_code": payee_code, "payee_name": "某某建设有限公司", "is_person": false,
	"fund": fund, "amount": amount, "method": "TRANSFER", "time_ns": t, "paid": true,
	"signers": [{"person": feng_yu, "duty": "经办"}, {"person": zhao_lei, "duty": "审核"}],
}

related(payments) := object.union(ev, {"related": {"payments": payments}})

split(amount, payments) := with_case(related(payments), {"amount": amount})

fire_split_payment := split(2000000, [payment("c2", 1500000, "F01", now - (10 * day)), payment("c3", 1500000, "F01", now - (20 * day))])

small(id, t) := payment(id, 1000, "F01", t)

fire_frequent_payments := related([small("c2", now - day), small("c3", now - (2 * day)), small("c4", now - (3 * day))])

budget(spent, month) := object.union(ev, {"budget": {"annual": 1000000, "spent": spent, "month": month}})

fire_ahead_of_budget := budget(1020001, 11)

reviewed := [
	{"step": "jb", "person": feng_yu, "duty": "经办", "time_ns": now - (2 * hour)},
	{"step": "sh", "person": zhao_lei, "duty": "审核", "time_ns": now - hour},
]

pair(payments) := with_case(related(payments), {"signatures": reviewed})

fire_repeated_pair := pair([small("c2", now - day), small("c3", now - (40 * day)), small("c4", now - (80 * day))])

signed_fast(amount, start) := object.union(with_case(ev, {"amount": amount}), {"event": {"step_start_ns": start}})

fire_fast_sign := signed_fast(500000, now - (59 * sec))

fire_holiday_payment := object.union(ev, {"rest_day": true, "event": {"payment": true, "step": "zfsh"}})

fire_off_hours := object.union(ev, {"working_hours": false})

held_since(since, years) := object.union(post_tick, {"holding": {"since": since, "rotation_years": years}})

fire_rotation_overdue := held_since("2021-11-20", 0)

fire_frequent_moves := object.union(post_tick, {"holding": {"moves_this_year": 3}})

# complaint_on(n, key) is the complaint trigger about post gkc-zfsh with n substantiated
# complaints in 2026, a key post or not.
complaint_on(n, key) := {
	"trigger": "complaint", "org": "czj", "now_ns": 0, "day": "2026-11-21", "rest_day": true, "working_hours": false,
	"complaint_post": {"post": "orgs/czj/posts/gkc-zfsh", "unit": "orgs/czj/units/gkc", "key_post": key, "substantiated": n, "year": 2026},
}

fire_complaints_on_key_post := complaint_on(2, true)

firing := {
	"complaints_on_key_post": fire_complaints_on_key_post,
	"overdue_reminder": fire_overdue_reminder,
	"overdue_yellow": fire_overdue_yellow,
	"overdue_red": fire_overdue_red,
	"large_without_collective": fire_large_without_collective,
	"cash_single": fire_cash_single,
	"cash_cumulative_month": fire_cash_cumulative_month,
	"cash_yearly": fire_cash_yearly,
	"transfer_to_person": fire_transfer_to_person,
	"related_payee": fire_related_payee,
	"card_required": fire_card_required,
	"split_payment": fire_split_payment,
	"frequent_payments": fire_frequent_payments,
	"holiday_payment": fire_holiday_payment,
	"ahead_of_budget": fire_ahead_of_budget,
	"repeated_pair": fire_repeated_pair,
	"fast_sign": fire_fast_sign,
	"off_hours": fire_off_hours,
	"rotation_overdue": fire_rotation_overdue,
	"frequent_moves": fire_frequent_moves,
}

# --- the package as a whole

test_base_inputs_quiet if {
	count(found(ev)) == 0
	count(found(tick)) == 0
	count(found(post_tick)) == 0
}

test_rule_ids_are_the_data_rules if {
	sv.rule_ids == object.keys(data.supervision.rules)
	sv.rule_ids == object.keys(firing)
}

test_every_rule_fires_from_its_input if {
	every id, inp in firing {
		fires(inp, id)
	}
}

test_rules_metadata_complete if {
	every id, r in data.supervision.rules {
		object.keys(r) == {"name_zh", "name_en", "severity", "action", "basis", "enabled"}
		r.name_zh != ""
		r.name_en != ""
		r.basis != ""
		r.severity in {"NOTICE", "YELLOW", "RED"}
		r.action in {"warn", "hold"}
		is_boolean(r.enabled)
		is_string(id)
	}
	every s in {"NOTICE", "YELLOW", "RED"} {
		n := data.supervision.respond_days[s]
		is_number(n)
		n == floor(n)
		n > 0
	}
}

test_findings_fields_complete if {
	every inp in firing {
		every f in found(inp) {
			object.keys(f) == {"rule", "name", "severity", "action", "subject", "person", "key", "zh", "en", "basis", "respond_days", "deadline_ns"}
			f.rule in sv.rule_ids
			meta := data.supervision.rules[f.rule]
			f.name == meta.name_zh
			f.severity == meta.severity
			f.action == meta.action
			f.basis == meta.basis
			f.respond_days == data.supervision.respond_days[meta.severity]
			is_string(f.subject)
			f.subject != ""
			is_string(f.person)
			startswith(f.key, concat("", [f.rule, "|"]))
			f.zh != ""
			f.en != ""
			is_number(f.deadline_ns)
		}
	}
}

test_severity_and_action_come_from_data if {
	f := only(fire_cash_single, "cash_single") with data.supervision.rules.cash_single.severity as "RED"
		with data.supervision.rules.cash_single.action as "hold"
	f.severity == "RED"
	f.action == "hold"
	f.respond_days == 1
}

test_every_rule_can_be_switched_off if {
	every id, inp in firing {
		quiet_when_disabled(inp, id)
	}
}

# quiet_when_disabled: with data.supervision.rules[id].enabled false, the rule is quiet
# (and another rule firing on the same input still fires).
quiet_when_disabled(inp, id) if {
	off := object.union(data.supervision.rules, {id: {"enabled": false}})
	fs := sv.findings with input as inp with data.supervision.rules as off
	not id in {f.rule | some f in fs}
}

test_keys_stable_across_evaluations if {
	# The same case state at another time and event gives the same keys.
	later := object.union(fire_large_without_collective, {"now_ns": now + hour, "event": {"seq": 9, "type": "payload_updated"}})
	only(fire_large_without_collective, "large_without_collective").key == only(later, "large_without_collective").key
	a := only(fire_overdue_reminder, "overdue_reminder").key
	a == only(object.union(fire_overdue_reminder, {"now_ns": now + hour}), "overdue_reminder").key
}

# --- overdue_reminder, overdue_yellow, overdue_red

test_overdue_reminder_fires if {
	f := only(fire_overdue_reminder, "overdue_reminder")
	f.severity == "NOTICE"
	f.action == "warn"
	f.subject == c1
	f.person == sun_li
	f.key == sprintf("overdue_reminder|%s|zfsh|%d", [c1, now - (2 * day)])
	f.deadline_ns == 0
	f.respond_days == 5
	mentions(f, [c1, "zfsh", "2026-11-20 20:00"])
}

test_overdue_reminder_boundary if {
	fires(step_due(now + (24 * hour)), "overdue_reminder") # now = due − lead
	quiet(step_due((now + (24 * hour)) + 1), "overdue_reminder")
	fires(step_due(now + 1), "overdue_reminder")
	quiet(step_due(now), "overdue_reminder") # due: the yellow card's turn
	quiet(step_due(0), "overdue_reminder") # no time limit
}

test_overdue_yellow_fires if {
	f := only(step_due(now), "overdue_yellow")
	f.severity == "YELLOW"
	f.action == "warn"
	f.person == sun_li
	f.key == sprintf("overdue_yellow|%s|zfsh|%d", [c1, now - (2 * day)])
	f.deadline_ns == now + (3 * day)
	f.respond_days == 3
	mentions(f, ["2026-11-20 10:00", "2026-11-23 10:00"])
}

test_overdue_yellow_boundary if {
	quiet(step_due(now + 1), "overdue_yellow")
	fires(step_due(now), "overdue_yellow")
}

test_overdue_red_fires if {
	f := only(fire_overdue_red, "overdue_red")
	f.severity == "RED"
	f.action == "warn"
	f.key == sprintf("overdue_red|%s|zfsh|%d", [c1, now - (2 * day)])
	f.deadline_ns == 0
	f.respond_days == 1
	mentions(f, ["整改通知", c1, "zfsh"])
}

test_overdue_red_boundary if {
	fires(step_due(now - (3 * day)), "overdue_red") # now = due + grace
	quiet(step_due((now - (3 * day)) + 1), "overdue_red")
}

# ladder(due, t) are the rules firing at time t on a step due at due.
ladder(due, t) := ids(object.union(step_due(due), {"now_ns": t}))

test_overdue_ladder if {
	due := now + (2 * day)
	ladder(due, due - (25 * hour)) == set()
	ladder(due, due - (24 * hour)) == {"overdue_reminder"}
	ladder(due, due - 1) == {"overdue_reminder"}
	ladder(due, due) == {"overdue_yellow"}
	ladder(due, (due + (3 * day)) - 1) == {"overdue_yellow"}
	ladder(due, due + (3 * day)) == {"overdue_yellow", "overdue_red"}
	ladder(due, due + (30 * day)) == {"overdue_yellow", "overdue_red"}
}

test_overdue_unclaimed_step_has_no_person if {
	inp := with_case(tick, {"active": [{"step": "zfsh", "payment": true, "start_ns": 5, "due_ns": now - hour}]})
	f := only(inp, "overdue_yellow")
	f.person == ""
	f.key == sprintf("overdue_yellow|%s|zfsh|5", [c1])
}

test_overdue_one_finding_per_step if {
	inp := with_case(tick, {"active": [
		{"step": "zfsh", "payment": true, "start_ns": 1, "due_ns": now - hour, "claimed_by": sun_li},
		{"step": "bfbl", "payment": true, "start_ns": 2, "due_ns": now - hour, "claimed_by": ""},
		{"step": "kjhs", "payment": false, "start_ns": 3, "due_ns": 0, "claimed_by": ""},
	]})
	count(of(inp, "overdue_yellow")) == 2
}

test_overdue_quiet_when_off_held_closed_or_event if {
	quiet(fire_overdue_reminder, "overdue_reminder") with data.supervision.rules.overdue_reminder.enabled as false
	quiet(fire_overdue_yellow, "overdue_yellow") with data.supervision.rules.overdue_yellow.enabled as false
	quiet(fire_overdue_red, "overdue_red") with data.supervision.rules.overdue_red.enabled as false
	every id in {"overdue_reminder", "overdue_yellow", "overdue_red"} {
		quiet(with_case(firing[id], {"held": true}), id)
		quiet(with_case(firing[id], {"state": "COMPLETED"}), id)
		quiet(with_case(firing[id], {"state": "WITHDRAWN"}), id)
		quiet(as_event(firing[id]), id)
	}
}

# --- large_without_collective

test_large_without_collective_fires if {
	f := only(fire_large_without_collective, "large_without_collective")
	f.severity == "RED"
	f.action == "hold"
	f.subject == c1
	f.person == ""
	f.key == sprintf("large_without_collective|%s", [c1])
	mentions(f, ["5000000元", "集体决策"])
}

test_large_without_collective_quiet if {
	quiet(fire_large_without_collective, "large_without_collective") with data.supervision.rules.large_without_collective.enabled as false
	quiet(with_case(fire_large_without_collective, {"amount": 4999999}), "large_without_collective")
	quiet(with_case(fire_large_without_collective, {"collective_passed": true}), "large_without_collective")
	quiet(with_case(fire_large_without_collective, {"payment_pending": false}), "large_without_collective")
	quiet(with_case(fire_large_without_collective, {"state": "COMPLETED"}), "large_without_collective")
	quiet(as_tick(fire_large_without_collective), "large_without_collective")
}

# --- cash_single, cash_cumulative_month, cash_yearly

test_cash_single_fires if {
	f := only(fire_cash_single, "cash_single")
	f.severity == "YELLOW"
	f.action == "warn"
	f.key == sprintf("cash_single|%s", [c1])
	mentions(f, ["50001元", "50000元"])
	fires(with_case(fire_cash_single, {"payment_pending": false, "paid": true}), "cash_single")
}

test_cash_single_quiet if {
	quiet(fire_cash_single, "cash_single") with data.supervision.rules.cash_single.enabled as false
	quiet(cash(50000), "cash_single")
	quiet(with_case(fire_cash_single, {"method": "TRANSFER"}), "cash_single")
	quiet(with_case(fire_cash_single, {"payment_pending": false}), "cash_single")
	quiet(as_tick(fire_cash_single), "cash_single")
}

test_cash_cumulative_month_fires if {
	f := only(fire_cash_cumulative_month, "cash_cumulative_month")
	f.severity == "YELLOW"
	f.action == "warn"
	f.key == sprintf("cash_cumulative_month|%s", [c1])
	mentions(f, ["orgs/czj/units/gkc", "2026年11月", "200001元", "200000元"])
	quiet(fire_cash_cumulative_month, "cash_single")
}

test_cash_cumulative_month_boundary if {
	quiet(month_cash(unit_cash(190000, now - day)), "cash_cumulative_month")

	# The month starts at 00:00 China time on the 1st.
	fires(month_cash(unit_cash(190001, november_start)), "cash_cumulative_month")
	quiet(month_cash(unit_cash(190001, november_start - 1)), "cash_cumulative_month")

	# Another unit's cash does not count.
	quiet(month_cash(other_cash(190001, now - day)), "cash_cumulative_month")
}

test_cash_cumulative_month_quiet if {
	quiet(fire_cash_cumulative_month, "cash_cumulative_month") with data.supervision.rules.cash_cumulative_month.enabled as false
	quiet(with_case(fire_cash_cumulative_month, {"payment_pending": false}), "cash_cumulative_month")
	quiet(with_case(fire_cash_cumulative_month, {"method": "TRANSFER"}), "cash_cumulative_month")
	quiet(as_tick(fire_cash_cumulative_month), "cash_cumulative_month")
}

test_cash_yearly_fires if {
	f := only(fire_cash_yearly, "cash_yearly")
	f.severity == "YELLOW"
	f.action == "warn"
	f.key == sprintf("cash_yearly|%s", [c1])
	mentions(f, ["2026", "1000001元", "1000000元"])
}

test_cash_yearly_boundary if {
	quiet(month_cash(other_cash(990000, now - day)), "cash_yearly")

	# The year starts at 00:00 China time on 1 January.
	fires(month_cash(other_cash(990001, year_start)), "cash_yearly")
	quiet(month_cash(other_cash(990001, year_start - 1)), "cash_yearly")
}

test_cash_yearly_quiet if {
	quiet(fire_cash_yearly, "cash_yearly") with data.supervision.rules.cash_yearly.enabled as false
	quiet(with_case(fire_cash_yearly, {"payment_pending": false}), "cash_yearly")
	quiet(as_tick(fire_cash_yearly), "cash_yearly")
}

# --- transfer_to_person

test_transfer_to_person_fires if {
	f := only(fire_transfer_to_person, "transfer_to_person")
	f.severity == "YELLOW"
	f.action == "warn"
	f.key == sprintf("transfer_to_person|%s", [c1])
	mentions(f, ["张某", "50001元", "50000元"])
	not contains(f.zh, "420100199001010011") # a person's code (an ID number) is not shown
	fires(to_person(50001, ""), "transfer_to_person") # no item: not exempt
}

test_transfer_to_person_quiet if {
	quiet(fire_transfer_to_person, "transfer_to_person") with data.supervision.rules.transfer_to_person.enabled as false
	quiet(to_person(50000, "30227"), "transfer_to_person")
	quiet(to_person(50001, "30226"), "transfer_to_person") # 劳务费
	quiet(with_case(fire_transfer_to_person, {"method": "CASH"}), "transfer_to_person")
	quiet(with_case(fire_transfer_to_person, {"payee": {"is_person": false}}), "transfer_to_person")
	quiet(with_case(fire_transfer_to_person, {"payment_pending": false}), "transfer_to_person")
	quiet(as_tick(fire_transfer_to_person), "transfer_to_person")
}

# --- related_payee

test_related_payee_fires if {
	f := only(fire_related_payee, "related_payee")
	f.severity == "RED"
	f.action == "hold"
	f.person == sun_li
	f.key == sprintf("related_payee|%s|%s|%s", [c1, sun_li, payee_code])
	mentions(f, [sun_li, "某某建设有限公司", c1])
}

test_related_payee_by_name_or_code_of_a_signer if {
	fires(declared(feng_yu, ["某某建设 有限公司"]), "related_payee")
	fires(declared(feng_yu, [" 91420100ma4k000001 "]), "related_payee")

	# Code and name both declared: one finding.
	count(of(declared(sun_li, [payee_code, "某某建设有限公司"]), "related_payee")) == 1

	# A payee without a code: the key names it.
	inp := with_case(declared(sun_li, ["某某建设有限公司"]), {"payee": {"code": ""}})
	only(inp, "related_payee").key == sprintf("related_payee|%s|%s|某某建设有限公司", [c1, sun_li])
}

# The applicant, A and B of the case count as much as its signers.
test_related_payee_by_a_case_role if {
	every role in ["applicant", "a", "b"] {
		inp := with_case(declared("orgs/czj/people/cao-yang", [payee_code]), {role: "orgs/czj/people/cao-yang"})
		only(inp, "related_payee").person == "orgs/czj/people/cao-yang"
	}
}

test_related_payee_quiet if {
	quiet(fire_related_payee, "related_payee") with data.supervision.rules.related_payee.enabled as false
	quiet(declared(sun_li, ["另一公司", "91420100MA4K000002"]), "related_payee")
	quiet(declared("orgs/czj/people/nobody", [payee_code]), "related_payee") # not on the case
	quiet(with_case(declared(sun_li, [""]), {"payee": {"code": ""}}), "related_payee")
	quiet(with_case(fire_related_payee, {"paid": true}), "related_payee")
	quiet(with_case(fire_related_payee, {"state": "COMPLETED"}), "related_payee")
	quiet(object.union(as_tick(fire_related_payee), {"conflicts": {sun_li: [payee_code]}}), "related_payee")
}

# --- card_required

test_card_required_fires if {
	f := only(fire_card_required, "card_required")
	f.severity == "YELLOW"
	f.action == "warn"
	f.key == sprintf("card_required|%s", [c1])
	mentions(f, ["30211", "公务卡", "转账"])
	fires(card("CASH", 1), "card_required")
}

test_card_required_quiet if {
	quiet(fire_card_required, "card_required") with data.supervision.rules.card_required.enabled as false
	quiet(card("CARD", 1), "card_required")
	quiet(card("TRANSFER", 0), "card_required")
	quiet(with_case(fire_card_required, {"item": "30227"}), "card_required")
	quiet(with_case(fire_card_required, {"payment_pending": false}), "card_required")
	quiet(as_tick(fire_card_required), "card_required")
}

# --- split_payment

test_split_payment_fires if {
	f := only(fire_split_payment, "split_payment")
	f.severity == "RED"
	f.action == "warn"
	f.key == sprintf("split_payment|%s", [c1])
	mentions(f, ["2000000元", "5000000元", "F01", "2 笔"])
}

test_split_payment_boundary if {
	# Total one 元 under the limit.
	quiet(split(2000000, [payment("c2", 1499999, "F01", now - day), payment("c3", 1500000, "F01", now - day)]), "split_payment")

	# The case at the limit is not split.
	quiet(split(5000000, [payment("c2", 1500000, "F01", now - day), payment("c3", 1500000, "F01", now - day)]), "split_payment")

	# One related payment is not enough.
	quiet(split(2000000, [payment("c2", 3000000, "F01", now - day)]), "split_payment")

	# A related payment at the limit is no part of a split.
	quiet(split(2000000, [payment("c2", 1500000, "F01", now - day), payment("c3", 5000000, "F01", now - day)]), "split_payment")

	# Another fund does not count.
	quiet(split(2000000, [payment("c2", 1500000, "F01", now - day), payment("c3", 1500000, "F02", now - day)]), "split_payment")

	# The window: exactly split_days old counts, older does not.
	fires(split(2000000, [payment("c2", 1500000, "F01", now - day), payment("c3", 1500000, "F01", now - (30 * day))]), "split_payment")
	quiet(split(2000000, [payment("c2", 1500000, "F01", now - day), payment("c3", 1500000, "F01", (now - (30 * day)) - 1)]), "split_payment")
}

test_split_payment_quiet if {
	quiet(fire_split_payment, "split_payment") with data.supervision.rules.split_payment.enabled as false
	quiet(with_case(fire_split_payment, {"state": "WITHDRAWN"}), "split_payment")
	quiet(as_tick(fire_split_payment), "split_payment")
}

# --- frequent_payments

test_frequent_payments_fires if {
	f := only(fire_frequent_payments, "frequent_payments")
	f.severity == "NOTICE"
	f.action == "warn"
	f.key == sprintf("frequent_payments|%s", [c1])
	mentions(f, ["3 笔", "某某建设有限公司"])
	fires(related([small("c2", now - day), small("c3", now - day), small("c4", now - (30 * day))]), "frequent_payments")
}

test_frequent_payments_boundary if {
	quiet(related([small("c2", now - day), small("c3", now - (2 * day))]), "frequent_payments")
	quiet(related([small("c2", now - day), small("c3", now - day), small("c4", (now - (30 * day)) - 1)]), "frequent_payments")
}

test_frequent_payments_quiet if {
	quiet(fire_frequent_payments, "frequent_payments") with data.supervision.rules.frequent_payments.enabled as false
	quiet(with_case(fire_frequent_payments, {"state": "REJECTED"}), "frequent_payments")
	quiet(as_tick(fire_frequent_payments), "frequent_payments")
}

# --- ahead_of_budget

test_ahead_of_budget_fires if {
	f := only(fire_ahead_of_budget, "ahead_of_budget")
	f.severity == "NOTICE"
	f.action == "warn"
	f.person == ""
	f.key == "ahead_of_budget|czj|IND-2026-001|2026-11"
	mentions(f, ["IND-2026-001", "102.0%", "92%"])
	fires(budget(600001, 6), "ahead_of_budget") # June: 50% + 10
}

test_ahead_of_budget_boundary if {
	quiet(budget(1020000, 11), "ahead_of_budget") # exactly 92% + 10 points
	quiet(budget(600000, 6), "ahead_of_budget")
}

test_ahead_of_budget_quiet if {
	quiet(fire_ahead_of_budget, "ahead_of_budget") with data.supervision.rules.ahead_of_budget.enabled as false
	quiet(ev, "ahead_of_budget") # no budget
	quiet(object.union(ev, {"budget": {"annual": 0, "spent": 10, "month": 11}}), "ahead_of_budget")
	quiet(budget(1020001, 13), "ahead_of_budget")
	quiet(object.union(as_tick(fire_ahead_of_budget), {"budget": fire_ahead_of_budget.budget}), "ahead_of_budget")
}

# The annual budget from the org's table when the input gives none.
test_ahead_of_budget_from_the_table if {
	inp := object.union(ev, {"budget": {"spent": 1020001, "month": 11}})
	quiet(inp, "ahead_of_budget") # no table entry
	fires(inp, "ahead_of_budget") with data.supervision.indicator_budgets as {"czj": {"IND-2026-001": 1000000}}
	quiet(inp, "ahead_of_budget") with data.supervision.indicator_budgets as {"czj": {"IND-2026-001": 1000001}}
	quiet(inp, "ahead_of_budget") with data.supervision.indicator_budgets as {"other": {"IND-2026-001": 1000000}}
}

# --- repeated_pair

test_repeated_pair_fires if {
	f := only(fire_repeated_pair, "repeated_pair")
	f.severity == "YELLOW"
	f.action == "warn"
	f.person == zhao_lei
	f.key == sprintf("repeated_pair|%s|%s|%s", [c1, feng_yu, zhao_lei])
	mentions(f, [feng_yu, zhao_lei, "3 笔"])

	# The handler signing two handle steps is still one pair, one finding.
	twice := array.concat(reviewed, [{"step": "zcjh", "person": feng_yu, "duty": "支出计划", "time_ns": now - hour}])
	count(of(with_case(fire_repeated_pair, {"signatures": twice}), "repeated_pair")) == 1
}

test_repeated_pair_boundary if {
	quiet(pair([small("c2", now - day), small("c3", now - day)]), "repeated_pair")

	# The same two people in swapped duties are not the pair.
	swapped := object.union(small("c4", now - day), {"signers": [{"person": zhao_lei, "duty": "经办"}, {"person": feng_yu, "duty": "审核"}]})
	quiet(pair([small("c2", now - day), small("c3", now - day), swapped]), "repeated_pair")
}

test_repeated_pair_quiet if {
	quiet(fire_repeated_pair, "repeated_pair") with data.supervision.rules.repeated_pair.enabled as false

	# The reviewer has not signed this case yet.
	quiet(with_case(fire_repeated_pair, {"signatures": [reviewed[0]]}), "repeated_pair")

	# One person handling and reviewing is no pair (and for package sod to refuse).
	one := [reviewed[0], {"step": "sh", "person": feng_yu, "duty": "审核", "time_ns": now}]
	quiet(with_case(fire_repeated_pair, {"signatures": one}), "repeated_pair")
	quiet(object.union(as_tick(fire_repeated_pair), {"related": fire_repeated_pair.related}), "repeated_pair")
}

# --- fast_sign

test_fast_sign_fires if {
	f := only(fire_fast_sign, "fast_sign")
	f.severity == "YELLOW"
	f.action == "warn"
	f.person == feng_yu
	f.key == sprintf("fast_sign|%s|jb", [c1])
	mentions(f, ["59 秒", "500000元"])
}

test_fast_sign_boundary if {
	quiet(signed_fast(500000, now - (60 * sec)), "fast_sign")
	fires(signed_fast(500000, (now - (60 * sec)) + 1), "fast_sign")
	quiet(signed_fast(499999, now - sec), "fast_sign")
	quiet(signed_fast(500000, 0), "fast_sign") # start unknown
}

test_fast_sign_quiet if {
	quiet(fire_fast_sign, "fast_sign") with data.supervision.rules.fast_sign.enabled as false
	quiet(object.union(fire_fast_sign, {"event": {"type": "claimed"}}), "fast_sign")
	quiet(as_tick(fire_fast_sign), "fast_sign")
}

# --- holiday_payment

test_holiday_payment_fires if {
	f := only(fire_holiday_payment, "holiday_payment")
	f.severity == "NOTICE"
	f.action == "warn"
	f.person == feng_yu
	f.key == sprintf("holiday_payment|%s|7", [c1])
	mentions(f, ["zfsh", "2026-11-20"])
}

test_holiday_payment_quiet if {
	quiet(fire_holiday_payment, "holiday_payment") with data.supervision.rules.holiday_payment.enabled as false
	quiet(object.union(fire_holiday_payment, {"rest_day": false}), "holiday_payment")
	quiet(object.union(fire_holiday_payment, {"event": {"payment": false}}), "holiday_payment")
	quiet(object.union(fire_holiday_payment, {"event": {"type": "claimed"}}), "holiday_payment")
	quiet(as_tick(fire_holiday_payment), "holiday_payment")
}

# --- off_hours

test_off_hours_fires if {
	f := only(fire_off_hours, "off_hours")
	f.severity == "NOTICE"
	f.action == "warn"
	f.person == feng_yu
	f.key == sprintf("off_hours|%s|7", [c1])
	mentions(f, ["2026-11-20 10:00", "jb"])
	every t in ["claimed", "rejected", "returned"] {
		fires(object.union(fire_off_hours, {"event": {"type": t}}), "off_hours")
	}
}

test_off_hours_quiet if {
	quiet(fire_off_hours, "off_hours") with data.supervision.rules.off_hours.enabled as false
	quiet(object.union(fire_off_hours, {"working_hours": true}), "off_hours")
	quiet(object.union(fire_off_hours, {"event": {"type": "created"}}), "off_hours")
	quiet(object.union(fire_off_hours, {"event": {"type": "payload_updated"}}), "off_hours")
	quiet(as_tick(fire_off_hours), "off_hours")
}

# --- rotation_overdue

test_rotation_overdue_fires if {
	f := only(fire_rotation_overdue, "rotation_overdue")
	f.severity == "YELLOW"
	f.action == "warn"
	f.subject == "orgs/czj/posts/gkc-zfsh"
	f.person == sun_li
	f.key == sprintf("rotation_overdue|orgs/czj/posts/gkc-zfsh|%s|2021-11-20", [sun_li])
	mentions(f, ["5 年", "2021-11-20"])
}

test_rotation_overdue_boundary if {
	quiet(held_since("2021-11-21", 0), "rotation_overdue") # a day short of 5 years
	quiet(held_since("2021-11-20", 6), "rotation_overdue") # the holding's own period
	fires(held_since("2023-11-20", 3), "rotation_overdue")
	quiet(held_since("2023-11-21", 3), "rotation_overdue")

	# An anniversary on 29 February falls on 1 March.
	quiet(object.union(held_since("2020-02-29", 0), {"day": "2025-02-28"}), "rotation_overdue")
	fires(object.union(held_since("2020-02-29", 0), {"day": "2025-03-01"}), "rotation_overdue")
}

test_rotation_overdue_quiet if {
	quiet(fire_rotation_overdue, "rotation_overdue") with data.supervision.rules.rotation_overdue.enabled as false
	quiet(object.union(fire_rotation_overdue, {"holding": {"key_post": false}}), "rotation_overdue")
	quiet(object.union(fire_rotation_overdue, {"holding": {"since": "2021/11/20"}}), "rotation_overdue")
	quiet(object.union(fire_rotation_overdue, {"trigger": "event"}), "rotation_overdue")
}

# --- frequent_moves

test_frequent_moves_fires if {
	f := only(fire_frequent_moves, "frequent_moves")
	f.severity == "NOTICE"
	f.action == "warn"
	f.subject == "orgs/czj/posts/gkc-zfsh"
	f.person == sun_li
	f.key == sprintf("frequent_moves|%s|2026|3", [sun_li])
	mentions(f, ["3 次", "2 次"])
}

test_frequent_moves_quiet if {
	quiet(fire_frequent_moves, "frequent_moves") with data.supervision.rules.frequent_moves.enabled as false
	quiet(object.union(post_tick, {"holding": {"moves_this_year": 2}}), "frequent_moves")
	quiet(object.union(fire_frequent_moves, {"trigger": "event"}), "frequent_moves")
}

# --- complaints_on_key_post

test_complaints_on_key_post_fires if {
	f := only(fire_complaints_on_key_post, "complaints_on_key_post")
	f.severity == "YELLOW"
	f.action == "warn"
	f.subject == "orgs/czj/posts/gkc-zfsh"
	f.person == ""
	f.key == "complaints_on_key_post|orgs/czj/posts/gkc-zfsh|2026"
	mentions(f, ["2026", "2 件", "黄牌"])
}

test_complaints_on_key_post_boundary if {
	quiet(complaint_on(1, true), "complaints_on_key_post")
	fires(complaint_on(3, true), "complaints_on_key_post")
	quiet(complaint_on(5, false), "complaints_on_key_post")
}

test_complaints_on_key_post_quiet if {
	quiet(fire_complaints_on_key_post, "complaints_on_key_post") with data.supervision.rules.complaints_on_key_post.enabled as false
	quiet(object.union(fire_complaints_on_key_post, {"trigger": "clock"}), "complaints_on_key_post")
}
