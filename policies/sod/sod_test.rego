package fenquan.sod_test

import data.fenquan.fixtures as fx
import data.fenquan.sod

# deny_set evaluates the package's deny set for an input, on the fixture facts.
deny_set(inp) := d if {
	d := sod.deny with input as inp with data.facts as fx.facts
}

ids(inp) := {v.rule | some v in deny_set(inp)}

messages(inp, rule) := {v.zh | some v in deny_set(inp); v.rule == rule} | {v.en | some v in deny_set(inp); v.rule == rule}

# mentions holds when some message of rule names every string in words.
mentions(inp, rule, words) if {
	some m in messages(inp, rule)
	every w in words {
		contains(m, w)
	}
}

# The base inputs of the fixtures meet no separation rule.
test_base_inputs_clean if {
	count(ids(fx.create)) == 0
	count(ids(fx.sign)) == 0
	count(ids(fx.sign_last)) == 0
	count(ids(fx.claim)) == 0
}

# --- sod.ab_distinct

test_ab_distinct_denies_same_person if {
	inp := object.union(fx.create, {"case": {"b": "feng-yu"}})
	"sod.ab_distinct" in ids(inp)
	mentions(inp, "sod.ab_distinct", ["feng-yu", "c-0001"])
}

test_ab_distinct_allows_two_people if {
	not "sod.ab_distinct" in ids(fx.create)
}

test_ab_distinct_only_on_create if {
	# A and B are fixed when the case opens; signing does not re-check them.
	not "sod.ab_distinct" in ids(object.union(fx.sign, {"case": {"b": "feng-yu"}}))
}

# --- sod.separated_steps

test_separated_steps_denies_second_step if {
	# he-wen signed 支付审核 (zfsh) and now does 拨付办理 (bfbl).
	inp := object.union(fx.sign_last, {"actor": fx.actor("he-wen")})
	"sod.separated_steps" in ids(inp)
	mentions(inp, "sod.separated_steps", ["he-wen", "zfsh", "bfbl", "支付审核与拨付办理分离"])
}

test_separated_steps_denies_principal if {
	# liu-fang acts for he-wen, who signed zfsh: the principal is checked too.
	inp := object.union(fx.sign_last, {"actor": fx.delegate("liu-fang", "he-wen")})
	"sod.separated_steps" in ids(inp)
}

test_separated_steps_denies_signature_made_for_actor if {
	# zfsh was signed by gao-yan on behalf of liu-fang; liu-fang may not do bfbl.
	signed := array.concat(fx.chain_signatures, [object.union(fx.sig("zfsh", "gao-yan", 1), {"on_behalf_of": "liu-fang"})])
	inp := object.union(fx.sign_last, {"case": {"signatures": signed}})
	"sod.separated_steps" in ids(inp)
}

test_separated_steps_denies_claim if {
	inp := object.union(fx.sign_last, {"action": "approval.claim", "actor": fx.actor("he-wen")})
	"sod.separated_steps" in ids(inp)
}

test_separated_steps_allows_other_person if {
	not "sod.separated_steps" in ids(fx.sign_last)
}

test_separated_steps_allows_same_step_again if {
	# Signing the same step again (after a payload change) is not a second step.
	signed := array.concat(fx.chain_signatures, [fx.sig("zfsh", "he-wen", 1)])
	not "sod.separated_steps" in ids(object.union(fx.sign, {"case": {"signatures": signed}}))
}

# --- sod.manage_handle

test_manage_handle_denies_fund_manager if {
	# zhang-wei holds 预算处指标管理岗 ysc-zbgl, which manages fund ZX-SHBZ-2026.
	inp := object.union(fx.sign_last, {"actor": fx.actor("zhang-wei")})
	"sod.manage_handle" in ids(inp)
	mentions(inp, "sod.manage_handle", ["zhang-wei", "ysc-zbgl", "ZX-SHBZ-2026", "bfbl"])
}

test_manage_handle_denies_by_indicator if {
	inp := object.union(fx.sign_last, {"actor": fx.actor("zhang-wei"), "case": {"fund": ""}})
	mentions(inp, "sod.manage_handle", ["ZB-2026-0012"])
}

