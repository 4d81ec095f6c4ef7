package auth

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// ServiceRole is the platform role of a service's own identity: the token a service
// presents for itself (its subject names the service, e.g. "fenquan-supervision").
const ServiceRole = "service"

// ServiceMetadataKey carries the calling service's own token ("Bearer <token>") on a call
// it makes on a user's behalf, beside the user's token in "authorization". Only services
// send it: the gateway never forwards it (it is not on the gateway's header allowlist).
const ServiceMetadataKey = "x-fenquan-service-authorization"

// IsPublic tells whether a full gRPC method name needs no token.
type IsPublic func(fullMethod string) bool

// BearerFromMetadata returns the bearer token of an incoming call. It reads the one key
// (FromIncomingContext would copy the whole metadata map on every call).
func BearerFromMetadata(ctx context.Context) string {
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if t, ok := cutBearer(v); ok {
			return t
		}
	}
	return ""
}

// cutBearer returns the token of a "Bearer <token>" value.
func cutBearer(v string) (string, bool) {
	for _, p := range []string{"Bearer ", "bearer "} {
		if t, ok := strings.CutPrefix(v, p); ok {
			return strings.TrimSpace(t), true
		}
	}
	return "", false
}

// ServerOptions configure how a service authenticates its callers beyond their token.
type ServerOptions struct {
	// EdgePeers name the client certificates (by subject CN, DNS SAN or URI SAN) of the
	// peers that call with an end user's token alone: the gateway, operators' tools. Over
	// mTLS, a call from any other certificate is a service's, and must carry that
	// service's own identity, named by the certificate. Without a verified client
	// certificate (plaintext on loopback, `fenquan up`) there is no peer to check.
	EdgePeers []string
	// Self returns this process's own service token: ForwardToken adds it to the calls
	// the process makes on a user's behalf (ServiceMetadataKey). Nil: those calls carry
	// the user's token alone.
	Self func() (string, error)
}

// ServerAuth authenticates the calls of a gRPC server: the token of every non-public
// call, and the identity of the service a call comes through.
type ServerAuth struct {
	v      *Verifier
	public IsPublic
	edge   map[string]bool
	self   func() (string, error)
}

// NewServerAuth returns the authentication of a server.
func NewServerAuth(v *Verifier, public IsPublic, o ServerOptions) *ServerAuth {
	a := &ServerAuth{v: v, public: public, edge: map[string]bool{}, self: o.Self}
	for _, n := range o.EdgePeers {
		if n = strings.TrimSpace(n); n != "" {
			a.edge[n] = true
		}
	}
	return a
}

func unauthenticated(msg string) error {
	return apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, msg, nil)
}

// authenticate verifies the call's token; public methods run anonymously and ignore any
// token (a public answer must not depend on who asks).
func (a *ServerAuth) authenticate(ctx context.Context, method string) (context.Context, error) {
	if a.public(method) {
		return ctx, nil
	}
	p, err := a.v.Verify(ctx, BearerFromMetadata(ctx))
	if err != nil {
		msg := "authentication required: send a valid bearer token"
		if !errors.Is(err, ErrNoToken) {
			msg = "invalid token: " + publicReason(err)
		}
		return nil, unauthenticated(msg)
	}
	via, err := a.service(ctx, p)
	if err != nil {
		return nil, err
	}
	if via != "" {
		q := *p // the verifier's cached principal is shared: never changed in place
		q.Via = via
		p = &q
	}
	ctx = WithPrincipal(ctx, p)
	if a.self != nil {
		ctx = WithServiceToken(ctx, a.self)
	}
	return ctx, nil
}

