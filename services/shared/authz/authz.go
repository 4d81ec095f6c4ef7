// Package authz is the access choke point of every service: one interceptor reads the
// `(fenquan.api.v1.access)` option declared on each RPC, scopes the call to the org named
// in the request, and asks the Authorizer whether the caller holds the permission.
//
// A server refuses to start when one of its methods declares no access rule, so no entry
// point can be added without saying who may call it. A caller not granted the org gets
// NOT_FOUND with the same message as a missing resource: no existence leak.
package authz

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	apiv1 "github.com/fenquan/fenquan/proto/fenquan/api/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
)

// Request is one access question.
type Request struct {
	Principal *auth.Principal
	// Method is the full gRPC method name.
	Method string
	// Permission, e.g. "registry.catalog.write".
	Permission string
	// Org the call acts in; "" for platform-level calls.
	Org string
}

// Authorizer answers access questions. To allow, it returns ctx carrying the decision
// (store.WithDecision), which writes require; to deny, a PERMISSION_DENIED status saying
// which permission is missing.
type Authorizer interface {
	Authorize(ctx context.Context, r Request) (context.Context, error)
}

// Rules maps full method names to their access declarations.
type Rules map[string]*apiv1.Access

// RulesFor reads the access option of every method of the given services (by full
// name, e.g. "fenquan.registry.v1.CatalogService") and fails if any method lacks one.
func RulesFor(services ...string) (Rules, error) {
	rules := Rules{}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("authz: service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("authz: %s is not a service", name)
		}
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			acc, _ := proto.GetExtension(md.Options(), apiv1.E_Access).(*apiv1.Access)
			if acc == nil || !(acc.Public || acc.Platform || acc.MultiOrg || acc.OrgField != "") {
				return nil, fmt.Errorf("authz: %s declares no access rule (fenquan.api.v1.access)", full)
			}
			if acc.OrgField != "" {
				if err := checkFieldPath(md.Input(), acc.OrgField); err != nil {
					return nil, fmt.Errorf("authz: %s: org_field %q: %w", full, acc.OrgField, err)
				}
			}
			rules[full] = acc
		}
	}
	return rules, nil
}

// AllowPublic declares infrastructure methods that need no token and touch no org data:
// health checks (probes, load balancers) and server reflection (grpcurl; the same schema
// the OpenAPI document publishes).
func (r Rules) AllowPublic(methods ...string) {
	for _, m := range methods {
		r[m] = &apiv1.Access{Public: true}
	}
}

// IsPublic reports whether a method needs no token.
func (r Rules) IsPublic(method string) bool {
	acc, ok := r[method]
	return ok && acc.Public
}

func checkFieldPath(md protoreflect.MessageDescriptor, path string) error {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		fd := md.Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			return fmt.Errorf("no field %q in %s", p, md.FullName())
		}
		if i == len(parts)-1 {
			if fd.Kind() != protoreflect.StringKind || fd.IsList() {
				return fmt.Errorf("%s is not a string", p)
			}
			return nil
		}
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
			return fmt.Errorf("%s is not a message", p)
		}
		md = fd.Message()
	}
	return nil
}

func fieldValue(m protoreflect.Message, path string) string {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(p))
		if !m.Has(fd) {
			return ""
		}
		m = m.Get(fd).Message()
	}
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(parts[len(parts)-1]))).String()
}

// OrgOf returns the org of a resource name "orgs/{org}/...".
func OrgOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "orgs/")
	if !ok {
		return "", false
	}
	org, _, _ := strings.Cut(rest, "/")
	return org, org != ""
}

type ctxKey struct{}

type checker struct {
	az     Authorizer
	method string
}

// Require checks, inside a multi-org handler, that the caller may act in org with perm,
// and returns ctx carrying the decision. A caller not granted the org gets NOT_FOUND
// naming `what`.
func Require(ctx context.Context, org, perm, what string) (context.Context, error) {
	c, _ := ctx.Value(ctxKey{}).(*checker)
	if c == nil {
		return nil, apierr.New(codes.Internal, apierr.ReasonInternal, "internal error", nil)
	}
	return check(ctx, c.az, c.method, auth.FromContext(ctx), org, perm, what, false)
}

