package fenquan.collective_test

import data.fenquan.collective
import data.fenquan.fixtures as fx

deny_set(inp) := d if {
	d := collective.deny with input as inp with data.facts as fx.facts
}

ids(inp) := {v.rule | some v in deny_set(inp)}

mentions(inp, rule, words) if {
	some v in deny_set(inp)
	v.rule == rule
	some m in [v.zh, v.en]
	every w in words {
		contains(m, w)
	}
}

# m(patch) is the fixture meeting with fields replaced.
m(patch) := object.union(fx.meeting, patch)

all_yes := {p: "yes" | some p in fx.members}

# votes(yes, rest) has the first yes members vote yes and the others vote rest.
votes(yes, rest) := {p: v |
	some i, p in fx.members
	v := vote_of(i, yes, rest)
}

vote_of(i, yes, _) := "yes" if i < yes

vote_of(i, yes, rest) := rest if i >= yes

test_base_inputs_clean if {
	count(ids(fx.vote("zhou-jianguo"))) == 0
	count(ids(fx.close(m({"votes": all_yes})))) == 0
}

# --- collective.not_member

test_not_member_denies_outsider if {
	inp := object.union(fx.vote("sun-li"), {"meeting": {"attendees": array.concat(fx.members, ["sun-li"])}})
	"collective.not_member" in ids(inp)
	mentions(inp, "collective.not_member", ["sun-li", "c-0001"])
}

test_not_member_denies_listed_non_leader if {
	# he-wen is listed as a member but is not in the leadership.
	ms := array.concat(fx.members, ["he-wen"])
	inp := object.union(fx.vote("he-wen"), {"meeting": {"members": ms, "attendees": ms}})
	"collective.not_member" in ids(inp)
	d := collective.deny with input as inp with data.facts as fx.facts with data.collective.members_in_leadership as false
	not "collective.not_member" in {v.rule | some v in d}
}

test_not_member_denies_delegated_vote if {
	# A vote cannot be delegated: the delegate is not a member.
	inp := object.union(fx.vote("he-wen"), {"actor": fx.delegate("he-wen", "zhou-jianguo")})
	mentions(inp, "collective.not_member", ["he-wen"])
}

test_not_member_denies_on_close if {
	inp := fx.close(m({"votes": object.union(all_yes, {"sun-li": "yes"})}))
	mentions(inp, "collective.not_member", ["sun-li"])
}

test_not_member_allows_member if {
	not "collective.not_member" in ids(fx.vote("deng-yi"))
}

# --- collective.not_present

test_not_present_denies_absent_voter if {
	inp := object.union(fx.vote("deng-yi"), {"meeting": {"attendees": array.slice(fx.members, 0, 5)}})
	"collective.not_present" in ids(inp)
	mentions(inp, "collective.not_present", ["deng-yi", "c-0001"])
}

test_not_present_allows_present_voter if {
	not "collective.not_present" in ids(object.union(fx.vote("zhou-jianguo"), {"meeting": {"attendees": array.slice(fx.members, 0, 5)}}))
}

# --- collective.recused

test_recused_denies_recused_voter if {
	inp := object.union(fx.vote("xu-hong"), {"meeting": {"recused": ["xu-hong"]}})
	"collective.recused" in ids(inp)
	mentions(inp, "collective.recused", ["xu-hong", "回避"])
}

test_recused_denies_on_close if {
	inp := fx.close(m({"recused": ["xu-hong"], "votes": all_yes}))
	"collective.recused" in ids(inp)
}

test_recused_allows_others if {
	not "collective.recused" in ids(object.union(fx.vote("zhou-jianguo"), {"meeting": {"recused": ["xu-hong"]}}))
}

# --- collective.conflict_of_interest

conflicted(person) := object.union(fx.vote(person), {"case": {"payee": {"name": "某某建设有限公司(武汉)", "code": ""}}})

test_conflict_denies_unrecused_member if {
	inp := conflicted("xu-hong")
	"collective.conflict_of_interest" in ids(inp)
	mentions(inp, "collective.conflict_of_interest", ["xu-hong", "某某建设有限公司(武汉)", "c-0001"])
}

test_conflict_allows_member_without_declaration if {
	not "collective.conflict_of_interest" in ids(conflicted("zhou-jianguo"))
}