test_manage_handle_reads_the_index if {
	# The fund_managers index (built from the posts' managed_funds) is what counts.
	facts := json.patch(fx.facts, [{"op": "replace", "path": "/orgs/czj/fund_managers", "value": {"ZX-SHBZ-2026": ["gkc-bfbl"]}}])
	inp := fx.sign_last
	d := sod.deny with input as inp with data.facts as facts
	some v in d
	v.rule == "sod.manage_handle"
	contains(v.zh, "liu-fang")
}

test_manage_handle_denies_principal if {
	inp := object.union(fx.sign_last, {"actor": fx.delegate("liu-fang", "zhang-wei")})
	"sod.manage_handle" in ids(inp)
}

test_manage_handle_allows_handler if {
	not "sod.manage_handle" in ids(fx.sign_last)
}

test_manage_handle_allows_past_manager if {
	# gao-yan left ysc-zbgl on 2022-12-31 and now holds the 拨付办理 post.
	not "sod.manage_handle" in ids(object.union(fx.sign_last, {"actor": fx.actor("gao-yan")}))
}

test_manage_handle_allows_manage_step if {
	# 审批 cz is a 管 step: the manager may sign it.
	inp := fx.sign_chain("zhang-wei", "cz", array.slice(fx.chain_signatures, 0, 3))
	not "sod.manage_handle" in ids(inp)
}

# --- sod.self_approval

test_self_approval_denies_sign if {
	inp := fx.sign_chain("feng-yu", "fgcz", array.slice(fx.chain_signatures, 0, 2))
	"sod.self_approval" in ids(inp)
	mentions(inp, "sod.self_approval", ["feng-yu", "c-0001", "fgcz", "签署"])
}

test_self_approval_denies_reject if {
	inp := fx.approval("approval.reject", "feng-yu", "fgcz")
	"sod.self_approval" in ids(inp)
	mentions(inp, "sod.self_approval", ["驳回"])
}

test_self_approval_denies_return if {
	inp := fx.approval("approval.return", "feng-yu", "fgcz")
	"sod.self_approval" in ids(inp)
	mentions(inp, "sod.self_approval", ["退回"])
}

test_self_approval_denies_claim_add_signer_and_delegate if {
	# The applicant takes no part in a later step: not claiming it, adding a signer to it
	# nor delegating it.
	"sod.self_approval" in ids(fx.approval("approval.claim", "feng-yu", "fgcz"))
	"sod.self_approval" in ids(fx.add_signer_at("feng-yu", "fgcz", "lin-tao"))
	deleg := object.union(fx.approval("approval.delegate", "feng-yu", "fgcz"), {"delegation": {"delegate": "lin-tao", "from": "2026-11-21", "until": ""}})
	"sod.self_approval" in ids(deleg)
	not "sod.self_approval" in ids(fx.approval("approval.claim", "feng-yu", "zcjh"))
}

test_self_approval_denies_through_delegate if {
	inp := object.union(fx.sign, {"actor": fx.delegate("cao-yang", "feng-yu")})
	"sod.self_approval" in ids(inp)
}

test_self_approval_allows_entry_step if {
	not "sod.self_approval" in ids(fx.approval("approval.sign", "feng-yu", "zcjh"))
}

test_self_approval_allows_other_person if {
	not "sod.self_approval" in ids(fx.approval("approval.reject", "zhou-min", "fgcz"))
}

# --- sod.conflict_of_interest

test_conflict_denies_by_code if {
	# sun-li declared a relative at 某某建设有限公司, code 91420100MA4K2XXXX.
	inp := object.union(fx.sign_chain("sun-li", "zgsh", [fx.sig("zcjh", "feng-yu", 1)]), {"case": {"payee": fx.conflicted_payee}})
	"sod.conflict_of_interest" in ids(inp)
	mentions(inp, "sod.conflict_of_interest", ["sun-li", "某某建设有限公司", "c-0001"])
}

