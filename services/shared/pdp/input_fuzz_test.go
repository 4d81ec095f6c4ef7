package pdp

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// checkInput asserts what every decision input must bear: the action set into it, the
// record's fields read from it, and a JSON form (the decision log's) that is valid and,
// when every string was valid UTF-8, reads back as the same input.
func checkInput(t *testing.T, obj ast.Object, action string, utf8Only bool) {
	t.Helper()
	obj = withAction(obj, action)
	if got := stringAt(obj, "action"); got != action {
		t.Fatalf("action %q, want %q", got, action)
	}
	_, _, _ = resourceOf(obj), stringAt(obj, "actor", "person"), digest(obj)
	v, err := ast.JSON(obj)
	if err != nil {
		t.Fatalf("input %v has no JSON form: %v", obj, err)
	}
	b, err := json.Marshal(v)
	if err != nil || !json.Valid(b) {
		t.Fatalf("input %v: JSON %q, %v", obj, b, err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("JSON %s does not read back: %v", b, err)
	}
	if !utf8Only {
		return
	}
	bv, err := ast.InterfaceToValue(back)
	if err != nil {
		t.Fatalf("JSON %s: %v", b, err)
	}
	if bv.Compare(obj) != 0 {
		t.Fatalf("input changed through JSON:\n%v\n%v", obj, bv)
	}
}

// FuzzPolicyInput: the inputs built for the decision point — the access input of every
// call (from the caller's principal and the request), and a service's input of maps,
// lists, strings and numbers (toObject) — take any strings and numbers without a panic,
// and always have a valid JSON form; Decide never fails on them.
func FuzzPolicyInput(f *testing.F) {
	f.Add("alice", "cz", "zhangsan", "staff", "platform-admin", "registry.catalog.write", "case-1", 1234.5, "note")
	f.Add("", "", "", "", "", "", "", 0.0, "")
	f.Add("\xff\xfe", "orgs/../x", "\x00", `"}`, `\u0000`, "action", "sub:x", math.Inf(1), "action")
	f.Add("svc", "cz", "", "", auth.ServiceRole, "platform.cross_org", "", math.NaN(), "org")
	f.Add(strings.Repeat("界", 1000), "a\u2028b", "\ud7ff", "\U0010ffff", "<script>", "x\ny", "1e999", -0.0, "actor")
	f.Add("a", "b", "c", "d", "e", "f", "g", 1e308, "case")
	p := New(Config{Service: "fuzz"}) // no set loaded: every decision denies by default
	f.Fuzz(func(t *testing.T, sub, org, person, role, platformRole, permission, caseID string, amount float64, key string) {
		utf8Only := true
		for _, s := range []string{sub, org, person, role, platformRole, permission, caseID, key} {
			utf8Only = utf8Only && utf8.ValidString(s)
		}
		r := authz.Request{
			Principal: &auth.Principal{Subject: sub, PlatformRoles: []string{platformRole},
				Orgs: map[string]auth.OrgGrant{org: {Person: person, Roles: []string{role, permission}}}},
			Method: "/" + key, Permission: permission, Org: org,
		}
		checkInput(t, accessInput(r, "2026-11-16"), "api.access", utf8Only)
		// Anonymous, and a caller not granted the org.
		checkInput(t, accessInput(authz.Request{Org: org, Permission: permission}, ""), "api.access", utf8Only)
		r.Org = org + "x"
		checkInput(t, accessInput(r, "2026-11-16"), permission, utf8Only)

		in := map[string]any{
			"org": org, "today": "2026-11-16",
			"actor": map[string]any{"person": person, "on_behalf_of": sub},
			"case": map[string]any{
				"id": caseID, "amount": amount, "payee": map[string]any{"name": role, "code": key, "is_person": true},
				"signatures":       []any{map[string]any{"step": key, "person": person, "payload_version": 1}},
				"path_rank_levels": []any{1, 2, 3},
			},
		}
		in[key] = platformRole
		obj, err := toObject(in)
		finite := !math.IsNaN(amount) && !math.IsInf(amount, 0)
		if err != nil {
			if finite {
				t.Fatalf("toObject: %v", err)
			}
			return
		}
		checkInput(t, obj, permission, utf8Only)
		d, err := p.Decide(context.Background(), permission, in)
		if err != nil || d.Allowed {
			t.Fatalf("Decide = %+v, %v", d, err)
		}
	})
}

// TestNonFiniteNumbersRefused: NaN and ±Inf have no JSON form; an input holding one is
// refused (an error, which the services answer as an invalid input), never decided.
func TestNonFiniteNumbersRefused(t *testing.T) {
	p := New(Config{Service: "test"})
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		in := map[string]any{"case": map[string]any{"amount": x}}
		if _, err := p.Decide(context.Background(), "approval.create", in); err == nil || !strings.Contains(err.Error(), "not a finite number") {
			t.Errorf("Decide(amount %v) = %v", x, err)
		}
		if _, err := p.Authorize(context.Background(), "approval.create", in); err == nil {
			t.Errorf("Authorize(amount %v) allowed", x)
		}
	}
	// Large finite numbers, and numbers spelled in JSON, pass.
	for _, in := range []any{map[string]any{"amount": 1e308}, map[string]any{"amount": json.Number("1e999")}} {
		if _, err := toObject(in); err != nil {
			t.Errorf("toObject(%v): %v", in, err)
		}
	}
}
