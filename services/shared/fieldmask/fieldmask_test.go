package fieldmask_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/fieldmask"
)

// The registry's output-only fields of powers and flows.
var outputOnly = []string{"name", "etag", "create_time", "update_time", "state", "published_revision", "has_unpublished_changes"}

// stored is a flow as the store holds it.
func stored() *registryv1.Flow {
	return &registryv1.Flow{
		Name:        "orgs/cz/powers/p1/flows/f1",
		DisplayName: "资金拨付流程",
		Kind:        registryv1.FlowKind_FLOW_KIND_INTERNAL,
		Description: "old description",
		Steps: []*registryv1.FlowStep{
			{Id: "draft", DisplayName: "拟稿"},
			{Id: "review", DisplayName: "审核"},
			{Id: "sign", DisplayName: "签发"},
		},
		Emergency: &registryv1.EmergencyVariant{
			JointReviewGroup: "joint",
			Note:             "old note",
			SkipSteps:        []string{"review"},
		},
		State:                 registryv1.PublicationState_PUBLICATION_STATE_PUBLISHED,
		PublishedRevision:     3,
		HasUnpublishedChanges: false,
		Etag:                  "41",
		CreateTime:            timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		UpdateTime:            timestamppb.New(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)),
	}
}

// request is a flow as a PATCH request carries it, output-only fields echoed back with
// other values.
func request() *registryv1.Flow {
	return &registryv1.Flow{
		Name:        "orgs/cz/powers/p1/flows/forged",
		DisplayName: "新流程名",
		Kind:        registryv1.FlowKind_FLOW_KIND_EXTERNAL,
		Steps:       []*registryv1.FlowStep{{Id: "only", DisplayName: "唯一步骤"}},
		Emergency: &registryv1.EmergencyVariant{
			JointReviewGroup: "new-joint",
			Note:             "new note",
		},
		State:                 registryv1.PublicationState_PUBLICATION_STATE_DRAFT,
		PublishedRevision:     99,
		HasUnpublishedChanges: true,
		Etag:                  "1",
		CreateTime:            timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		UpdateTime:            timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}

// diff is "" when want and got are equal, otherwise both in text form.
func diff(want, got proto.Message) string {
	if proto.Equal(want, got) {
		return ""
	}
	opts := prototext.MarshalOptions{Multiline: true}
	return "want:\n" + opts.Format(want) + "\ngot:\n" + opts.Format(got)
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// keepOutputOnly copies the output-only fields of from onto to.
func keepOutputOnly(to, from *registryv1.Flow) *registryv1.Flow {
	to.Name, to.Etag = from.Name, from.Etag
	to.CreateTime, to.UpdateTime = from.CreateTime, from.UpdateTime
	to.State, to.PublishedRevision, to.HasUnpublishedChanges = from.State, from.PublishedRevision, from.HasUnpublishedChanges
	return to
}

func TestApplyWholeResource(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask *fieldmaskpb.FieldMask
	}{
		{"nil mask", nil},
		{"empty mask", mask()},
		{"star", mask("*")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, src := stored(), request()
			if err := fieldmask.Apply(dst, src, tc.mask, outputOnly...); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			// Every writable field comes from the request, including the ones it leaves
			// empty (description is cleared); output-only fields keep their stored values.
			want := keepOutputOnly(request(), stored())
			if d := diff(want, dst); d != "" {
				t.Errorf("dst mismatch:\n%s", d)
			}
		})
	}
}

func TestApplyNamedPaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  func(f *registryv1.Flow) // applied to stored() to get the expected result
	}{
		{"top-level scalar", []string{"display_name"}, func(f *registryv1.Flow) { f.DisplayName = "新流程名" }},
		{"two top-level fields", []string{"display_name", "kind"}, func(f *registryv1.Flow) {
			f.DisplayName, f.Kind = "新流程名", registryv1.FlowKind_FLOW_KIND_EXTERNAL
		}},
		{"JSON name", []string{"displayName"}, func(f *registryv1.Flow) { f.DisplayName = "新流程名" }},
		{"nested path", []string{"emergency.note"}, func(f *registryv1.Flow) { f.Emergency.Note = "new note" }},
		{"nested path, JSON names", []string{"emergency.jointReviewGroup"}, func(f *registryv1.Flow) { f.Emergency.JointReviewGroup = "new-joint" }},
		{"whole sub-message", []string{"emergency"}, func(f *registryv1.Flow) {
			f.Emergency = &registryv1.EmergencyVariant{JointReviewGroup: "new-joint", Note: "new note"}
		}},
		{"repeated field replaced wholesale", []string{"steps"}, func(f *registryv1.Flow) {
			f.Steps = []*registryv1.FlowStep{{Id: "only", DisplayName: "唯一步骤"}}
		}},
		{"repeated field inside a sub-message", []string{"emergency.skip_steps"}, func(f *registryv1.Flow) { f.Emergency.SkipSteps = nil }},
		{"field absent from the source is cleared", []string{"description"}, func(f *registryv1.Flow) { f.Description = "" }},
		{"output-only fields are skipped", []string{"state", "published_revision", "has_unpublished_changes", "etag", "name", "create_time", "update_time"}, func(*registryv1.Flow) {}},
		{"sub-field of an output-only field is skipped", []string{"create_time.seconds"}, func(*registryv1.Flow) {}},
		{"output-only skipped, others applied", []string{"state", "display_name"}, func(f *registryv1.Flow) { f.DisplayName = "新流程名" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, src := stored(), request()
			if err := fieldmask.Apply(dst, src, mask(tc.paths...), outputOnly...); err != nil {
				t.Fatalf("Apply(%v): %v", tc.paths, err)
			}
			want := stored()
			tc.want(want)
			if d := diff(want, dst); d != "" {
				t.Errorf("Apply(%v) mismatch:\n%s", tc.paths, d)
			}
			if !proto.Equal(src, request()) {
				t.Errorf("Apply modified its source")
			}
		})
	}
}

func TestApplyClearsSubFieldOfAbsentSourceMessage(t *testing.T) {
	dst := stored()
	src := request()
	src.Emergency = nil
	if err := fieldmask.Apply(dst, src, mask("emergency.note"), outputOnly...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := stored()
	want.Emergency.Note = ""
	if d := diff(want, dst); d != "" {
		t.Errorf("mismatch:\n%s", d)
	}

	// A bad path under an absent source message is still refused.
	err := fieldmask.Apply(stored(), src, mask("emergency.nope"), outputOnly...)
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Apply(emergency.nope) = %v, want InvalidArgument", err)
	}
}

func TestApplyPowerDiscretionBenchmark(t *testing.T) {
	dst := &registryv1.Power{
		Name: "orgs/cz/powers/p1", Code: "CZ-CF-001", DisplayName: "会计违法行为处罚",
		Category: registryv1.PowerCategory_POWER_CATEGORY_PENALTY,
		DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{
			{Id: "kj-1", Violation: "未按规定设置会计账簿", Tiers: []*registryv1.DiscretionTier{{Id: "minor", DisplayName: "轻微"}}},
			{Id: "kj-2", Violation: "伪造会计凭证", Tiers: []*registryv1.DiscretionTier{{Id: "serious", DisplayName: "严重"}}},
		}},
	}
	src := &registryv1.Power{
		DisplayName: "ignored",
		DiscretionBenchmark: &registryv1.DiscretionBenchmark{Items: []*registryv1.DiscretionItem{
			{Id: "kj-3", Violation: "隐匿会计资料", Tiers: []*registryv1.DiscretionTier{
				{Id: "minor", DisplayName: "轻微", CircumstanceCodes: []string{"first"}},
				{Id: "general", DisplayName: "一般"},
			}},
		}},
	}
	if err := fieldmask.Apply(dst, src, mask("discretion_benchmark"), outputOnly...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if d := diff(src.DiscretionBenchmark, dst.DiscretionBenchmark); d != "" {
		t.Errorf("benchmark mismatch:\n%s", d)
	}
	if dst.DisplayName != "会计违法行为处罚" {
		t.Errorf("display_name = %q, changed although not in the mask", dst.DisplayName)
	}

	// Deep copy: changing the request afterwards leaves the stored power alone.
	src.DiscretionBenchmark.Items[0].Id = "mutated"
	src.DiscretionBenchmark.Items[0].Tiers[0].CircumstanceCodes[0] = "mutated"
	src.DiscretionBenchmark.Items = append(src.DiscretionBenchmark.Items, &registryv1.DiscretionItem{Id: "extra"})
	if got := dst.DiscretionBenchmark.Items; len(got) != 1 || got[0].Id != "kj-3" || got[0].Tiers[0].CircumstanceCodes[0] != "first" {
		t.Errorf("stored benchmark follows the request after Apply: %v", got)
	}
}

