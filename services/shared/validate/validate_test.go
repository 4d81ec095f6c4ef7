package validate_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/validate"
)

// fields returns the sorted fields of the violations of err (nil for no error), failing
// the test when err is not an INVALID_ARGUMENT with field violations.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	vs := violations(t, err)
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.Field)
	}
	slices.Sort(out)
	return out
}

func violations(t *testing.T, err error) []*errdetails.BadRequest_FieldViolation {
	t.Helper()
	if code := status.Code(err); code != codes.InvalidArgument {
		t.Fatalf("code = %v (%v), want InvalidArgument", code, err)
	}
	vs, ok := apierr.ViolationsOf(err)
	if !ok || len(vs) == 0 {
		t.Fatalf("%v carries no field violations", err)
	}
	return vs
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func TestRequestUpdateMaskRestrictsViolations(t *testing.T) {
	// A PATCH of the display name: unit and rank are left empty, which a full post may
	// not be.
	partial := func(displayName string) *registryv1.Post {
		return &registryv1.Post{Name: "orgs/cz/posts/p1", DisplayName: displayName}
	}
	for _, tc := range []struct {
		name string
		req  *registryv1.UpdatePostRequest
		want []string
	}{
		{"mask on a valid field passes",
			&registryv1.UpdatePostRequest{Post: partial("x"), UpdateMask: mask("display_name")}, nil},
		{"mask on an invalid field reports it",
			&registryv1.UpdatePostRequest{Post: partial("x"), UpdateMask: mask("unit")}, []string{"post.unit"}},
		{"masked field itself invalid",
			&registryv1.UpdatePostRequest{Post: partial(""), UpdateMask: mask("display_name")}, []string{"post.display_name"}},
		{"two masked fields",
			&registryv1.UpdatePostRequest{Post: partial(""), UpdateMask: mask("display_name", "rank")}, []string{"post.display_name", "post.rank"}},
		{"no mask reports every field",
			&registryv1.UpdatePostRequest{Post: partial("x")}, []string{"post.rank", "post.unit"}},
		{"empty mask reports every field",
			&registryv1.UpdatePostRequest{Post: partial("x"), UpdateMask: mask()}, []string{"post.rank", "post.unit"}},
		{"star reports every field",
			&registryv1.UpdatePostRequest{Post: partial("x"), UpdateMask: mask("*")}, []string{"post.rank", "post.unit"}},
		{"repeated items under a masked field",
			&registryv1.UpdatePostRequest{
				Post:       &registryv1.Post{Name: "orgs/cz/posts/p1", ManagedFunds: []string{"", "f1"}},
				UpdateMask: mask("managed_funds"),
			}, []string{"post.managed_funds[0]"}},
		{"repeated items outside the mask",
			&registryv1.UpdatePostRequest{
				Post:       &registryv1.Post{Name: "orgs/cz/posts/p1", DisplayName: "x", ManagedFunds: []string{""}},
				UpdateMask: mask("display_name"),
			}, nil},
		{"a mask path that is a prefix of another field name does not match it",
			&registryv1.UpdatePostRequest{Post: partial("x"), UpdateMask: mask("un")}, nil},
		{"missing resource is reported whatever the mask",
			&registryv1.UpdatePostRequest{UpdateMask: mask("display_name")}, []string{"post"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fields(t, validate.Request(tc.req))
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations on %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRequestUpdateMaskNestedPaths(t *testing.T) {
	long := strings.Repeat("长", 2001)
	flow := func() *registryv1.Flow {
		// Not a valid flow as a whole (no steps, no transitions, no kind), and the
		// emergency variant lacks its required joint_review_group.
		return &registryv1.Flow{Name: "orgs/cz/powers/p1/flows/f1", Emergency: &registryv1.EmergencyVariant{Note: long}}
	}
	for _, tc := range []struct {
		name string
		mask *fieldmaskpb.FieldMask
		want []string
	}{
		{"nested path", mask("emergency.note"), []string{"flow.emergency.note"}},
		{"parent path covers its sub-fields", mask("emergency"), []string{"flow.emergency.joint_review_group", "flow.emergency.note"}},
		{"sibling nested path", mask("emergency.joint_review_group"), []string{"flow.emergency.joint_review_group"}},
		{"unrelated path", mask("description"), nil},
		{"no mask", nil, []string{
			"flow.display_name", "flow.emergency.joint_review_group", "flow.emergency.note",
			"flow.kind", "flow.steps", "flow.transitions",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fields(t, validate.Request(&registryv1.UpdateFlowRequest{Flow: flow(), UpdateMask: tc.mask}))
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations on %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRequestWithoutMaskField(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  proto.Message
		want []string
	}{
		{"valid get", &registryv1.GetPostRequest{Name: "orgs/cz/posts/p1"}, nil},
		{"bad name", &registryv1.GetPostRequest{Name: "posts/p1"}, []string{"name"}},
		{"create reports every field of the resource",
			&registryv1.CreatePostRequest{Parent: "orgs/cz", PostId: "p1", Post: &registryv1.Post{DisplayName: "x"}},
			[]string{"post.rank", "post.unit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fields(t, validate.Request(tc.req))
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations on %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMessageWithPrefix(t *testing.T) {
	post := &registryv1.Post{Name: "orgs/cz/posts/p1", DisplayName: "x"}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"rank", "unit"}},
		{"post.", []string{"post.rank", "post.unit"}},
		{"objects[3].post.", []string{"objects[3].post.rank", "objects[3].post.unit"}},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			got := fields(t, validate.Message(post, tc.prefix))
			if !slices.Equal(got, tc.want) {
				t.Errorf("violations on %q, want %q", got, tc.want)
			}
		})
	}
	valid := &registryv1.Post{
		Name: "orgs/cz/posts/p1", DisplayName: "国库处支付审核岗", Unit: "orgs/cz/units/gk",
		Rank: registryv1.Rank_RANK_HANDLER, ManagedFunds: []string{"f1", "f2"},
	}
	if err := validate.Message(valid, "post."); err != nil {
		t.Errorf("Message(valid post) = %v", err)
	}
}

func TestViolationDetails(t *testing.T) {
	err := validate.Message(&registryv1.Post{DisplayName: "x", Unit: "orgs/cz/units/u", Rank: registryv1.Rank_RANK_HANDLER, RotationPeriodMonths: 241}, "post.")
	vs := violations(t, err)
	if len(vs) != 1 {
		t.Fatalf("violations = %v, want one", vs)
	}
	v := vs[0]
	if v.Field != "post.rotation_period_months" {
		t.Errorf("field = %q, want post.rotation_period_months", v.Field)
	}
	if v.Reason != "int32.gte_lte" {
		t.Errorf("reason = %q, want the rule id int32.gte_lte", v.Reason)
	}
	if v.Description == "" {
		t.Error("no English description")
	}
	lm := v.GetLocalizedMessage()
	if lm.GetLocale() != "zh-CN" {
		t.Errorf("localized locale = %q, want zh-CN", lm.GetLocale())
	}
	if want := "字段 post.rotation_period_months 不符合要求: " + v.Description; lm.GetMessage() != want {
		t.Errorf("localized message = %q, want %q", lm.GetMessage(), want)
	}
	st := status.Convert(err)
	if !strings.Contains(st.Message(), "post.rotation_period_months") {
		t.Errorf("status message %q does not name the field", st.Message())
	}
	var reason string
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			reason = ei.Reason
		}
	}
	if reason != apierr.ReasonInvalidArgument {
		t.Errorf("ErrorInfo reason = %q, want %s", reason, apierr.ReasonInvalidArgument)
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	icpt := validate.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/fenquan.registry.v1.OrgService/UpdatePost"}
	for _, tc := range []struct {
		name    string
		req     any
		wantRun bool
	}{
		{"valid request runs", &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/p1", DisplayName: "x"}, UpdateMask: mask("display_name")}, true},
		{"invalid request stops", &registryv1.UpdatePostRequest{Post: &registryv1.Post{Name: "orgs/cz/posts/p1"}, UpdateMask: mask("unit")}, false},
		{"non-proto request passes through", "not a message", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			_, err := icpt(context.Background(), tc.req, info, func(context.Context, any) (any, error) { ran = true; return nil, nil })
			if ran != tc.wantRun {
				t.Errorf("handler ran = %v, want %v (err %v)", ran, tc.wantRun, err)
			}
			if !tc.wantRun && status.Code(err) != codes.InvalidArgument {
				t.Errorf("err = %v, want InvalidArgument", err)
			}
		})
	}
}
