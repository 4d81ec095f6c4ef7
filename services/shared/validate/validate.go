// Package validate applies the protovalidate rules declared in the protos: to every
// request (one interceptor, for gRPC and REST alike, since the gateway calls the same
// methods), and to resources a service assembles itself (the result of a partial update).
//
// Update requests (a resource plus an update_mask) are checked only on the fields the
// mask names: a PATCH carries just what changes. The service then checks the merged
// resource in full with Message.
package validate

import (
	"context"
	"errors"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

var std = mustValidator()

func mustValidator() protovalidate.Validator {
	v, err := protovalidate.New()
	if err != nil {
		panic("validate: " + err.Error())
	}
	return v
}

// Message checks m in full; violations are reported under prefix (e.g. "power.").
func Message(m proto.Message, prefix string) error {
	return check(m, prefix, nil)
}

// Request checks a request message, restricted to the update mask for update requests.
func Request(m proto.Message) error {
	return check(m, "", maskFilter(m))
}

func check(m proto.Message, prefix string, keep func(field string) bool) error {
	err := std.Validate(m)
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return apierr.Field(strings.TrimSuffix(prefix, "."), "could not be validated: "+err.Error(), "无法校验")
	}
	fvs := make([]*errdetails.BadRequest_FieldViolation, 0, len(ve.Violations))
	for _, viol := range ve.Violations {
		field := protovalidate.FieldPathString(viol.Proto.GetField())
		if keep != nil && !keep(field) {
			continue
		}
		field = prefix + field
		fvs = append(fvs, &errdetails.BadRequest_FieldViolation{
			Field:       field,
			Description: viol.Proto.GetMessage(),
			Reason:      viol.Proto.GetRuleId(),
			LocalizedMessage: &errdetails.LocalizedMessage{
				Locale:  "zh-CN",
				Message: "字段 " + field + " 不符合要求: " + viol.Proto.GetMessage(),
			},
		})
	}
	if len(fvs) == 0 {
		return nil
	}
	return apierr.InvalidArgument(fvs...)
}

// maskFilter returns, for an update request with a non-empty update_mask other than "*",
// a filter keeping violations outside the resource and those on fields the mask names.
func maskFilter(m proto.Message) func(string) bool {
	rm := m.ProtoReflect()
	fields := rm.Descriptor().Fields()
	mfd := fields.ByName("update_mask")
	if mfd == nil || mfd.Message() == nil || mfd.Message().FullName() != "google.protobuf.FieldMask" || !rm.Has(mfd) {
		return nil
	}
	mask, ok := rm.Get(mfd).Message().Interface().(*fieldmaskpb.FieldMask)
	if !ok || len(mask.Paths) == 0 || (len(mask.Paths) == 1 && mask.Paths[0] == "*") {
		return nil
	}
	var resource string
	for i := range fields.Len() {
		if fd := fields.Get(i); fd.Kind() == protoreflect.MessageKind && fd != mfd {
			resource = string(fd.Name())
		}
	}
	if resource == "" {
		return nil
	}
	return func(field string) bool {
		rest, ok := strings.CutPrefix(field, resource+".")
		if !ok {
			return true // the request itself (e.g. "power" missing)
		}
		for _, p := range mask.Paths {
			if rest == p || strings.HasPrefix(rest, p+".") || strings.HasPrefix(rest, p+"[") {
				return true
			}
		}
		return false
	}
}

// UnaryServerInterceptor validates every unary request.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := Request(m); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor validates every message a stream receives.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &validatedStream{ServerStream: ss})
	}
}

type validatedStream struct{ grpc.ServerStream }

func (s *validatedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		return Request(pm)
	}
	return nil
}
