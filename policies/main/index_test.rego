# METADATA
# title: The day's indexes give the same answers as the dated holdings
# description: >-
#   The rules read who holds what through data.facts.orgs[org].current when the facts were
#   indexed for the input's day (data.facts.today == input.today), and check the dates of
#   the holdings otherwise (lib/lib.rego). These tests run the same cases three ways — facts
#   without indexes, facts indexed for the input's day, facts indexed for another day — and
#   assert the same answers: lib.holds and lib.holds_rank for every person, post, rank and
#   unit, and whole decisions (rules_decision) for every person signing every step, in
#   person, as a delegate and as an added signer, adding a signer (加签) at every step, and
#   the risk actions that read holdings, on days around the fixture's assignment boundaries.
package fenquan.index_test

import data.fenquan.fixtures as fx
import data.fenquan.lib
import data.fenquan.main

# org is the fixture org with edge cases of holdings added: a post the org does not know, a
# holder the org does not know, a person who left while holding the post that manages the
# case's fund, an assignment ending on the fixture's day, and a person holding two posts
# (one of which manages the case's fund and indicator).
org := object.union(fx.org, {
	"people": {
		"ghost-holder": {"unit": "gkc", "inactive": false},
		"left-manager": {"unit": "ysc", "inactive": true},
		"ends-today": {"unit": "gkc", "inactive": false},
		"two-posts": {"unit": "ysc", "inactive": false},
	},
	"holdings": {
		"ghost-holder": [{"post": "no-such-post", "ab_role": "A", "start": "2020-01-01", "end": ""}],
		"unknown-person": [{"post": "gkc-zfsh", "ab_role": "B", "start": "2020-01-01", "end": ""}],
		"left-manager": [{"post": "ysc-zbgl", "ab_role": "B", "start": "2020-01-01", "end": ""}],
		"ends-today": [{"post": "gkc-cz", "ab_role": "B", "start": "2020-01-01", "end": "2026-11-21"}],
		"two-posts": [
			{"post": "ysc-zbgl", "ab_role": "B", "start": "2023-01-01", "end": ""},
			{"post": "gkc-fgcz", "ab_role": "B", "start": "2019-03-01", "end": "2026-11-30"},
		],
	},
})

# days are the fixture's day and the days around its assignments' boundaries; the
# decisions are compared on some of them (each is a few hundred decisions, three times).
days := ["2019-02-28", "2019-03-01", "2022-12-31", "2023-01-01", "2026-11-21", "2026-11-22", "2026-12-01"]

decision_days := ["2019-02-28", "2022-12-31", "2026-11-21", "2026-12-01"]

# plain is the facts without indexes; indexed[day] the facts indexed for day; stale[day]
# the facts indexed for another day (the next one of days).
plain := {"orgs": {"czj": org}}

indexed := {day: {"today": day, "orgs": {"czj": object.union(org, {"current": fx.current_on(org, day)})}} | some day in days}

stale := {day: indexed[days[(i + 1) % count(days)]] | some i, day in days}

people := (object.keys(org.people) | object.keys(org.holdings)) | {"nobody"}

posts := object.keys(org.posts) | {"no-such-post", ""}

units := {post.unit | some post in org.posts} | {"nowhere"}

# holds_table and holds_rank_table answer every question of lib.holds and lib.holds_rank
# on the org, for the input's day; each is asked three ways (`with data.facts as …`).
holds_table contains [person, post] if {
	some person in people
	some post in posts
	lib.holds(person, post)
}

holds_rank_table contains [person, level, unit] if {
	some person in people
	some level in [0, 1, 2, 3, 4, 5, 6, 3.5, "3"]
	some unit in units
	lib.holds_rank(person, level, unit)
}

test_holds_same_with_and_without_index if {
	every day in days {
		inp := {"org": "czj", "today": day}
		want := holds_table with input as inp with data.facts as plain
		got := holds_table with input as inp with data.facts as indexed[day]
		got_stale := holds_table with input as inp with data.facts as stale[day]
		got == want
		got_stale == want
	}
}

test_holds_rank_same_with_and_without_index if {
	every day in decision_days {
		inp := {"org": "czj", "today": day}
		want := holds_rank_table with input as inp with data.facts as plain
		got := holds_rank_table with input as inp with data.facts as indexed[day]
		got_stale := holds_rank_table with input as inp with data.facts as stale[day]
		got == want
		got_stale == want
	}
}

holds_with(person, post, inp, facts) if {
	lib.holds(person, post) with input as inp with data.facts as facts
}

holds_rank_with(person, level, unit, inp, facts) if {
	lib.holds_rank(person, level, unit) with input as inp with data.facts as facts
}

