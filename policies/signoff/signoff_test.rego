package fenquan.signoff_test

import data.fenquan.fixtures as fx
import data.fenquan.signoff

deny_set(inp) := d if {
	d := signoff.deny with input as inp with data.facts as fx.facts
}

ids(inp) := {v.rule | some v in deny_set(inp)}

mentions(inp, rule, words) if {
	some v in deny_set(inp)
	v.rule == rule
	some m in [v.zh, v.en]
	every w in words {
		contains(m, w)
	}
}

signed(n) := array.slice(fx.chain_signatures, 0, n)

test_base_inputs_clean if {
	count(ids(fx.sign)) == 0
	count(ids(fx.sign_last)) == 0
	count(ids(fx.claim)) == 0
	count(ids(fx.sign_chain("sun-li", "zgsh", signed(1)))) == 0
	count(ids(fx.sign_chain("zhou-min", "fgcz", signed(2)))) == 0
	count(ids(fx.sign_chain("wu-gang", "cz", signed(3)))) == 0
}

# --- signoff.not_holder

test_not_holder_denies_past_holder if {
	# qian-hao left 支付审核岗 on 2019-02-28.
	inp := object.union(fx.sign, {"actor": fx.actor("qian-hao")})
	"signoff.not_holder" in ids(inp)
	mentions(inp, "signoff.not_holder", ["qian-hao", "gkc-zfsh", "zfsh", "2026-11-21"])
}

test_not_holder_denies_future_holder if {
	# tang-jie starts on 2026-12-01.
	"signoff.not_holder" in ids(object.union(fx.sign, {"actor": fx.actor("tang-jie")}))
}

test_not_holder_allows_first_day if {
	not "signoff.not_holder" in ids(object.union(fx.sign, {"actor": fx.actor("tang-jie"), "today": "2026-12-01"}))
}

test_not_holder_denies_inactive_person if {
	"signoff.not_holder" in ids(object.union(fx.sign, {"actor": fx.actor("ma-lin")}))
}

test_not_holder_denies_unknown_person if {
	"signoff.not_holder" in ids(object.union(fx.sign, {"actor": fx.actor("nobody")}))
}

test_not_holder_denies_wrong_rank if {
	# The 处长 wu-gang does not hold a 分管处长 post: rank steps match the rank exactly.
	inp := fx.sign_chain("wu-gang", "fgcz", signed(2))
	"signoff.not_holder" in ids(inp)
	mentions(inp, "signoff.not_holder", ["wu-gang", "gkc", "分管处长"])
}

test_not_holder_denies_rank_in_other_unit if {
	# lin-tao is 分管处长 of 预算处 (ysc), not of 国库处 (gkc).
	"signoff.not_holder" in ids(fx.sign_chain("lin-tao", "fgcz", signed(2)))
}

test_not_holder_allows_rank_holder if {
	not "signoff.not_holder" in ids(fx.sign_chain("zhou-min", "fgcz", signed(2)))
}

test_not_holder_allows_delegate_of_holder if {
	# he-wen acts for the 处长 wu-gang: the principal's posts count.
	inp := fx.sign_chain("he-wen", "cz", signed(3))
	"signoff.not_holder" in ids(inp)
	delegated := object.union(inp, {"actor": fx.delegate("he-wen", "wu-gang")})
	not "signoff.not_holder" in ids(delegated)
}

test_not_holder_denies_delegate_of_non_holder if {
	inp := object.union(fx.sign_chain("he-wen", "cz", signed(3)), {"actor": fx.delegate("he-wen", "liu-fang")})
	mentions(inp, "signoff.not_holder", ["liu-fang"])
}

test_not_holder_denies_step_without_actor if {
	inp := object.union(fx.sign, {"step": {"post": "", "rank_level": 0}})
	"signoff.not_holder" in ids(inp)
}

test_not_holder_on_claim if {
	"signoff.not_holder" in ids(object.union(fx.claim, {"actor": fx.actor("qian-hao")}))
}

# --- signoff.not_holder: added signers (加签) and approval.add_signer

test_not_holder_allows_added_signer if {
	# lin-tao (预算处) does not hold 支付审核; added to zfsh, he signs it.
	count(ids(fx.sign_added)) == 0
	inp := object.union(fx.sign, {"actor": fx.actor("lin-tao")})
	mentions(inp, "signoff.not_holder", ["lin-tao", "gkc-zfsh"])
}

test_not_holder_allows_delegate_of_added_signer if {
	inp := object.union(fx.sign_added, {"actor": fx.delegate("gao-yan", "lin-tao")})
	not "signoff.not_holder" in ids(inp)
}