test_conflict_allows_expired_declaration if {
	# wang-qiang's declaration ended 2025-12-31.
	inp := object.union(fx.vote("wang-qiang"), {"case": {"payee": fx.conflicted_payee}})
	not "collective.conflict_of_interest" in ids(inp)
}

test_conflict_recused_member_meets_recused_rule_only if {
	inp := object.union(conflicted("xu-hong"), {"meeting": {"recused": ["xu-hong"]}})
	not "collective.conflict_of_interest" in ids(inp)
	"collective.recused" in ids(inp)
}

# --- collective.version_mismatch

test_version_mismatch_denies_old_version if {
	inp := object.union(fx.vote("zhou-jianguo"), {"meeting": {"proposal_version": 2}})
	"collective.version_mismatch" in ids(inp)
	mentions(inp, "collective.version_mismatch", ["c-0001", "第 2 版", "第 3 版"])
}

test_version_mismatch_denies_on_close if {
	"collective.version_mismatch" in ids(fx.close(m({"proposal_version": 4, "votes": all_yes})))
}

test_version_mismatch_allows_current_version if {
	not "collective.version_mismatch" in ids(fx.vote("zhou-jianguo"))
}

# --- collective.quorum (2/3: 6 members need 4, 7 need 5, 3 need 2)

test_quorum_six_members_four_present_allows if {
	present := array.slice(fx.members, 0, 4)
	not "collective.quorum" in ids(fx.close(m({"attendees": present, "votes": {p: "yes" | some p in present}})))
}

test_quorum_six_members_three_present_denies if {
	present := array.slice(fx.members, 0, 3)
	inp := fx.close(m({"attendees": present, "votes": {p: "yes" | some p in present}}))
	"collective.quorum" in ids(inp)
	mentions(inp, "collective.quorum", ["应到 6 人", "至少 4 人", "实到 3 人", "zhou-jianguo"])
}

test_quorum_recused_do_not_count if {
	# Five attend but two stand aside: three count, below four.
	inp := fx.close(m({"attendees": array.slice(fx.members, 0, 5), "recused": ["xu-hong", "zhao-lei"], "votes": all_yes}))
	"collective.quorum" in ids(inp)
}

test_quorum_non_members_do_not_count if {
	inp := fx.close(m({"attendees": array.concat(array.slice(fx.members, 0, 3), ["he-wen"]), "votes": {}}))
	"collective.quorum" in ids(inp)
}

test_quorum_seven_members if {
	seven := array.concat(fx.members, ["zhou-min"])
	facts := json.patch(fx.facts, [{"op": "add", "path": "/orgs/czj/leadership/zhou-min", "value": true}])
	five := fx.close(m({"members": seven, "attendees": array.slice(seven, 0, 5), "votes": all_yes}))
	d5 := collective.deny with input as five with data.facts as facts
	not "collective.quorum" in {v.rule | some v in d5}
	four := fx.close(m({"members": seven, "attendees": array.slice(seven, 0, 4), "votes": all_yes}))
	d4 := collective.deny with input as four with data.facts as facts
	"collective.quorum" in {v.rule | some v in d4}
}

test_quorum_three_members if {
	three := array.slice(fx.members, 0, 3)
	not "collective.quorum" in ids(fx.close(m({"members": three, "attendees": array.slice(three, 0, 2), "votes": {}})))
	"collective.quorum" in ids(fx.close(m({"members": three, "attendees": array.slice(three, 0, 1), "votes": {}})))
}

test_quorum_only_on_close if {
	inp := object.union(fx.vote("zhou-jianguo"), {"meeting": {"attendees": ["zhou-jianguo"]}})
	not "collective.quorum" in ids(inp)
}

test_quorum_is_data if {
	present := array.slice(fx.members, 0, 3)
	inp := fx.close(m({"attendees": present, "votes": {p: "yes" | some p in present}}))
	d := collective.deny with input as inp with data.facts as fx.facts with data.collective.quorum as {"numerator": 1, "denominator": 2}
	not "collective.quorum" in {v.rule | some v in d}
}

# --- collective.majority (more than half of the present, non-recused members)

test_majority_allows_four_of_six if {
	not "collective.majority" in ids(fx.close(m({"votes": votes(4, "no")})))
}