rules_decision_with(inp, facts) := d if {
	d := main.rules_decision with input as inp with data.facts as facts
}

# The cases above are not all alike: on the fixture's day some people hold and some do not.
test_holds_cases_differ if {
	inp := {"org": "czj", "today": fx.today}
	holds_with("he-wen", "gkc-zfsh", inp, indexed[fx.today])
	not holds_with("qian-hao", "gkc-zfsh", inp, indexed[fx.today])
	holds_with("ghost-holder", "no-such-post", inp, indexed[fx.today])
	not holds_with("unknown-person", "gkc-zfsh", inp, indexed[fx.today])
	not holds_with("left-manager", "ysc-zbgl", inp, indexed[fx.today])
	holds_with("ends-today", "gkc-cz", inp, indexed[fx.today])
	not holds_with("ends-today", "gkc-cz", {"org": "czj", "today": "2026-11-22"}, indexed["2026-11-22"])
	holds_rank_with("two-posts", 3, "gkc", inp, indexed[fx.today])
	not holds_rank_with("ghost-holder", 1, "gkc", inp, indexed[fx.today])
}

# The index is what is read when the day matches, and only then: a person missing from it
# holds nothing that day, whatever the holdings say.
test_index_read_only_for_its_day if {
	inp := {"org": "czj", "today": fx.today}
	without_he_wen := json.remove(indexed[fx.today], ["orgs/czj/current/he-wen"])
	not holds_with("he-wen", "gkc-zfsh", inp, without_he_wen)
	not holds_rank_with("he-wen", 1, "gkc", inp, without_he_wen)
	holds_with("he-wen", "gkc-zfsh", {"org": "czj", "today": "2026-11-22"}, without_he_wen)
	holds_rank_with("he-wen", 1, "gkc", {"org": "czj", "today": "2026-11-22"}, without_he_wen)
}

test_manage_handle_reads_the_day_index if {
	# zhang-wei manages the case's fund; with the index the funds come from current.
	inp := object.union(fx.sign_last, {"actor": fx.actor("zhang-wei")})
	"sod.manage_handle" in {v.rule | some v in rules_decision_with(inp, indexed[fx.today]).violations}
	no_funds := json.patch(indexed[fx.today], [{"op": "replace", "path": "/orgs/czj/current/zhang-wei/funds", "value": {}}])
	not "sod.manage_handle" in {v.rule | some v in rules_decision_with(inp, no_funds).violations}
	stale_inp := object.union(inp, {"today": "2026-11-22"})
	"sod.manage_handle" in {v.rule | some v in rules_decision_with(stale_inp, no_funds).violations}
}

# approvals(day) signs every step of the base case as every person, and as a delegate for
# a few principals (one of them managing the case's fund), on day. (Signing meets every
# rule that reads holdings; claiming meets the same helpers.)
approvals(day) := [object.union(fx.approval("approval.sign", person, step), {"today": day}) |
	some person in people
	some step, _ in fx.steps
]

delegations(day) := [object.union(fx.approval("approval.sign", pair[0], step), {"today": day, "actor": fx.delegate(pair[0], pair[1])}) |
	some pair in [["liu-fang", "zhang-wei"], ["he-wen", "gao-yan"], ["nobody", "two-posts"], ["ghost-holder", "left-manager"], ["ends-today", "wu-gang"]]
	some step, _ in fx.steps
]

# add_signers(day) has every person add a signer (加签) at every step on day, which meets
# signoff.not_holder like a signature; added(day) has every person sign every step as an
# added signer (step.added_signers), which lets them sign without holding it unless they left.
add_signers(day) := [object.union(fx.add_signer_at(person, step, "lin-tao"), {"today": day}) |
	some person in people
	some step, _ in fx.steps
]

added(day) := [object.union(fx.approval("approval.sign", person, step), {"today": day, "step": {"added_signers": [person]}}) |
	some person in people
	some step, _ in fx.steps
]

# risks(day) has every person, on day, draft a risk point of a post, of a unit and of the
# discipline office, amend a risk point, put a measure in place and verify it: the risk rules
# that read who holds what (risk.not_in_scope, risk.not_leader, risk.not_responsible,
# risk.self_verify).
risks(day) := [object.union(inp, {"today": day}) |
	some person in people
	some inp in [
		fx.draft_by(person, {}),
		fx.draft_by(person, {"level": "UNIT", "scope": "gkc", "unit": "gkc"}),
		fx.draft_by(person, {"level": "UNIT", "scope": "jjz", "unit": "jjz"}),
		object.union(fx.amend, {"actor": fx.actor(person)}),
		fx.measure_update("PLANNED", "IN_PLACE", person),
		fx.measure_update("IN_PLACE", "VERIFIED", person),
	]
]

