# METADATA
# title: Shared helpers
# description: >-
#   Helpers every package of the Fenquan policy set uses: the violation constructor,
#   date validity, the persons acting, and look-ups of the org facts by key
#   (data.facts.orgs[org].holdings[person], .posts[post], .conflicts[person]). Nothing here
#   iterates over all people or posts of an org: the facts of a large org stay in the store
#   and only the leaves a rule names are read.
package fenquan.lib

# violation is the object every deny rule adds to its package's deny set: the rule id,
# the Chinese and English messages, the seed's rule the check enforces, and the legal
# basis of the power acted on ("" when the input has none).
violation(id, zh, en, basis) := {
	"rule": id,
	"zh": zh,
	"en": en,
	"basis": basis,
	"legal_basis": legal_basis,
}

default legal_basis := ""

legal_basis := input.power.legal_basis if is_string(input.power.legal_basis)

# valid_on holds when a dated record covers day. Dates are "YYYY-MM-DD" strings, which
# order as dates; both ends are inclusive (an assignment's end is its last day, a
# declaration's until is its last day) and an empty end means open-ended.
valid_on(from, until, day) if {
	from <= day
	day <= object.get(open_end, until, until)
}

# open_end reads an empty end date as the end of time.
open_end := {"": "9999-12-31"}

# acting contains the person acting and, when they act as a delegate, the principal they
# act for: both are checked by the separation rules. (The comparison with "" comes first:
# on_behalf_of is "" unless a delegate acts.)
acting contains input.actor.person if {
	input.actor.person != ""
	is_string(input.actor.person)
}

acting contains input.actor.on_behalf_of if {
	input.actor.on_behalf_of != ""
	is_string(input.actor.on_behalf_of)
}

# principal is the person whose posts count: the principal when a delegate acts for
# them, the actor otherwise.
principal := input.actor.on_behalf_of if {
	input.actor.on_behalf_of != ""
	is_string(input.actor.on_behalf_of)
} else := input.actor.person

# active holds when the person is known in the org and has not left.
active(person) if {
	p := data.facts.orgs[input.org].people[person]
	not p.inactive
}

# holding_valid holds when an assignment (holdings[person][_]) covers input.today.
holding_valid(h) if valid_on(object.get(h, "start", ""), object.get(h, "end", ""), input.today)

# declaration_valid holds when a conflict declaration covers input.today.
declaration_valid(d) if valid_on(object.get(d, "from", ""), object.get(d, "until", ""), input.today)

# The day's indexes. The PDP computes, once a day, data.facts.orgs[org].current[person] =
# {"posts": {post: true}, "seats": {"<unit>|<rank_level>": true}, "funds": {code: true}}
# for every person who, that day, is known, has not left and holds at least one post (the
# posts valid that day, their unit|rank seats, the funds and indicators they manage), and
# records the day in data.facts.today (every org then carries current, possibly empty). When
# data.facts.today == input.today the helpers below answer from the index in one look-up;
# otherwise (an input dated another day, facts without indexes) they check the dates of the
# assignments themselves. Both give the same answers (main/index_test.rego). The test is
# written out in each helper rather than as a rule: every reference to a rule costs a rule
# index look-up, and these sit on every sign-off.

# holds holds when person holds post today and has not left.
holds(person, post) if {
	data.facts.today == input.today
	data.facts.orgs[input.org].current[person].posts[post]
}

# Without the index, the cheap comparison comes first; validity and the person's status
# are checked only for the assignment that matches.
holds(person, post) if {
	not data.facts.today == input.today
	some h in data.facts.orgs[input.org].holdings[person]
	h.post == post
	h.start <= input.today
	input.today <= object.get({"": "9999-12-31"}, h.end, h.end)
	p := data.facts.orgs[input.org].people[person]
	not p.inactive
}

# holds_rank holds when person holds today a post of rank level in unit, and has not left.
# The index's seat key is "<unit>|<rank_level>"; a rank level that is not an integer, or a
# unit that is not a string, is held by nobody (no post has it).
holds_rank(person, level, unit) if {
	data.facts.today == input.today
	seats := data.facts.orgs[input.org].current[person].seats
	is_number(level)
	level == floor(level)
	is_string(unit)
	seats[concat("|", [unit, format_int(level, 10)])]
}

holds_rank(person, level, unit) if {
	not data.facts.today == input.today
	some h in data.facts.orgs[input.org].holdings[person]
	post := data.facts.orgs[input.org].posts[h.post]
	post.rank_level == level
	post.unit == unit
	h.start <= input.today
	input.today <= object.get({"": "9999-12-31"}, h.end, h.end)
	p := data.facts.orgs[input.org].people[person]
	not p.inactive
}

# declares_conflict holds when person has a conflict declaration (回避申报) valid today that
# matches the counterparty. It stops at the first one (no set of declarations is built).
declares_conflict(person, counterparty) if {
	some d in data.facts.orgs[input.org].conflicts[person]
	matches_counterparty(d, counterparty)
	declaration_valid(d)
}

# matches_counterparty compares a declaration with a counterparty (the payee): by code
# (统一社会信用代码, ID number, account) when both carry one, and by name — either match
# counts, so a payee named as declared escapes no 回避 by quoting another code. Codes are
# compared trimmed and upper-cased; names trimmed, without blanks, with full-width
# brackets folded to ASCII.
matches_counterparty(d, c) if {
	is_object(c)
	both_coded(d, c)
	norm_code(d.code) == norm_code(c.code)
}

matches_counterparty(d, c) if {
	is_object(c)
	n := norm_name(object.get(d, "name", ""))
	n != ""
	n == norm_name(object.get(c, "name", ""))
}

both_coded(d, c) if {
	norm_code(object.get(d, "code", "")) != ""
	norm_code(object.get(c, "code", "")) != ""
}

norm_code(s) := upper(trim_space(s)) if {
	is_string(s)
} else := ""

norm_name(s) := strings.replace_n({" ": "", "\u3000": "", "（": "(", "）": ")"}, trim_space(s)) if {
	is_string(s)
} else := ""

# amount_text writes an amount in 元 for messages: whole amounts without decimals,
# others with two.
amount_text(x) := s if {
	is_number(x)
	x == floor(x)
	s := format_int(x, 10)
} else := s if {
	is_number(x)
	s := sprintf("%.2f", [x])
} else := sprintf("%v", [x])

# rank_zh and rank_en name a rank level (1 经办人 … 6 主要领导).
rank_zh(level) := name if {
	is_number(level)
	name := data.lib.ranks[format_int(level, 10)].zh
} else := sprintf("第%v级", [level])

rank_en(level) := name if {
	is_number(level)
	name := data.lib.ranks[format_int(level, 10)].en
} else := sprintf("rank level %v", [level])

# verb_zh and verb_en name the action in messages ("签署", "sign").
verb_zh := data.lib.verbs[input.action].zh if data.lib.verbs[input.action]

else := input.action

verb_en := data.lib.verbs[input.action].en if data.lib.verbs[input.action]

else := input.action

# list_text joins ids for messages, sorted.
list_text(xs) := concat("、", sort([x | some x in xs]))

list_text_en(xs) := concat(", ", sort([x | some x in xs]))
