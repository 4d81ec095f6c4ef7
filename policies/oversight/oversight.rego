# METADATA
# title: 监督与执行分离 (who acts on a warning or a complaint, and when)
# description: >-
#   The supervision service's own acts: moving a warning (预警) through its lifecycle
#   (复核 → 溯源 → 整改 → 办结, or 撤销), disposing of it (风险提示, 诫勉谈话, 责令纠错) or
#   releasing its hold, and handling a complaint (信访举报: 交办, 调查, 关联, 办结). Nobody
#   acts on a warning or complaint about themselves or a case they took part in; an act
#   applies only in the states data.oversight.transitions lists. The input's subject is the
#   warning or complaint as it is: kind, name, state, the act asked (act), the person it is
#   about (person), the people who took part in its case or are named in it
#   (participants), and for complaints the assignee and people to link. Tables:
#   data.oversight (policies/oversight/data.json).
package fenquan.oversight

import data.fenquan.lib

# Every deny rule starts with its guard, data.oversight.rule_actions.<rule>[input.action].

kind_zh := {"warning": "预警", "complaint": "信访举报"}[input.subject.kind]

kind_en := {"warning": "warning", "complaint": "complaint"}[input.subject.kind]

state_zh := object.get(data.oversight.state_names, input.subject.state, input.subject.state)

# METADATA
# title: Supervised person acting on their own warning or complaint
# description: >-
#   The person acting (lib.principal) is the one the warning is about (subject.person), or
#   took part in its case or is named in the complaint (subject.participants): someone
#   else reviews, disposes of and handles it.
# custom:
#   id: oversight.self_supervision
#   basis: 建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.oversight.rule_actions.self_supervision[input.action]
	person := lib.principal
	involved(person)
	v := lib.violation(
		"oversight.self_supervision",
		sprintf("%s 是%s %s 的监督对象或当事人,不得自行处理(监督与执行分离)", [person, kind_zh, input.subject.name]),
		sprintf("%s is the subject of %s %s or took part in it: someone else handles it", [person, kind_en, input.subject.name]),
		"建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

involved(person) if input.subject.person == person

involved(person) if {
	some p in input.subject.participants
	p == person
}

# METADATA
# title: Act not allowed in the warning's or complaint's state
# description: >-
#   The act (subject.act) applies only in the states
#   data.oversight.transitions[subject.kind][subject.act] lists: a warning is reviewed once
#   raised, traced once reviewed, rectified once traced, closed once rectified, dismissed
#   only while raised, disposed of while open; a complaint is assigned when received (or
#   reassigned), investigated once assigned, concluded while under investigation.
# custom:
#   id: oversight.transition
#   basis: 对监控中发现的问题,采取警示提醒、诫勉纠错和责令整改等手段,及时纠正偏差,避免廉政风险演化为腐败行为(财政局廉政管理指导方案)
deny contains v if {
	data.oversight.rule_actions.transition[input.action]
	not data.oversight.transitions[input.subject.kind][input.subject.act][input.subject.state]
	v := lib.violation(
		"oversight.transition",
		sprintf("%s %s 当前为“%s”,不能执行 %s", [kind_zh, input.subject.name, state_zh, input.subject.act]),
		sprintf("%s %s is %s: %s does not apply", [kind_en, input.subject.name, input.subject.state, input.subject.act]),
		"对监控中发现的问题,采取警示提醒、诫勉纠错和责令整改等手段,及时纠正偏差,避免廉政风险演化为腐败行为(财政局廉政管理指导方案)",
	)
}

# METADATA
# title: Unknown disposition of a warning
# description: >-
#   A warning is disposed of (act DISPOSE) only with a measure of data.oversight.dispositions
#   (风险提示, 诫勉谈话, 责令纠错).
# custom:
#   id: oversight.disposition
#   basis: 综合运用风险提示、诫勉谈话、责令纠错等处置措施,做到早发现、早提醒、早纠正(中央纪委监察部《关于加强廉政风险防控的指导意见》第12条)
deny contains v if {
	data.oversight.rule_actions.disposition[input.action]
	input.subject.act == "DISPOSE"
	not data.oversight.dispositions[input.subject.disposition]
	v := lib.violation(
		"oversight.disposition",
		sprintf("处置方式“%v”不在风险提示、诫勉谈话、责令纠错之列", [input.subject.disposition]),
		sprintf("disposition %v is none of 风险提示, 诫勉谈话, 责令纠错", [input.subject.disposition]),
		"综合运用风险提示、诫勉谈话、责令纠错等处置措施,做到早发现、早提醒、早纠正(中央纪委监察部《关于加强廉政风险防控的指导意见》第12条)",
	)
}

# METADATA
# title: Complaint assigned to a person it names
# description: >-
#   A complaint (act ASSIGN) is not assigned to a person named in it (subject.participants).
# custom:
#   id: oversight.assignee_named
#   basis: 建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.oversight.rule_actions.assignee_named[input.action]
	input.subject.act == "ASSIGN"
	some p in input.subject.participants
	p == input.subject.assignee
	v := lib.violation(
		"oversight.assignee_named",
		sprintf("%s 是信访举报 %s 的被举报人,不得承办", [p, input.subject.name]),
		sprintf("%s is named in complaint %s and may not be assigned it", [p, input.subject.name]),
		"建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}

# METADATA
# title: Linking oneself to a complaint one handles
# description: >-
#   The person acting (lib.principal) does not link themselves (act LINK, subject.link_people)
#   to a complaint and go on handling it.
# custom:
#   id: oversight.self_link
#   basis: 建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)
deny contains v if {
	data.oversight.rule_actions.self_link[input.action]
	input.subject.act == "LINK"
	person := lib.principal
	some p in input.subject.link_people
	p == person
	v := lib.violation(
		"oversight.self_link",
		sprintf("%s 不得将本人列为信访举报 %s 的被举报人后继续办理", [person, input.subject.name]),
		sprintf("%s may not link themselves to complaint %s, which they handle", [person, input.subject.name]),
		"建立健全决策权、执行权、监督权既相互制约又相互协调的权力结构和运行机制(中央纪委监察部《关于加强廉政风险防控的指导意见》第8条)",
	)
}
