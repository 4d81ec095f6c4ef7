package auth

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// IsPublic tells whether a full gRPC method name needs no token.
type IsPublic func(fullMethod string) bool

// BearerFromMetadata returns the bearer token of an incoming call. It reads the one key
// (FromIncomingContext would copy the whole metadata map on every call).
func BearerFromMetadata(ctx context.Context) string {
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		if t, ok := strings.CutPrefix(v, "bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

// authenticate verifies the call's token; public methods run anonymously and ignore any
// token (a public answer must not depend on who asks).
func authenticate(ctx context.Context, v *Verifier, public IsPublic, method string) (context.Context, error) {
	if public(method) {
		return ctx, nil
	}
	p, err := v.Verify(ctx, BearerFromMetadata(ctx))
	if err != nil {
		msg := "authentication required: send a valid bearer token"
		if !errors.Is(err, ErrNoToken) {
			msg = "invalid token: " + err.Error()
		}
		return nil, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, msg, nil)
	}
	return WithPrincipal(ctx, p), nil
}

// UnaryServerInterceptor verifies the token of every non-public call.
func UnaryServerInterceptor(v *Verifier, public IsPublic) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authenticate(ctx, v, public, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor verifies the token of every non-public stream.
func StreamServerInterceptor(v *Verifier, public IsPublic) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authenticate(ss.Context(), v, public, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// BearerCredentials sends a fixed bearer token on every call (clients, tools).
type BearerCredentials struct {
	Token    string
	Insecure bool // allow on plaintext connections (loopback development only)
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b BearerCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (b BearerCredentials) RequireTransportSecurity() bool { return !b.Insecure }

// ForwardToken copies the acting user's token from an incoming call to an outgoing
// context, for service-to-service calls made on the user's behalf.
func ForwardToken(ctx context.Context) context.Context {
	if p := FromContext(ctx); p != nil && p.Token != "" {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+p.Token)
	}
	return ctx
}

// Code of an authentication error for callers outside gRPC (the gateway).
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Unauthenticated
}
