package authz_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// The services/shared module does not require github.com/fenquan/fenquan/policies, so the
// role table is written out here. It mirrors the rows of policies/api/data.json these
// tests rely on (permissions copied verbatim).
const roleTableJSON = `{
  "roles": {
    "platform-admin": {
      "platform": true,
      "zh": "平台管理员", "en": "platform administrator",
      "permissions": ["registry.orgs.create", "registry.orgs.delete"]
    },
    "catalog-admin": {
      "zh": "职权目录管理员", "en": "catalogue administrator",
      "permissions": ["registry.catalog.write", "registry.catalog.publish", "registry.conflicts.write"]
    },
    "discipline-officer": {
      "zh": "纪检监察干部", "en": "discipline officer",
      "permissions": ["registry.conflicts.write", "supervision.warnings.write", "supervision.complaints.write", "approval.holds.write", "audit.read"]
    },
    "staff": {
      "zh": "工作人员", "en": "staff member",
      "permissions": []
    }
  }
}`

// The registry's services, as registered by the generated package imported above.
var registryServices = []string{
	"fenquan.registry.v1.OrgService",
	"fenquan.registry.v1.CatalogService",
	"fenquan.registry.v1.PublicCatalogService",
}

// Keep the generated package linked in: its init registers the descriptors RulesFor reads.
var _ = registryv1.File_fenquan_registry_v1_org_proto

func roleTable(t *testing.T) *authz.RoleTable {
	t.Helper()
	rt, err := authz.ParseRoleTable([]byte(roleTableJSON))
	if err != nil {
		t.Fatalf("ParseRoleTable: %v", err)
	}
	return rt
}

func registryRules(t *testing.T) authz.Rules {
	t.Helper()
	rules, err := authz.RulesFor(registryServices...)
	if err != nil {
		t.Fatalf("RulesFor(registry services): %v", err)
	}
	return rules
}

func errorInfo(err error) *errdetails.ErrorInfo {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

func TestRulesForCoversEveryRegistryMethod(t *testing.T) {
	rules := registryRules(t)
	total := 0
	for _, svc := range registryServices {
		t.Run(svc, func(t *testing.T) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
			if err != nil {
				t.Fatalf("descriptor of %s: %v", svc, err)
			}
			methods := d.(protoreflect.ServiceDescriptor).Methods()
			if methods.Len() == 0 {
				t.Fatalf("%s has no methods", svc)
			}
			for i := range methods.Len() {
				full := "/" + svc + "/" + string(methods.Get(i).Name())
				acc, ok := rules[full]
				if !ok {
					t.Errorf("no rule for %s", full)
					continue
				}
				if !(acc.Public || acc.Platform || acc.MultiOrg || acc.OrgField != "") {
					t.Errorf("rule for %s declares nothing: %v", full, acc)
				}
			}
			total += methods.Len()
		})
	}
	if got, want := len(rules), total; got != want {
		t.Errorf("len(rules) = %d, want %d (one per method)", got, want)
	}

	// A few declarations read back as written in the protos.
	for _, tc := range []struct {
		method               string
		public, platform     bool
		multiOrg             bool
		orgField, permission string
	}{
		{method: "/fenquan.registry.v1.OrgService/GetOrg", orgField: "name"},
		{method: "/fenquan.registry.v1.OrgService/UpdateUnit", orgField: "unit.name", permission: "registry.catalog.write"},
		{method: "/fenquan.registry.v1.OrgService/CreateOrg", platform: true, permission: "registry.orgs.create"},
		{method: "/fenquan.registry.v1.OrgService/ListOrgs", platform: true},
		{method: "/fenquan.registry.v1.CatalogService/ApplyCatalog", multiOrg: true, permission: "registry.catalog.write"},
		{method: "/fenquan.registry.v1.PublicCatalogService/ListPublicPowers", public: true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			acc := rules[tc.method]
			if acc == nil {
				t.Fatalf("no rule for %s", tc.method)
			}
			if acc.Public != tc.public || acc.Platform != tc.platform || acc.MultiOrg != tc.multiOrg ||
				acc.OrgField != tc.orgField || acc.Permission != tc.permission {
				t.Errorf("rule = %v, want public=%v platform=%v multi_org=%v org_field=%q permission=%q",
					acc, tc.public, tc.platform, tc.multiOrg, tc.orgField, tc.permission)
			}
		})
	}
}

