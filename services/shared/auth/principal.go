// Package auth establishes who is calling: it verifies signed tokens (OIDC/JWT) against a
// configured key set — at the gateway and again in every service — and maps their claims
// to a Fenquan principal: the person in each org, the orgs granted and the roles held.
// Identity never comes from a plain header.
//
// A development issuer (DevIssuer) mints tokens for `fenquan up`; a production
// configuration refuses it.
package auth

import (
	"context"
	"slices"
	"sort"
	"time"
)

// Principal is a verified caller.
type Principal struct {
	// Subject is the token's "sub".
	Subject string
	// Issuer is the token's "iss".
	Issuer string
	// Orgs maps each org the token grants to the caller's person and roles there.
	Orgs map[string]OrgGrant
	// PlatformRoles are roles not bound to an org (e.g. "platform-admin").
	PlatformRoles []string
	// Expiry of the token.
	Expiry time.Time
	// Token is the raw bearer token, forwarded on service-to-service calls so the callee
	// verifies the acting user itself.
	Token string
	// Via is the service the call came through (the subject of its own token, verified on
	// the call: ServiceMetadataKey, or the caller's own token when a service acts on its
	// own behalf), or "" for a call straight from a user (through the gateway).
	Via string
}

// OrgGrant is what a token grants in one org.
type OrgGrant struct {
	// Person is the person id in the org ("orgs/{org}/people/{person}").
	Person string
	Roles  []string
}

// Grant returns the caller's grant in org.
func (p *Principal) Grant(org string) (OrgGrant, bool) {
	if p == nil {
		return OrgGrant{}, false
	}
	g, ok := p.Orgs[org]
	return g, ok
}

// PersonName is the caller's person resource name in org, or "" when not granted.
func (p *Principal) PersonName(org string) string {
	g, ok := p.Grant(org)
	if !ok || g.Person == "" {
		return ""
	}
	return "orgs/" + org + "/people/" + g.Person
}

// HasRole reports whether the caller holds role in org.
func (p *Principal) HasRole(org, role string) bool {
	g, ok := p.Grant(org)
	return ok && slices.Contains(g.Roles, role)
}

// HasPlatformRole reports whether the caller holds a platform-level role.
func (p *Principal) HasPlatformRole(role string) bool {
	return p != nil && slices.Contains(p.PlatformRoles, role)
}

// OrgIDs lists the granted orgs, sorted.
func (p *Principal) OrgIDs() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.Orgs))
	for o := range p.Orgs {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the verified caller, or nil for an anonymous (public) call.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
