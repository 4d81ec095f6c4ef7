package fenquan.input_test

import data.fenquan.fixtures as fx
import data.fenquan.input as schema

deny_set(inp) := d if {
	d := schema.deny with input as inp
}

ids(inp) := {v.rule | some v in deny_set(inp)}

# missing_paths names the fields reported missing.
missing_paths(inp) := {p |
	some v in deny_set(inp)
	v.rule == "input.missing_field"
	p := trim_prefix(v.en, sprintf("action %s is missing the required field ", [inp.action]))
}

test_every_base_input_is_complete if {
	every inp in [
		fx.create, fx.claim, fx.sign, fx.sign_last,
		fx.approval("approval.reject", "zhou-min", "fgcz"),
		fx.approval("approval.return", "zhou-min", "fgcz"),
		object.union(fx.approval("approval.delegate", "liu-fang", "bfbl"), {"delegation": {"delegate": "gao-yan", "from": "2026-11-21", "until": ""}}),
		fx.vote("zhou-jianguo"),
		fx.close(fx.meeting),
		fx.decide(fx.penalty(["repeated"], 300000)),
		fx.api("wang-jing", "audit.read", ["auditor"], []),
		fx.platform_api("root-op", "registry.orgs.create", ["platform-admin"]),
		fx.risk(3, 3, fx.low_factors, fx.no_force),
		fx.withdraw, fx.comment, fx.update_payload, fx.add_signer, fx.sign_added,
		fx.hold, fx.hold_by_service, fx.release,
		fx.convene, fx.attend(fx.meeting),
	] {
		count(deny_set(inp)) == 0
	}
}

# --- input.unknown_action

test_unknown_action_denies if {
	inp := object.union(fx.sign, {"action": "approval.sign_everything"})
	ids(inp) == {"input.unknown_action"}
	some v in deny_set(inp)
	contains(v.zh, "approval.sign_everything")
}

test_missing_action_is_unknown if {
	ids(object.remove(fx.sign, ["action"])) == {"input.unknown_action"}
}

test_non_string_action_is_unknown if {
	"input.unknown_action" in ids({"action": 42})
}

test_empty_input_is_unknown if {
	ids({}) == {"input.unknown_action"}
}

test_known_action_allows if {
	not "input.unknown_action" in ids(fx.sign)
}

# --- input.missing_field

test_missing_field_denies_absent_field if {
	inp := json.remove(fx.sign, ["actor/person"])
	missing_paths(inp) == {"actor.person"}
}

test_missing_field_one_violation_per_field if {
	inp := json.remove(fx.sign, ["case/amount", "case/path_rank_levels", "today"])
	missing_paths(inp) == {"case.amount", "case.path_rank_levels", "today"}
}

test_missing_field_reports_parent_only if {
	inp := object.remove(fx.sign, ["case"])
	missing_paths(inp) == {"case"}
}

test_missing_field_denies_null if {
	missing_paths(object.union(fx.sign, {"case": {"payee": null}})) == {"case.payee"}
}

test_missing_field_denies_empty_id if {
	missing_paths(object.union(fx.sign, {"case": {"applicant": ""}})) == {"case.applicant"}
}

test_missing_field_allows_listed_empty_strings if {
	inp := object.union(fx.sign, {"case": {"fund": "", "indicator": ""}, "step": {"post": "", "unit": ""}})
	not "input.missing_field" in ids(inp)
}

test_missing_field_org_may_be_empty_only_for_api if {
	not "input.missing_field" in ids(fx.platform_api("root-op", "registry.orgs.create", ["platform-admin"]))
	missing_paths(object.union(fx.sign, {"org": ""})) == {"org"}
}

test_missing_field_on_behalf_of_required if {
	missing_paths(json.remove(fx.sign, ["actor/on_behalf_of"])) == {"actor.on_behalf_of"}
}

test_missing_field_delegation if {
	inp := fx.approval("approval.delegate", "liu-fang", "bfbl")
	missing_paths(inp) == {"delegation"}
}

test_missing_field_vote if {
	inp := json.remove(fx.vote("zhou-jianguo"), ["meeting/vote"])
	missing_paths(inp) == {"meeting.vote"}
}

test_missing_field_signer if {
	missing_paths(object.remove(fx.add_signer, ["signer"])) == {"signer"}
	missing_paths(object.union(fx.add_signer, {"signer": {"person": ""}})) == {"signer.person"}
	"input.unexpected_field" in ids(object.union(fx.sign, {"signer": {"person": "lin-tao"}}))
}

test_missing_field_hold if {
	missing_paths(object.remove(fx.hold, ["hold", "roles"])) == {"hold", "roles"}
	missing_paths(json.remove(fx.release, ["hold/rule"])) == {"hold.rule"}

	# A hold gets its id when it is placed; a release names the hold it releases.
	not "input.missing_field" in ids(fx.hold)
	missing_paths(object.union(fx.release, {"hold": {"id": ""}})) == {"hold.id"}
	"input.missing_field" in ids(object.union(fx.hold, {"platform_roles": "service"}))
}

