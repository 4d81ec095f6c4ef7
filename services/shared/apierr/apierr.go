// Package apierr builds the errors Fenquan's APIs return: gRPC statuses with details a
// client can act on — BadRequest field violations (English description, Chinese
// localized message), ErrorInfo reasons, and the mapping of the store's sentinels to codes.
// The gateway turns them into HTTP statuses with the same details in the JSON body.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/fenquan/fenquan/services/shared/store"
)

// Domain is the ErrorInfo domain of every Fenquan error.
const Domain = "fenquan.dev"

// Reasons (ErrorInfo.reason) shared by every service.
const (
	ReasonInvalidArgument    = "INVALID_ARGUMENT"
	ReasonNotFound           = "NOT_FOUND"
	ReasonAlreadyExists      = "ALREADY_EXISTS"
	ReasonStaleEtag          = "STALE_ETAG"
	ReasonReferenced         = "STILL_REFERENCED"
	ReasonMissingReference   = "MISSING_REFERENCE"
	ReasonFailedPrecondition = "FAILED_PRECONDITION"
	ReasonTooLarge           = "TOO_LARGE"
	ReasonUnavailable        = "STORE_UNAVAILABLE"
	ReasonUnauthenticated    = "UNAUTHENTICATED"
	ReasonPermissionDenied   = "PERMISSION_DENIED"
	ReasonPolicyDenied       = "POLICY_DENIED"
	ReasonInternal           = "INTERNAL"
)

// Violations collects field violations; Err returns them as one INVALID_ARGUMENT.
type Violations struct {
	list []*errdetails.BadRequest_FieldViolation
}

// Add records a violation of field (a request path such as "flow.steps[2].time_limit_days")
// with an English and a Chinese message.
func (v *Violations) Add(field, en, zh string) {
	v.list = append(v.list, &errdetails.BadRequest_FieldViolation{
		Field:            field,
		Description:      en,
		Reason:           ReasonInvalidArgument,
		LocalizedMessage: &errdetails.LocalizedMessage{Locale: "zh-CN", Message: zh},
	})
}

// AddViolation records a prepared violation.
func (v *Violations) AddViolation(fv *errdetails.BadRequest_FieldViolation) {
	v.list = append(v.list, fv)
}

// Merge adds another set's violations with their fields prefixed (e.g. "objects[3].").
func (v *Violations) Merge(prefix string, o *Violations) {
	for _, fv := range o.list {
		v.list = append(v.list, &errdetails.BadRequest_FieldViolation{
			Field: prefix + fv.Field, Description: fv.Description, Reason: fv.Reason, LocalizedMessage: fv.LocalizedMessage,
		})
	}
}

// Len is the number of violations.
func (v *Violations) Len() int { return len(v.list) }

// List returns the violations.
func (v *Violations) List() []*errdetails.BadRequest_FieldViolation { return v.list }

// Err is nil without violations, otherwise INVALID_ARGUMENT carrying all of them.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	return InvalidArgument(v.list...)
}

// InvalidArgument returns INVALID_ARGUMENT with the given field violations.
func InvalidArgument(vs ...*errdetails.BadRequest_FieldViolation) error {
	msg := "invalid request"
	if len(vs) > 0 {
		parts := make([]string, 0, min(len(vs), 3))
		for _, fv := range vs[:min(len(vs), 3)] {
			parts = append(parts, fv.Field+": "+fv.Description)
		}
		msg = strings.Join(parts, "; ")
		if len(vs) > 3 {
			msg += fmt.Sprintf("; and %d more", len(vs)-3)
		}
	}
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(
		&errdetails.BadRequest{FieldViolations: vs},
		&errdetails.ErrorInfo{Reason: ReasonInvalidArgument, Domain: Domain},
	)
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}

// Field returns INVALID_ARGUMENT for one field.
func Field(field, en, zh string) error {
	var v Violations
	v.Add(field, en, zh)
	return v.Err()
}

// New returns a status with an ErrorInfo reason and metadata.
func New(code codes.Code, reason, msg string, meta map[string]string) error {
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: meta})
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// FromError maps an error from a store or a domain operation to a status:
//   - an error that already is a status passes through;
//   - context cancellation and deadlines keep their codes;
//   - the store's sentinels get their codes and reasons, with the message naming the
//     resource (a missing reference from a request field becomes a field violation);
//   - anything else is INTERNAL with a generic message (the caller logs the cause).
func FromError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	var ge *store.GuardError
	if errors.As(err, &ge) && ge.Guard.Field != "" && errors.Is(err, store.ErrMissingReference) {
		return Field(ge.Guard.Field, err.Error(), ge.Guard.What+" 不存在")
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return New(codes.NotFound, ReasonNotFound, err.Error(), nil)
	case errors.Is(err, store.ErrAlreadyExists):
		return New(codes.AlreadyExists, ReasonAlreadyExists, err.Error(), nil)
	case errors.Is(err, store.ErrConflict):
		// AIP-154: a stale etag is FAILED_PRECONDITION; the client re-reads and retries.
		return New(codes.FailedPrecondition, ReasonStaleEtag, err.Error(), nil)
	case errors.Is(err, store.ErrInvalidEtag):
		return Field("etag", err.Error(), "etag 无效")
	case errors.Is(err, store.ErrReferenced):
		return New(codes.FailedPrecondition, ReasonReferenced, err.Error(), nil)
	case errors.Is(err, store.ErrMissingReference):
		return New(codes.FailedPrecondition, ReasonMissingReference, err.Error(), nil)
	case errors.Is(err, store.ErrFailedPrecondition):
		return New(codes.FailedPrecondition, ReasonFailedPrecondition, err.Error(), nil)
	case errors.Is(err, store.ErrTooLarge):
		return New(codes.ResourceExhausted, ReasonTooLarge, err.Error(), nil)
	case errors.Is(err, store.ErrNoDecision):
		return New(codes.Internal, ReasonInternal, "internal error", nil)
	case errors.Is(err, store.ErrUnavailable):
		return New(codes.Unavailable, ReasonUnavailable, "the store is unavailable; retry", nil)
	}
	return New(codes.Internal, ReasonInternal, "internal error", nil)
}

// Refused is an error with code, an ErrorInfo reason, the Chinese message and any further
// details: how a service says why it will not do what was asked (an illegal state, a
// limit reached).
func Refused(code codes.Code, reason, en, zh string, meta map[string]string, more ...protoadapt.MessageV1) error {
	details := append([]protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: meta},
		&errdetails.LocalizedMessage{Locale: "zh-CN", Message: zh},
	}, more...)
	st, err := status.New(code, en).WithDetails(details...)
	if err != nil {
		return status.Error(code, en)
	}
	return st.Err()
}

// Unavailable maps an error of reading or writing the store: a canceled or expired
// request keeps its code, anything else is UNAVAILABLE (the client retries).
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return FromError(err)
	}
	return New(codes.Unavailable, ReasonUnavailable, "the store is unavailable; retry", nil)
}

// IsInternal reports whether FromError would hide err as INTERNAL (so it should be logged).
func IsInternal(err error) bool {
	return status.Code(FromError(err)) == codes.Internal
}

// ViolationsOf returns the field violations of an INVALID_ARGUMENT status.
func ViolationsOf(err error) ([]*errdetails.BadRequest_FieldViolation, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return nil, false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br.FieldViolations, true
		}
	}
	return nil, false
}

// Reply is how a handler answers err: nil for nil, otherwise its gRPC status (FromError);
// an internal error is logged first, with what the status hides.
func Reply(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if IsInternal(err) {
		log.ErrorContext(ctx, "internal error", "err", err)
	}
	return FromError(err)
}
