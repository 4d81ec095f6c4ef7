package fenquan.api_test

import data.fenquan.api
import data.fenquan.fixtures as fx

ids(inp) := {v.rule | some v in d} if {
	d := api.deny with input as inp
}

test_org_role_grants_permission if {
	count(ids(fx.api("wang-jing", "registry.catalog.write", ["catalog-admin"], []))) == 0
}

test_any_held_role_suffices if {
	count(ids(fx.api("wang-jing", "audit.export", ["staff", "auditor"], []))) == 0
}

test_org_role_without_permission_denies if {
	inp := fx.api("wang-jing", "policy.approve", ["catalog-admin", "staff"], [])
	"api.permission" in ids(inp)
	some v in api.deny with input as inp
	contains(v.zh, "wang-jing")
	contains(v.zh, "policy.approve")
	contains(v.en, "catalog-admin, staff")
}

test_no_roles_denies if {
	"api.permission" in ids(fx.api("wang-jing", "audit.read", [], []))
}

test_unknown_role_denies if {
	"api.permission" in ids(fx.api("wang-jing", "audit.read", ["root"], []))
}

test_platform_role_does_not_count_in_org if {
	# platform-admin is a platform role: it grants nothing on an org call.
	"api.permission" in ids(fx.api("wang-jing", "registry.orgs.create", ["platform-admin"], []))
	"api.permission" in ids(fx.api("wang-jing", "registry.orgs.create", [], ["platform-admin"]))
}

test_platform_call_uses_platform_roles if {
	count(ids(fx.platform_api("root-op", "registry.orgs.create", ["platform-admin"]))) == 0
}

test_org_role_does_not_count_on_platform if {
	"api.permission" in ids(fx.platform_api("root-op", "registry.catalog.write", ["catalog-admin"]))
	"api.permission" in ids(object.union(fx.platform_api("root-op", "registry.catalog.write", []), {"roles": ["catalog-admin"]}))
}

test_family_wildcard_grants if {
	roles := object.union(data.api.roles, {"registry-admin": {"zh": "登记管理员", "en": "registry administrator", "permissions": ["registry.*"]}})
	d := api.deny with input as fx.api("wang-jing", "registry.people.write", ["registry-admin"], []) with data.api.roles as roles
	count(d) == 0
	d2 := api.deny with input as fx.api("wang-jing", "registryx.write", ["registry-admin"], []) with data.api.roles as roles
	count(d2) == 1
}

test_star_grants_everything if {
	roles := object.union(data.api.roles, {"super": {"zh": "超级", "en": "super", "permissions": ["*"]}})
	d := api.deny with input as fx.api("wang-jing", "anything.at.all", ["super"], []) with data.api.roles as roles
	count(d) == 0
}

test_only_on_api_access if {
	count(ids(object.union(fx.api("wang-jing", "x", [], []), {"action": "approval.sign"}))) == 0
}

# The services' own identity (platform role "service", which grants platform.cross_org)
# counts on an org call — the services let it into an org only on methods open to it —
# for the permissions it carries, and for no other.
test_service_role_counts_in_an_org if {
	count(ids(fx.api("sub:fenquan-supervision", "risk.warnings.write", [], ["service"]))) == 0
	"api.permission" in ids(fx.api("sub:fenquan-supervision", "registry.catalog.write", [], ["service"]))
}

# A platform role that does not act in orgs does not count on an org call.
test_other_platform_roles_do_not_count_in_an_org if {
	"api.permission" in ids(fx.api("ops", "risk.warnings.write", [], ["platform-admin"]))
}
