package fenquan.main_test

import data.fenquan.fixtures as fx
import data.fenquan.main

decide(inp) := d if {
	d := main.decision with input as inp with data.facts as fx.facts
}

rules_decide(inp) := d if {
	d := main.rules_decision with input as inp with data.facts as fx.facts
}

rules(inp) := [v.rule | some v in decide(inp).violations]

# --- allowed decisions, one per action

test_allows_clean_actions if {
	every inp in [
		fx.create, fx.claim, fx.sign, fx.sign_last,
		fx.sign_chain("sun-li", "zgsh", array.slice(fx.chain_signatures, 0, 1)),
		fx.sign_chain("wu-gang", "cz", array.slice(fx.chain_signatures, 0, 3)),
		fx.approval("approval.reject", "zhou-min", "fgcz"),
		fx.approval("approval.return", "wu-gang", "cz"),
		object.union(fx.approval("approval.delegate", "liu-fang", "bfbl"), {"delegation": {"delegate": "gao-yan", "from": "2026-11-21", "until": "2026-11-28"}}),
		fx.vote("zhou-jianguo"),
		fx.close(object.union(fx.meeting, {"votes": {p: "yes" | some p in fx.members}})),
		fx.api("wang-jing", "registry.catalog.write", ["catalog-admin"], []),
		fx.platform_api("root-op", "registry.orgs.delete", ["platform-admin"]),
		fx.withdraw, fx.comment, fx.update_payload, fx.add_signer, fx.sign_added,
		fx.hold, fx.hold_by_service, fx.release,
		fx.convene, fx.attend(fx.meeting),
	] {
		decide(inp) == {"allowed": true, "violations": [], "output": {}}
	}
}

# clean holds an allowed input of every action; denied holds, for every action, an input
# denied by a rule other than the input schema's, and the rules that deny it.
clean := {
	"api.access": fx.api("wang-jing", "registry.catalog.write", ["catalog-admin"], []),
	"approval.create": fx.create,
	"approval.claim": fx.claim,
	"approval.sign": fx.sign,
	"approval.reject": fx.approval("approval.reject", "zhou-min", "fgcz"),
	"approval.return": fx.approval("approval.return", "wu-gang", "cz"),
	"approval.delegate": object.union(fx.approval("approval.delegate", "liu-fang", "bfbl"), {"delegation": {"delegate": "gao-yan", "from": "2026-11-21", "until": "2026-11-28"}}),
	"approval.meeting.vote": fx.vote("zhou-jianguo"),
	"approval.meeting.close": fx.close(object.union(fx.meeting, {"votes": {p: "yes" | some p in fx.members}})),
	"approval.withdraw": fx.withdraw,
	"approval.comment": fx.comment,
	"approval.update_payload": fx.update_payload,
	"approval.add_signer": fx.add_signer,
	"approval.hold": fx.hold,
	"approval.release": fx.release,
	"approval.meeting.convene": fx.convene,
	"approval.meeting.attend": fx.attend(fx.meeting),
	"risk.grade": fx.risk(3, 3, fx.low_factors, fx.no_force),
	"risk.campaign.open": fx.open_campaign,
	"risk.campaign.advance": fx.advance("DRAFTING", "COMMENTING", "zhou-jianguo"),
	"risk.draft": fx.draft,
	"risk.amend": fx.amend,
	"risk.comment": fx.risk_comment,
	"risk.object": fx.risk_object,
	"risk.answer_objection": fx.answer_objection,
	"risk.measure.update": fx.measure_update("PLANNED", "IN_PLACE", "he-wen"),
	"risk.meeting.convene": fx.risk_convene,
	"risk.meeting.attend": fx.risk_attend(fx.risk_meeting),
	"risk.meeting.vote": fx.risk_vote("zhou-jianguo"),
	"risk.meeting.close": fx.risk_close(object.union(fx.risk_meeting, {"votes": {p: "yes" | some p in fx.members}})),
	"supervision.warning.act": warning_act("REVIEW", "RAISED", "cheng-gang"),
	"supervision.complaint.act": complaint_act("ASSIGN", "RECEIVED", "cheng-gang"),
}

