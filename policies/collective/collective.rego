# METADATA
# title: 集体决策 (三重一大)
# description: >-
#   The leadership meeting that decides a 三重一大 matter (approval.meeting.*) or the risk
#   points of a risk assessment (集体定, risk.meeting.*): only present members who have not
#   stood aside vote, on the case's current version, with a quorum and a majority of yes.
#   On a vote (data.collective.vote_actions) the voter is the actor; on closing
#   (data.collective.close_actions) every voter in meeting.votes is checked again. A leader
#   convenes the meeting and records attendance and recusals, of members only. Thresholds:
#   data.collective.quorum and data.collective.majority.
package fenquan.collective

import data.fenquan.lib

# Every deny rule starts with its guard, data.collective.rule_actions.<rule>[input.action] (the
# scopes are objects keyed by action, so a guard is a look-up, not a search); the decision
# (package main) evaluates this package only for data.collective.actions, which the tests check
# holds every action of rule_actions.

# voters are the people whose votes the action records or counts.
voters contains p if {
	data.collective.vote_actions[input.action]
	some p in lib.acting
}

voters contains p if {
	data.collective.close_actions[input.action]
	some p, _ in input.meeting.votes
}

# subject_zh and subject_en name what the meeting decides, for messages: the case
# (approval.meeting.*), or the risk assessment campaign (risk.meeting.*, which has no case).
subject_zh := sprintf("案件 %v", [id]) if {
	id := input.case.id
} else := sprintf("风险评估 %v", [id]) if {
	id := input.campaign.id
} else := "本事项"

subject_en := sprintf("case %v", [id]) if {
	id := input.case.id
} else := sprintf("risk assessment %v", [id]) if {
	id := input.campaign.id
} else := "the matter"

# verb_zh and verb_en name the action in messages: data.collective.verbs for the actions
# package lib does not name (risk.meeting.*), lib's otherwise.
verb_zh := data.collective.verbs[input.action].zh if data.collective.verbs[input.action]

else := lib.verb_zh

verb_en := data.collective.verbs[input.action].en if data.collective.verbs[input.action]

else := lib.verb_en

members := {p | some p in input.meeting.members}

recused := {p | some p in input.meeting.recused}

# present are the members recorded as present who have not stood aside.
present := {p |
	some p in input.meeting.attendees
	p in members
	not p in recused
}

# METADATA
# title: Only members vote
# description: >-
#   A voter is not a member of the meeting (meeting.members), or, with
#   data.collective.members_in_leadership, not in the org's leadership.
# custom:
#   id: collective.not_member
#   basis: 凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
deny contains v if {
	data.collective.rule_actions.not_member[input.action]
	some p in voters
	not member(p)
	v := lib.violation(
		"collective.not_member",
		sprintf("%s 不是%s 集体决策会议(领导班子)的成员,不得表决", [p, subject_zh]),
		sprintf("%s is not a member of the leadership meeting deciding %s and may not vote", [p, subject_en]),
		"凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)",
	)
}

member(p) if {
	p in members
	not data.collective.members_in_leadership
}

member(p) if {
	p in members
	data.collective.members_in_leadership == true
	data.facts.orgs[input.org].leadership[p] == true
}

# METADATA
# title: Only those present vote
# description: A voter is not recorded as present (meeting.attendees).
# custom:
#   id: collective.not_present
#   basis: 重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案)
deny contains v if {
	data.collective.rule_actions.not_present[input.action]
	some p in voters
	not p in input.meeting.attendees
	v := lib.violation(
		"collective.not_present",
		sprintf("%s 未出席%s 的集体决策会议,不得表决", [p, subject_zh]),
		sprintf("%s is not recorded as present at the meeting deciding %s and may not vote", [p, subject_en]),
		"重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案)",
	)
}

# METADATA
# title: A recused member does not vote
# description: A member who stood aside (meeting.recused) votes.
# custom:
#   id: collective.recused
#   basis: 公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)
deny contains v if {
	data.collective.rule_actions.recused[input.action]
	some p in voters
	p in recused
	v := lib.violation(
		"collective.recused",
		sprintf("%s 已在%s 的集体决策中回避,不得表决", [p, subject_zh]),
		sprintf("%s stood aside from the collective decision on %s and may not vote", [p, subject_en]),
		"公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)",
	)
}

# METADATA
# title: A conflicted member stands aside
# description: >-
#   A voter with a conflict declaration valid today matching the case's payee votes without
#   having recused.
# custom:
#   id: collective.conflict_of_interest
#   basis: 公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)
deny contains v if {
	data.collective.rule_actions.conflict_of_interest[input.action]
	some p in voters
	not p in recused
	lib.declares_conflict(p, input.case.payee)
	v := lib.violation(
		"collective.conflict_of_interest",
		sprintf("回避:%s 申报了与付款对象 %s 的利害关系,未回避不得表决%s", [p, input.case.payee.name, subject_zh]),
		sprintf("conflict of interest: %s declared a relation with the payee %s and may not vote on %s without standing aside", [p, input.case.payee.name, subject_en]),
		"公务员执行公务时,涉及本人利害关系或者与本人有亲属关系人员的利害关系的,应当回避(《中华人民共和国公务员法》第七十六条)",
	)
}

