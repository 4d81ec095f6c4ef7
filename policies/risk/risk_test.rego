package fenquan.risk_test

import data.fenquan.api
import data.fenquan.fixtures as fx
import data.fenquan.risk

deny_set(inp) := d if {
	d := risk.deny with input as inp with data.facts as fx.facts
}

ids(inp) := {v.rule | some v in deny_set(inp)}

# mentions holds when a violation of rule has a message (zh or en) containing every word.
mentions(inp, rule, words) if {
	some v in deny_set(inp)
	v.rule == rule
	some m in [v.zh, v.en]
	every w in words {
		contains(m, w)
	}
}

# at(inp, patch) is inp with fields replaced.
at(inp, patch) := object.union(inp, patch)

# in_stage(inp, stage) is inp with the campaign at stage.
in_stage(inp, stage) := object.union(inp, {"campaign": {"stage": stage}})

test_base_inputs_clean if {
	every inp in [
		fx.open_campaign,
		fx.advance("DRAFTING", "COMMENTING", "zhou-jianguo"),
		fx.draft, fx.amend, fx.risk_comment, fx.risk_object, fx.answer_objection,
		fx.measure_update("PLANNED", "IN_PLACE", "he-wen"),
		fx.measure_update("IN_PLACE", "VERIFIED", "zhou-jianguo"),
		fx.risk_convene, fx.risk_attend(fx.risk_meeting), fx.risk_vote("zhou-jianguo"),
		fx.risk_close(object.union(fx.risk_meeting, {"votes": {p: "yes" | some p in fx.members}})),
	] {
		count(ids(inp)) == 0
	}
}

# --- risk.stage

test_stage_draft_only_in_drafting if {
	every stage in ["COMMENTING", "LEADER_REVIEW", "COLLECTIVE", "PUBLICITY", "IN_FORCE"] {
		"risk.stage" in ids(in_stage(fx.draft, stage))
	}
	mentions(in_stage(fx.draft, "COMMENTING"), "risk.stage", ["2026-czj", "群众帮(征求意见)", "起草风险点 r-0001", "自己找(查找起草)"])
	mentions(in_stage(fx.draft, "PUBLICITY"), "risk.stage", ["publicity stage", "draft risk point r-0001", "only at: drafting"])
}

test_stage_allows_each_action_at_its_stage if {
	every inp in [
		fx.draft, fx.amend, fx.risk_comment, fx.risk_object,
		fx.risk_convene, fx.risk_attend(fx.risk_meeting), fx.risk_vote("zhou-jianguo"),
	] {
		not "risk.stage" in ids(inp)
	}
}

test_stage_denies_each_action_elsewhere if {
	"risk.stage" in ids(in_stage(fx.risk_comment, "DRAFTING"))
	"risk.stage" in ids(in_stage(fx.risk_object, "COMMENTING"))
	"risk.stage" in ids(in_stage(fx.amend, "COMMENTING"))
	"risk.stage" in ids(in_stage(fx.amend, "IN_FORCE"))
	"risk.stage" in ids(in_stage(fx.risk_convene, "LEADER_REVIEW"))
	"risk.stage" in ids(in_stage(fx.risk_vote("zhou-jianguo"), "PUBLICITY"))
	mentions(in_stage(fx.risk_vote("zhou-jianguo"), "PUBLICITY"), "risk.stage", ["在风险评估 2026-czj 的集体审定会议上表决", "集体定(集体审定)"])
}

test_stage_amend_in_publicity_needs_an_upheld_objection if {
	publicity := in_stage(fx.amend, "PUBLICITY")
	"risk.stage" in ids(publicity)
	mentions(publicity, "risk.stage", ["修改风险点 r-0001", "领导提(领导审核)、公示(异议成立的风险点)"])
	upheld := object.union(publicity, {"risk": {"upheld_objection": true}})
	not "risk.stage" in ids(upheld)

	# An upheld objection opens no other stage.
	"risk.stage" in ids(object.union(upheld, {"campaign": {"stage": "IN_FORCE"}}))
}

