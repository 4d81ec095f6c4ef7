package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

// RoleTable is the tests' authoriser: a role table with the semantics of the api policy
// (services authorise through the policy decision point; this stands in for it so the
// interceptor is tested on its own). RoleTable authorises by roles: each role grants permissions (a trailing ".*" grants a
// whole family). Org roles come from the token's grant in the org; platform roles apply
// to platform-level calls only.
type RoleTable struct {
	roles map[string]Role
}

// Role is one row of the table (policies/api/data.json).
type Role struct {
	Platform    bool     `json:"platform"`
	Zh          string   `json:"zh"`
	En          string   `json:"en"`
	Permissions []string `json:"permissions"`
}

// ParseRoleTable reads {"roles": {"<role>": {...}}}.
func ParseRoleTable(data []byte) (*RoleTable, error) {
	var doc struct {
		Roles map[string]Role `json:"roles"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("authz: role table: %w", err)
	}
	if len(doc.Roles) == 0 {
		return nil, fmt.Errorf("authz: role table has no roles")
	}
	return &RoleTable{roles: doc.Roles}, nil
}

func grants(perms []string, want string) bool {
	for _, p := range perms {
		if p == want || p == "*" {
			return true
		}
		if fam, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(want, fam+".") {
			return true
		}
	}
	return false
}

// Authorize implements Authorizer.
func (t *RoleTable) Authorize(ctx context.Context, r Request) (context.Context, error) {
	var held []string
	if r.Org == "" {
		held = r.Principal.PlatformRoles
	} else if g, ok := r.Principal.Grant(r.Org); ok {
		held = g.Roles
	}
	for _, name := range held {
		role, ok := t.roles[name]
		if !ok || role.Platform != (r.Org == "") {
			continue
		}
		if grants(role.Permissions, r.Permission) {
			return store.WithDecision(ctx, store.Decision{ID: "roles:" + r.Permission, PolicyRevision: "role-table"}), nil
		}
	}
	var granting []string
	for name, role := range t.roles {
		if grants(role.Permissions, r.Permission) && role.Platform == (r.Org == "") {
			granting = append(granting, name)
		}
	}
	sort.Strings(granting)
	where := "at platform level"
	if r.Org != "" {
		where = "in org " + r.Org
	}
	held = slices.Clone(held)
	sort.Strings(held)
	return nil, apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied,
		fmt.Sprintf("permission %s required %s; it comes with role %s (caller holds: %s)",
			r.Permission, where, strings.Join(granting, " or "), strings.Join(held, ", ")),
		map[string]string{"permission": r.Permission, "org": r.Org, "roles": strings.Join(granting, ",")})
}