# decisions_on(corpus) is rules_decision for each input of corpus, on data.facts.
decisions_on(corpus) := [d | some inp in corpus; d := main.rules_decision with input as inp]

# decisions_agree(corpus, day) holds when every input of corpus is decided alike on the
# facts without indexes, indexed for day and indexed for another day. Each day's corpora
# are separate tests so that each stays well inside the test runner's per-test timeout.
decisions_agree(corpus, day) if {
	want := decisions_on(corpus) with data.facts as plain
	got := decisions_on(corpus) with data.facts as indexed[day]
	got_stale := decisions_on(corpus) with data.facts as stale[day]
	got == want
	got_stale == want
}

test_approvals_same_with_and_without_index_2019_02_28 if decisions_agree(approvals("2019-02-28"), "2019-02-28")

test_delegations_same_with_and_without_index_2019_02_28 if decisions_agree(delegations("2019-02-28"), "2019-02-28")

test_add_signers_same_with_and_without_index_2019_02_28 if decisions_agree(add_signers("2019-02-28"), "2019-02-28")

test_added_same_with_and_without_index_2019_02_28 if decisions_agree(added("2019-02-28"), "2019-02-28")

test_approvals_same_with_and_without_index_2022_12_31 if decisions_agree(approvals("2022-12-31"), "2022-12-31")

test_delegations_same_with_and_without_index_2022_12_31 if decisions_agree(delegations("2022-12-31"), "2022-12-31")

test_add_signers_same_with_and_without_index_2022_12_31 if decisions_agree(add_signers("2022-12-31"), "2022-12-31")

test_added_same_with_and_without_index_2022_12_31 if decisions_agree(added("2022-12-31"), "2022-12-31")

test_approvals_same_with_and_without_index_2026_11_21 if decisions_agree(approvals("2026-11-21"), "2026-11-21")

test_delegations_same_with_and_without_index_2026_11_21 if decisions_agree(delegations("2026-11-21"), "2026-11-21")

test_add_signers_same_with_and_without_index_2026_11_21 if decisions_agree(add_signers("2026-11-21"), "2026-11-21")

test_added_same_with_and_without_index_2026_11_21 if decisions_agree(added("2026-11-21"), "2026-11-21")

test_approvals_same_with_and_without_index_2026_12_01 if decisions_agree(approvals("2026-12-01"), "2026-12-01")

test_delegations_same_with_and_without_index_2026_12_01 if decisions_agree(delegations("2026-12-01"), "2026-12-01")

test_add_signers_same_with_and_without_index_2026_12_01 if decisions_agree(add_signers("2026-12-01"), "2026-12-01")

test_added_same_with_and_without_index_2026_12_01 if decisions_agree(added("2026-12-01"), "2026-12-01")

test_risks_same_with_and_without_index_2019_02_28 if decisions_agree(risks("2019-02-28"), "2019-02-28")

test_risks_same_with_and_without_index_2022_12_31 if decisions_agree(risks("2022-12-31"), "2022-12-31")

test_risks_same_with_and_without_index_2026_11_21 if decisions_agree(risks("2026-11-21"), "2026-11-21")

test_risks_same_with_and_without_index_2026_12_01 if decisions_agree(risks("2026-12-01"), "2026-12-01")

# The risk decisions compared are not all alike either.
test_risk_cases_differ if {
	ds := decisions_on(risks(fx.today)) with data.facts as indexed[fx.today]
	some allowed in ds
	allowed.allowed
	rules := {v.rule | some d in ds; some v in d.violations}
	"risk.not_in_scope" in rules
	"risk.not_leader" in rules
	"risk.not_responsible" in rules
	"risk.self_verify" in rules
}

# The decisions compared are not all alike: on the fixture's day the corpus has allowed
# decisions and denials by the rules that read holdings.
test_decision_cases_differ if {
	ds := decisions_on(array.concat(approvals(fx.today), delegations(fx.today))) with data.facts as indexed[fx.today]
	some allowed in ds
	allowed.allowed
	rules := {v.rule | some d in ds; some v in d.violations}
	"signoff.not_holder" in rules
	"sod.manage_handle" in rules
	"sod.separated_steps" in rules
	adds := decisions_on(add_signers(fx.today)) with data.facts as indexed[fx.today]
	some allowed_add in adds
	allowed_add.allowed
	"signoff.not_holder" in {v.rule | some d in adds; some v in d.violations}
	"case.inactive_actor" in {v.rule | some d in adds; some v in d.violations}
}