test_stage_unknown_stage_denies if {
	inp := in_stage(fx.draft, "DONE")
	"risk.stage" in ids(inp)
	mentions(inp, "risk.stage", ["“DONE”"])
}

test_stage_table_is_data if {
	d := risk.deny with input as in_stage(fx.draft, "COMMENTING") with data.facts as fx.facts
		with data.risk.stages.COMMENTING as {"risk.comment": true, "risk.draft": true}
	not "risk.stage" in {v.rule | some v in d}
}

# --- risk.not_in_scope

post_draft(person) := fx.draft_by(person, {})

unit_draft(person, unit) := fx.draft_by(person, {"level": "UNIT", "scope": unit, "unit": unit})

leadership_draft(person) := fx.draft_by(person, {"level": "LEADERSHIP", "scope": "jz", "unit": "jz"})

test_not_in_scope_post_allows_holder_head_and_leader if {
	not "risk.not_in_scope" in ids(post_draft("he-wen")) # holds gkc-zfsh
	not "risk.not_in_scope" in ids(post_draft("wu-gang")) # 处长 of gkc
	not "risk.not_in_scope" in ids(post_draft("li-minghua")) # a leader
}

test_not_in_scope_post_denies_others if {
	inp := post_draft("liu-fang") # another post of the unit, rank 1
	"risk.not_in_scope" in ids(inp)
	mentions(inp, "risk.not_in_scope", ["liu-fang", "岗位 gkc-zfsh", "r-0001", "在岗人员"])
	mentions(inp, "risk.not_in_scope", ["may not draft risk point r-0001 of post gkc-zfsh"])
	"risk.not_in_scope" in ids(post_draft("zhou-min")) # 分管处长: rank 3
	"risk.not_in_scope" in ids(post_draft("zhang-wei")) # another unit
	"risk.not_in_scope" in ids(post_draft("qian-hao")) # held it until 2019
	"risk.not_in_scope" in ids(post_draft("tang-jie")) # holds it from 2026-12-01
	"risk.not_in_scope" in ids(post_draft("ma-lin")) # left
	"risk.not_in_scope" in ids(post_draft("nobody"))
}

test_not_in_scope_unit_allows_people_of_the_unit if {
	not "risk.not_in_scope" in ids(unit_draft("liu-fang", "gkc")) # unit and post in gkc
	not "risk.not_in_scope" in ids(unit_draft("jiang-hui", "jjz")) # unit jjz, no post
	not "risk.not_in_scope" in ids(unit_draft("bai-xue", "jjz")) # unit gkc, post in jjz
	not "risk.not_in_scope" in ids(unit_draft("deng-yi", "gkc")) # a leader
}

test_not_in_scope_unit_denies_others if {
	inp := unit_draft("zhang-wei", "gkc")
	"risk.not_in_scope" in ids(inp)
	mentions(inp, "risk.not_in_scope", ["处室 gkc", "本处室人员"])
	"risk.not_in_scope" in ids(unit_draft("ma-lin", "gkc")) # left
	"risk.not_in_scope" in ids(unit_draft("qian-hao", "ysc"))
}

test_not_in_scope_leadership_only_leaders if {
	not "risk.not_in_scope" in ids(leadership_draft("zhou-jianguo"))
	inp := leadership_draft("wu-gang")
	"risk.not_in_scope" in ids(inp)
	mentions(inp, "risk.not_in_scope", ["领导班子风险由领导班子成员查找"])
}

test_not_in_scope_unknown_level if {
	inp := fx.draft_by("zhou-jianguo", {"level": "TEAM"})
	"risk.not_in_scope" in ids(inp)
	mentions(inp, "risk.not_in_scope", ["层级 TEAM", "POST"])
}

