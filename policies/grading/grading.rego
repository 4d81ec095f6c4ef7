# METADATA
# title: Risk grading (评定风险等级)
# description: >-
#   Grades a risk point 高/中/低 from the likelihood × impact matrix, raised by the
#   weighted grading factors (importance of the power, size of discretion, frequency) and
#   forced to the top grade by major impact, unlimited discretion or a past case; names the
#   level label (一/二/三级), the owner's rank level and the watchers. Everything is data
#   (policies/grading/data.json); the result is the decision's output for risk.grade, with
#   the criteria it was computed by.
package fenquan.grading

import data.fenquan.lib

# Every deny rule starts with its guard, data.grading.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.grading.actions, which the tests check
# holds every action of rule_actions.

risk := input.risk

# scale_errors names every value outside its scale, as [zh, en] pairs.
scale_errors contains [
	sprintf("可能性 likelihood=%v 不在 1–%d 之间", [risk.likelihood, count(data.grading.matrix)]),
	sprintf("likelihood %v is not an integer in 1–%d", [risk.likelihood, count(data.grading.matrix)]),
] if not on_scale(risk.likelihood, count(data.grading.matrix))

scale_errors contains [
	sprintf("危害程度 impact=%v 不在 1–%d 之间", [risk.impact, count(data.grading.matrix[0])]),
	sprintf("impact %v is not an integer in 1–%d", [risk.impact, count(data.grading.matrix[0])]),
] if not on_scale(risk.impact, count(data.grading.matrix[0]))

scale_errors contains [
	sprintf("因素 %s=%v 不在 %v–%v 之间", [k, f, data.grading.factors.min, data.grading.factors.max]),
	sprintf("factor %s=%v is not an integer in %v–%v", [k, f, data.grading.factors.min, data.grading.factors.max]),
] if {
	some k, f in risk.factors
	data.grading.factors.weights[k] # a known factor (weights are numbers)
	not factor_on_scale(f)
}

scale_errors contains [sprintf("未知的评级因素 %s", [k]), sprintf("unknown grading factor %s", [k])] if {
	some k, _ in risk.factors
	not data.grading.factors.weights[k]
}

scale_errors contains [sprintf("未知的强制定级情形 %s", [k]), sprintf("unknown forcing condition %s", [k])] if {
	some k, _ in risk.forced
	not data.grading.forced[k] # forced grades are strings
}

scale_errors contains [
	sprintf("强制定级情形 %s=%v 不是布尔值", [k, f]),
	sprintf("forcing condition %s=%v is not a boolean", [k, f]),
] if {
	some k, f in risk.forced
	not is_boolean(f)
}

on_scale(x, n) if {
	is_number(x)
	x == floor(x)
	x >= 1
	x <= n
}

factor_on_scale(x) if {
	is_number(x)
	x == floor(x)
	x >= data.grading.factors.min
	x <= data.grading.factors.max
}

# METADATA
# title: Grading inputs on their scales
# description: >-
#   Likelihood or impact is not an integer within the matrix, a grading factor is outside
#   its scale or unknown, or a forcing condition is unknown or not a boolean: the risk
#   cannot be graded, so the decision denies rather than returning no grade.
# custom:
#   id: grading.out_of_scale
#   basis: 根据权力的重要程度、自由裁量权的大小、腐败现象发生的概率及危害程度等因素,按照“高”、“中”、“低”三个等级进行评定(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条)
deny contains v if {
	data.grading.rule_actions.out_of_scale[input.action]
	some e in scale_errors
	v := lib.violation(
		"grading.out_of_scale",
		sprintf("无法评定风险等级:%s", [e[0]]),
		sprintf("the risk cannot be graded: %s", [e[1]]),
		"根据权力的重要程度、自由裁量权的大小、腐败现象发生的概率及危害程度等因素,按照“高”、“中”、“低”三个等级进行评定(中央纪委监察部《关于加强廉政风险防控的指导意见》第6条)",
	)
}

# score is the matrix cell of likelihood × impact.
score := data.grading.matrix[risk.likelihood - 1][risk.impact - 1]

# matrix_grade is the grade of the first score band the score reaches.
matrix_grade := [b.grade | some b in data.grading.bands; score >= b.min_score][0]

# rank_of orders grades (LOW 0, MEDIUM 1, HIGH 2).
rank_of(g) := i if data.grading.order[i] == g

# factor_index is the weighted mean of the grading factors, to one decimal.
factor_index := round((10 * weighted_sum) / weight_total) / 10 if weight_total > 0

weighted_sum := sum([p |
	some k, w in data.grading.factors.weights
	p := w * risk.factors[k]
])

weight_total := sum([w | some k, w in data.grading.factors.weights; risk.factors[k]])

# raised is the matrix grade's rank, raised when the factors reach raise_at.
raised := min([rank_of(matrix_grade) + data.grading.factors.raise_by, count(data.grading.order) - 1]) if {
	factor_index >= data.grading.factors.raise_at
} else := rank_of(matrix_grade)

# forced_by lists the forcing conditions that hold, sorted.
forced_by := sort([k | some k, f in risk.forced; f == true; data.grading.forced[k]])

# grade is the highest of the (raised) matrix grade and every forced grade.
grade := data.grading.order[max({raised} | {rank_of(data.grading.forced[k]) | some k in forced_by})]

owner := data.grading.owners[grade]

# criteria are the grading tables the grade was computed with, returned with it so that a
# graded version of a risk point keeps the criteria it was graded by (the matrix version
# names them; these are their contents).
criteria := {
	"matrix": data.grading.matrix,
	"bands": data.grading.bands,
	"factors": data.grading.factors,
	"forced": data.grading.forced,
	"levels": data.grading.levels,
	"grade_zh": data.grading.grade_zh,
}

# output is the result of risk.grade, carried in the decision's output.
output := {
	"grade": grade,
	"grade_zh": data.grading.grade_zh[grade],
	"level": data.grading.levels[grade],
	"score": score,
	"factor_index": factor_index,
	"forced_by": forced_by,
	"owner_rank_level": owner.rank_level,
	"watchers": owner.watchers,
	"matrix_version": data.grading.matrix_version,
	"criteria": criteria,
} if {
	data.grading.actions[input.action]
	count(scale_errors) == 0
}
