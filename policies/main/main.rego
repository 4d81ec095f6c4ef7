# METADATA
# title: The decision
# description: >-
#   data.fenquan.main.decision is the decision on an action: it collects the deny sets of
#   every package (each guarded by the actions it applies to) and the input schema's,
#   allows only when there is no violation, and carries the computed output of risk.grade.
#   data.fenquan.main.rules_decision is the same without the input schema: the embedded
#   PDP validates the input in Go and asks it for inputs that pass. Both are always
#   defined, and deny by default.
package fenquan.main

import data.fenquan.api
import data.fenquan.case
import data.fenquan.collective
import data.fenquan.discretion
import data.fenquan.grading
import data.fenquan.input as schema
import data.fenquan.oversight
import data.fenquan.risk
import data.fenquan.signoff
import data.fenquan.sod

# rule_violations is the deny set of every package but the input schema, merged. A package
# is evaluated only for the actions it applies to (data.<pkg>.actions, an object keyed by
# action, so the guard is a look-up): its rules would not fire for the others, and skipping
# them keeps a decision cheap.
rule_violations contains v if {
	data.api.actions[input.action]
	some v in api.deny
}

rule_violations contains v if {
	data.sod.actions[input.action]
	some v in sod.deny
}

rule_violations contains v if {
	data.signoff.actions[input.action]
	some v in signoff.deny
}

rule_violations contains v if {
	data.case.actions[input.action]
	some v in case.deny
}

rule_violations contains v if {
	data.collective.actions[input.action]
	some v in collective.deny
}

rule_violations contains v if {
	data.discretion.actions[input.action]
	some v in discretion.deny
}

rule_violations contains v if {
	data.grading.actions[input.action]
	some v in grading.deny
}

rule_violations contains v if {
	data.risk.actions[input.action]
	some v in risk.deny
}

rule_violations contains v if {
	data.oversight.actions[input.action]
	some v in oversight.deny
}

# violations is rule_violations and the input schema's violations, which apply to every
# action.
violations contains v if some v in schema.deny

violations contains v if some v in rule_violations

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

decision := assemble(violations)

# rules_decision is decision without the input schema: the violations of every other
# package. The embedded PDP checks the input schema in Go (from data.input, with the same
# violations as package input) and asks rules_decision only for inputs that pass it; stock
# OPA users ask decision. Same shape, same default.
default rules_decision := {
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

rules_decision := assemble(rule_violations)

# assemble builds a decision from a set of violations: allowed only when there is none
# (then nothing is sorted), the violations in a stable order (by rule id, then English
# message), and the output.
assemble(vs) := {"allowed": true, "violations": [], "output": output} if {
	count(vs) == 0
} else := {
	"allowed": false,
	"violations": [t[2] | some t in sort([[v.rule, v.en, v] | some v in vs])],
	"output": output,
}

default output := {}

output := grading.output if data.grading.actions[input.action]
