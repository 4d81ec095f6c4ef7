// Package policies embeds Fenquan's policy set — the Rego rules and the data tables
// (roles, thresholds, matrices) — so every binary starts with the default set and `up`
// works with no publishing. Policy officers publish newer sets through fenquanctl; the
// services swap them in at runtime.
//
// The set is one folder per package (main, input, api, case, sod, signoff, collective,
// discretion, grading, lib): its rules, its tests and its data.json, loaded at
// data.<folder>. Tests are embedded too: a service runs the set's own tests before it
// swaps a set in. The contract (actions, input document, rule ids) is docs/POLICY.md.
package policies

import "embed"

// FS holds the default policy set: every .rego and data file of every package folder,
// tests included. Paths are "<pkg>/<file>", so loading FS at "." puts each folder's
// data.json at data.<pkg>.
//
//go:embed */*.rego */*.json
var FS embed.FS