// RequirePlatform checks a platform-level permission inside a handler and returns ctx
// carrying the decision.
func RequirePlatform(ctx context.Context, perm string) (context.Context, error) {
	c, _ := ctx.Value(ctxKey{}).(*checker)
	p := auth.FromContext(ctx)
	if c == nil || p == nil {
		return nil, apierr.New(codes.Internal, apierr.ReasonInternal, "internal error", nil)
	}
	return c.az.Authorize(ctx, Request{Principal: p, Method: c.method, Permission: perm})
}

func check(ctx context.Context, az Authorizer, method string, p *auth.Principal, org, perm, what string, crossOrg bool) (context.Context, error) {
	if p == nil {
		return nil, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "authentication required", nil)
	}
	if _, ok := p.Grant(org); !ok {
		// Not granted the org: only on a method open to it (Access.cross_org), a platform
		// role that acts across orgs (the services' own identity) passes, and then each
		// action is still decided in full — here by the permission if the method names
		// one, and by the action's rules after.
		if !crossOrg || len(p.PlatformRoles) == 0 {
			return nil, NotFound(what)
		}
		cctx, err := az.Authorize(ctx, Request{Principal: p, Method: method, Permission: CrossOrg})
		if err != nil {
			return nil, NotFound(what)
		}
		ctx = cctx
	}
	if perm == "" {
		return ctx, nil
	}
	return az.Authorize(ctx, Request{Principal: p, Method: method, Permission: perm, Org: org})
}

// CrossOrg is the platform permission to call org-scoped methods of orgs the principal
// holds no grant in (api policy: the platform role "service" has it). It only opens the
// door: the method's permission, and every action's rules, are decided as for anyone.
const CrossOrg = "platform.cross_org"

// NotFound is the answer for a resource the caller may not know about; identical to the
// answer for a resource that does not exist.
func NotFound(what string) error {
	return apierr.New(codes.NotFound, apierr.ReasonNotFound, what+": not found", nil)
}

func (r Rules) authorize(ctx context.Context, az Authorizer, method string, req any) (context.Context, error) {
	acc, ok := r[method]
	if !ok {
		return nil, apierr.New(codes.Unimplemented, "UNKNOWN_METHOD", "unknown method", nil)
	}
	ctx = context.WithValue(ctx, ctxKey{}, &checker{az: az, method: method})
	if acc.Public {
		return ctx, nil
	}
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "authentication required", nil)
	}
	switch {
	case acc.OrgField != "":
		m, ok := req.(proto.Message)
		if !ok {
			return nil, apierr.New(codes.Internal, apierr.ReasonInternal, "internal error", nil)
		}
		name := fieldValue(m.ProtoReflect(), acc.OrgField)
		org, ok := OrgOf(name)
		if !ok {
			return nil, apierr.Field(acc.OrgField, "must be a resource name starting with orgs/{org}", "必须是以 orgs/{单位} 开头的资源名")
		}
		return check(ctx, az, method, p, org, acc.Permission, name, acc.CrossOrg)
	case acc.Platform:
		if acc.Permission != "" {
			return az.Authorize(ctx, Request{Principal: p, Method: method, Permission: acc.Permission})
		}
	case acc.MultiOrg:
		// The handler calls Require for each org it touches.
	}
	return ctx, nil
}

// UnaryServerInterceptor enforces the rules on unary calls. It runs after authentication
// and request validation.
func UnaryServerInterceptor(r Rules, az Authorizer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := r.authorize(ctx, az, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor enforces the rules on streams: server streams are checked on
// their single request message.
func StreamServerInterceptor(r Rules, az Authorizer) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &checkedStream{ServerStream: ss, rules: r, az: az, method: info.FullMethod})
	}
}

type checkedStream struct {
	grpc.ServerStream
	rules   Rules
	az      Authorizer
	method  string
	ctx     context.Context
	checked bool
}

func (s *checkedStream) Context() context.Context {
	if s.ctx != nil {
		return s.ctx
	}
	return s.ServerStream.Context()
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.checked {
		return nil
	}
	ctx, err := s.rules.authorize(s.ServerStream.Context(), s.az, s.method, m)
	if err != nil {
		return err
	}
	s.ctx, s.checked = ctx, true
	return nil
}