denied := {
	"api.access": [fx.api("wang-jing", "audit.read", ["staff"], []), {"api.permission"}],
	"approval.create": [object.union(fx.create, {"case": {"b": "feng-yu"}}), {"sod.ab_distinct"}],
	"approval.claim": [object.union(fx.claim, {"actor": fx.actor("qian-hao")}), {"signoff.not_holder"}],
	"approval.sign": [object.union(fx.sign, {"actor": fx.actor("qian-hao")}), {"signoff.not_holder"}],
	"approval.reject": [fx.approval("approval.reject", "feng-yu", "fgcz"), {"sod.self_approval", "signoff.not_holder"}],
	"approval.return": [fx.approval("approval.return", "feng-yu", "fgcz"), {"sod.self_approval", "signoff.not_holder"}],
	"approval.delegate": [object.union(fx.approval("approval.delegate", "liu-fang", "bfbl"), {"delegation": {"delegate": "feng-yu", "from": "2026-11-21", "until": ""}}), {"sod.delegation_separation"}],
	"approval.meeting.vote": [fx.vote("sun-li"), {"collective.not_member", "collective.not_present"}],
	"approval.meeting.close": [fx.close(fx.meeting), {"collective.majority"}],
	"approval.withdraw": [object.union(fx.withdraw, {"actor": fx.actor("cao-yang")}), {"case.not_applicant"}],
	"approval.comment": [object.union(fx.comment, {"actor": fx.actor("ma-lin")}), {"case.inactive_actor"}],
	"approval.update_payload": [object.union(fx.update_payload, {"actor": fx.actor("ma-lin")}), {"case.not_editor", "case.inactive_actor"}],
	"approval.add_signer": [fx.add_signer_at("liu-fang", "zfsh", "feng-yu"), {"signoff.not_holder", "sod.added_signer"}],
	"approval.hold": [fx.hold_by("feng-yu", ["staff"], []), {"case.hold_permission", "sod.supervisor_involved"}],
	"approval.release": [object.union(fx.release, {"actor": fx.actor("wu-gang")}), {"sod.supervisor_involved"}],
	"approval.meeting.convene": [object.union(fx.convene, {"actor": fx.actor("wu-gang"), "meeting": {"members": []}}), {"collective.convener", "collective.no_members"}],
	"approval.meeting.attend": [fx.attend(object.union(fx.meeting, {"recused": ["he-wen"]})), {"collective.attendee_not_member"}],
	"risk.grade": [fx.risk(6, 5, fx.low_factors, fx.no_force), {"grading.out_of_scale"}],
	"risk.campaign.open": [object.union(fx.open_campaign, {"actor": fx.actor("wu-gang")}), {"risk.not_leader"}],
	"risk.campaign.advance": [fx.advance("LEADER_REVIEW", "PUBLICITY", "he-wen"), {"risk.stage_order", "risk.not_leader", "risk.self_review"}],
	"risk.draft": [fx.draft_by("zhang-wei", {"kind": "其他"}), {"risk.not_in_scope", "risk.unknown_kind"}],
	"risk.amend": [object.union(fx.amend, {"actor": fx.actor("zhou-min"), "campaign": {"stage": "PUBLICITY"}}), {"risk.stage", "risk.not_leader"}],
	"risk.comment": [object.union(fx.risk_comment, {"actor": fx.actor("ma-lin"), "campaign": {"stage": "PUBLICITY"}}), {"risk.stage", "risk.inactive_actor"}],
	"risk.object": [object.union(fx.risk_object, {"today": "2026-12-06"}), {"risk.publicity_over"}],
	"risk.answer_objection": [object.union(fx.answer_objection, {"actor": fx.actor("he-wen")}), {"risk.not_leader", "risk.self_review"}],
	"risk.measure.update": [fx.measure_update("IN_PLACE", "VERIFIED", "he-wen"), {"risk.self_verify"}],
	"risk.meeting.convene": [object.union(fx.risk_convene, {"actor": fx.actor("wu-gang"), "campaign": {"stage": "PUBLICITY"}}), {"risk.stage", "collective.convener"}],
	"risk.meeting.attend": [fx.risk_attend(object.union(fx.risk_meeting, {"recused": ["he-wen"]})), {"collective.attendee_not_member"}],
	"risk.meeting.vote": [fx.risk_vote("sun-li"), {"collective.not_member", "collective.not_present"}],
	"risk.meeting.close": [fx.risk_close(fx.risk_meeting), {"collective.majority"}],
	"supervision.warning.act": [warning_act("TRACE", "RAISED", "feng-yu"), {"oversight.self_supervision", "oversight.transition"}],
	"supervision.complaint.act": [complaint_act("INVESTIGATE", "RECEIVED", "cheng-gang"), {"oversight.transition"}],
}