test_conflict_matches_code_or_name if {
	# Same code under another name still matches; so does the same name under another code.
	renamed := {"name": "某某建设集团", "code": "91420100ma4k2xxxx ", "is_person": false}
	inp := object.union(fx.sign_chain("sun-li", "zgsh", []), {"case": {"payee": renamed}})
	"sod.conflict_of_interest" in ids(inp)
	other := {"name": "某某建设有限公司", "code": "91420100MA4OTHER0", "is_person": false}
	"sod.conflict_of_interest" in ids(object.union(fx.sign_chain("sun-li", "zgsh", []), {"case": {"payee": other}}))
	unrelated := {"name": "另一家公司", "code": "91420100MA4OTHER0", "is_person": false}
	not "sod.conflict_of_interest" in ids(object.union(fx.sign_chain("sun-li", "zgsh", []), {"case": {"payee": unrelated}}))
}

test_conflict_denies_by_name_without_code if {
	nameonly := {"name": " 某某建设有限公司", "code": "", "is_person": false}
	inp := object.union(fx.sign_chain("sun-li", "zgsh", []), {"case": {"payee": nameonly}})
	"sod.conflict_of_interest" in ids(inp)
}

test_conflict_denies_on_create_and_reject if {
	facts := json.patch(fx.facts, [{"op": "add", "path": "/orgs/czj/conflicts/feng-yu", "value": fx.org.conflicts["sun-li"]}])
	inp := object.union(fx.create, {"case": {"payee": fx.conflicted_payee}})
	d := sod.deny with input as inp with data.facts as facts
	"sod.conflict_of_interest" in {v.rule | some v in d}
	rej := object.union(fx.approval("approval.reject", "sun-li", "zgsh"), {"case": {"payee": fx.conflicted_payee}})
	"sod.conflict_of_interest" in ids(rej)
}

test_conflict_allows_unrelated_payee if {
	not "sod.conflict_of_interest" in ids(fx.sign_chain("sun-li", "zgsh", [fx.sig("zcjh", "feng-yu", 1)]))
}

test_conflict_allows_expired_declaration if {
	# wang-qiang's declaration ended 2025-12-31.
	inp := object.union(fx.sign, {"actor": fx.actor("wang-qiang"), "case": {"payee": fx.conflicted_payee}})
	not "sod.conflict_of_interest" in ids(inp)
}

test_conflict_declaration_last_day_counts if {
	# xu-hong's declaration runs until today, inclusive; names match across bracket widths.
	payee := {"name": "某某建设有限公司(武汉)", "code": "", "is_person": false}
	inp := object.union(fx.sign, {"actor": fx.actor("xu-hong"), "case": {"payee": payee}})
	"sod.conflict_of_interest" in ids(inp)
	after := object.union(inp, {"today": "2026-11-22"})
	not "sod.conflict_of_interest" in ids(after)
}

# --- sod.delegation_separation

delegation(delegate_to, step) := object.union(
	fx.approval("approval.delegate", "liu-fang", step),
	{"case": {"signatures": array.concat(fx.chain_signatures, [fx.sig("zfsh", "he-wen", 1)])}, "delegation": {"delegate": delegate_to, "from": "2026-11-21", "until": "2026-11-28"}},
)

test_delegation_separation_denies_separated_delegate if {
	inp := delegation("he-wen", "bfbl")
	"sod.delegation_separation" in ids(inp)
	mentions(inp, "sod.delegation_separation", ["he-wen", "zfsh", "bfbl", "liu-fang"])
}

test_delegation_separation_denies_applicant if {
	inp := delegation("feng-yu", "bfbl")
	"sod.delegation_separation" in ids(inp)
	mentions(inp, "sod.delegation_separation", ["feng-yu", "申请人"])
}

test_delegation_separation_allows_other_delegate if {
	not "sod.delegation_separation" in ids(delegation("gao-yan", "bfbl"))
}

test_delegation_separation_allows_applicant_on_entry_step if {
	not "sod.delegation_separation" in ids(delegation("feng-yu", "zcjh"))
}

# --- sod.indicator_setter

