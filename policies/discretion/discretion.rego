# METADATA
# title: 裁量基准 (discretion benchmarks)
# description: >-
#   On the 决定 step of a 行政处罚, the penalty must fall inside the tier of the benchmark
#   item that the case's circumstances select. Tiers are ordered light → heavy; when the
#   circumstance codes select several, the heaviest governs. Bounds are inclusive; a tier
#   without max_amount has no upper bound.
package fenquan.discretion

import data.fenquan.lib

# Every deny rule starts with its guard, data.discretion.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.discretion.actions, which the tests check
# holds every action of rule_actions.

# penalty_given holds when the input carries a penalty.
penalty_given if is_object(input.penalty)

# selected is the indexes of the tiers any circumstance code selects.
selected := {i |
	some i, tier in input.penalty.benchmark.tiers
	some code in tier.circumstance_codes
	code in input.penalty.circumstance_codes
}

# tier is the governing tier: the heaviest one selected.
tier := input.penalty.benchmark.tiers[max(selected)] if count(selected) > 0

# METADATA
# title: A tier must be selected
# description: None of the case's circumstance codes selects a tier of the benchmark item.
# custom:
#   id: discretion.no_tier
#   basis: 建立健全行政处罚等领域的裁量权基准制度,科学合理划分裁量阶次,完善适用规则,避免执法的随意性(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)
deny contains v if {
	data.discretion.rule_actions.no_tier[input.action]
	penalty_given
	count(selected) == 0
	v := lib.violation(
		"discretion.no_tier",
		sprintf("案件 %s 的情节(%s)未对应裁量基准事项 %s 的任何裁量阶次,不得作出处罚决定", [object.get(input.case, "id", ""), lib.list_text(input.penalty.circumstance_codes), input.penalty.item]),
		sprintf("the circumstances of case %s (%s) select no tier of the benchmark item %s: no penalty decision may be signed", [object.get(input.case, "id", ""), lib.list_text_en(input.penalty.circumstance_codes), input.penalty.item]),
		"建立健全行政处罚等领域的裁量权基准制度,科学合理划分裁量阶次,完善适用规则,避免执法的随意性(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)",
	)
}

# METADATA
# title: A penalty decision carries its penalty
# description: >-
#   The decision step (data.discretion.decision_duties) of a penalty case
#   (data.discretion.penalty_categories) is signed without a penalty, so no tier can be
#   selected.
# custom:
#   id: discretion.no_tier
#   basis: 建立健全行政处罚等领域的裁量权基准制度,科学合理划分裁量阶次,完善适用规则,避免执法的随意性(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)
deny contains v if {
	data.discretion.rule_actions.no_tier[input.action]
	not penalty_given
	data.discretion.penalty_categories[input.case.category]
	data.discretion.decision_duties[input.step.duty]
	v := lib.violation(
		"discretion.no_tier",
		sprintf("案件 %s 的步骤 %s(%s)是行政处罚决定,但未附处罚内容,无法对照裁量基准", [input.case.id, input.step.id, input.step.duty]),
		sprintf("step %s (%s) of case %s decides a penalty but carries none, so it cannot be checked against the benchmark", [input.step.id, input.step.duty, input.case.id]),
		"建立健全行政处罚等领域的裁量权基准制度,科学合理划分裁量阶次,完善适用规则,避免执法的随意性(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)",
	)
}

# METADATA
# title: The penalty lies inside the tier
# description: >-
#   The penalty amount is outside the governing tier's range [min_amount, max_amount] (the
#   heaviest tier any code selects governs).
# custom:
#   id: discretion.out_of_range
#   basis: 对处罚种类、处罚幅度、处罚实施等,制定具体裁量标准和实施细则(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)
deny contains v if {
	data.discretion.rule_actions.out_of_range[input.action]
	penalty_given
	t := tier
	not within(input.penalty.amount, t)
	v := lib.violation(
		"discretion.out_of_range",
		sprintf("案件 %s 拟罚款 %s元,超出裁量基准 %s“%s”阶次的幅度 %s", [object.get(input.case, "id", ""), amount_zh, input.penalty.item, tier_name, range_zh]),
		sprintf("the fine of %s yuan on case %s is outside the range %s of tier %s of benchmark item %s", [amount_zh, object.get(input.case, "id", ""), range_en, tier_name, input.penalty.item]),
		"对处罚种类、处罚幅度、处罚实施等,制定具体裁量标准和实施细则(中央纪委监察部《关于加强廉政风险防控的指导意见》第9条)",
	)
}

within(x, t) if {
	is_number(x)
	x >= object.get(t, "min_amount", 0)
	not "max_amount" in object.keys(t)
}

within(x, t) if {
	is_number(x)
	x >= object.get(t, "min_amount", 0)
	x <= t.max_amount
}

amount_zh := lib.amount_text(input.penalty.amount) if is_number(input.penalty.amount)

else := sprintf("%v", [input.penalty.amount])

tier_name := object.get(tier, "display_name", object.get(tier, "id", ""))

range_zh := sprintf("%s–%s元", [lib.amount_text(object.get(tier, "min_amount", 0)), lib.amount_text(tier.max_amount)]) if {
	"max_amount" in object.keys(tier)
} else := sprintf("%s元以上", [lib.amount_text(object.get(tier, "min_amount", 0))])

range_en := sprintf("%s–%s yuan", [lib.amount_text(object.get(tier, "min_amount", 0)), lib.amount_text(tier.max_amount)]) if {
	"max_amount" in object.keys(tier)
} else := sprintf("from %s yuan", [lib.amount_text(object.get(tier, "min_amount", 0))])
