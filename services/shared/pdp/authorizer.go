package pdp

import (
	"context"
	"errors"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Authorizer answers the access interceptor's questions with the `api` policy (action
// api.access), so access control goes through the same decision point as everything else.
type Authorizer struct{ PDP *PDP }

var _ authz.Authorizer = Authorizer{}

// Authorize implements authz.Authorizer.
func (a Authorizer) Authorize(ctx context.Context, r authz.Request) (context.Context, error) {
	return a.PDP.Authorize(ctx, "api.access", accessInput(r, a.PDP.Facts().Today()))
}

// accessInput is the input of an api.access decision: the org, the day, the caller's
// person (or "sub:<subject>" when no person of the org) and roles, and the permission.
func accessInput(r authz.Request, today string) ast.Object {
	var roles []string
	person := ""
	if r.Org != "" {
		g, _ := r.Principal.Grant(r.Org)
		roles, person = g.Roles, g.Person
	}
	if person == "" && r.Principal != nil {
		person = "sub:" + r.Principal.Subject
	}
	var platform []string
	if r.Principal != nil {
		platform = r.Principal.PlatformRoles
	}
	return ast.NewObject(
		ast.Item(ast.StringTerm("org"), ast.StringTerm(r.Org)),
		ast.Item(ast.StringTerm("today"), ast.StringTerm(today)),
		ast.Item(ast.StringTerm("actor"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("person"), ast.StringTerm(person)),
			ast.Item(ast.StringTerm("on_behalf_of"), ast.StringTerm("")),
		)),
		ast.Item(ast.StringTerm("permission"), ast.StringTerm(r.Permission)),
		ast.Item(ast.StringTerm("roles"), strings2Array(roles)),
		ast.Item(ast.StringTerm("platform_roles"), strings2Array(platform)),
	)
}

func strings2Array(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(ts...)
}

// Authorize decides and, when allowed, returns ctx carrying the decision (which writes
// require); when denied, a PERMISSION_DENIED status with every violation (Denied).
func (p *PDP) Authorize(ctx context.Context, action string, input any) (context.Context, error) {
	ctx, _, err := p.Require(ctx, action, input)
	return ctx, err
}

// Require is Authorize for a write that records the decision: allowed, it also returns
// the decision. A malformed input is INVALID_ARGUMENT.
func (p *PDP) Require(ctx context.Context, action string, input any) (context.Context, Decision, error) {
	d, err := p.Decide(ctx, action, input)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, Decision{}, apierr.FromError(err)
		}
		return nil, Decision{}, apierr.Field("", action+": "+err.Error(), "决策输入无效")
	}
	if !d.Allowed {
		return nil, Decision{}, Denied(d)
	}
	return store.WithDecision(ctx, store.Decision{ID: d.DecisionID, PolicyRevision: d.PolicyRevision}), d, nil
}

// Denied renders a denial as PERMISSION_DENIED: an English message naming every rule,
// the PolicyDenial detail with each violation in both languages, an ErrorInfo (reason
// POLICY_DENIED, the rule ids and decision id as metadata) and the Chinese message.
func Denied(d Decision) error {
	rules := make([]string, len(d.Violations))
	zh := make([]string, len(d.Violations))
	pv := make([]*apiv1.PolicyViolation, len(d.Violations))
	for i, v := range d.Violations {
		rules[i], zh[i] = v.Rule, v.Zh
		pv[i] = &apiv1.PolicyViolation{Rule: v.Rule, Zh: v.Zh, En: v.En, Basis: v.Basis, LegalBasis: v.LegalBasis}
	}
	st, err := status.New(codes.PermissionDenied, DeniedMessage(d.Violations)).WithDetails(
		&apiv1.PolicyDenial{DecisionId: d.DecisionID, PolicyRevision: d.PolicyRevision, Violations: pv},
		&errdetails.ErrorInfo{Reason: apierr.ReasonPolicyDenied, Domain: apierr.Domain, Metadata: map[string]string{
			"rules": strings.Join(rules, ","), "decision_id": d.DecisionID, "policy_revision": d.PolicyRevision,
		}},
		&errdetails.LocalizedMessage{Locale: "zh-CN", Message: "不符合制度规定：" + strings.Join(zh, "；")},
	)
	if err != nil {
		return status.Error(codes.PermissionDenied, DeniedMessage(d.Violations))
	}
	return st.Err()
}

// PrincipalActor is the actor block of an input for the caller in org.
func PrincipalActor(p *auth.Principal, org, onBehalfOf string) *ast.Term {
	person := ""
	if g, ok := p.Grant(org); ok {
		person = g.Person
	}
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("person"), ast.StringTerm(person)),
		ast.Item(ast.StringTerm("on_behalf_of"), ast.StringTerm(onBehalfOf)),
	)
}
