package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
	"github.com/fenquan/fenquan/services/shared/store"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

func TestFromErrorMapsStoreSentinels(t *testing.T) {
	for _, tc := range []struct {
		sentinel error
		code     codes.Code
		reason   string
		// The message the client sees; "" means the error's own text.
		msg string
	}{
		{store.ErrNotFound, codes.NotFound, apierr.ReasonNotFound, ""},
		{store.ErrAlreadyExists, codes.AlreadyExists, apierr.ReasonAlreadyExists, ""},
		{store.ErrConflict, codes.FailedPrecondition, apierr.ReasonStaleEtag, ""},
		{store.ErrReferenced, codes.FailedPrecondition, apierr.ReasonReferenced, ""},
		{store.ErrMissingReference, codes.FailedPrecondition, apierr.ReasonMissingReference, ""},
		{store.ErrFailedPrecondition, codes.FailedPrecondition, apierr.ReasonFailedPrecondition, ""},
		{store.ErrTooLarge, codes.ResourceExhausted, apierr.ReasonTooLarge, ""},
		// The cause of an outage (addresses, etcd internals) is not passed on.
		{store.ErrUnavailable, codes.Unavailable, apierr.ReasonUnavailable, "the store is unavailable; retry"},
	} {
		t.Run(tc.sentinel.Error(), func(t *testing.T) {
			for _, err := range []error{
				tc.sentinel,
				fmt.Errorf("orgs/cz/posts/p1: %w", tc.sentinel),
				fmt.Errorf("apply: %w", fmt.Errorf("orgs/cz/posts/p1: %w: etcd at 10.0.0.7:2379", tc.sentinel)),
			} {
				got := apierr.FromError(err)
				if code := status.Code(got); code != tc.code {
					t.Errorf("FromError(%q) code = %v, want %v", err, code, tc.code)
				}
				wantMsg := tc.msg
				if wantMsg == "" {
					wantMsg = err.Error()
				}
				if msg := status.Convert(got).Message(); msg != wantMsg {
					t.Errorf("FromError(%q) message = %q, want %q", err, msg, wantMsg)
				}
				ei := errorInfo(got)
				if ei == nil || ei.Reason != tc.reason || ei.Domain != apierr.Domain {
					t.Errorf("FromError(%q) ErrorInfo = %v, want reason %s domain %s", err, ei, tc.reason, apierr.Domain)
				}
				if apierr.IsInternal(err) {
					t.Errorf("IsInternal(%q) = true", err)
				}
			}
		})
	}
}

func TestFromErrorInvalidEtag(t *testing.T) {
	_, err := store.ParseEtag("abc")
	got := apierr.FromError(err)
	if code := status.Code(got); code != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument", code)
	}
	vs, ok := apierr.ViolationsOf(got)
	if !ok || len(vs) != 1 || vs[0].Field != "etag" || vs[0].Description != err.Error() {
		t.Errorf("violations = %v, want one on etag describing %q", vs, err)
	}
}