func TestRulesForRefusesUnknownNames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		service string
		wantErr string
	}{
		{"no such service", "fenquan.registry.v1.NoSuchService", "fenquan.registry.v1.NoSuchService"},
		{"a message, not a service", "fenquan.registry.v1.Org", "is not a service"},
		{"empty name", "", "authz: service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := authz.RulesFor("fenquan.registry.v1.OrgService", tc.service)
			if err == nil {
				t.Fatalf("RulesFor(%q) = %d rules, want an error", tc.service, len(rules))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tc.wantErr)
			}
			if rules != nil {
				t.Errorf("rules = %v, want nil with the error", rules)
			}
		})
	}
}

func TestOrgOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantOrg string
		wantOK  bool
	}{
		{"orgs/cz", "cz", true},
		{"orgs/cz/", "cz", true},
		{"orgs/cz/posts/p1", "cz", true},
		{"orgs/cz/powers/p/flows/f", "cz", true},
		{"orgs/", "", false},
		{"orgs//posts/p1", "", false},
		{"orgs", "", false},
		{"cz", "", false},
		{"/orgs/cz", "", false},
		{"Orgs/cz", "", false},
		{"org/cz", "", false},
		{"", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org, ok := authz.OrgOf(tc.name)
			if org != tc.wantOrg || ok != tc.wantOK {
				t.Errorf("OrgOf(%q) = %q, %v; want %q, %v", tc.name, org, ok, tc.wantOrg, tc.wantOK)
			}
		})
	}
}

func TestAllowPublicAndIsPublic(t *testing.T) {
	rules := registryRules(t)
	const healthCheck = "/grpc.health.v1.Health/Check"
	for _, tc := range []struct {
		method string
		want   bool
	}{
		{"/fenquan.registry.v1.PublicCatalogService/ListPublicPowers", true},
		{"/fenquan.registry.v1.PublicCatalogService/GetPublicPower", true},
		{"/fenquan.registry.v1.OrgService/GetOrg", false},
		{"/fenquan.registry.v1.OrgService/CreateOrg", false},
		{"/fenquan.registry.v1.CatalogService/ApplyCatalog", false},
		{healthCheck, false},
		{"/no.Such/Method", false},
	} {
		t.Run("before/"+tc.method, func(t *testing.T) {
			if got := rules.IsPublic(tc.method); got != tc.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tc.method, got, tc.want)
			}
		})
	}
	rules.AllowPublic(healthCheck, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
	for _, tc := range []struct {
		method string
		want   bool
	}{
		{healthCheck, true},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", true},
		{"/grpc.health.v1.Health/Watch", false},
		{"/fenquan.registry.v1.OrgService/GetOrg", false},
	} {
		t.Run("after/"+tc.method, func(t *testing.T) {
			if got := rules.IsPublic(tc.method); got != tc.want {
				t.Errorf("IsPublic(%s) = %v, want %v", tc.method, got, tc.want)
			}
		})
	}
}

func TestRequireOutsideTheInterceptor(t *testing.T) {
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Orgs: map[string]auth.OrgGrant{"cz": {Roles: []string{"catalog-admin"}}}})
	got, err := authz.Require(ctx, "cz", "registry.catalog.write", "orgs/cz")
	if code := status.Code(err); code != codes.Internal {
		t.Errorf("code = %v (%v), want Internal: a handler not behind the interceptor must not pass", code, err)
	}
	if got != nil {
		t.Errorf("Require returned a context with its error")
	}
}

func TestNotFoundMatchesMissingResource(t *testing.T) {
	err := authz.NotFound("orgs/cz/posts/p1")
	if got := status.Code(err); got != codes.NotFound {
		t.Fatalf("code = %v, want NotFound", got)
	}
	if got, want := status.Convert(err).Message(), "orgs/cz/posts/p1: not found"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if ei := errorInfo(err); ei == nil || ei.Reason != apierr.ReasonNotFound {
		t.Errorf("ErrorInfo = %v, want reason %s", ei, apierr.ReasonNotFound)
	}
}
