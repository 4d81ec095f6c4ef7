package fenquan.oversight_test

import data.fenquan.main
import data.fenquan.oversight

warning_act(act, state, person) := {
	"action": "supervision.warning.act",
	"org": "czj",
	"today": "2026-11-21",
	"actor": {"person": person, "on_behalf_of": ""},
	"subject": {
		"kind": "warning", "name": "orgs/czj/warnings/w1", "state": state, "act": act,
		"person": "feng-yu", "participants": ["feng-yu", "cao-yang"], "disposition": "",
	},
}

complaint_act(act, state, person) := {
	"action": "supervision.complaint.act",
	"org": "czj",
	"today": "2026-11-21",
	"actor": {"person": person, "on_behalf_of": ""},
	"subject": {
		"kind": "complaint", "name": "orgs/czj/complaints/c1", "state": state, "act": act,
		"person": "", "participants": ["wang-li"], "assignee": "", "link_people": [],
	},
}

ids(inp) := {v.rule | some v in oversight.deny with input as inp}

test_lifecycle_in_order_allowed if {
	every pair in [
		["REVIEW", "RAISED"], ["DISMISS", "RAISED"], ["TRACE", "REVIEWED"],
		["RECTIFY", "TRACED"], ["CLOSE", "RECTIFIED"], ["RELEASE_HOLD", "CLOSED"],
	] {
		count(ids(warning_act(pair[0], pair[1], "cheng-gang"))) == 0
	}
}

test_lifecycle_out_of_order_denied if {
	every pair in [
		["REVIEW", "REVIEWED"], ["DISMISS", "REVIEWED"], ["TRACE", "RAISED"],
		["RECTIFY", "REVIEWED"], ["CLOSE", "TRACED"], ["REVIEW", "CLOSED"],
		["NO_SUCH_ACT", "RAISED"],
	] {
		ids(warning_act(pair[0], pair[1], "cheng-gang")) == {"oversight.transition"}
	}
}

test_subject_and_participants_may_not_act if {
	ids(warning_act("REVIEW", "RAISED", "feng-yu")) == {"oversight.self_supervision"}
	ids(warning_act("REVIEW", "RAISED", "cao-yang")) == {"oversight.self_supervision"}
	ids(complaint_act("INVESTIGATE", "ASSIGNED", "wang-li")) == {"oversight.self_supervision"}
	count(ids(complaint_act("INVESTIGATE", "ASSIGNED", "cheng-gang"))) == 0
}

test_acting_on_behalf_counts_the_principal if {
	inp := object.union(warning_act("REVIEW", "RAISED", "cheng-gang"), {"actor": {"on_behalf_of": "feng-yu"}})
	ids(inp) == {"oversight.self_supervision"}
}

test_dispositions if {
	ok := object.union(warning_act("DISPOSE", "REVIEWED", "cheng-gang"), {"subject": {"disposition": "诫勉谈话"}})
	count(ids(ok)) == 0
	bad := object.union(warning_act("DISPOSE", "REVIEWED", "cheng-gang"), {"subject": {"disposition": "罚款"}})
	ids(bad) == {"oversight.disposition"}
	closed := object.union(warning_act("DISPOSE", "CLOSED", "cheng-gang"), {"subject": {"disposition": "诫勉谈话"}})
	ids(closed) == {"oversight.transition"}
}

test_complaint_lifecycle if {
	count(ids(complaint_act("ASSIGN", "RECEIVED", "cheng-gang"))) == 0
	count(ids(complaint_act("ASSIGN", "ASSIGNED", "cheng-gang"))) == 0
	ids(complaint_act("ASSIGN", "CONCLUDED", "cheng-gang")) == {"oversight.transition"}
	ids(complaint_act("CONCLUDE", "ASSIGNED", "cheng-gang")) == {"oversight.transition"}
	count(ids(complaint_act("LINK", "CONCLUDED", "cheng-gang"))) == 0
}

test_assignee_named if {
	inp := object.union(complaint_act("ASSIGN", "RECEIVED", "cheng-gang"), {"subject": {"assignee": "wang-li"}})
	ids(inp) == {"oversight.assignee_named"}
	other := object.union(complaint_act("ASSIGN", "RECEIVED", "cheng-gang"), {"subject": {"assignee": "he-wen"}})
	count(ids(other)) == 0
}

test_self_link if {
	inp := object.union(complaint_act("LINK", "INVESTIGATING", "cheng-gang"), {"subject": {"link_people": ["cheng-gang"]}})
	ids(inp) == {"oversight.self_link"}
}

test_decision_collects_oversight if {
	d := main.decision with input as warning_act("REVIEW", "RAISED", "feng-yu")
	not d.allowed
	{v.rule | some v in d.violations} == {"oversight.self_supervision"}
	ok := main.decision with input as warning_act("REVIEW", "RAISED", "cheng-gang")
	ok.allowed
}

test_decision_requires_subject if {
	inp := json.remove(warning_act("REVIEW", "RAISED", "cheng-gang"), ["subject/participants"])
	d := main.decision with input as inp
	not d.allowed
}