// Guard errors come from real transactions on etcd.
func TestFromErrorGuardErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = store.SystemWrite(ctx, "test")
	s := store.New(etcdtest.Client(t), store.Keyspace{Root: etcdtest.Root(t), Service: "registry"})
	post := s.Keys.Key("cz", "posts", "p1")
	unit := s.Keys.Key("cz", "units", "nope")

	commit := func(txn *store.Txn) error {
		t.Helper()
		_, err := s.Commit(ctx, txn)
		if err == nil {
			t.Fatal("commit succeeded, want a guard failure")
		}
		var ge *store.GuardError
		if !errors.As(err, &ge) {
			t.Fatalf("commit error %v is not a *store.GuardError", err)
		}
		return err
	}

	t.Run("missing reference from a request field", func(t *testing.T) {
		err := commit(store.NewTxn().ExpectRevision(post, 0, "orgs/cz/posts/p1").
			ExpectExists(unit, "orgs/cz/units/nope", "post.unit").Put(post, []byte("x")))
		got := apierr.FromError(err)
		if code := status.Code(got); code != codes.InvalidArgument {
			t.Fatalf("code = %v (%v), want InvalidArgument", code, got)
		}
		vs, ok := apierr.ViolationsOf(got)
		if !ok || len(vs) != 1 {
			t.Fatalf("violations = %v, want one", vs)
		}
		v := vs[0]
		if v.Field != "post.unit" {
			t.Errorf("field = %q, want post.unit", v.Field)
		}
		if v.Description != "orgs/cz/units/nope: does not exist" {
			t.Errorf("description = %q, want %q", v.Description, "orgs/cz/units/nope: does not exist")
		}
		if lm := v.GetLocalizedMessage(); lm.GetLocale() != "zh-CN" || lm.GetMessage() != "orgs/cz/units/nope 不存在" {
			t.Errorf("localized = %v, want zh-CN %q", lm, "orgs/cz/units/nope 不存在")
		}
	})

	t.Run("missing reference without a field", func(t *testing.T) {
		err := commit(store.NewTxn().ExpectExists(unit, "orgs/cz/units/nope", "").Put(post, []byte("x")))
		got := apierr.FromError(err)
		if code := status.Code(got); code != codes.FailedPrecondition {
			t.Fatalf("code = %v (%v), want FailedPrecondition", code, got)
		}
		if ei := errorInfo(got); ei == nil || ei.Reason != apierr.ReasonMissingReference {
			t.Errorf("ErrorInfo = %v, want reason %s", ei, apierr.ReasonMissingReference)
		}
	})

	// Create p1, then provoke the other guard failures on it.
	rev, err := s.Commit(ctx, store.NewTxn().ExpectRevision(post, 0, "orgs/cz/posts/p1").Put(post, []byte("1")))
	if err != nil {
		t.Fatal(err)
	}
	refs := s.Keys.CollectionPrefix("cz", "refs") + "posts/p1/"
	if _, err := s.Commit(ctx, store.NewTxn().Put(refs+"assignments/a1", nil)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		txn    *store.Txn
		code   codes.Code
		reason string
		msg    string
	}{
		{"already exists", store.NewTxn().ExpectRevision(post, 0, "orgs/cz/posts/p1").Put(post, []byte("2")),
			codes.AlreadyExists, apierr.ReasonAlreadyExists, "orgs/cz/posts/p1: already exists"},
		{"stale etag", store.NewTxn().ExpectEtag(post, rev-1, "orgs/cz/posts/p1").Put(post, []byte("2")),
			codes.FailedPrecondition, apierr.ReasonStaleEtag, ""},
		{"still referenced", store.NewTxn().ExpectNone(refs, "orgs/cz/posts/p1").Delete(post),
			codes.FailedPrecondition, apierr.ReasonReferenced, "orgs/cz/posts/p1: still referenced by assignments/a1"},
		{"gone", store.NewTxn().ExpectRevision(s.Keys.Key("cz", "posts", "gone"), rev, "orgs/cz/posts/gone").Put(post, []byte("2")),
			codes.NotFound, apierr.ReasonNotFound, "orgs/cz/posts/gone: no longer exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := commit(tc.txn)
			got := apierr.FromError(err)
			if code := status.Code(got); code != tc.code {
				t.Fatalf("code = %v (%v), want %v", code, got, tc.code)
			}
			if ei := errorInfo(got); ei == nil || ei.Reason != tc.reason {
				t.Errorf("ErrorInfo = %v, want reason %s", ei, tc.reason)
			}
			want := tc.msg
			if want == "" {
				want = err.Error()
			}
			if msg := status.Convert(got).Message(); msg != want {
				t.Errorf("message = %q, want %q", msg, want)
			}
			if _, ok := apierr.ViolationsOf(got); ok {
				t.Errorf("%v carries field violations; only a missing reference from a field does", got)
			}
		})
	}
}