test_every_action_has_a_clean_and_a_denied_input if {
	object.keys(clean) == object.keys(data.input.actions)
	object.keys(denied) == object.keys(data.input.actions)
	every action, inp in clean {
		inp.action == action
		decide(inp).allowed
	}
	every action, pair in denied {
		pair[0].action == action
		d := decide(pair[0])
		d.allowed == false
		{v.rule | some v in d.violations} == pair[1]
		rules_decide(pair[0]).violations == d.violations
	}
}

test_allows_penalty_decision_in_tier if {
	# wu-gang (处长) decides a penalty of 300000 元 for a repeated offence (严重 tier).
	decide(fx.decide(fx.penalty(["repeated"], 300000))).allowed
}

test_large_amount_allowed_after_collective_decision if {
	inp := object.union(fx.sign_last, {"case": {"amount": 8000000, "collective": {"passed": true, "payload_version": 3}}})
	decide(inp).allowed
}

# --- deny by default

test_empty_input_denies if {
	d := decide({})
	d.allowed == false
	rules({}) == ["input.unknown_action"]
	d.output == {}
}

test_unknown_action_denies if {
	d := decide(object.union(fx.sign, {"action": "approval.force"}))
	d.allowed == false
	rules(object.union(fx.sign, {"action": "approval.force"})) == ["input.unknown_action"]
}

test_missing_field_denies if {
	inp := json.remove(fx.sign, ["case/applicant"])
	d := decide(inp)
	d.allowed == false
	"input.missing_field" in rules(inp)
}

test_unexpected_field_denies if {
	inp := object.union(fx.sign, {"skip_checks": true})
	decide(inp).allowed == false
	rules(inp) == ["input.unexpected_field"]
}

test_decision_has_exact_shape if {
	d := decide(object.union(fx.sign, {"actor": fx.actor("qian-hao")}))
	object.keys(d) == {"allowed", "violations", "output"}
	every v in d.violations {
		object.keys(v) == {"rule", "zh", "en", "basis", "legal_basis"}
		v.legal_basis == "《中华人民共和国预算法》第五十三条"
		v.basis != ""
	}
}

# --- rules_decision: the decision without the input schema (the PDP checks the schema in
# Go, from data.input, and asks rules_decision only for inputs that pass it)

