# METADATA
# title: Administrative permissions
# description: >-
#   Who may call which administrative method: the caller's roles (org roles for an org
#   call, platform roles for a platform call, org "") must grant the permission. The role
#   table is data.api.roles (policies/api/data.json, also read by the services' Go code):
#   role → permissions, where "*" grants every permission and a trailing ".*" a family.
package fenquan.api

import data.fenquan.lib

# METADATA
# title: Permission not granted
# description: >-
#   No role of the caller grants the permission asked: for an org call (org not empty) the
#   org roles that are not platform roles count, and the platform roles that act in every
#   org (granting platform.cross_org: the services' identity); for a platform call (org
#   "") only platform roles count.
# custom:
#   id: api.permission
#   basis: 明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	data.api.actions[input.action]
	not granted
	v := lib.violation(
		"api.permission",
		sprintf("%s 的%s角色(%s)均未授予权限 %s;该权限由%s角色 %s 授予", [input.actor.person, scope_zh, lib.list_text(held), input.permission, scope_zh, lib.list_text(granting)]),
		sprintf("no %s role of %s (%s) grants the permission %s; it comes with the %s role %s", [scope_en, input.actor.person, lib.list_text_en(held), input.permission, scope_en, lib.list_text_en(granting)]),
		"明确内部职权行使的岗位、权限、程序和时限(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# granting is the roles that would grant the permission here, so a denial says whom to
# ask (computed only when denying).
granting := sort([name |
	some name, role in data.api.roles
	counts_here(role)
	grants(role.permissions, input.permission)
])

# held is the roles that count for this call.
default held := []

held := array.concat(input.roles, [r | some r in input.platform_roles; acts_in_orgs(data.api.roles[r])]) if input.org != ""

held := input.platform_roles if input.org == ""

scope_zh := "本单位" if input.org != ""

else := "平台"

scope_en := "org" if input.org != ""

else := "platform"

# platform_call is true when the call is platform-level (org "").
platform_call := input.org == ""

granted if {
	some name in held
	role := data.api.roles[name]
	counts_here(role)
	grants(role.permissions, input.permission)
}

# counts_here holds when a role counts for this call: an org role on an org call, a
# platform role on a platform call — and on an org call also a platform role that acts in
# every org (acts_in_orgs: the services' own identity, which the services let into an org
# only on methods open to it, Access.cross_org).
counts_here(role) if object.get(role, "platform", false) == platform_call

counts_here(role) if {
	not platform_call
	acts_in_orgs(role)
}

# acts_in_orgs holds for a platform role granting platform.cross_org.
acts_in_orgs(role) if {
	role.platform == true
	"platform.cross_org" in role.permissions
}

grants(perms, want) if want in perms

grants(perms, _) if "*" in perms

grants(perms, want) if {
	is_string(want)
	some p in perms
	is_string(p)
	endswith(p, ".*")
	startswith(want, trim_suffix(p, "*"))
}