test_not_holder_denies_person_not_added if {
	inp := object.union(fx.sign_added, {"actor": fx.actor("zhang-wei")})
	mentions(inp, "signoff.not_holder", ["zhang-wei", "gkc-zfsh", "zfsh"])
	none := object.union(fx.sign, {"actor": fx.actor("lin-tao"), "step": {"added_signers": []}})
	"signoff.not_holder" in ids(none)
}

test_not_holder_denies_added_signer_who_left if {
	inp := object.union(fx.sign, {"actor": fx.actor("ma-lin"), "step": {"added_signers": ["ma-lin"]}})
	"signoff.not_holder" in ids(inp)
}

test_not_holder_added_signer_only_signs if {
	# Being added lets one sign the step, not claim it, delegate it nor add signers to it.
	claim := object.union(fx.claim, {"actor": fx.actor("lin-tao"), "step": {"added_signers": ["lin-tao"]}})
	mentions(claim, "signoff.not_holder", ["lin-tao", "受理"])
	add := object.union(fx.add_signer_at("lin-tao", "zfsh", "zhou-min"), {"step": {"added_signers": ["lin-tao"]}})
	"signoff.not_holder" in ids(add)
}

test_not_holder_added_signer_may_reject_or_return if {
	# An added reviewer may object to the step: reject or return the case.
	some action in ["approval.reject", "approval.return"]
	inp := object.union(fx.approval(action, "lin-tao", "zfsh"), {"step": {"added_signers": ["lin-tao"]}})
	not "signoff.not_holder" in ids(inp)
	deleg := object.union(fx.approval(action, "lin-tao", "zfsh"), {"step": {"added_signers": ["lin-tao"]}, "actor": fx.delegate("gao-yan", "lin-tao")})
	not "signoff.not_holder" in ids(deleg)
}

test_not_holder_on_reject_and_return if {
	# Only who may act on the step rejects or returns the case at it.
	every action in ["approval.reject", "approval.return"] {
		not "signoff.not_holder" in ids(fx.approval(action, "he-wen", "zfsh"))
		mentions(fx.approval(action, "liu-fang", "zfsh"), "signoff.not_holder", ["liu-fang", "gkc-zfsh", "zfsh"])
		"signoff.not_holder" in ids(fx.approval(action, "ma-lin", "zfsh"))
	}
}

test_not_holder_on_add_signer if {
	# Only who may act on the step adds a signer to it.
	count(ids(fx.add_signer)) == 0
	inp := fx.add_signer_at("liu-fang", "zfsh", "lin-tao")
	ids(inp) == {"signoff.not_holder"}
	mentions(inp, "signoff.not_holder", ["liu-fang", "gkc-zfsh", "加签"])
	mentions(inp, "signoff.not_holder", ["add a signer to step zfsh"])
	not "signoff.not_holder" in ids(fx.add_signer_at("zhou-min", "fgcz", "lin-tao"))
}

test_add_signer_meets_only_not_holder if {
	# The other sign-off rules are about signatures: adding a signer to the completing step
	# of a 大额 case on the emergency channel meets none of them.
	inp := object.union(fx.add_signer_at("liu-fang", "bfbl", "lin-tao"), {"case": {
		"amount": 9000000.0,
		"emergency": {"active": true, "justification": "", "joint_review_passed": false},
	}})
	count(ids(inp)) == 0
}

# --- signoff.level_skipped

test_level_skipped_denies_missing_level if {
	# The 处长 signs with no 分管处长 signature.
	inp := fx.sign_chain("wu-gang", "cz", signed(2))
	"signoff.level_skipped" in ids(inp)
	mentions(inp, "signoff.level_skipped", ["c-0001", "分管处长", "处长", "cz"])
}

test_level_skipped_denies_each_level if {
	inp := fx.sign_chain("wu-gang", "cz", signed(1))
	count([v | some v in deny_set(inp); v.rule == "signoff.level_skipped"]) == 2
}

test_level_skipped_allows_full_chain if {
	not "signoff.level_skipped" in ids(fx.sign_chain("wu-gang", "cz", signed(3)))
}

test_level_skipped_ignores_levels_off_the_path if {
	# A case under 50万 ends at the 分管处长: its path has no level 4.
	inp := object.union(fx.sign_chain("zhou-min", "fgcz", signed(2)), {"case": {"path_rank_levels": [1, 2, 3]}})
	not "signoff.level_skipped" in ids(inp)
	skipped := object.union(fx.sign_chain("zhou-min", "fgcz", signed(1)), {"case": {"path_rank_levels": [1, 3]}})
	not "signoff.level_skipped" in ids(skipped)
}

test_level_skipped_uses_post_rank if {
	# A post-bound step takes its rank from the post (gkc-zgzr is rank 2).
	inp := object.union(fx.sign_chain("sun-li", "zgsh", []), {"step": {"post": "gkc-zgzr", "rank_level": 0}})
	"signoff.level_skipped" in ids(inp)
}

