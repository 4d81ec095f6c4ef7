# METADATA
# title: Input schema
# description: >-
#   Per-action schema of the input document (data.input.actions): which actions exist, the
#   top-level fields each takes, and for each object of the input the keys it requires. The
#   other packages read the input as if it were complete; this package is what makes a
#   missing field deny instead of silently skipping a check.
package fenquan.input

import data.fenquan.lib

# spec is the schema of the action asked, undefined for an unknown action.
spec := data.input.actions[input.action]

# objects maps each object path of spec.required to the input's value there (null when
# absent), looked up once. data.input.objects gives each path pre-split.
objects := {path: object.get(input, at[path], null) |
	required := spec.required
	at := data.input.objects
	some path, _ in required
}

# missing is the set of [object path, key] pairs the action requires and the input lacks:
# absent or null (spec.required), or an empty string where a value is needed
# (spec.non_empty). An object that is absent or null is not examined: its parent reports
# it, and an object the action does not require (input.penalty) may be absent.
missing contains [path, key] if {
	required := spec.required
	objs := objects
	some path, keys in required
	o := objs[path]
	is_object(o)
	some key in keys
	object.get(o, key, null) == null
}

missing contains [path, key] if {
	non_empty := spec.non_empty
	objs := objects
	some path, keys in non_empty
	o := objs[path]
	is_object(o)
	some key in keys
	o[key] == ""
}

# mistyped is the set of [object path, key, type] of present, non-null keys whose type is
# not the one spec.types names: a rule that searches an array or tests a boolean would
# otherwise find nothing to deny.
mistyped contains [path, key, want] if {
	types := object.get(spec, "types", {})
	objs := objects
	some path, keys in types
	o := objs[path]
	is_object(o)
	some key, want in keys
	value := o[key]
	value != null
	type_name(value) != want
}

# not_objects is the set of object paths of spec.required that hold something else.
not_objects contains path if {
	objs := objects
	some path, o in objs
	o != null
	not is_object(o)
}

# field_name writes a key of an object path as the input field it is ("case.payee.code").
field_name(path, key) := key if path == "input"

field_name(path, key) := concat(".", [trim_prefix(path, "input."), key]) if path != "input"

# METADATA
# title: Unknown action
# description: The action is not in data.input.actions; every unknown action is denied.
# custom:
#   id: input.unknown_action
#   basis: 依法规范职权,编制“职权目录”,明确职权名称、内容、行使主体和法律依据(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条);目录外的操作默认拒绝
deny contains v if {
	not spec
	action := object.get(input, "action", "")
	v := lib.violation(
		"input.unknown_action",
		sprintf("未知的操作“%v”:策略决定点只办理已登记的操作", [action]),
		sprintf("unknown action %q: the policy decision point only decides registered actions", [sprintf("%v", [action])]),
		"依法规范职权,编制“职权目录”,明确职权名称、内容、行使主体和法律依据(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条);目录外的操作默认拒绝",
	)
}

# METADATA
# title: Missing field
# description: >-
#   A key an object of the input requires (data.input.actions[action].required) is absent
#   or null, or an empty string where the action needs a value (non_empty). One violation
#   per field.
# custom:
#   id: input.missing_field
#   basis: 绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	some [path, key] in missing
	field := field_name(path, key)
	v := lib.violation(
		"input.missing_field",
		sprintf("操作 %s 缺少必填字段 %s", [input.action, field]),
		sprintf("action %s is missing the required field %s", [input.action, field]),
		"绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# METADATA
# title: Field that must be an object
# description: A field the action reads as an object (it has required keys) is of another type.
# custom:
#   id: input.missing_field
#   basis: 绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	some path in not_objects
	field := trim_prefix(path, "input.")
	v := lib.violation(
		"input.missing_field",
		sprintf("操作 %s 的字段 %s 应为对象", [input.action, field]),
		sprintf("action %s needs the field %s as an object", [input.action, field]),
		"绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# METADATA
# title: Field of the wrong type
# description: >-
#   A field a rule relies on to deny (data.input.actions[action].types: an array it
#   searches, a boolean it tests) has another type; it counts as missing.
# custom:
#   id: input.missing_field
#   basis: 绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	some [path, key, want] in mistyped
	field := field_name(path, key)
	v := lib.violation(
		"input.missing_field",
		sprintf("操作 %s 的字段 %s 应为 %s 类型", [input.action, field, want]),
		sprintf("action %s needs the field %s as %s", [input.action, field, article(want)]),
		"绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

# METADATA
# title: Unexpected field
# description: A top-level field the action does not take is present.
# custom:
#   id: input.unexpected_field
#   basis: 绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)
deny contains v if {
	fields := spec.fields
	count(object.filter(input, fields)) != count(input)
	some key, _ in input
	not key in fields
	v := lib.violation(
		"input.unexpected_field",
		sprintf("操作 %s 不接受字段 %s", [input.action, key]),
		sprintf("action %s does not take the field %s", [input.action, key]),
		"绘制“权力运行流程图”,明确办理主体、条件、程序、期限和监督方式等(中央纪委监察部《关于加强廉政风险防控的指导意见》第4条)",
	)
}

article(t) := concat(" ", ["an", t]) if t in {"array", "object"}

else := concat(" ", ["a", t])