# METADATA
# title: The vote binds the current version
# description: The meeting votes on a proposal version other than the case's current payload version.
# custom:
#   id: collective.version_mismatch
#   basis: 规范领导班子及其主要负责人的决策权限、决策内容及决策程序,完善“三重一大”决策事项的风险防控措施(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.collective.rule_actions.version_mismatch[input.action]
	input.meeting.proposal_version != input.case.payload_version
	v := lib.violation(
		"collective.version_mismatch",
		sprintf("会议表决的是案件 %s 的第 %v 版,案件现为第 %v 版,须就现行版本重新表决", [input.case.id, input.meeting.proposal_version, input.case.payload_version]),
		sprintf("the meeting votes on version %v of case %s, but the case is at version %v: the current version must be voted on", [input.meeting.proposal_version, input.case.id, input.case.payload_version]),
		"规范领导班子及其主要负责人的决策权限、决策内容及决策程序,完善“三重一大”决策事项的风险防控措施(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

# quorum_needed is ceil(quorum × members).
quorum_needed := ceil((count(members) * data.collective.quorum.numerator) / data.collective.quorum.denominator)

# METADATA
# title: Quorum
# description: >-
#   Closing with fewer present, non-recused members than ceil(quorum × members)
#   (data.collective.quorum, 2/3). Compared in integers: present × denominator ≥
#   numerator × members.
# custom:
#   id: collective.quorum
#   basis: 重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案);规范领导班子及其主要负责人的决策权限、决策内容及决策程序(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.collective.rule_actions.quorum[input.action]
	count(present) * data.collective.quorum.denominator < data.collective.quorum.numerator * count(members)
	v := lib.violation(
		"collective.quorum",
		sprintf("%s 的集体决策会议应到 %d 人,须至少 %d 人出席(回避者不计),实到 %d 人(%s),不足法定人数", [subject_zh, count(members), quorum_needed, count(present), lib.list_text(present)]),
		sprintf("the meeting on %s has %d members and needs at least %d present and not recused; %d are (%s): no quorum", [subject_en, count(members), quorum_needed, count(present), lib.list_text_en(present)]),
		"重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案);规范领导班子及其主要负责人的决策权限、决策内容及决策程序(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

yes_votes := {p |
	some p, vote in input.meeting.votes
	vote == "yes"
	p in present
}

# METADATA
# title: Majority
# description: >-
#   Closing without more than half (data.collective.majority) of the present, non-recused
#   members voting yes; abstentions and absent votes count as not yes.
# custom:
#   id: collective.majority
#   basis: 严格执行民主决策制度,凡涉及“三重一大”事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
deny contains v if {
	data.collective.rule_actions.majority[input.action]
	count(yes_votes) * data.collective.majority.denominator <= data.collective.majority.numerator * count(present)
	v := lib.violation(
		"collective.majority",
		sprintf("%s 的集体决策未获通过:出席且未回避的 %d 人中仅 %d 人赞成(%s),未过半数", [subject_zh, count(present), count(yes_votes), lib.list_text(yes_votes)]),
		sprintf("the collective decision on %s has not passed: %d of the %d present, non-recused members voted yes (%s), not a majority", [subject_en, count(yes_votes), count(present), lib.list_text_en(yes_votes)]),
		"严格执行民主决策制度,凡涉及“三重一大”事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)",
	)
}

# METADATA
# title: A leader convenes and records the meeting
# description: >-
#   The person whose posts count (lib.principal: the actor, or the principal of a delegate)
#   is not in the org's leadership (data.facts.orgs[org].leadership): only a leader
#   convenes the leadership meeting and records its attendance and recusals.
# custom:
#   id: collective.convener
#   basis: 健全议事规则和工作规则,规范领导班子及其主要负责人的决策权限、决策内容及决策程序(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.collective.rule_actions.convener[input.action]
	person := lib.principal
	not data.facts.orgs[input.org].leadership[person] == true
	v := lib.violation(
		"collective.convener",
		sprintf("集体决策会议由领导班子成员召集和记录:%s 不在本单位领导班子中,不得%s(%s)", [person, verb_zh, subject_zh]),
		sprintf("the leadership meeting is convened and recorded by a leader: %s is not in the org's leadership and may not %s %s", [person, verb_en, subject_en]),
		"健全议事规则和工作规则,规范领导班子及其主要负责人的决策权限、决策内容及决策程序(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

# METADATA
# title: The meeting has members
# description: The meeting convened lists no members (meeting.members is empty).
# custom:
#   id: collective.no_members
#   basis: 凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)
deny contains v if {
	data.collective.rule_actions.no_members[input.action]
	count(members) == 0
	v := lib.violation(
		"collective.no_members",
		sprintf("%s 的集体决策会议未列出任何成员,须由领导班子集体研究,不得召集", [subject_zh]),
		sprintf("the leadership meeting on %s lists no members: the leadership decides collectively, so it may not be convened", [subject_en]),
		"凡涉及重大事项决策、重要人事任免、重大项目安排和大额资金使用等事项,必须经领导班子集体研究决定(江西农业大学廉政风险防范管理工作实施方案)",
	)
}

# outsiders are the people recorded as present or recused who are not members.
outsiders contains p if {
	some p in input.meeting.attendees
	not p in members
}

outsiders contains p if {
	some p in input.meeting.recused
	not p in members
}

# METADATA
# title: Only members are recorded as present or recused
# description: >-
#   A person recorded as present (meeting.attendees) or recused (meeting.recused) is not a
#   member of the meeting (meeting.members). One violation per person.
# custom:
#   id: collective.attendee_not_member
#   basis: 重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案)
deny contains v if {
	data.collective.rule_actions.attendee_not_member[input.action]
	some p in outsiders
	v := lib.violation(
		"collective.attendee_not_member",
		sprintf("%s 不是%s 集体决策会议的成员,不得登记为出席或回避", [p, subject_zh]),
		sprintf("%s is not a member of the leadership meeting on %s and may not be recorded as present or recused", [p, subject_en]),
		"重大、复杂、敏感的事项实行集体决策(财政局廉政管理指导方案)",
	)
}