test_rules_decision_is_decision_without_schema if {
	every inp in [
		fx.sign, fx.sign_last, fx.claim, fx.create,
		fx.risk(4, 5, {"importance": 5, "discretion": 4, "frequency": 3}, fx.no_force),
		fx.risk(6, 5, fx.low_factors, fx.no_force),
		object.union(fx.sign_last, {"actor": fx.actor("feng-yu"), "case": {"amount": 6000000}}),
		object.union(fx.sign, {"actor": fx.actor("qian-hao")}),
		fx.decide(fx.penalty(["repeated"], 1)),
		fx.close(object.union(fx.meeting, {"attendees": ["zhou-jianguo"]})),
		fx.api("wang-jing", "audit.read", ["staff"], []),
		fx.hold_by("feng-yu", ["staff"], []),
		object.union(fx.hold, {"roles": "supervisor"}),
		object.remove(fx.add_signer, ["signer"]),
		object.union(fx.sign_added, {"step": {"added_signers": "lin-tao"}}),
		fx.attend(object.union(fx.meeting, {"recused": ["he-wen"]})),
		{},
		object.union(fx.sign, {"action": "approval.force"}),
		json.remove(fx.sign, ["case/applicant"]),
		object.union(fx.sign, {"skip_checks": true}),
		object.union(fx.sign, {"case": {"signatures": "none"}}),
		object.union(fx.sign, {"case": {"emergency": {"active": true, "justification": null}}}),
		fx.draft_by("zhang-wei", {"kind": "其他"}),
		fx.advance("LEADER_REVIEW", "PUBLICITY", "he-wen"),
		json.remove(fx.draft, ["risk/kind"]),
		object.union(fx.risk_close(fx.risk_meeting), {"case": {}}),
	] {
		d := decide(inp)
		r := rules_decide(inp)
		object.keys(r) == {"allowed", "violations", "output"}
		r.violations == [v | some v in d.violations; not startswith(v.rule, "input.")]
		none := count(r.violations) == 0
		r.allowed == none
		r.output == d.output
	}
}

test_rules_decision_equals_decision_for_valid_inputs if {
	every inp in [fx.sign, fx.sign_last, object.union(fx.sign, {"actor": fx.actor("feng-yu")})] {
		rules_decide(inp) == decide(inp)
	}
}

# --- violations from several packages, sorted by rule then English message

test_violations_sorted_and_merged if {
	# feng-yu (applicant) signs the 拨付办理 step of a 大额 case he does not hold.
	inp := object.union(fx.sign_last, {"actor": fx.actor("feng-yu"), "case": {"amount": 6000000}})
	rs := rules(inp)
	rs == sort(rs)
	"sod.self_approval" in rs
	"signoff.not_holder" in rs
	"signoff.collective_required" in rs
	d := decide(inp)
	ens := [v.en | some v in d.violations; v.rule == "signoff.not_holder"]
	ens == sort(ens)
}

# --- each action meets only its packages

test_create_meets_only_sod_and_input if {
	# On create, the applicant is not checked as a holder of the step and no band applies.
	inp := object.union(fx.create, {"actor": fx.actor("nobody"), "case": {"amount": 90000000}})
	decide(inp).allowed
}

test_sign_meets_discretion if {
	"discretion.out_of_range" in rules(fx.decide(fx.penalty(["repeated"], 1)))
}

test_hold_by_service_meets_no_person_rule if {
	# The supervision service acts as a platform principal, not a person of the org.
	decide(fx.hold_by_service).allowed
	decide(object.union(fx.hold_by_service, {"action": "approval.release", "hold": {"id": "h-0001"}})).allowed
}

test_added_signer_signs_under_every_other_rule if {
	# An added signer meets the separation rules like any signer: he-wen signed zfsh and,
	# added to bfbl, may not sign it.
	inp := object.union(fx.sign_last, {"actor": fx.actor("he-wen"), "step": {"added_signers": ["he-wen"]}})
	rules(inp) == ["sod.separated_steps"]
}

test_meeting_actions_meet_collective_only if {
	# The voter holds no step post: signoff rules do not apply to a vote.
	decide(fx.vote("deng-yi")).allowed
}

# --- risk.grade carries the grade in output