test_majority_denies_half if {
	inp := fx.close(m({"votes": votes(3, "no")}))
	"collective.majority" in ids(inp)
	mentions(inp, "collective.majority", ["c-0001", "6 人", "3 人赞成"])
}

test_majority_abstentions_count_against if {
	"collective.majority" in ids(fx.close(m({"votes": votes(3, "abstain")})))
}

test_majority_odd_count if {
	five := array.slice(fx.members, 0, 5)
	not "collective.majority" in ids(fx.close(m({"attendees": five, "votes": votes(3, "no")})))
	"collective.majority" in ids(fx.close(m({"attendees": five, "votes": votes(2, "no")})))
}

test_majority_excludes_recused_from_base if {
	# Two stand aside: 3 yes of 4 counting members is a majority.
	inp := fx.close(m({"recused": ["xu-hong", "deng-yi"], "votes": votes(3, "no")}))
	not "collective.majority" in ids(inp)
}

test_majority_denies_empty_meeting if {
	"collective.majority" in ids(fx.close(m({"attendees": [], "votes": {}})))
}

# --- collective.convener

test_base_meeting_records_clean if {
	count(ids(fx.convene)) == 0
	count(ids(fx.attend(fx.meeting))) == 0
}

test_convener_denies_non_leader if {
	# 处长 wu-gang is not in the leadership.
	inp := object.union(fx.convene, {"actor": fx.actor("wu-gang")})
	ids(inp) == {"collective.convener"}
	mentions(inp, "collective.convener", ["wu-gang", "c-0001", "召集集体决策会议"])
	mentions(inp, "collective.convener", ["may not convene the leadership meeting on case c-0001"])
}

test_convener_denies_non_leader_recording_attendance if {
	inp := object.union(fx.attend(fx.meeting), {"actor": fx.actor("sun-li")})
	ids(inp) == {"collective.convener"}
	mentions(inp, "collective.convener", ["sun-li", "登记出席与回避"])
}

test_convener_counts_the_principal if {
	# A secretary recording for the 局长 acts for a leader; a leader's delegate acting for a
	# non-leader does not.
	not "collective.convener" in ids(object.union(fx.attend(fx.meeting), {"actor": fx.delegate("sun-li", "zhou-jianguo")}))
	mentions(object.union(fx.convene, {"actor": fx.delegate("zhou-jianguo", "sun-li")}), "collective.convener", ["sun-li"])
}

test_convener_allows_leader if {
	not "collective.convener" in ids(object.union(fx.convene, {"actor": fx.actor("deng-yi")}))
}

test_convener_reads_the_leadership if {
	facts := json.patch(fx.facts, [{"op": "remove", "path": "/orgs/czj/leadership/zhou-jianguo"}])
	d := collective.deny with input as fx.convene with data.facts as facts
	"collective.convener" in {v.rule | some v in d}
}

# --- collective.no_members

test_no_members_denies_empty_meeting if {
	inp := object.union(fx.convene, {"meeting": {"members": []}})
	ids(inp) == {"collective.no_members"}
	mentions(inp, "collective.no_members", ["c-0001"])
}

test_no_members_allows_members if {
	not "collective.no_members" in ids(fx.convene)
}

# --- collective.attendee_not_member

test_attendee_not_member_denies_outsiders if {
	# he-wen is recorded present and sun-li recused, neither a member: one violation each.
	inp := fx.attend(m({"attendees": array.concat(fx.members, ["he-wen"]), "recused": ["sun-li"]}))
	ids(inp) == {"collective.attendee_not_member"}
	count([v | some v in deny_set(inp); v.rule == "collective.attendee_not_member"]) == 2
	mentions(inp, "collective.attendee_not_member", ["he-wen", "c-0001"])
	mentions(inp, "collective.attendee_not_member", ["sun-li"])
}

test_attendee_not_member_one_violation_per_person if {
	inp := fx.attend(m({"attendees": ["he-wen", "he-wen"], "recused": ["he-wen"]}))
	count([v | some v in deny_set(inp); v.rule == "collective.attendee_not_member"]) == 1
}

test_attendee_not_member_allows_members if {
	not "collective.attendee_not_member" in ids(fx.attend(m({"recused": ["xu-hong"]})))
}