test_not_in_scope_counts_the_principal if {
	inp := object.union(post_draft("liu-fang"), {"actor": fx.delegate("liu-fang", "he-wen")})
	not "risk.not_in_scope" in ids(inp)
}

test_not_in_scope_reads_the_day_index if {
	d := risk.deny with input as post_draft("he-wen") with data.facts as fx.indexed_facts(fx.today)
	not "risk.not_in_scope" in {v.rule | some v in d}
	d2 := risk.deny with input as post_draft("liu-fang") with data.facts as fx.indexed_facts(fx.today)
	"risk.not_in_scope" in {v.rule | some v in d2}
}

# --- risk.not_leader

unit_campaign(inp, unit) := object.union(inp, {"campaign": {"unit": unit}})

test_not_leader_open_whole_org_by_leaders_only if {
	not "risk.not_leader" in ids(fx.open_campaign)
	inp := at(fx.open_campaign, {"actor": fx.actor("wu-gang")})
	ids(inp) == {"risk.not_leader"}
	mentions(inp, "risk.not_leader", ["wu-gang", "全单位的风险评估由领导班子负责", "开启风险评估 2026-czj"])
	mentions(inp, "risk.not_leader", ["may not open risk assessment 2026-czj"])
}

test_not_leader_open_unit_campaign_by_its_head if {
	not "risk.not_leader" in ids(unit_campaign(at(fx.open_campaign, {"actor": fx.actor("wu-gang")}), "gkc"))
	inp := unit_campaign(at(fx.open_campaign, {"actor": fx.actor("zhou-min")}), "gkc")
	"risk.not_leader" in ids(inp)
	mentions(inp, "risk.not_leader", ["zhou-min", "处室 gkc", "处长"])
	mentions(inp, "risk.not_leader", ["director or above in unit gkc"])

	# The head of another unit does not lead it.
	"risk.not_leader" in ids(unit_campaign(at(fx.open_campaign, {"actor": fx.actor("wu-gang")}), "ysc"))
}

test_not_leader_advance if {
	not "risk.not_leader" in ids(fx.advance("DRAFTING", "COMMENTING", "li-minghua"))
	"risk.not_leader" in ids(fx.advance("DRAFTING", "COMMENTING", "sun-li"))
	not "risk.not_leader" in ids(unit_campaign(fx.advance("DRAFTING", "COMMENTING", "wu-gang"), "gkc"))
}

test_not_leader_amend if {
	not "risk.not_leader" in ids(fx.amend) # wu-gang heads gkc
	not "risk.not_leader" in ids(at(fx.amend, {"actor": fx.actor("zhao-lei")}))
	inp := at(fx.amend, {"actor": fx.actor("zhou-min")})
	"risk.not_leader" in ids(inp)
	mentions(inp, "risk.not_leader", ["修改风险点 r-0001"])

	# A risk point of another unit.
	"risk.not_leader" in ids(object.union(fx.amend, {"risk": {"scope": "ysc-zbgl", "unit": "ysc"}}))
}

test_not_leader_answer_objection if {
	not "risk.not_leader" in ids(fx.answer_objection)
	"risk.not_leader" in ids(at(fx.answer_objection, {"actor": fx.actor("sun-li")}))
}

test_not_leader_head_who_left_or_ended if {
	# wu-gang's post ended yesterday: he no longer heads the unit.
	facts := json.patch(fx.facts, [{"op": "replace", "path": "/orgs/czj/holdings/wu-gang/0/end", "value": "2026-11-20"}])
	d := risk.deny with input as fx.amend with data.facts as facts
	"risk.not_leader" in {v.rule | some v in d}
}

test_not_leader_missing_unit_leaves_leaders_only if {
	inp := json.remove(at(fx.open_campaign, {"actor": fx.actor("wu-gang")}), ["campaign/unit"])
	"risk.not_leader" in ids(inp)
}

# --- risk.self_review

