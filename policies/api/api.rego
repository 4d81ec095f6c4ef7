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
#   org roles that are not platform roles count; for a platform call (org "") only
#   platform roles count.
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
	object.get(role, "platform", false) == platform_call
	grants(role.permissions, input.permission)
])

# held is the roles that count for this call.
default held := []

held := input.roles if input.org != ""

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
	object.get(role, "platform", false) == platform_call
	grants(role.permissions, input.permission)
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