test_attend_does_not_check_conflicts if {
	# xu-hong's declaration matches the payee; whether she stood aside is checked on votes.
	payee := {"name": "某某建设有限公司(武汉)", "code": "", "is_person": false}
	inp := object.union(fx.attend(fx.meeting), {"case": {"payee": payee}})
	count(ids(inp)) == 0
	"collective.conflict_of_interest" in ids(object.union(fx.vote("xu-hong"), {"case": {"payee": payee}}))
}

# --- the same rules on a risk assessment's meeting (集体定, risk.meeting.*), which has no
# case: messages name the campaign

rm(patch) := object.union(fx.risk_meeting, patch)

test_risk_meeting_base_inputs_clean if {
	count(ids(fx.risk_convene)) == 0
	count(ids(fx.risk_attend(fx.risk_meeting))) == 0
	count(ids(fx.risk_vote("deng-yi"))) == 0
	count(ids(fx.risk_close(rm({"votes": all_yes})))) == 0
}

test_risk_meeting_voters if {
	outsider := object.union(fx.risk_vote("sun-li"), {"meeting": {"attendees": array.concat(fx.members, ["sun-li"])}})
	ids(outsider) == {"collective.not_member"}
	mentions(outsider, "collective.not_member", ["sun-li", "风险评估 2026-czj"])
	mentions(outsider, "collective.not_member", ["deciding risk assessment 2026-czj"])
	absent := object.union(fx.risk_vote("deng-yi"), {"meeting": {"attendees": array.slice(fx.members, 0, 5)}})
	mentions(absent, "collective.not_present", ["deng-yi", "风险评估 2026-czj"])
	recused := object.union(fx.risk_vote("xu-hong"), {"meeting": {"recused": ["xu-hong"]}})
	mentions(recused, "collective.recused", ["xu-hong", "风险评估 2026-czj"])
	mentions(fx.risk_close(rm({"recused": ["xu-hong"], "votes": all_yes})), "collective.recused", ["xu-hong"])
}

test_risk_meeting_quorum_and_majority if {
	present := array.slice(fx.members, 0, 3)
	inp := fx.risk_close(rm({"attendees": present, "votes": {p: "yes" | some p in present}}))
	mentions(inp, "collective.quorum", ["风险评估 2026-czj", "应到 6 人", "至少 4 人", "实到 3 人"])
	half := fx.risk_close(rm({"votes": votes(3, "no")}))
	ids(half) == {"collective.majority"}
	mentions(half, "collective.majority", ["风险评估 2026-czj", "3 人赞成"])
	not "collective.majority" in ids(fx.risk_close(rm({"votes": votes(4, "no")})))
}

test_risk_meeting_convener if {
	inp := object.union(fx.risk_convene, {"actor": fx.actor("wu-gang")})
	ids(inp) == {"collective.convener"}
	mentions(inp, "collective.convener", ["wu-gang", "召集集体审定会议(风险评估 2026-czj)"])
	mentions(inp, "collective.convener", ["may not convene the leadership meeting on risk assessment 2026-czj"])
	mentions(object.union(fx.risk_attend(fx.risk_meeting), {"actor": fx.actor("sun-li")}), "collective.convener", ["登记出席与回避"])
	mentions(object.union(fx.risk_close(rm({"votes": all_yes})), {"actor": fx.actor("sun-li")}), "collective.convener", ["close the vote on risk assessment 2026-czj"])
}

test_risk_meeting_members_recorded if {
	empty := object.union(fx.risk_convene, {"meeting": {"members": []}})
	ids(empty) == {"collective.no_members"}
	mentions(empty, "collective.no_members", ["风险评估 2026-czj"])
	outsider := fx.risk_attend(rm({"recused": ["he-wen"]}))
	ids(outsider) == {"collective.attendee_not_member"}
	mentions(outsider, "collective.attendee_not_member", ["he-wen", "风险评估 2026-czj"])
}

test_risk_meeting_has_no_version_or_payee if {
	# The campaign's meeting binds no payload version and has no payee: version_mismatch and
	# conflict_of_interest are the cases' only, whatever the meeting carries.
	inp := object.union(fx.risk_vote("xu-hong"), {"meeting": {"proposal_version": 2}})
	count(ids(inp)) == 0
	not data.collective.rule_actions.version_mismatch["risk.meeting.vote"]
	not data.collective.rule_actions.conflict_of_interest["risk.meeting.close"]
}