# --- signoff.amount_band

# A case completing at the 分管处长 (path 1-2-3).
complete_at_fgcz(amount) := object.union(
	fx.sign_chain("zhou-min", "fgcz", signed(2)),
	{"case": {"amount": amount, "path_rank_levels": [1, 2, 3]}, "step": {"last": true}},
)

test_amount_band_allows_below_500000_at_level_3 if {
	not "signoff.amount_band" in ids(complete_at_fgcz(499999.99))
}

test_amount_band_denies_500000_at_level_3 if {
	inp := complete_at_fgcz(500000)
	"signoff.amount_band" in ids(inp)
	mentions(inp, "signoff.amount_band", ["c-0001", "500000", "处长", "分管处长", "fgcz"])
}

test_amount_band_denies_decimal_amount_text if {
	mentions(complete_at_fgcz(612345.5), "signoff.amount_band", ["612345.50"])
}

test_amount_band_allows_director_completion if {
	inp := object.union(fx.sign_chain("wu-gang", "cz", signed(3)), {"case": {"amount": 4999999}, "step": {"last": true}})
	not "signoff.amount_band" in ids(inp)
}

test_amount_band_counts_earlier_signatures if {
	# Completed by a rank-1 post after the 处长 signed: the chain reached 4.
	not "signoff.amount_band" in ids(fx.sign_last)
	low := object.union(fx.sign_last, {"case": {"signatures": [fx.sig("zcjh", "feng-yu", 1), fx.sig("zgsh", "sun-li", 2), fx.sig("zfsh", "he-wen", 1)]}})
	"signoff.amount_band" in ids(low)
}

test_amount_band_open_band if {
	inp := object.union(complete_at_fgcz(9000000), {"case": {"collective": {"passed": true, "payload_version": 3}}})
	"signoff.amount_band" in ids(inp)
}

test_amount_band_ignores_cases_without_money if {
	not "signoff.amount_band" in ids(complete_at_fgcz(0))
}

test_amount_band_only_on_completion if {
	not "signoff.amount_band" in ids(object.union(complete_at_fgcz(600000), {"step": {"last": false}}))
}

test_amount_band_thresholds_are_data if {
	inp := complete_at_fgcz(600000)
	d := signoff.deny with input as inp with data.facts as fx.facts
		with data.signoff.bands as [{"from": 0, "below": 1000000, "rank_level": 3}, {"from": 1000000, "rank_level": 4}]
	not "signoff.amount_band" in {v.rule | some v in d}
}

# --- signoff.collective_required

large(amount, collective) := object.union(fx.sign_last, {"case": {"amount": amount, "collective": collective}})

test_collective_required_denies_at_threshold if {
	inp := large(5000000, {"passed": false, "payload_version": 0})
	"signoff.collective_required" in ids(inp)
	mentions(inp, "signoff.collective_required", ["c-0001", "5000000", "集体决策未通过", "bfbl"])
}

test_collective_required_allows_below_threshold if {
	not "signoff.collective_required" in ids(large(4999999.99, {"passed": false, "payload_version": 0}))
}

test_collective_required_allows_bound_decision if {
	not "signoff.collective_required" in ids(large(8000000, {"passed": true, "payload_version": 3}))
}

test_collective_required_denies_stale_decision if {
	inp := large(8000000, {"passed": true, "payload_version": 2})
	"signoff.collective_required" in ids(inp)
	mentions(inp, "signoff.collective_required", ["第 2 版", "第 3 版"])
}

test_collective_required_denies_payment_step if {
	inp := object.union(large(8000000, {"passed": false, "payload_version": 0}), {"step": {"last": false}})
	"signoff.collective_required" in ids(inp)
}

test_collective_required_allows_approval_steps if {
	# Before the payment, the chain may sign while the meeting is pending.
	inp := object.union(fx.sign_chain("wu-gang", "cz", signed(3)), {"case": {"amount": 8000000}})
	not "signoff.collective_required" in ids(inp)
}

# --- signoff.emergency_justification

emergency(justification, joint) := {"case": {"emergency": {"active": true, "justification": justification, "joint_review_passed": joint}}}

test_emergency_justification_denies_empty if {
	inp := object.union(fx.sign, emergency("", true))
	"signoff.emergency_justification" in ids(inp)
	mentions(inp, "signoff.emergency_justification", ["c-0001", "zfsh"])
}

test_emergency_justification_denies_blank if {
	"signoff.emergency_justification" in ids(object.union(fx.claim, emergency("  ", true)))
}

test_emergency_justification_allows_recorded if {
	not "signoff.emergency_justification" in ids(object.union(fx.sign, emergency("防汛抢险资金紧急拨付", true)))
}

test_emergency_justification_allows_normal_channel if {
	not "signoff.emergency_justification" in ids(fx.sign)
}