test_indicator_setter_denies_approval_duty if {
	# zhou-min set indicator ZB-2026-0012 and signs the 审批 step fgcz.
	inp := object.union(
		fx.sign_chain("zhou-min", "fgcz", array.slice(fx.chain_signatures, 0, 2)),
		{"case": {"indicator_set_by": ["zhou-min"]}},
	)
	"sod.indicator_setter" in ids(inp)
	mentions(inp, "sod.indicator_setter", ["zhou-min", "ZB-2026-0012", "fgcz", "审批"])
}

test_indicator_setter_denies_payment_step if {
	inp := object.union(fx.sign_last, {"case": {"indicator_set_by": ["liu-fang"]}})
	"sod.indicator_setter" in ids(inp)
	mentions(inp, "sod.indicator_setter", ["支付步骤"])
}

test_indicator_setter_allows_others if {
	not "sod.indicator_setter" in ids(fx.sign_last)
}

test_indicator_setter_allows_non_approval_duty if {
	inp := object.union(fx.approval("approval.sign", "feng-yu", "zcjh"), {"case": {"indicator_set_by": ["feng-yu"]}})
	not "sod.indicator_setter" in ids(inp)
}

test_indicator_setter_allows_without_indicator if {
	inp := object.union(fx.sign_last, {"case": {"indicator": "", "indicator_set_by": ["liu-fang"]}})
	not "sod.indicator_setter" in ids(inp)
}

# --- sod.conflict_of_interest on approval.update_payload

test_conflict_denies_update_to_conflicted_payee if {
	# cao-yang (B) declares a conflict with the new payee the update names.
	facts := json.patch(fx.facts, [{"op": "add", "path": "/orgs/czj/conflicts/cao-yang", "value": fx.org.conflicts["sun-li"]}])
	inp := object.union(fx.update_payload, {"actor": fx.actor("cao-yang"), "case": {"payee": fx.conflicted_payee}})
	d := sod.deny with input as inp with data.facts as facts
	some v in d
	v.rule == "sod.conflict_of_interest"
	contains(v.zh, "修改")
	contains(v.en, "may not update case c-0001")
}

test_conflict_allows_update_to_other_payee if {
	facts := json.patch(fx.facts, [{"op": "add", "path": "/orgs/czj/conflicts/cao-yang", "value": fx.org.conflicts["sun-li"]}])
	inp := object.union(fx.update_payload, {"actor": fx.actor("cao-yang")})
	d := sod.deny with input as inp with data.facts as facts
	count(d) == 0
}

# --- sod.added_signer

# added_after_zfsh(person, step, signer): person at step adds signer, after he-wen signed zfsh.
added_after_zfsh(person, step, signer) := object.union(
	fx.add_signer_at(person, step, signer),
	{"case": {"signatures": array.concat(fx.chain_signatures, [fx.sig("zfsh", "he-wen", 1)])}},
)

test_base_add_signer_clean if {
	count(ids(fx.add_signer)) == 0
}

test_added_signer_denies_separated_signer if {
	# he-wen signed 支付审核 zfsh; liu-fang may not add him to 拨付办理 bfbl.
	inp := added_after_zfsh("liu-fang", "bfbl", "he-wen")
	ids(inp) == {"sod.added_signer"}
	mentions(inp, "sod.added_signer", ["he-wen", "zfsh", "bfbl", "liu-fang", "支付审核与拨付办理分离"])
}

test_added_signer_denies_signer_who_signed_as_principal if {
	# gao-yan signed zfsh on behalf of sun-li: sun-li may not be added to bfbl.
	signed := array.concat(fx.chain_signatures, [object.union(fx.sig("zfsh", "gao-yan", 1), {"on_behalf_of": "sun-li"})])
	inp := object.union(fx.add_signer_at("liu-fang", "bfbl", "sun-li"), {"case": {"signatures": signed}})
	mentions(inp, "sod.added_signer", ["sun-li", "zfsh", "bfbl"])
}

