package gateway

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/fenquan/fenquan/services/shared/authz"
)

// route is one HTTP binding of an RPC, read from its google.api.http option.
type route struct {
	verb     string // HTTP method
	template string // path template as declared, e.g. "/v1/{name=orgs/*}"
	method   string // full gRPC method, "/fenquan.registry.v1.OrgService/GetOrg"
	public   bool   // (fenquan.api.v1.access).public
	// hasBody: the binding takes a body. bodyMsg is the message it decodes into (nil when
	// the body is a scalar or repeated field) and bodyField its request field ("" for "*").
	hasBody   bool
	bodyMsg   protoreflect.MessageDescriptor
	bodyField string
}

// routeKey identifies a binding the way the runtime mux matched it: the HTTP method and
// the canonical form of the path template (runtime.Pattern.String()).
func routeKey(verb, template string) string { return verb + " " + template }

// bareVariable is a template variable without a sub-template ("{name}"), which the
// runtime's canonical form spells "{name=*}".
var bareVariable = regexp.MustCompile(`\{([^=}]+)\}`)

func canonicalTemplate(t string) string { return bareVariable.ReplaceAllString(t, "{$1=*}") }

// addRoutes reads the HTTP bindings of every method of services into the route table.
// Methods without a google.api.http option are gRPC-only and not served here.
func (g *gateway) addRoutes(services []string, rules authz.Rules) error {
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return fmt.Errorf("%s is not a service", name)
		}
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			bindings := append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...)
			for _, b := range bindings {
				rt, err := newRoute(md, full, b)
				if err != nil {
					return err
				}
				if rt == nil {
					continue
				}
				rt.public = rules.IsPublic(full)
				key := routeKey(rt.verb, canonicalTemplate(rt.template))
				if prev, dup := g.routes[key]; dup {
					return fmt.Errorf("route %s is bound to both %s and %s", key, prev.method, full)
				}
				g.routes[key] = rt
			}
		}
	}
	return nil
}

func newRoute(md protoreflect.MethodDescriptor, full string, b *annotations.HttpRule) (*route, error) {
	rt := &route{method: full}
	switch p := b.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		rt.verb, rt.template = http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		rt.verb, rt.template = http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		rt.verb, rt.template = http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		rt.verb, rt.template = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		rt.verb, rt.template = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		rt.verb, rt.template = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return nil, nil
	}
	switch body := b.GetBody(); body {
	case "":
	case "*":
		rt.hasBody, rt.bodyMsg = true, md.Input()
	default:
		fd := md.Input().Fields().ByName(protoreflect.Name(body))
		if fd == nil {
			return nil, fmt.Errorf("%s: body field %q not in %s", full, body, md.Input().FullName())
		}
		rt.hasBody, rt.bodyField = true, body
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			rt.bodyMsg = fd.Message()
		}
	}
	return rt, nil
}

// routeOf returns the binding the runtime mux matched for r, or nil.
func (g *gateway) routeOf(r *http.Request) *route {
	pat, ok := runtime.HTTPPattern(r.Context())
	if !ok {
		return nil
	}
	return g.routes[routeKey(r.Method, pat.String())]
}