// service establishes the service a call comes through: the token in ServiceMetadataKey
// (a service acting for the user in "authorization"), or else the caller's own token when
// it is a service's. It must be a service's token, and over mTLS the client certificate
// must name it; a certificate that is not an edge peer's must come with one.
func (a *ServerAuth) service(ctx context.Context, p *Principal) (string, error) {
	var svc *Principal
	switch vals := metadata.ValueFromIncomingContext(ctx, ServiceMetadataKey); len(vals) {
	case 0:
		if p.HasPlatformRole(ServiceRole) {
			svc = p
		}
	case 1:
		tok, ok := cutBearer(vals[0])
		if !ok || tok == "" {
			return "", unauthenticated("invalid service identity: " + ServiceMetadataKey + " must be \"Bearer <token>\"")
		}
		sp, err := a.v.Verify(ctx, tok)
		if err != nil {
			return "", unauthenticated("invalid service identity: " + publicReason(err))
		}
		if !sp.HasPlatformRole(ServiceRole) {
			return "", unauthenticated("invalid service identity: the token is not a service's")
		}
		svc = sp
	default:
		return "", unauthenticated("invalid service identity: several " + ServiceMetadataKey + " values")
	}
	names := PeerNames(ctx)
	switch {
	case names == nil:
		// No verified client certificate: nothing to bind the identity to.
	case svc == nil:
		for n := range names {
			if a.edge[n] {
				return "", nil
			}
		}
		return "", unauthenticated("a call from a service must carry the service's own identity (" + ServiceMetadataKey + ")")
	case !names[svc.Subject]:
		return "", unauthenticated("the service identity does not match the client certificate")
	}
	if svc == nil {
		return "", nil
	}
	return svc.Subject, nil
}

// PeerNames returns the names of the call's verified client certificate — its subject
// CN, DNS SANs and URI SANs — or nil when the peer presented none (or the connection is
// not TLS).
func PeerNames(ctx context.Context) map[string]bool {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ti, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil
	}
	leaf := ti.State.VerifiedChains[0][0]
	names := map[string]bool{}
	if leaf.Subject.CommonName != "" {
		names[leaf.Subject.CommonName] = true
	}
	for _, d := range leaf.DNSNames {
		names[d] = true
	}
	for _, u := range leaf.URIs {
		names[u.String()] = true
	}
	return names
}

// Unary verifies the token of every non-public call.
func (a *ServerAuth) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream verifies the token of every non-public stream.
func (a *ServerAuth) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

// UnaryServerInterceptor verifies the token of every non-public call (no edge peers, no
// own identity: see NewServerAuth).
func UnaryServerInterceptor(v *Verifier, public IsPublic) grpc.UnaryServerInterceptor {
	return NewServerAuth(v, public, ServerOptions{}).Unary()
}

// StreamServerInterceptor verifies the token of every non-public stream (see
// UnaryServerInterceptor).
func StreamServerInterceptor(v *Verifier, public IsPublic) grpc.StreamServerInterceptor {
	return NewServerAuth(v, public, ServerOptions{}).Stream()
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

type selfKey struct{}

// WithServiceToken returns ctx carrying this process's own token source, which
// ForwardToken adds to the calls made on a user's behalf. The server's authentication
// sets it on every call (ServerOptions.Self).
func WithServiceToken(ctx context.Context, self func() (string, error)) context.Context {
	return context.WithValue(ctx, selfKey{}, self)
}

// ForwardToken prepares an outgoing context for a service-to-service call made on the
// acting user's behalf: the user's token from the incoming call in "authorization" (the
// callee verifies the user itself), and this service's own token in ServiceMetadataKey
// when the process has one (WithServiceToken). Calling it again replaces, never repeats,
// what it set.
func ForwardToken(ctx context.Context) context.Context {
	p := FromContext(ctx)
	if p == nil || p.Token == "" {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Set("authorization", "Bearer "+p.Token)
	md.Delete(ServiceMetadataKey)
	if self, _ := ctx.Value(selfKey{}).(func() (string, error)); self != nil {
		// Without it the callee, over mTLS, refuses the call: fail closed.
		if tok, err := self(); err == nil && tok != "" {
			md.Set(ServiceMetadataKey, "Bearer "+tok)
		}
	}
	return metadata.NewOutgoingContext(ctx, md)
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