test_missing_field_of_new_case_actions if {
	missing_paths(json.remove(fx.withdraw, ["case/applicant", "case/b"])) == {"case.applicant", "case.b"}
	missing_paths(json.remove(fx.comment, ["case/id"])) == {"case.id"}
	missing_paths(json.remove(fx.update_payload, ["case/payee/code"])) == {"case.payee.code"}
	missing_paths(json.remove(fx.add_signer, ["step/entry", "case/signatures"])) == {"step.entry", "case.signatures"}
	missing_paths(json.remove(fx.convene, ["meeting/votes"])) == {"meeting.votes"}
	"input.missing_field" in ids(fx.attend(object.union(fx.meeting, {"recused": "xu-hong"})))
}

test_missing_field_risk_factor if {
	inp := json.remove(fx.risk(3, 3, fx.low_factors, fx.no_force), ["risk/factors/frequency"])
	missing_paths(inp) == {"risk.factors.frequency"}
}

test_missing_field_of_present_penalty if {
	p := object.remove(fx.penalty(["repeated"], 300000), ["amount"])
	missing_paths(fx.decide(p)) == {"penalty.amount"}
}

test_missing_field_allows_null_penalty if {
	not "input.missing_field" in ids(fx.sign)
}

# --- input.unexpected_field

test_unexpected_field_denies if {
	inp := object.union(fx.sign, {"override": true})
	ids(inp) == {"input.unexpected_field"}
	some v in deny_set(inp)
	contains(v.en, "override")
}

test_unexpected_field_per_action if {
	# delegation is taken by approval.delegate only; meeting and penalty by every approval action.
	"input.unexpected_field" in ids(object.union(fx.sign, {"delegation": {"delegate": "x", "from": "", "until": ""}}))
	"input.unexpected_field" in ids(object.union(fx.risk(3, 3, fx.low_factors, fx.no_force), {"case": {}}))
}

test_unexpected_field_allows_declared_fields if {
	not "input.unexpected_field" in ids(fx.sign)
}

test_missing_field_denies_non_object if {
	inp := object.union(fx.sign, {"case": "c-0001"})
	"input.missing_field" in ids(inp)
	some v in deny_set(inp)
	contains(v.en, "needs the field case as an object")
}

# --- the schema in data is consistent

test_schema_paths_are_mapped if {
	every _, spec in data.input.actions {
		every path, keys in spec.required {
			data.input.objects[path] == array.slice(split(path, "."), 1, 100)
			count(keys) > 0
		}
		every path, keys in spec.non_empty {
			every key in keys {
				key in spec.required[path]
			}
		}
		"action" in spec.fields
		every key in spec.required.input {
			key in spec.fields
		}
	}
}

test_missing_field_denies_wrong_type if {
	inp := object.union(fx.sign, {"case": {"signatures": "none"}, "step": {"last": "true"}})
	msgs := {v.en | some v in deny_set(inp); v.rule == "input.missing_field"}
	msgs == {
		"action approval.sign needs the field case.signatures as an array",
		"action approval.sign needs the field step.last as a boolean",
	}
}

# optional_typed are the keys an action types without requiring them: checked only when
# present (input.step.added_signers of approval.sign and approval.claim, absent unless
# someone was added to sign the step).
optional_typed := {"input.step": {"added_signers"}}

test_types_name_required_keys if {
	every _, spec in data.input.actions {
		every path, keys in object.get(spec, "types", {}) {
			spec.required[path]
			every key, want in keys {
				typed_key_declared(spec, path, key)
				want in {"array", "boolean", "object", "string", "number"}
			}
		}
	}
}

typed_key_declared(spec, path, key) if key in spec.required[path]

typed_key_declared(_, path, key) if key in optional_typed[path]

# --- optional typed keys: input.step.added_signers

test_added_signers_optional if {
	not "input.missing_field" in ids(fx.sign)
	count(deny_set(object.union(fx.sign, {"step": {"added_signers": ["lin-tao"]}}))) == 0
	count(deny_set(object.union(fx.claim, {"step": {"added_signers": []}}))) == 0
	count(deny_set(object.union(fx.sign, {"step": {"added_signers": null}}))) == 0
}

test_added_signers_must_be_an_array if {
	inp := object.union(fx.sign, {"step": {"added_signers": "lin-tao"}})
	{v.en | some v in deny_set(inp)} == {"action approval.sign needs the field step.added_signers as an array"}
	"input.missing_field" in ids(object.union(fx.claim, {"step": {"added_signers": {"lin-tao": true}}}))
}