test_added_signer_allows_signer_of_unseparated_step if {
	# zhou-min signed fgcz, which is in no separation with bfbl.
	not "sod.added_signer" in ids(added_after_zfsh("liu-fang", "bfbl", "zhou-min"))

	# sun-li signed zgsh, whose separation (经办与审核) zfsh is not part of.
	not "sod.added_signer" in ids(added_after_zfsh("he-wen", "zfsh", "sun-li"))
}

test_added_signer_denies_applicant if {
	inp := fx.add_signer_at("he-wen", "zfsh", "feng-yu")
	ids(inp) == {"sod.added_signer"}
	mentions(inp, "sod.added_signer", ["feng-yu", "申请人", "he-wen", "zfsh"])
}

test_added_signer_allows_applicant_on_entry_step if {
	not "sod.added_signer" in ids(fx.add_signer_at("cao-yang", "zcjh", "feng-yu"))
}

test_added_signer_denies_self if {
	inp := fx.add_signer_at("he-wen", "zfsh", "he-wen")
	ids(inp) == {"sod.added_signer"}
	mentions(inp, "sod.added_signer", ["he-wen", "zfsh", "c-0001"])
}

test_added_signer_denies_principal_of_delegate if {
	# gao-yan acts for he-wen and adds he-wen: he would sign the step twice.
	inp := object.union(fx.add_signer, {"actor": fx.delegate("gao-yan", "he-wen"), "signer": {"person": "he-wen"}})
	mentions(inp, "sod.added_signer", ["he-wen"])
}

test_added_signer_allows_other_person if {
	not "sod.added_signer" in ids(fx.add_signer)
}

# --- sod.added_signer_conflict

test_added_signer_conflict_denies_declared_conflict if {
	# sun-li declared a relative at the payee.
	inp := object.union(fx.add_signer_at("he-wen", "zfsh", "sun-li"), {"case": {"payee": fx.conflicted_payee}})
	ids(inp) == {"sod.added_signer_conflict"}
	mentions(inp, "sod.added_signer_conflict", ["sun-li", "某某建设有限公司", "c-0001", "zfsh"])
}

test_added_signer_conflict_allows_unrelated_payee if {
	not "sod.added_signer_conflict" in ids(fx.add_signer_at("he-wen", "zfsh", "sun-li"))
}

test_added_signer_conflict_allows_expired_declaration if {
	# wang-qiang's declaration ended 2025-12-31.
	inp := object.union(fx.add_signer_at("he-wen", "zfsh", "wang-qiang"), {"case": {"payee": fx.conflicted_payee}})
	not "sod.added_signer_conflict" in ids(inp)
}

test_added_signer_conflict_checks_the_signer_not_the_actor if {
	# The actor's own conflict is not this rule's (sod.conflict_of_interest does not apply to add_signer).
	inp := object.union(fx.add_signer_at("sun-li", "zgsh", "lin-tao"), {"case": {"payee": fx.conflicted_payee}})
	count(ids(inp)) == 0
}

# --- sod.supervisor_involved

test_supervisor_involved_allows_outsider if {
	count(ids(fx.hold)) == 0
	count(ids(fx.release)) == 0
	count(ids(fx.hold_by_service)) == 0
}

test_supervisor_involved_denies_applicant_a_and_b if {
	inp := object.union(fx.hold, {"actor": fx.actor("feng-yu")})
	ids(inp) == {"sod.supervisor_involved"}
	mentions(inp, "sod.supervisor_involved", ["feng-yu", "申请人", "c-0001", "拦截"])
	mentions(inp, "sod.supervisor_involved", ["A角"])
	mentions(inp, "sod.supervisor_involved", ["feng-yu signed step zcjh of case c-0001 and may not hold it"])
	b := object.union(fx.release, {"actor": fx.actor("cao-yang")})
	mentions(b, "sod.supervisor_involved", ["cao-yang", "B角", "解除拦截"])
}

test_supervisor_involved_denies_signer if {
	# wu-gang signed the 处长 step; as a supervisor he may not hold the case.
	inp := object.union(fx.hold, {"actor": fx.actor("wu-gang")})
	mentions(inp, "sod.supervisor_involved", ["wu-gang", "cz", "c-0001"])
}