func TestApplyDeepCopies(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask *fieldmaskpb.FieldMask
	}{
		{"whole resource", nil},
		{"repeated and message fields named", mask("steps", "emergency")},
		{"repeated field inside a sub-message", mask("emergency.skip_steps")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, src := stored(), request()
			src.Emergency.SkipSteps = []string{"only"}
			if err := fieldmask.Apply(dst, src, tc.mask, outputOnly...); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			before := proto.Clone(dst)
			src.Steps[0].Id = "mutated"
			src.Steps = append(src.Steps, &registryv1.FlowStep{Id: "appended"})
			src.Emergency.Note = "mutated"
			src.Emergency.SkipSteps[0] = "mutated"
			if d := diff(before, dst); d != "" {
				t.Errorf("dst changed with its source:\n%s", d)
			}
		})
	}
}

func TestApplyRefusesUnknownPaths(t *testing.T) {
	for _, tc := range []struct {
		name      string
		paths     []string
		wantField string
	}{
		{"unknown top-level field", []string{"nope"}, "update_mask.paths[0]"},
		{"unknown field after a good one", []string{"display_name", "nope"}, "update_mask.paths[1]"},
		{"unknown nested field", []string{"emergency.nope"}, "update_mask.paths[0]"},
		{"path through a scalar", []string{"display_name.x"}, "update_mask.paths[0]"},
		{"path through a repeated field", []string{"steps.id"}, "update_mask.paths[0]"},
		{"star among other paths", []string{"display_name", "*"}, "update_mask.paths[1]"},
		{"empty path", []string{""}, "update_mask.paths[0]"},
		{"trailing dot", []string{"emergency."}, "update_mask.paths[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fieldmask.Apply(stored(), request(), mask(tc.paths...), outputOnly...)
			if code := status.Code(err); code != codes.InvalidArgument {
				t.Fatalf("Apply(%q) = %v, want InvalidArgument", tc.paths, err)
			}
			vs, ok := apierr.ViolationsOf(err)
			if !ok || len(vs) != 1 {
				t.Fatalf("violations = %v, want one", vs)
			}
			if vs[0].Field != tc.wantField {
				t.Errorf("violation field = %q, want %q", vs[0].Field, tc.wantField)
			}
			if vs[0].GetLocalizedMessage().GetLocale() != "zh-CN" {
				t.Errorf("violation %v has no zh-CN message", vs[0])
			}
		})
	}
}

func TestApplyRefusesDifferentTypes(t *testing.T) {
	err := fieldmask.Apply(&registryv1.Flow{}, &registryv1.Power{}, nil)
	if err == nil {
		t.Fatal("Apply(Flow, Power) succeeded")
	}
	if _, isStatus := status.FromError(err); isStatus {
		t.Errorf("Apply(Flow, Power) = %v: a programming error, not a client error", err)
	}
}

// Bug: output-only fields are only recognised by their proto names, while paths are
// also accepted in their JSON names (fieldmask.go:39 compares the path with the
// outputOnly list before applyPath resolves it with ByJSONName). "createTime" copies the
// request's create_time onto the stored resource, against "Output-only fields are never
// copied, whatever the mask says".
func TestApplyOutputOnlyByJSONName(t *testing.T) {
	for _, path := range []string{"createTime", "updateTime", "publishedRevision", "hasUnpublishedChanges", "createTime.seconds"} {
		t.Run(path, func(t *testing.T) {
			dst := stored()
			if err := fieldmask.Apply(dst, request(), mask(path), outputOnly...); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if d := diff(stored(), dst); d != "" {
				t.Errorf("output-only field copied through its JSON name:\n%s", d)
			}
		})
	}
}

// Bug: clearing a sub-field when neither the source nor the destination has the parent
// message creates an empty parent in the destination (fieldmask.go:68, d.Mutable).
// A flow without an emergency variant patched with mask "emergency.note" (and no
// emergency in the body) ends up with an empty EmergencyVariant, which then fails
// validation (emergency.joint_review_group is required) or reads as "has an emergency
// variant". The reference implementation (Java FieldMaskUtil.merge) skips the path when
// the message is absent on both sides.
func TestApplyDoesNotCreateEmptyParent(t *testing.T) {
	dst, src := stored(), request()
	dst.Emergency, src.Emergency = nil, nil
	if err := fieldmask.Apply(dst, src, mask("emergency.note"), outputOnly...); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if dst.Emergency != nil {
		t.Errorf("dst.emergency = %v, want it still absent", dst.Emergency)
	}
}