test_risk_grade_output if {
	d := decide(fx.risk(4, 5, {"importance": 5, "discretion": 4, "frequency": 3}, {"major_impact": false, "unlimited_discretion": false, "past_case": true}))
	d.allowed
	d.violations == []
	d.output.grade == "HIGH"
	d.output.grade_zh == "高"
	d.output.level == "一级"
	d.output.score == 20
	d.output.forced_by == ["past_case"]
	d.output.owner_rank_level == 6
	d.output.watchers == ["discipline"]
	d.output.matrix_version == "2026-1"
}

test_risk_grade_out_of_scale_denies_without_output if {
	d := decide(fx.risk(6, 5, fx.low_factors, fx.no_force))
	d.allowed == false
	d.output == {}
	[v.rule | some v in d.violations] == ["grading.out_of_scale"]
}

test_output_empty_for_other_actions if {
	decide(fx.sign).output == {}
	decide(fx.draft).output == {}
}

test_risk_grade_output_carries_the_criteria if {
	d := decide(fx.risk(3, 3, fx.low_factors, fx.no_force))
	d.output.criteria.matrix == data.grading.matrix
	d.output.criteria.levels == data.grading.levels
	rules_decide(fx.risk(3, 3, fx.low_factors, fx.no_force)).output == d.output
}

# --- the risk assessment: its own rules, and the 集体决策 rules on its meeting

test_risk_meeting_meets_risk_and_collective if {
	# A meeting convened outside the COLLECTIVE stage by a non-leader with no members.
	inp := object.union(fx.risk_convene, {"actor": fx.actor("wu-gang"), "campaign": {"stage": "LEADER_REVIEW"}, "meeting": {"members": []}})
	rules(inp) == ["collective.convener", "collective.no_members", "risk.stage"]
	d := decide(inp)
	some v in d.violations
	v.rule == "collective.convener"
	contains(v.zh, "风险评估 2026-czj")
	contains(v.en, "may not convene the leadership meeting on risk assessment 2026-czj")
}

test_risk_meeting_close_quorum_and_recusal if {
	# Three of six present, one of them recused and voting.
	present := array.slice(fx.members, 0, 3)
	inp := fx.risk_close(object.union(fx.risk_meeting, {"attendees": present, "recused": ["zhou-jianguo"], "votes": {p: "yes" | some p in present}}))
	rs := {r | some r in rules(inp)}
	"collective.quorum" in rs
	"collective.recused" in rs
	not "collective.version_mismatch" in rs
	not "input.missing_field" in rs
}

test_risk_meeting_has_no_case_rules if {
	# No case: neither the payload version nor a payee conflict is checked; xu-hong, whose
	# declaration would match a payee, votes.
	decide(fx.risk_vote("xu-hong")).allowed
}

test_risk_actions_meet_no_case_package if {
	# The approval packages (case, sod, signoff) do not apply to risk actions.
	every action, _ in data.risk.actions {
		not data.case.actions[action]
		not data.sod.actions[action]
		not data.signoff.actions[action]
	}
}

# --- the scopes in data are consistent (a typo would silently switch a rule off)

packages := {
	"api": data.api, "case": data.case, "sod": data.sod, "signoff": data.signoff,
	"collective": data.collective, "discretion": data.discretion, "grading": data.grading,
	"risk": data.risk,
}

test_package_actions_are_known_actions if {
	every _, pkg in packages {
		every action, on in pkg.actions {
			data.input.actions[action]
			on == true
		}
	}
}

test_rule_actions_within_package_actions if {
	every _, pkg in packages {
		every _, actions in object.get(pkg, "rule_actions", {}) {
			is_object(actions)
			every action, on in actions {
				pkg.actions[action]
				on == true
			}
		}
	}
}

# --- mistyped inputs deny with violations, never with an evaluation error (the PDP
# evaluates with strict builtin errors; the Go test runs these tests the same way)

