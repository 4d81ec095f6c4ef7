# 轮岗: the post rules of 电子监察, evaluated on clock ticks about one post holding
# (input.holding). Their subject is the post, their person the holder.
package fenquan.supervision

# date_parts splits a "YYYY-MM-DD" date into [year, "MM-DD"].
date_parts(s) := [to_number(substring(s, 0, 4)), substring(s, 5, 5)] if {
	is_string(s)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, s)
}

# whole_years is the number of whole years from the date from to the date to (an
# anniversary counts on its day; one on 29 February falls on 1 March in other years).
whole_years(from, to) := (y2 - y1) - short(md2, md1) if {
	[y1, md1] := date_parts(from)
	[y2, md2] := date_parts(to)
}

# short is 1 when the day of the year md ("MM-DD") comes before the anniversary's, else 0.
short(md, anniversary) := 1 if md < anniversary

else := 0

# rotation_years is the holding's own rotation period when it is above 0, else
# data.supervision.rotation_years.
rotation_years := y if {
	y := input.holding.rotation_years
	is_number(y)
	y > 0
} else := data.supervision.rotation_years

# METADATA
# title: Key post held past its rotation period (重点岗位任职超期未轮岗)
# description: >-
#   Clock tick about a holding of a key post (重点岗位, holding.key_post) held for at least
#   the rotation period in whole years, from holding.since to input.day (the holding's
#   rotation_years when above 0, else data.supervision.rotation_years, 5). Subject the
#   post, person the holder. Key rule|post|person|since.
# custom:
#   id: rotation_overdue
#   basis: 对重要部门负责人、重点岗位人员应按规定实行定期轮岗交流(财政局廉政管理指导方案);加大对热点、重点岗位人员定期交流或轮岗力度,防止岗位廉政风险发生(江西农业大学廉政风险防范管理工作实施方案)
findings contains f if {
	input.trigger == "clock"
	data.supervision.rules.rotation_overdue.enabled == true
	input.holding.key_post == true
	years := whole_years(input.holding.since, input.day)
	limit := rotation_years
	years >= limit
	post := text(object.get(input.holding, "post", ""))
	person := text(object.get(input.holding, "person", ""))
	f := finding(
		"rotation_overdue",
		post,
		person,
		sprintf("rotation_overdue|%s|%s|%s", [post, person, input.holding.since]),
		sprintf("%s 自 %s 起在重点岗位 %s 任职已满 %d 年,达到 %v 年定期轮岗期限,请安排轮岗交流", [person, input.holding.since, post, years, limit]),
		sprintf("%s has held the key post %s since %s, %d whole years, reaching the rotation period of %v years: rotate them", [person, post, input.holding.since, years, limit]),
		0,
	)
}

# METADATA
# title: Moved between posts too often (岗位调整过于频繁)
# description: >-
#   Clock tick about a holding whose holder moved between posts more than
#   data.supervision.max_moves_per_year times this calendar year (holding.moves_this_year).
#   Subject the post, person the holder. Key rule|person|year|moves: one notice per
#   number of moves, whichever of the person's holdings is ticked.
# custom:
#   id: frequent_moves
#   basis: 围绕干部管理权,应把干部选拔、任用、调配,工资晋升、档案管理等作为廉政风险点重点予以防范管理(酒泉市工商行政管理系统廉政风险点防范管理工作实施方案)
findings contains f if {
	input.trigger == "clock"
	data.supervision.rules.frequent_moves.enabled == true
	moves := input.holding.moves_this_year
	is_number(moves)
	moves > data.supervision.max_moves_per_year
	[year, _] := date_parts(input.day)
	post := text(object.get(input.holding, "post", ""))
	person := text(object.get(input.holding, "person", ""))
	f := finding(
		"frequent_moves",
		post,
		person,
		sprintf("frequent_moves|%s|%d|%v", [person, year, moves]),
		sprintf("%s %d 年内已调整岗位 %v 次(现任 %s),超过每年 %v 次,请核实调整理由", [person, year, moves, post, data.supervision.max_moves_per_year]),
		sprintf("%s has moved between posts %v times in %d (now at %s), more than %v a year: check the reasons", [person, moves, year, post, data.supervision.max_moves_per_year]),
		0,
	)
}

# METADATA
# title: Substantiated complaints on a key post (廉政风险黄牌警告)
# description: >-
#   Complaint trigger (a complaint concluded as substantiated), once per post it is linked
#   to (input.complaint_post): a key post (key_post) with at least
#   data.supervision.complaints_yellow_count (2) substantiated complaints concluded in the
#   year (substantiated, year). The card bars the post's unit from the top rating in that
#   year's assessment. Subject the post. Key rule|post|year.
# custom:
#   id: complaints_on_key_post
#   basis: 对群众反映强烈、被投诉举报查实的重点岗位,给予廉政风险黄牌警告,当年考核不得评为优秀(廉政风险防控考核办法)
findings contains f if {
	input.trigger == "complaint"
	data.supervision.rules.complaints_on_key_post.enabled == true
	cp := input.complaint_post
	cp.key_post == true
	cp.substantiated >= data.supervision.complaints_yellow_count
	post := text(object.get(cp, "post", ""))
	f := finding(
		"complaints_on_key_post",
		post,
		"",
		sprintf("complaints_on_key_post|%s|%v", [post, cp.year]),
		sprintf("重点岗位 %s 在 %v 年被查实信访举报 %v 件(达到 %v 件),给予廉政风险黄牌警告,所在单位当年考核不得评为优秀", [post, cp.year, cp.substantiated, data.supervision.complaints_yellow_count]),
		sprintf("key post %s had %v substantiated complaints in %v (at least %v): a 廉政风险黄牌 on the post; its unit may not be rated excellent that year", [post, cp.substantiated, cp.year, data.supervision.complaints_yellow_count]),
		0,
	)
}
