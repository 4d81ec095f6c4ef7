package fenquan.grading_test

import data.fenquan.fixtures as fx
import data.fenquan.grading

out(inp) := o if {
	o := grading.output with input as inp
}

ids(inp) := {v.rule | some v in d} if {
	d := grading.deny with input as inp
}

grade_of(l, i) := out(fx.risk(l, i, fx.low_factors, fx.no_force)).grade

forced(k) := object.union(fx.no_force, {k: true})

# --- the matrix: every cell grades, and the corners and band edges are as the data says

test_every_cell_grades if {
	cells := [o |
		some l in numbers.range(1, 5)
		some i in numbers.range(1, 5)
		o := out(fx.risk(l, i, fx.low_factors, fx.no_force))
	]
	count(cells) == 25
	every o in cells {
		o.grade in {"HIGH", "MEDIUM", "LOW"}
		o.matrix_version == "2026-1"
	}
}

test_corner_1_1_is_low if {
	o := out(fx.risk(1, 1, fx.low_factors, fx.no_force))
	o == {
		"grade": "LOW", "grade_zh": "低", "level": "三级", "score": 1, "factor_index": 1,
		"forced_by": [], "owner_rank_level": 4, "watchers": [], "matrix_version": "2026-1",
		"criteria": {
			"matrix": data.grading.matrix, "bands": data.grading.bands, "factors": data.grading.factors,
			"forced": data.grading.forced, "levels": data.grading.levels, "grade_zh": data.grading.grade_zh,
		},
	}
}

# --- the criteria used are returned with the grade

test_criteria_are_the_tables_used if {
	c := out(fx.risk(3, 3, fx.low_factors, fx.no_force)).criteria
	object.keys(c) == {"matrix", "bands", "factors", "forced", "levels", "grade_zh"}
	c.matrix[2][2] == 9
	c.bands[0] == {"grade": "HIGH", "min_score": 15}
	c.factors.weights == {"importance": 4, "discretion": 3, "frequency": 3}
	c.forced.past_case == "HIGH"
	c.levels.HIGH == "一级"
	c.grade_zh.MEDIUM == "中"
}

test_criteria_follow_the_data if {
	# A set with the market regulator's level labels and another band returns those.
	flipped := {"HIGH": "三级", "MEDIUM": "二级", "LOW": "一级"}
	bands := [{"grade": "HIGH", "min_score": 12}, {"grade": "MEDIUM", "min_score": 6}, {"grade": "LOW", "min_score": 0}]
	o := grading.output with input as fx.risk(3, 4, fx.low_factors, fx.no_force)
		with data.grading.levels as flipped
		with data.grading.bands as bands
	o.grade == "HIGH"
	o.criteria.levels == flipped
	o.criteria.bands == bands
}

test_no_criteria_without_a_grade if {
	not out(fx.risk(0, 3, fx.low_factors, fx.no_force))
}

test_corner_5_5_is_high if {
	o := out(fx.risk(5, 5, fx.low_factors, fx.no_force))
	o.grade == "HIGH"
	o.grade_zh == "高"
	o.level == "一级"
	o.score == 25
	o.owner_rank_level == 6
	o.watchers == ["discipline"]
}

test_corner_1_5_is_low if {
	o := out(fx.risk(1, 5, fx.low_factors, fx.no_force))
	o.score == 5
	o.grade == "LOW"
}

test_corner_5_1_is_low if {
	grade_of(5, 1) == "LOW"
}

test_band_edges if {
	grade_of(1, 5) == "LOW" # 5
	grade_of(2, 3) == "MEDIUM" # 6: MEDIUM from 6
	grade_of(3, 2) == "MEDIUM"
	grade_of(4, 3) == "MEDIUM" # 12
	grade_of(3, 5) == "HIGH" # 15: HIGH from 15
	grade_of(4, 4) == "HIGH" # 16
}

test_medium_owner if {
	o := out(fx.risk(3, 3, fx.low_factors, fx.no_force))
	o.grade == "MEDIUM"
	o.level == "二级"
	o.owner_rank_level == 5
	o.watchers == []
}

# --- the grading factors raise the matrix grade by one at a weighted mean of 4

test_factors_raise_medium_to_high if {
	o := out(fx.risk(2, 3, {"importance": 5, "discretion": 4, "frequency": 3}, fx.no_force))
	o.factor_index == 4.1
	o.grade == "HIGH"
	o.score == 6
}

test_factors_raise_at_exactly_4 if {
	o := out(fx.risk(1, 1, {"importance": 4, "discretion": 4, "frequency": 4}, fx.no_force))
	o.factor_index == 4
	o.grade == "MEDIUM"
}