test_mistyped_inputs_deny if {
	every inp in [
		object.union(fx.sign, {"case": {"emergency": {"active": true, "justification": null}}}),
		object.union(fx.sign, {"case": {"amount": "6000000"}, "step": {"payment": true}}),
		object.union(fx.sign, {"case": {"payee": "某某建设有限公司"}}),
		object.union(fx.sign, {"case": {"signatures": "none"}}),
		object.union(fx.api("wang-jing", "audit.read", ["auditor"], []), {"permission": 42}),
		fx.risk("3", 3, fx.low_factors, fx.no_force),
		fx.risk(3, 3, object.union(fx.low_factors, {"importance": "high"}), fx.no_force),
		fx.decide(fx.penalty("repeated", "a lot")),
		fx.close(object.union(fx.meeting, {"votes": "all yes"})),
		object.union(fx.hold, {"roles": 42, "platform_roles": [7, "service"]}),
		object.union(fx.hold_by("wang-jing", [7, "staff"], {"service": true}), {"case": {"signatures": "none"}}),
		object.union(fx.add_signer, {"signer": {"person": 7}, "step": {"separations": "none"}}),
		object.union(fx.sign_added, {"step": {"added_signers": "lin-tao"}}),
		fx.attend(object.union(fx.meeting, {"members": 6, "attendees": "all", "recused": {"he-wen": true}})),
		object.union(fx.convene, {"meeting": {"members": "all"}}),
		object.union(fx.withdraw, {"case": {"applicant": ["feng-yu"]}}),
		object.union(fx.advance("PUBLICITY", "IN_FORCE", "he-wen"), {"campaign": {"drafters": "he-wen", "open_objections": "2", "publicity_end": 20261205, "unit": 7}}),
		object.union(fx.draft, {"risk": {"level": ["POST"], "scope": 7, "unit": {"gkc": true}, "kind": 3}, "campaign": {"stage": 1}}),
		object.union(fx.amend, {"risk": {"upheld_objection": "yes", "unit": 4}, "campaign": {"stage": "PUBLICITY"}}),
		object.union(fx.risk_object, {"campaign": {"publicity_end": 1}, "actor": {"person": 7}}),
		object.union(fx.answer_objection, {"objection": {"by": 7}, "risk": {"drafted_by": ["wu-gang"]}}),
		object.union(fx.measure_update("PLANNED", "IN_PLACE", "sun-li"), {"measure": {"from": 1, "to": ["IN_PLACE"], "responsible": 7}, "risk": {"unit": 3}}),
		object.union(fx.measure_update("IN_PLACE", "VERIFIED", "sun-li"), {"measure": {"responsible": 7}, "risk": {"drafted_by": null}}),
		object.union(fx.risk_close(fx.risk_meeting), {"meeting": {"votes": "all yes", "members": "all"}, "campaign": {"stage": ["COLLECTIVE"]}}),
		json.remove(fx.risk_vote("sun-li"), ["campaign"]),
	] {
		d := decide(inp)
		d.allowed == false
		count(d.violations) > 0
	}
}

test_mistyped_payee_code_is_not_an_error if {
	inp := object.union(fx.sign, {"case": {"payee": {"name": "武汉某某科技有限公司", "code": 91420100}}})
	decide(inp).allowed
}

warning_act(act, state, person) := {
	"action": "supervision.warning.act", "org": "czj", "today": "2026-11-21",
	"actor": {"person": person, "on_behalf_of": ""},
	"subject": {
		"kind": "warning", "name": "orgs/czj/warnings/w1", "state": state, "act": act,
		"person": "feng-yu", "participants": ["feng-yu"], "disposition": "",
	},
}

complaint_act(act, state, person) := {
	"action": "supervision.complaint.act", "org": "czj", "today": "2026-11-21",
	"actor": {"person": person, "on_behalf_of": ""},
	"subject": {
		"kind": "complaint", "name": "orgs/czj/complaints/c1", "state": state, "act": act,
		"person": "", "participants": ["wang-li"], "assignee": "", "link_people": [],
	},
}