test_supervisor_involved_denies_signature_made_for_actor if {
	signed := array.concat(fx.chain_signatures, [object.union(fx.sig("zfsh", "gao-yan", 1), {"on_behalf_of": "wang-jing"})])
	inp := object.union(fx.hold, {"case": {"signatures": signed}})
	mentions(inp, "sod.supervisor_involved", ["wang-jing", "zfsh"])
}

test_supervisor_involved_denies_through_delegate if {
	inp := object.union(fx.hold, {"actor": fx.delegate("wang-jing", "sun-li")})
	mentions(inp, "sod.supervisor_involved", ["sun-li", "zgsh"])
}

# --- scope is data

test_scope_comes_from_data if {
	inp := object.union(fx.create, {"case": {"b": "feng-yu"}})
	d := sod.deny with input as inp with data.facts as fx.facts with data.sod.rule_actions.ab_distinct as {}
	count(d) == 0
	"sod.ab_distinct" in {v.rule | some v in sod.deny} with input as inp with data.facts as fx.facts
}

# --- signatures voided by a return (退回) or a payload change still count for separation

# The chain under the separation 经办/审核/审批 (jbshsp): a person who signed the 审核 step
# zgsh acts at the 审批 step fgcz. reviewed(by, later) gives the signatures after a return
# to zgsh: by signed zgsh (voided by the return, on the same payload version 3) and later
# signed it again.
reviewed(by, later) := [
	fx.sig("zcjh", "feng-yu", 1),
	fx.voided_sig("zgsh", by, 2, 3),
	fx.sig("zgsh", later, 2),
]

# edited(by): the applicant changed the payload (version 3 → 4) after by signed zgsh:
# every signature was voided, and the chain signed again on version 4.
edited(by) := [
	fx.voided_sig("zcjh", "feng-yu", 1, 3),
	fx.voided_sig("zgsh", by, 2, 3),
	object.union(fx.sig("zcjh", "feng-yu", 1), {"payload_version": 4, "voided": false}),
	object.union(fx.sig("zgsh", "sun-li", 2), {"payload_version": 4, "voided": false}),
]

# approve(person, signatures): person signs the 审批 step fgcz, in the separation jbshsp.
approve(person, signatures) := object.union(
	fx.sign_chain(person, "fgcz", signatures),
	{"step": {"separations": [fx.separations.jbshsp]}},
)

test_separated_steps_counts_signature_voided_by_return if {
	# zhou-min reviewed the case (zgsh); it was returned to zgsh, sun-li reviewed it again
	# on the same payload version, and zhou-min now approves it (fgcz).
	inp := approve("zhou-min", reviewed("zhou-min", "sun-li"))
	ids(inp) == {"sod.separated_steps"}
	mentions(inp, "sod.separated_steps", ["zhou-min", "zgsh", "fgcz", "经办、审核与审批分离", "作废"])
	mentions(inp, "sod.separated_steps", ["zhou-min already signed step zgsh of case c-0001 (that signature was voided"])

	# The claim is refused as well.
	"sod.separated_steps" in ids(object.union(inp, {"action": "approval.claim"}))
}

test_separated_steps_allows_other_persons_voided_signature if {
	# cao-yang's review was voided and sun-li reviewed again: zhou-min never signed zgsh.
	inp := approve("zhou-min", reviewed("cao-yang", "sun-li"))
	count(ids(inp)) == 0
}

test_separated_steps_counts_signature_voided_by_payload_change if {
	inp := approve("zhou-min", edited("zhou-min"))
	ids(inp) == {"sod.separated_steps"}
	mentions(inp, "sod.separated_steps", ["zhou-min", "zgsh", "fgcz", "作废"])
	count(ids(approve("zhou-min", edited("cao-yang")))) == 0
}