test_factors_below_4_do_not_raise if {
	o := out(fx.risk(1, 1, {"importance": 4, "discretion": 4, "frequency": 3}, fx.no_force))
	o.factor_index == 3.7
	o.grade == "LOW"
}

test_factors_cap_at_high if {
	out(fx.risk(5, 5, {"importance": 5, "discretion": 5, "frequency": 5}, fx.no_force)).grade == "HIGH"
}

# --- forced top grades

test_forced_major_impact if {
	o := out(fx.risk(1, 1, fx.low_factors, forced("major_impact")))
	o.grade == "HIGH"
	o.forced_by == ["major_impact"]
	o.score == 1
	o.owner_rank_level == 6
}

test_forced_unlimited_discretion if {
	o := out(fx.risk(1, 1, fx.low_factors, forced("unlimited_discretion")))
	o.grade == "HIGH"
	o.forced_by == ["unlimited_discretion"]
}

test_forced_past_case if {
	o := out(fx.risk(2, 2, fx.low_factors, forced("past_case")))
	o.grade == "HIGH"
	o.forced_by == ["past_case"]
}

test_forced_all_sorted if {
	all := {"major_impact": true, "unlimited_discretion": true, "past_case": true}
	out(fx.risk(1, 1, fx.low_factors, all)).forced_by == ["major_impact", "past_case", "unlimited_discretion"]
}

test_contract_example if {
	# POLICY.md's example: likelihood 4, impact 5, factors 5/4/3, past case.
	o := out(fx.risk(4, 5, {"importance": 5, "discretion": 4, "frequency": 3}, forced("past_case")))
	o.grade == "HIGH"
	o.level == "一级"
	o.score == 20
	o.forced_by == ["past_case"]
	o.owner_rank_level == 6
	o.watchers == ["discipline"]
}

test_forced_grade_is_data if {
	o := grading.output with input as fx.risk(1, 1, fx.low_factors, forced("past_case"))
		with data.grading.forced.past_case as "MEDIUM"
	o.grade == "MEDIUM"
}

# --- level labels are data: the 004 convention flips them

test_level_labels_flip if {
	o := grading.output with input as fx.risk(5, 5, fx.low_factors, fx.no_force)
		with data.grading.levels as {"HIGH": "三级", "MEDIUM": "二级", "LOW": "一级"}
	o.level == "三级"
}

# --- grading.out_of_scale

test_out_of_scale_allows_valid_input if {
	count(ids(fx.risk(3, 4, fx.low_factors, fx.no_force))) == 0
}

test_out_of_scale_denies_likelihood_0 if {
	inp := fx.risk(0, 3, fx.low_factors, fx.no_force)
	"grading.out_of_scale" in ids(inp)
	not out(inp)
}

test_out_of_scale_denies_impact_6 if {
	"grading.out_of_scale" in ids(fx.risk(3, 6, fx.low_factors, fx.no_force))
}

test_out_of_scale_denies_fraction if {
	"grading.out_of_scale" in ids(fx.risk(2.5, 3, fx.low_factors, fx.no_force))
}

test_out_of_scale_denies_string if {
	"grading.out_of_scale" in ids(fx.risk("3", 3, fx.low_factors, fx.no_force))
}

test_out_of_scale_denies_factor_6 if {
	inp := fx.risk(3, 3, object.union(fx.low_factors, {"discretion": 6}), fx.no_force)
	some v in grading.deny with input as inp
	contains(v.zh, "discretion=6")
}

test_out_of_scale_denies_unknown_factor if {
	"grading.out_of_scale" in ids(fx.risk(3, 3, object.union(fx.low_factors, {"luck": 3}), fx.no_force))
}

test_out_of_scale_denies_unknown_forced if {
	"grading.out_of_scale" in ids(fx.risk(3, 3, fx.low_factors, object.union(fx.no_force, {"whim": true})))
}

test_out_of_scale_denies_non_boolean_forced if {
	"grading.out_of_scale" in ids(fx.risk(3, 3, fx.low_factors, object.union(fx.no_force, {"past_case": "yes"})))
}

# --- the grading tables in data are complete

test_grading_tables_complete if {
	n := count(data.grading.matrix)
	every row in data.grading.matrix {
		count(row) == count(data.grading.matrix[0])
	}
	n > 0
	every g in data.grading.order {
		data.grading.grade_zh[g]
		data.grading.levels[g]
		data.grading.owners[g].rank_level
	}
	every b in data.grading.bands {
		b.grade in data.grading.order
	}
	every _, g in data.grading.forced {
		g in data.grading.order
	}
	[b | some b in data.grading.bands; b.min_score <= 1] != []
}