test_self_review_drafter_may_not_advance_from_review if {
	drafting_leader := {"campaign": {"drafters": ["he-wen", "zhou-jianguo"]}}
	every from in ["LEADER_REVIEW", "PUBLICITY"] {
		inp := object.union(fx.advance(from, data.risk.advance[from], "zhou-jianguo"), drafting_leader)
		"risk.self_review" in ids(inp)
	}
	inp := object.union(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"), drafting_leader)
	mentions(inp, "risk.self_review", ["zhou-jianguo", "2026-czj", "领导提(领导审核)"])
	mentions(inp, "risk.self_review", ["from the leader review stage on"])
}

test_self_review_drafter_may_advance_before_review if {
	drafting_leader := {"campaign": {"drafters": ["zhou-jianguo"]}}
	not "risk.self_review" in ids(object.union(fx.advance("DRAFTING", "COMMENTING", "zhou-jianguo"), drafting_leader))
	not "risk.self_review" in ids(object.union(fx.advance("COMMENTING", "LEADER_REVIEW", "zhou-jianguo"), drafting_leader))
}

test_self_review_others_may_advance if {
	not "risk.self_review" in ids(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"))
}

test_self_review_counts_the_principal if {
	inp := object.union(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"), {
		"actor": fx.delegate("zhou-jianguo", "he-wen"),
	})
	mentions(inp, "risk.self_review", ["he-wen"])
}

test_self_review_drafter_may_not_answer_objections if {
	own := object.union(fx.answer_objection, {"actor": fx.actor("zhou-jianguo"), "risk": {"drafted_by": "zhou-jianguo"}})
	ids(own) == {"risk.self_review"}
	mentions(own, "risk.self_review", ["zhou-jianguo", "r-0001", "feng-yu 提出的异议"])
	anonymous := object.union(own, {"objection": {"by": ""}})
	mentions(anonymous, "risk.self_review", ["匿名异议"])
	mentions(anonymous, "risk.self_review", ["an anonymous objection"])
	not "risk.self_review" in ids(object.union(own, {"actor": fx.actor("li-minghua")}))
}

test_self_review_stages_are_data if {
	inp := object.union(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"), {"campaign": {"drafters": ["zhou-jianguo"]}})
	d := risk.deny with input as inp with data.facts as fx.facts with data.risk.self_review_stages as {"PUBLICITY": true}
	not "risk.self_review" in {v.rule | some v in d}
}

# --- risk.stage_order

test_stage_order_allows_each_next_stage if {
	every from, to in data.risk.advance {
		not "risk.stage_order" in ids(fx.advance(from, to, "zhou-jianguo"))
	}
	count(data.risk.advance) == 4
}

test_stage_order_denies_a_skipped_stage if {
	inp := fx.advance("DRAFTING", "LEADER_REVIEW", "zhou-jianguo")
	ids(inp) == {"risk.stage_order"}
	mentions(inp, "risk.stage_order", ["2026-czj", "自己找(查找起草)", "领导提(领导审核)", "下一阶段是“群众帮(征求意见)”"])
	mentions(inp, "risk.stage_order", ["the next stage is commenting"])
}

test_stage_order_denies_going_back if {
	"risk.stage_order" in ids(fx.advance("COMMENTING", "DRAFTING", "zhou-jianguo"))
	"risk.stage_order" in ids(fx.advance("LEADER_REVIEW", "LEADER_REVIEW", "zhou-jianguo"))
}

test_stage_order_collective_left_by_its_meeting if {
	inp := fx.advance("COLLECTIVE", "PUBLICITY", "zhou-jianguo")
	ids(inp) == {"risk.stage_order"}
	mentions(inp, "risk.stage_order", ["集体定(集体审定)", "结束集体审定会议"])
	mentions(inp, "risk.stage_order", ["left only by closing its leadership meeting"])
}

test_stage_order_nothing_after_in_force if {
	inp := fx.advance("IN_FORCE", "DRAFTING", "zhou-jianguo")
	mentions(inp, "risk.stage_order", ["此后没有可进入的阶段"])
	"risk.stage_order" in ids(fx.advance("DRAFTING", "", "zhou-jianguo"))
}

# --- risk.publicity_open, risk.objections_open

to_force(today, patch) := object.union(fx.advance("PUBLICITY", "IN_FORCE", "zhou-jianguo"), object.union({"today": today}, patch))

test_publicity_open_denies_before_the_end if {
	inp := to_force("2026-11-21", {})
	ids(inp) == {"risk.publicity_open"}
	mentions(inp, "risk.publicity_open", ["2026-czj", "2026-12-05", "尚未期满"])
	mentions(inp, "risk.publicity_open", ["runs until 2026-12-05"])

	# The end date is the last day of the publicity.
	"risk.publicity_open" in ids(to_force("2026-12-05", {}))
}

test_publicity_open_allows_after_the_end if {
	count(ids(to_force("2026-12-06", {}))) == 0
}

test_publicity_open_denies_unstarted_publicity if {
	inp := to_force("2027-01-01", {"campaign": {"publicity_end": ""}})
	"risk.publicity_open" in ids(inp)
	mentions(inp, "risk.publicity_open", ["尚未开始"])
}

test_publicity_open_only_into_force if {
	not "risk.publicity_open" in ids(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"))
}

test_objections_open_denies_unanswered if {
	inp := to_force("2026-12-06", {"campaign": {"open_objections": 2}})
	ids(inp) == {"risk.objections_open"}
	mentions(inp, "risk.objections_open", ["2026-czj", "2 条"])
}

test_objections_open_allows_none if {
	not "risk.objections_open" in ids(to_force("2026-12-06", {"campaign": {"open_objections": 0}}))
	not "risk.objections_open" in ids(object.union(fx.advance("LEADER_REVIEW", "COLLECTIVE", "zhou-jianguo"), {"campaign": {"open_objections": 3}}))
}

# --- risk.publicity_over

test_publicity_over_denies_after_the_end if {
	inp := at(fx.risk_object, {"today": "2026-12-06"})
	ids(inp) == {"risk.publicity_over"}
	mentions(inp, "risk.publicity_over", ["2026-czj", "2026-12-05", "r-0001"])
}

test_publicity_over_allows_the_last_day if {
	count(ids(at(fx.risk_object, {"today": "2026-12-05"}))) == 0
	count(ids(fx.risk_object)) == 0
}

# --- risk.unknown_kind

test_unknown_kind_denies_kind_outside_the_scheme if {
	inp := fx.draft_by("he-wen", {"kind": "其他"})
	ids(inp) == {"risk.unknown_kind"}
	mentions(inp, "risk.unknown_kind", ["r-0001", "其他", "业务流程", "外部环境"])
	"risk.unknown_kind" in ids(object.union(fx.amend, {"risk": {"kind": "思想道德"}}))
}

test_unknown_kind_allows_every_default_kind if {
	every k in ["岗位职责", "业务流程", "制度机制", "外部环境"] {
		not "risk.unknown_kind" in ids(fx.draft_by("he-wen", {"kind": k}))
	}
}

test_unknown_kind_follows_the_org_scheme if {
	central := fx.draft_by("he-wen", {"kind": "思想道德"})
	d := risk.deny with input as central with data.facts as fx.facts with data.risk.org_schemes as {"czj": "central"}
	not "risk.unknown_kind" in {v.rule | some v in d}
	d2 := risk.deny with input as fx.draft with data.facts as fx.facts with data.risk.org_schemes as {"czj": "central"}
	"risk.unknown_kind" in {v.rule | some v in d2}
}

test_unknown_kind_unknown_scheme_denies if {
	d := risk.deny with input as fx.draft with data.facts as fx.facts with data.risk.org_schemes as {"czj": "none"}
	"risk.unknown_kind" in {v.rule | some v in d}
}

# --- risk.measure_order

test_measure_order_allows_each_step if {
	every from, tos in data.risk.measure_transitions {
		every to, _ in tos {
			not "risk.measure_order" in ids(fx.measure_update(from, to, "zhou-jianguo"))
		}
	}
}

test_measure_order_denies_skips_and_standing_still if {
	inp := fx.measure_update("PLANNED", "VERIFIED", "zhou-jianguo")
	ids(inp) == {"risk.measure_order"}
	mentions(inp, "risk.measure_order", ["r-0001", "m-1", "计划", "已核实"])
	mentions(inp, "risk.measure_order", ["may not move from planned to verified"])
	"risk.measure_order" in ids(fx.measure_update("VERIFIED", "IN_PLACE", "zhou-jianguo"))
	"risk.measure_order" in ids(fx.measure_update("PLANNED", "PLANNED", "zhou-jianguo"))
	"risk.measure_order" in ids(fx.measure_update("PLANNED", "DONE", "zhou-jianguo"))
}

# --- risk.not_responsible

test_not_responsible_allows_responsible_and_head if {
	not "risk.not_responsible" in ids(fx.measure_update("PLANNED", "IN_PLACE", "he-wen"))
	not "risk.not_responsible" in ids(fx.measure_update("PLANNED", "IN_PLACE", "wu-gang"))
}

test_not_responsible_denies_others if {
	inp := fx.measure_update("PLANNED", "IN_PLACE", "zhou-min")
	ids(inp) == {"risk.not_responsible"}
	mentions(inp, "risk.not_responsible", ["zhou-min", "r-0001", "m-1", "he-wen", "gkc", "已落实"])

	# Leaders are not heads of the unit: the responsible person or the unit puts it in place.
	"risk.not_responsible" in ids(fx.measure_update("PLANNED", "IN_PLACE", "zhou-jianguo"))
}

test_not_responsible_only_putting_in_place if {
	not "risk.not_responsible" in ids(fx.measure_update("IN_PLACE", "PLANNED", "sun-li"))
}

# --- risk.self_verify

verify(person) := fx.measure_update("IN_PLACE", "VERIFIED", person)

test_self_verify_allows_leaders_and_discipline if {
	not "risk.self_verify" in ids(verify("zhou-jianguo"))
	not "risk.self_verify" in ids(verify("jiang-hui")) # of the 纪检组
	not "risk.self_verify" in ids(verify("bai-xue")) # holds a post of the 纪检组
}

test_self_verify_denies_the_responsible_person if {
	inp := object.union(verify("he-wen"), {"risk": {"drafted_by": "liu-fang"}})
	mentions(inp, "risk.self_verify", ["he-wen", "责任人", "m-1"])
	mentions(inp, "risk.self_verify", ["纪检监察"])
	count([v | some v in deny_set(inp); v.rule == "risk.self_verify"]) == 2

	# he-wen also drafted the risk point of the fixture: one violation per reason.
	count([v | some v in deny_set(verify("he-wen")); v.rule == "risk.self_verify"]) == 3
}

test_self_verify_denies_the_drafter if {
	inp := object.union(verify("zhou-jianguo"), {"risk": {"drafted_by": "zhou-jianguo"}})
	ids(inp) == {"risk.self_verify"}
	mentions(inp, "risk.self_verify", ["zhou-jianguo", "起草人"])
	mentions(inp, "risk.self_verify", ["the drafter of the risk point"])
}

test_self_verify_denies_others if {
	inp := verify("wu-gang")
	ids(inp) == {"risk.self_verify"}
	mentions(inp, "risk.self_verify", ["wu-gang", "领导班子", "纪检监察"])
}

test_self_verify_discipline_post_must_be_held_today if {
	facts := json.patch(fx.facts, [{"op": "replace", "path": "/orgs/czj/holdings/bai-xue/0/end", "value": "2026-11-20"}])
	d := risk.deny with input as verify("bai-xue") with data.facts as facts
	"risk.self_verify" in {v.rule | some v in d}
	left := json.patch(fx.facts, [{"op": "replace", "path": "/orgs/czj/people/jiang-hui/inactive", "value": true}])
	d2 := risk.deny with input as verify("jiang-hui") with data.facts as left
	"risk.self_verify" in {v.rule | some v in d2}
}

test_self_verify_reads_the_day_index if {
	d := risk.deny with input as verify("bai-xue") with data.facts as fx.indexed_facts(fx.today)
	not "risk.self_verify" in {v.rule | some v in d}
	without := json.remove(fx.indexed_facts(fx.today), ["orgs/czj/current/bai-xue"])
	d2 := risk.deny with input as verify("bai-xue") with data.facts as without
	"risk.self_verify" in {v.rule | some v in d2}
}

test_self_verify_discipline_kinds_are_data if {
	d := risk.deny with input as verify("jiang-hui") with data.facts as fx.facts with data.risk.discipline_unit_kinds as {}
	"risk.self_verify" in {v.rule | some v in d}
}

# --- risk.inactive_actor

test_inactive_actor_denies_who_left_or_is_unknown if {
	inp := at(fx.risk_comment, {"actor": fx.actor("ma-lin")})
	ids(inp) == {"risk.inactive_actor"}
	mentions(inp, "risk.inactive_actor", ["ma-lin", "czj", "评议风险点 r-0001"])
	"risk.inactive_actor" in ids(at(fx.risk_object, {"actor": fx.actor("nobody")}))
	mentions(at(fx.risk_object, {"actor": fx.actor("nobody")}), "risk.inactive_actor", ["object to risk point r-0001"])
}

test_inactive_actor_allows_active_people if {
	not "risk.inactive_actor" in ids(fx.risk_comment)
	not "risk.inactive_actor" in ids(at(fx.risk_object, {"actor": fx.actor("jiang-hui")}))
}

# --- the permission of RecordWarning (risk.warnings.write)

test_warnings_permission_granted if {
	count(api.deny) == 0 with input as fx.api("wang-jing", "risk.warnings.write", ["supervisor"], [])
	count(api.deny) == 0 with input as fx.api("wang-jing", "risk.warnings.write", ["discipline-officer"], [])
	count(api.deny) == 0 with input as fx.platform_api("sub:svc-supervision", "risk.warnings.write", ["service"])
	count(api.deny) == 0 with input as fx.platform_api("root-op", "risk.warnings.write", ["platform-admin"])
	count(api.deny) > 0 with input as fx.api("wang-jing", "risk.warnings.write", ["staff"], [])
}

# --- the tables in data are consistent

test_tables_consistent if {
	every stage, actions in data.risk.stages {
		stage in data.risk.stage_order
		every action, on in actions {
			data.risk.actions[action]
			on == true
		}
	}
	every stage, actions in data.risk.upheld_objection_stages {
		stage in data.risk.stage_order
		every action, _ in actions {
			data.risk.actions[action]
		}
	}
	every stage in data.risk.stage_order {
		data.risk.stage_names[stage].zh
		data.risk.stage_names[stage].en
		is_object(data.risk.stages[stage])
	}
	every from, to in data.risk.advance {
		from in data.risk.stage_order
		to in data.risk.stage_order
	}
	every _, by in data.risk.left_by {
		data.risk.actions[by.action]
	}
	data.risk.in_force_stage in data.risk.stage_order
	every action, _ in data.risk.actions {
		data.risk.verbs[action].of in {"risk", "campaign"}
	}
	every action, _ in data.risk.rule_actions.not_leader {
		data.risk.authority[action]
	}
	data.risk.kind_schemes[data.risk.default_scheme]
	every _, s in data.risk.org_schemes {
		data.risk.kind_schemes[s]
	}
	every from, tos in data.risk.measure_transitions {
		data.risk.measure_statuses[from]
		every to, _ in tos {
			data.risk.measure_statuses[to]
		}
	}
}
