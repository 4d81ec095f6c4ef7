package fenquan.case_test

import data.fenquan.case
import data.fenquan.fixtures as fx

deny_set(inp) := d if {
	d := case.deny with input as inp with data.facts as fx.facts
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

# The base inputs of the fixtures meet no rule of the package.
test_base_inputs_clean if {
	every inp in [
		fx.withdraw, fx.comment, fx.update_payload, fx.add_signer,
		fx.hold, fx.hold_by_service, fx.release,
		fx.convene, fx.attend(fx.meeting),
	] {
		count(ids(inp)) == 0
	}
}

# --- case.not_applicant

test_not_applicant_denies_other_person if {
	# cao-yang is B of the case, not its applicant.
	inp := object.union(fx.withdraw, {"actor": fx.actor("cao-yang")})
	ids(inp) == {"case.not_applicant"}
	mentions(inp, "case.not_applicant", ["cao-yang", "c-0001", "feng-yu", "撤回"])
	mentions(inp, "case.not_applicant", ["may not withdraw it"])
}

test_not_applicant_allows_applicant if {
	not "case.not_applicant" in ids(fx.withdraw)
}

test_not_applicant_allows_delegate_of_applicant if {
	inp := object.union(fx.withdraw, {"actor": fx.delegate("cao-yang", "feng-yu")})
	not "case.not_applicant" in ids(inp)
}

test_not_applicant_only_on_withdraw if {
	not "case.not_applicant" in ids(object.union(fx.comment, {"actor": fx.actor("cao-yang")}))
}

# --- case.not_editor

test_not_editor_denies_other_person if {
	# he-wen (支付审核) is neither applicant, A nor B.
	inp := object.union(fx.update_payload, {"actor": fx.actor("he-wen")})
	ids(inp) == {"case.not_editor"}
	mentions(inp, "case.not_editor", ["he-wen", "c-0001", "feng-yu", "cao-yang"])
}

test_not_editor_allows_applicant_a_and_b if {
	not "case.not_editor" in ids(fx.update_payload)
	not "case.not_editor" in ids(object.union(fx.update_payload, {"actor": fx.actor("cao-yang")}))

	# A may be another person than the applicant.
	not "case.not_editor" in ids(object.union(fx.update_payload, {"actor": fx.actor("gao-yan"), "case": {"a": "gao-yan"}}))
}

test_not_editor_allows_delegate_of_b if {
	inp := object.union(fx.update_payload, {"actor": fx.delegate("he-wen", "cao-yang")})
	not "case.not_editor" in ids(inp)
}

test_not_editor_only_on_update_payload if {
	not "case.not_editor" in ids(object.union(fx.comment, {"actor": fx.actor("he-wen")}))
}

# --- case.inactive_actor

test_inactive_actor_denies_person_who_left if {
	# ma-lin left; he may not comment.
	inp := object.union(fx.comment, {"actor": fx.actor("ma-lin")})
	ids(inp) == {"case.inactive_actor"}
	mentions(inp, "case.inactive_actor", ["ma-lin", "czj", "c-0001", "评论"])
	mentions(inp, "case.inactive_actor", ["may not comment on case c-0001"])
}

test_inactive_actor_denies_unknown_person if {
	every inp in [
		fx.withdraw, fx.comment, fx.update_payload, fx.add_signer,
		fx.convene, fx.attend(fx.meeting),
	] {
		"case.inactive_actor" in ids(object.union(inp, {"actor": fx.actor("nobody")}))
	}
}

test_inactive_actor_checks_the_actor_not_the_principal if {
	# The delegate acts: the delegate must be active.
	inp := object.union(fx.comment, {"actor": fx.delegate("ma-lin", "he-wen")})
	mentions(inp, "case.inactive_actor", ["ma-lin"])
	not "case.inactive_actor" in ids(object.union(fx.comment, {"actor": fx.delegate("he-wen", "ma-lin")}))
}

test_inactive_actor_allows_active_person if {
	not "case.inactive_actor" in ids(fx.comment)
	not "case.inactive_actor" in ids(fx.convene)
}

test_inactive_actor_not_on_hold if {
	# The supervision service's principal is not a person of the org.
	not "case.inactive_actor" in ids(fx.hold_by_service)
	not "case.inactive_actor" in ids(fx.hold)
}

# --- case.signer_inactive

test_signer_inactive_denies_person_who_left if {
	inp := fx.add_signer_at("he-wen", "zfsh", "ma-lin")
	ids(inp) == {"case.signer_inactive"}
	mentions(inp, "case.signer_inactive", ["ma-lin", "czj", "c-0001", "zfsh"])
}

test_signer_inactive_denies_unknown_person if {
	"case.signer_inactive" in ids(fx.add_signer_at("he-wen", "zfsh", "nobody"))
}

test_signer_inactive_allows_active_person if {
	not "case.signer_inactive" in ids(fx.add_signer)
}

# --- case.hold_permission

test_hold_permission_allows_org_roles if {
	not "case.hold_permission" in ids(fx.hold)
	not "case.hold_permission" in ids(fx.release)
	not "case.hold_permission" in ids(fx.hold_by("wang-jing", ["staff", "discipline-officer"], []))
}

test_hold_permission_allows_service if {
	# The supervision service holds cases in every org with its platform role.
	not "case.hold_permission" in ids(fx.hold_by_service)
}

test_hold_permission_denies_without_role if {
	inp := fx.hold_by("wang-jing", ["auditor", "staff"], [])
	ids(inp) == {"case.hold_permission"}
	mentions(inp, "case.hold_permission", ["wang-jing", "auditor、staff", "approval.holds.write", "拦截", "c-0001", "supervisor"])
	mentions(inp, "case.hold_permission", ["org: auditor, staff; platform: none", "hold case c-0001"])
	rel := object.union(inp, {"action": "approval.release", "hold": {"id": "h-0001"}})
	mentions(rel, "case.hold_permission", ["解除拦截"])
}

test_hold_permission_platform_role_not_as_org_role if {
	# service is a platform role: listed among the org roles it grants nothing.
	"case.hold_permission" in ids(fx.hold_by("sub:svc-supervision", ["service"], []))
}

test_hold_permission_org_role_not_as_platform_role if {
	# supervisor is an org role: listed among the platform roles it grants nothing.
	"case.hold_permission" in ids(fx.hold_by("wang-jing", [], ["supervisor"]))
}

test_hold_permission_unknown_role_denies if {
	"case.hold_permission" in ids(fx.hold_by("wang-jing", ["root"], ["root"]))
}

test_hold_permission_family_wildcard_grants if {
	roles := object.union(data.api.roles, {"approval-admin": {"zh": "审批管理员", "en": "approval administrator", "permissions": ["approval.*"]}})
	d := case.deny with input as fx.hold_by("wang-jing", ["approval-admin"], []) with data.facts as fx.facts with data.api.roles as roles
	count(d) == 0
}

test_hold_permission_is_data if {
	d := case.deny with input as fx.hold with data.facts as fx.facts with data.case.hold_permission as "approval.holds.admin"
	"case.hold_permission" in {v.rule | some v in d}
}

# --- scope is data

test_scope_comes_from_data if {
	inp := object.union(fx.withdraw, {"actor": fx.actor("cao-yang")})
	d := case.deny with input as inp with data.facts as fx.facts with data.case.rule_actions.not_applicant as {}
	count(d) == 0
}
