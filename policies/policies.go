// Package policies embeds Fenquan's policy set — the Rego rules and the data tables
// (roles, thresholds, matrices) — so every binary starts with the default set and `up`
// works with no publishing. Policy officers publish newer sets through fenquanctl; the
// services swap them in at runtime.
package policies

import "embed"

// FS holds the default policy set: every .rego and data file under this folder.
//
//go:embed api
var FS embed.FS

// APIRoles returns the role table of the `api` policy (policies/api/data.json): which
// role grants which administrative permission.
func APIRoles() []byte {
	b, err := FS.ReadFile("api/data.json")
	if err != nil {
		panic("policies: embedded api/data.json missing: " + err.Error())
	}
	return b
}