test_separated_steps_counts_voided_signature_as_principal if {
	# lin-tao signed zgsh for zhou-min; it was voided: zhou-min is still its signer.
	signed := [
		fx.sig("zcjh", "feng-yu", 1),
		object.union(fx.voided_sig("zgsh", "lin-tao", 2, 3), {"on_behalf_of": "zhou-min"}),
		fx.sig("zgsh", "sun-li", 2),
	]
	"sod.separated_steps" in ids(approve("zhou-min", signed))

	# And the delegate who made it may not approve either.
	"sod.separated_steps" in ids(approve("lin-tao", signed))
}

test_separated_steps_allows_same_step_after_voiding if {
	# Returned to zgsh, the reviewer signs zgsh again: the same step, not a second one.
	inp := object.union(
		fx.sign_chain("sun-li", "zgsh", [fx.sig("zcjh", "feng-yu", 1), fx.voided_sig("zgsh", "sun-li", 2, 3)]),
		{"step": {"separations": [fx.separations.jbshsp]}},
	)
	count(ids(inp)) == 0
}

test_separated_steps_note_only_when_every_signature_voided if {
	# zhou-min's zgsh signature was voided and made again (valid): the message is the plain one.
	inp := approve("zhou-min", reviewed("zhou-min", "zhou-min"))
	ms := messages(inp, "sod.separated_steps")
	count(ms) == 2 # one violation: its zh and en
	every m in ms {
		not contains(m, "作废")
		not contains(m, "voided")
	}
}

# delegated_after_return(delegate_to, voided_by): zhou-min, the 分管处长, delegates fgcz
# after the return; voided_by's zgsh signature was voided and sun-li signed zgsh again.
delegated_after_return(delegate_to, voided_by) := object.union(
	fx.approval("approval.delegate", "zhou-min", "fgcz"),
	{
		"case": {"signatures": reviewed(voided_by, "sun-li")},
		"step": {"separations": [fx.separations.jbshsp]},
		"delegation": {"delegate": delegate_to, "from": "2026-11-21", "until": "2026-11-28"},
	},
)

test_delegation_separation_counts_voided_signature if {
	inp := delegated_after_return("lin-tao", "lin-tao")
	ids(inp) == {"sod.delegation_separation"}
	mentions(inp, "sod.delegation_separation", ["lin-tao", "zgsh", "fgcz", "zhou-min", "作废"])
	mentions(inp, "sod.delegation_separation", ["经办、审核与审批分离"])
}

test_delegation_separation_allows_other_persons_voided_signature if {
	count(ids(delegated_after_return("lin-tao", "cao-yang"))) == 0
}

test_delegation_separation_names_unnamed_separation if {
	# A separation without a name is named by its id (the English message too).
	inp := object.union(delegated_after_return("lin-tao", "lin-tao"), {"step": {"separations": [{"id": "jbshsp", "kind": "INCOMPATIBLE_DUTIES", "steps": ["zcjh", "zgsh", "fgcz", "cz"]}]}})
	mentions(inp, "sod.delegation_separation", ["as the delegate of zhou-min", "(jbshsp)"])
}

test_added_signer_counts_voided_signature if {
	# zhou-min, at fgcz, adds lin-tao, whose zgsh signature a return voided.
	base := object.union(fx.add_signer_at("zhou-min", "fgcz", "lin-tao"), {"step": {"separations": [fx.separations.jbshsp]}})
	inp := object.union(base, {"case": {"signatures": reviewed("lin-tao", "sun-li")}})
	ids(inp) == {"sod.added_signer"}
	mentions(inp, "sod.added_signer", ["lin-tao", "zgsh", "fgcz", "作废"])
	count(ids(object.union(base, {"case": {"signatures": reviewed("cao-yang", "sun-li")}}))) == 0
}

test_supervisor_involved_counts_voided_signature if {
	# wang-jing signed zgsh (voided by a return); she may not hold the case.
	inp := object.union(fx.hold, {"case": {"signatures": reviewed("wang-jing", "sun-li")}})
	ids(inp) == {"sod.supervisor_involved"}
	mentions(inp, "sod.supervisor_involved", ["wang-jing", "zgsh", "作废"])
	count(ids(object.union(fx.hold, {"case": {"signatures": reviewed("cao-yang", "sun-li")}}))) == 0
}