func TestFromErrorContextAndStatus(t *testing.T) {
	already := apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied, "denied", map[string]string{"k": "v"})
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"canceled", context.Canceled, codes.Canceled, "request canceled"},
		{"wrapped canceled", fmt.Errorf("list: %w", context.Canceled), codes.Canceled, "request canceled"},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, "deadline exceeded"},
		// A deadline that hit while the store was being reached keeps its own code.
		{"deadline inside a store error", fmt.Errorf("%w: %w", store.ErrUnavailable, context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded"},
		{"status passes through", already, codes.PermissionDenied, "denied"},
		{"plain status passes through", status.Error(codes.Aborted, "aborted here"), codes.Aborted, "aborted here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := apierr.FromError(tc.err)
			if code := status.Code(got); code != tc.code {
				t.Errorf("code = %v, want %v", code, tc.code)
			}
			if msg := status.Convert(got).Message(); msg != tc.msg {
				t.Errorf("message = %q, want %q", msg, tc.msg)
			}
		})
	}
	if got := apierr.FromError(already); got != already {
		t.Errorf("FromError(status) = %v, want the same error", got)
	}
	if got := apierr.FromError(nil); got != nil {
		t.Errorf("FromError(nil) = %v, want nil", got)
	}
	if apierr.IsInternal(nil) {
		t.Error("IsInternal(nil) = true")
	}
}

func TestFromErrorUnknownIsInternal(t *testing.T) {
	for _, err := range []error{
		errors.New("open /var/lib/fenquan/secret.key: permission denied"),
		fmt.Errorf("etcd: %w", errors.New("rpc error at 10.0.0.7:2379")),
		fmt.Errorf("decode orgs/cz/posts/p1: proto: cannot parse invalid wire-format data"),
		// A write attempted without a policy decision is a programming error.
		fmt.Errorf("orgs/cz/posts/p1: %w", store.ErrNoDecision),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			got := apierr.FromError(err)
			if code := status.Code(got); code != codes.Internal {
				t.Errorf("code = %v, want Internal", code)
			}
			st := status.Convert(got)
			if st.Message() != "internal error" {
				t.Errorf("message = %q, want %q", st.Message(), "internal error")
			}
			ei := errorInfo(got)
			if ei == nil || ei.Reason != apierr.ReasonInternal || len(ei.Metadata) != 0 {
				t.Errorf("ErrorInfo = %v, want reason %s and no metadata", ei, apierr.ReasonInternal)
			}
			// Nothing of the cause reaches the client, in the message or any detail.
			for _, d := range st.Details() {
				if s := fmt.Sprint(d); strings.Contains(s, "10.0.0.7") || strings.Contains(s, "secret") || strings.Contains(s, "wire-format") {
					t.Errorf("detail leaks the cause: %s", s)
				}
			}
			if !apierr.IsInternal(err) {
				t.Error("IsInternal = false, want true (the caller must log the cause)")
			}
		})
	}
}

func TestViolations(t *testing.T) {
	var v apierr.Violations
	if v.Len() != 0 || v.Err() != nil {
		t.Fatalf("empty Violations: Len %d, Err %v", v.Len(), v.Err())
	}
	v.Add("display_name", "must not be empty", "不能为空")
	v.AddViolation(&errdetails.BadRequest_FieldViolation{Field: "rank", Description: "unknown rank", Reason: "enum.defined_only"})

	var step apierr.Violations
	step.Add("time_limit_days", "must be positive", "必须为正数")
	step.Add("post", "no such post", "岗位不存在")
	v.Merge("flow.steps[2].", &step)

	var empty apierr.Violations
	v.Merge("ignored.", &empty)

	want := []struct{ field, desc, reason, zh string }{
		{"display_name", "must not be empty", apierr.ReasonInvalidArgument, "不能为空"},
		{"rank", "unknown rank", "enum.defined_only", ""},
		{"flow.steps[2].time_limit_days", "must be positive", apierr.ReasonInvalidArgument, "必须为正数"},
		{"flow.steps[2].post", "no such post", apierr.ReasonInvalidArgument, "岗位不存在"},
	}
	if v.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", v.Len(), len(want))
	}
	for i, w := range want {
		got := v.List()[i]
		if got.Field != w.field || got.Description != w.desc || got.Reason != w.reason || got.GetLocalizedMessage().GetMessage() != w.zh {
			t.Errorf("violation %d = %v, want %+v", i, got, w)
		}
	}
	// Merging does not rename the merged set's own violations.
	if f := step.List()[0].Field; f != "time_limit_days" {
		t.Errorf("merged set changed: field %q", f)
	}

	err := v.Err()
	if code := status.Code(err); code != codes.InvalidArgument {
		t.Fatalf("Err code = %v, want InvalidArgument", code)
	}
	if got, want := status.Convert(err).Message(),
		"display_name: must not be empty; rank: unknown rank; flow.steps[2].time_limit_days: must be positive; and 1 more"; got != want {
		t.Errorf("message = %q\nwant      %q", got, want)
	}
	vs, ok := apierr.ViolationsOf(err)
	if !ok || len(vs) != 4 {
		t.Fatalf("ViolationsOf = %v, %v; want 4", vs, ok)
	}
	for i := range vs {
		if vs[i].Field != want[i].field {
			t.Errorf("ViolationsOf[%d].Field = %q, want %q", i, vs[i].Field, want[i].field)
		}
	}
	if ei := errorInfo(err); ei == nil || ei.Reason != apierr.ReasonInvalidArgument || ei.Domain != apierr.Domain {
		t.Errorf("ErrorInfo = %v", ei)
	}
}

