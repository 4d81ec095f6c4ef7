package fenquan.discretion_test

import data.fenquan.discretion
import data.fenquan.fixtures as fx

deny_set(inp) := d if {
	d := discretion.deny with input as inp with data.facts as fx.facts
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

general(amount) := fx.decide(fx.penalty(["corrected_within_deadline"], amount))

# --- discretion.out_of_range: the 一般 tier is 5000–50000 元, bounds inclusive.

test_general_tier_min_allows if {
	count(ids(general(5000))) == 0
}

test_general_tier_max_allows if {
	count(ids(general(50000))) == 0
}

test_general_tier_inside_allows if {
	count(ids(general(12000.5))) == 0
}

test_general_tier_just_below_denies if {
	inp := general(4999.99)
	"discretion.out_of_range" in ids(inp)
	mentions(inp, "discretion.out_of_range", ["4999.99", "kj-42", "一般", "5000–50000"])
}

test_general_tier_just_above_denies if {
	"discretion.out_of_range" in ids(general(50001))
}

test_minor_tier_allows_zero_only if {
	count(ids(fx.decide(fx.penalty(["first_offence"], 0)))) == 0
	"discretion.out_of_range" in ids(fx.decide(fx.penalty(["first_offence"], 1)))
}

test_heaviest_selected_tier_governs if {
	# corrected_within_deadline selects 一般, repeated selects 严重: 严重 (200000–1000000) governs.
	codes := ["corrected_within_deadline", "repeated"]
	inp := fx.decide(fx.penalty(codes, 30000))
	mentions(inp, "discretion.out_of_range", ["严重", "200000–1000000"])
	count(ids(fx.decide(fx.penalty(codes, 200000)))) == 0
	count(ids(fx.decide(fx.penalty(codes, 1000000)))) == 0
	"discretion.out_of_range" in ids(fx.decide(fx.penalty(codes, 1000000.01)))
}

test_open_tier_has_no_maximum if {
	open := [{"id": "grave", "display_name": "严重", "circumstance_codes": ["repeated"], "min_amount": 200000}]
	p := object.union(fx.penalty(["repeated"], 5000000), {"benchmark": {"tiers": open}})
	count(ids(fx.decide(p))) == 0
	low := object.union(fx.penalty(["repeated"], 199999), {"benchmark": {"tiers": open}})
	mentions(fx.decide(low), "discretion.out_of_range", ["200000元以上"])
}

test_non_numeric_amount_denies if {
	"discretion.out_of_range" in ids(general("12000"))
}

# --- discretion.no_tier

test_no_tier_denies_unknown_codes if {
	inp := fx.decide(fx.penalty(["unheard_of"], 10000))
	"discretion.no_tier" in ids(inp)
	mentions(inp, "discretion.no_tier", ["unheard_of", "kj-42"])
	not "discretion.out_of_range" in ids(inp)
}

test_no_tier_denies_no_codes if {
	"discretion.no_tier" in ids(fx.decide(fx.penalty([], 10000)))
}

test_no_tier_denies_decision_without_penalty if {
	inp := fx.decide(null)
	"discretion.no_tier" in ids(inp)
	mentions(inp, "discretion.no_tier", ["jd", "决定"])
}

test_no_tier_allows_selected_tier if {
	not "discretion.no_tier" in ids(general(10000))
}

test_no_tier_allows_non_penalty_steps if {
	# A finance case signs without a penalty.
	count(ids(fx.sign)) == 0

	# So does a penalty case at a step other than the decision (e.g. 调查).
	count(ids(object.union(fx.decide(null), {"step": {"duty": "调查"}}))) == 0
}

test_only_on_sign if {
	inp := object.union(general(1), {"action": "approval.claim"})
	count(ids(inp)) == 0
}
