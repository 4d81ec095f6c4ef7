# METADATA
# title: The decision
# description: >-
#   data.fenquan.main.decision is what every service asks: it collects the deny sets of
#   every package (each guarded by the actions it applies to), allows only when there is
#   no violation, and carries the computed output of risk.grade. It is always defined, and
#   denies by default.
package fenquan.main

import data.fenquan.api
import data.fenquan.collective
import data.fenquan.discretion
import data.fenquan.grading
import data.fenquan.input as schema
import data.fenquan.signoff
import data.fenquan.sod

# violations is every package's deny set, merged. A package is evaluated only for the
# actions it applies to (data.<pkg>.actions): its rules would not fire for the others, and
# skipping them keeps a decision cheap. The input schema applies to every action.
violations contains v if some v in schema.deny

violations contains v if {
	input.action in data.api.actions
	some v in api.deny
}

violations contains v if {
	input.action in data.sod.actions
	some v in sod.deny
}

violations contains v if {
	input.action in data.signoff.actions
	some v in signoff.deny
}

violations contains v if {
	input.action in data.collective.actions
	some v in collective.deny
}

violations contains v if {
	input.action in data.discretion.actions
	some v in discretion.deny
}

violations contains v if {
	input.action in data.grading.actions
	some v in grading.deny
}

# The default applies only if the decision below were undefined, which it cannot be (its
# parts are sets and defaulted values); it is here so that the query never returns
# nothing.
default decision := {
	"allowed": false,
	"violations": [{
		"rule": "main.default_deny",
		"zh": "策略未能作出决定,默认拒绝",
		"en": "the policy set reached no decision: denied by default",
		"basis": "默认拒绝",
		"legal_basis": "",
	}],
	"output": {},
}

decision := {
	"allowed": count(violations) == 0,
	"violations": sorted_violations,
	"output": output,
}

# sorted_violations is the violations in a stable order: by rule id, then English message.
sorted_violations := [t[2] | some t in sort([[v.rule, v.en, v] | some v in violations])]

default output := {}

output := grading.output if input.action in data.grading.actions