func TestInvalidArgumentMessage(t *testing.T) {
	fv := func(f string) *errdetails.BadRequest_FieldViolation {
		return &errdetails.BadRequest_FieldViolation{Field: f, Description: "bad"}
	}
	for _, tc := range []struct {
		name string
		vs   []*errdetails.BadRequest_FieldViolation
		want string
	}{
		{"none", nil, "invalid request"},
		{"one", []*errdetails.BadRequest_FieldViolation{fv("a")}, "a: bad"},
		{"three", []*errdetails.BadRequest_FieldViolation{fv("a"), fv("b"), fv("c")}, "a: bad; b: bad; c: bad"},
		{"five", []*errdetails.BadRequest_FieldViolation{fv("a"), fv("b"), fv("c"), fv("d"), fv("e")}, "a: bad; b: bad; c: bad; and 2 more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := apierr.InvalidArgument(tc.vs...)
			if got := status.Convert(err).Message(); got != tc.want {
				t.Errorf("message = %q, want %q", got, tc.want)
			}
			vs, ok := apierr.ViolationsOf(err)
			if !ok || len(vs) != len(tc.vs) {
				t.Errorf("ViolationsOf = %v, %v; want %d", vs, ok, len(tc.vs))
			}
		})
	}
}

func TestViolationsOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		wantOK bool
		want   []string
	}{
		{"field error", apierr.Field("page_token", "bad token", "令牌无效"), true, []string{"page_token"}},
		{"not a status", errors.New("plain"), false, nil},
		{"nil", nil, false, nil},
		{"other code", apierr.New(codes.NotFound, apierr.ReasonNotFound, "x: not found", nil), false, nil},
		{"invalid argument without details", status.Error(codes.InvalidArgument, "bad"), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs, ok := apierr.ViolationsOf(tc.err)
			if ok != tc.wantOK || len(vs) != len(tc.want) {
				t.Fatalf("ViolationsOf = %v, %v; want %v, %v", vs, ok, tc.want, tc.wantOK)
			}
			for i := range vs {
				if vs[i].Field != tc.want[i] {
					t.Errorf("field %d = %q, want %q", i, vs[i].Field, tc.want[i])
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	err := apierr.New(codes.FailedPrecondition, apierr.ReasonPolicyDenied, "policy says no", map[string]string{"policy": "api"})
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || st.Message() != "policy says no" {
		t.Errorf("status = %v %q", st.Code(), st.Message())
	}
	ei := errorInfo(err)
	if ei == nil || ei.Reason != apierr.ReasonPolicyDenied || ei.Domain != apierr.Domain || ei.Metadata["policy"] != "api" {
		t.Errorf("ErrorInfo = %v", ei)
	}
}
