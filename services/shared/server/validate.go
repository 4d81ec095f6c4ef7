package server

import (
	"context"
	"errors"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// validator applies the protovalidate rules declared in the protos to every request, for
// gRPC and REST alike (the gateway calls the same gRPC methods).
type validator struct {
	v protovalidate.Validator
}

func newValidator() (*validator, error) {
	v, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	return &validator{v: v}, nil
}

func (v *validator) check(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	err := v.v.Validate(msg)
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return apierr.Field("", "request could not be validated: "+err.Error(), "请求无法校验")
	}
	fvs := make([]*errdetails.BadRequest_FieldViolation, 0, len(ve.Violations))
	for _, viol := range ve.Violations {
		field := protovalidate.FieldPathString(viol.Proto.GetField())
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
	return apierr.InvalidArgument(fvs...)
}

func (v *validator) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := v.check(req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (v *validator) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &validatedStream{ServerStream: ss, v: v})
}

type validatedStream struct {
	grpc.ServerStream
	v *validator
}

func (s *validatedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.v.check(m)
}