# --- signoff.emergency_joint_review

test_emergency_joint_review_denies_payment if {
	inp := object.union(fx.sign_last, emergency("防汛抢险资金紧急拨付", false))
	"signoff.emergency_joint_review" in ids(inp)
	mentions(inp, "signoff.emergency_joint_review", ["c-0001", "bfbl", "联合会审"])
}

test_emergency_joint_review_allows_after_review if {
	not "signoff.emergency_joint_review" in ids(object.union(fx.sign_last, emergency("防汛抢险资金紧急拨付", true)))
}

test_emergency_joint_review_allows_non_payment_step if {
	not "signoff.emergency_joint_review" in ids(object.union(fx.sign, emergency("防汛抢险资金紧急拨付", false)))
}

# --- the bands in data are contiguous from 0, ordered, and only the last is open-ended

test_bands_are_contiguous if {
	bands := data.signoff.bands
	bands[0].from == 0
	every i, b in array.slice(bands, 0, count(bands) - 1) {
		b.below == bands[i + 1].from
		b.from < b.below
	}
	not "below" in object.keys(bands[count(bands) - 1])
	data.signoff.large_amount > 0
}

# Only who may act on a step delegates it.
delegation_of(person) := object.union(fx.approval("approval.delegate", person, "bfbl"), {"delegation": {"delegate": "gao-yan", "from": fx.today, "until": "2026-11-28"}})

test_not_holder_allows_the_holder_to_delegate if {
	not "signoff.not_holder" in ids(delegation_of("liu-fang"))
}

test_not_holder_denies_delegating_a_step_one_does_not_hold if {
	"signoff.not_holder" in ids(delegation_of("zhou-min"))
	mentions(delegation_of("zhou-min"), "signoff.not_holder", ["zhou-min", "gkc-bfbl"])
}

# --- voided signatures (by a return or a payload change) do not count for the chain

test_valid_signatures_ignore_voided if {
	signed := [
		fx.voided_sig("zcjh", "feng-yu", 1, 2),
		object.union(fx.sig("zcjh", "feng-yu", 1), {"voided": false}),
		fx.voided_sig("zgsh", "sun-li", 2, 3),
		object.union(fx.sig("fgcz", "zhou-min", 3), {"voided": "yes"}),
		fx.sig("cz", "wu-gang", 4),
	]
	got := signoff.valid_signatures with input as object.union(fx.sign, {"case": {"signatures": signed}})
	got == [signed[1], signed[4]]
}

test_level_skipped_voided_signature_does_not_complete_a_level if {
	# The case was returned to zgsh: sun-li's signature was voided, nobody signed zgsh again;
	# the 分管处长 may not sign over the empty level.
	returned := [fx.sig("zcjh", "feng-yu", 1), fx.voided_sig("zgsh", "sun-li", 2, 3)]
	inp := fx.sign_chain("zhou-min", "fgcz", returned)
	ids(inp) == {"signoff.level_skipped"}
	mentions(inp, "signoff.level_skipped", ["c-0001", "主管责任人", "fgcz"])

	# Signed again (by anyone holding the level), the level is done.
	again := array.concat(returned, [fx.sig("zgsh", "cao-yang", 2)])
	count(ids(fx.sign_chain("zhou-min", "fgcz", again))) == 0
}

test_level_skipped_payload_change_voids_every_level if {
	# After a payload change (version 3 → 4) every signature is voided: the 处长 signing
	# on version 4 skips every level below.
	voided := [fx.voided_sig(s.step, s.person, s.rank_level, 3) | some s in signed(3)]
	inp := object.union(fx.sign_chain("wu-gang", "cz", voided), {"case": {"payload_version": 4}})
	count([v | some v in deny_set(inp); v.rule == "signoff.level_skipped"]) == 3
}

test_amount_band_ignores_voided_signature if {
	# The 处长's signature was voided (a return to cz, or a payload change); the chain now
	# reaches only the 分管处长, and the 1,200,000 元 case may not complete.
	signed := [
		fx.sig("zcjh", "feng-yu", 1), fx.sig("zgsh", "sun-li", 2), fx.sig("fgcz", "zhou-min", 3),
		fx.voided_sig("cz", "wu-gang", 4, 3), fx.sig("zfsh", "he-wen", 1),
	]
	inp := object.union(fx.sign_last, {"case": {"signatures": signed}})
	ids(inp) == {"signoff.amount_band"}
	mentions(inp, "signoff.amount_band", ["处长", "分管处长", "bfbl"])

	# Not voided (false), it counts.
	valid := array.concat(array.slice(signed, 0, 3), [object.union(fx.sig("cz", "wu-gang", 4), {"voided": false}), signed[4]])
	count(ids(object.union(fx.sign_last, {"case": {"signatures": valid}}))) == 0
}
