package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// edgeCall is what the edge decided about a request, carried in its context to the
// outgoing gRPC call, which checks it again (edgeConn).
type edgeCall struct {
	method string // the RPC the route maps to
	public bool
	bearer string // "Bearer <token>" as verified; "" on public routes
}

type edgeCallKey struct{}

// edge runs inside the runtime mux for every matched route, before the generated handler
// reads the request: it identifies the RPC, authenticates or anonymises the call,
// rate-limits public routes and checks the body.
func (g *gateway) edge(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		st := stateOf(r.Context())
		rt := g.routeOf(r)
		if rt == nil {
			// The mux matched a handler the route table does not know: refuse rather than
			// guess whether it needs a token.
			pat, _ := runtime.HTTPPattern(r.Context())
			g.log.Error("gateway: matched route has no access rule", "request_id", st.id, "method", r.Method, "pattern", pat.String())
			g.writeStatus(w, r, http.StatusInternalServerError, internalStatus())
			return
		}
		st.route = rt
		call := &edgeCall{method: rt.method, public: rt.public}
		if rt.public {
			// A public answer must not depend on who asks.
			r.Header.Del("Authorization")
			if !st.limited && !g.allowPublic(w, r, st) {
				return
			}
		} else {
			bearer, ok := g.authenticate(w, r, st)
			if !ok {
				return
			}
			r.Header.Set("Authorization", bearer)
			call.bearer = bearer
		}
		if !g.checkBody(w, r, rt) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), edgeCallKey{}, call)), params)
	}
}

// authenticate verifies the request's bearer token and returns the Authorization value
// to forward ("Bearer " and the token unchanged). On failure it answers 401.
func (g *gateway) authenticate(w http.ResponseWriter, r *http.Request, st *requestState) (string, bool) {
	token, err := bearerToken(r.Header.Values("Authorization"))
	if err == nil {
		var p *auth.Principal
		if p, err = g.cfg.Verifier.Verify(r.Context(), token); err == nil && p.HasPlatformRole(auth.ServiceRole) {
			// A service's own identity is for service-to-service calls only: it never
			// comes in through the edge.
			err = errServiceToken
		}
	}
	if err == nil {
		return "Bearer " + token, true
	}
	g.metrics.rejected.WithLabelValues("unauthenticated").Inc()
	en, zh := "authentication required: send a valid bearer token", "需要登录：请提供有效的令牌"
	challenge := `Bearer realm="fenquan"`
	if !errors.Is(err, auth.ErrNoToken) {
		en, zh = "invalid token: send a valid, unexpired bearer token", "令牌无效或已过期，请重新登录"
		challenge = `Bearer realm="fenquan", error="invalid_token"`
		// The verifier's reason (expired, unknown issuer…) is logged, never the token.
		g.log.Info("gateway: token refused", "request_id", st.id, "route", st.route.template, "reason", err.Error())
	}
	w.Header().Set("WWW-Authenticate", challenge)
	g.writeStatus(w, r, http.StatusUnauthorized, gatewayStatus(codes.Unauthenticated, apierr.ReasonUnauthenticated, en, zh))
	return "", false
}

var errServiceToken = errors.New("a service's own token was presented at the edge")

// bearerToken extracts the token of a single "Bearer <token>" Authorization header.
func bearerToken(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", auth.ErrNoToken
	case 1:
	default:
		return "", errors.New("several Authorization headers")
	}
	v := strings.TrimSpace(values[0])
	if v == "" || strings.EqualFold(v, "Bearer") {
		return "", auth.ErrNoToken
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("authorization scheme is not Bearer")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", auth.ErrNoToken
	}
	return token, nil
}

// edgeConn is the connection the generated handlers call through. It checks, on the
// outgoing call itself, what the edge decided for the route: the RPC is the one the route
// table named, public calls carry no token, and other calls carry exactly the token the
// edge verified. Errors it returns from upstream are marked as such (upstreamError).
type edgeConn struct {
	cc    grpc.ClientConnInterface
	rules authz.Rules
	g     *gateway
}

func (c *edgeConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	ctx, err := c.prepare(ctx, method)
	if err != nil {
		return err
	}
	if err := c.cc.Invoke(ctx, method, args, reply, opts...); err != nil {
		return &upstreamError{st: status.Convert(err)}
	}
	return nil
}

func (c *edgeConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, err := c.prepare(ctx, method)
	if err != nil {
		return nil, err
	}
	s, err := c.cc.NewStream(ctx, desc, method, opts...)
	if err != nil {
		return nil, &upstreamError{st: status.Convert(err)}
	}
	return &edgeStream{ClientStream: s}, nil
}

func (c *edgeConn) prepare(ctx context.Context, method string) (context.Context, error) {
	call, _ := ctx.Value(edgeCallKey{}).(*edgeCall)
	_, known := c.rules[method]
	if call == nil || call.method != method || !known || call.public != c.rules.IsPublic(method) {
		c.g.log.Error("gateway: outgoing call does not match the edge's decision", "rpc", method)
		return nil, internalError()
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	// Never a service identity: only services send one, for themselves (the allowlist
	// does not forward it either; this holds whatever put it there).
	md.Delete(auth.ServiceMetadataKey)
	if call.public {
		md.Delete("authorization")
	} else if got := md.Get("authorization"); len(got) != 1 || got[0] != call.bearer {
		c.g.log.Error("gateway: outgoing call does not carry the verified token", "rpc", method)
		return nil, internalError()
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

type edgeStream struct{ grpc.ClientStream }

func (s *edgeStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		return &upstreamError{st: status.Convert(err)}
	}
	return err
}

// upstreamError marks a status that came back from an upstream call (from the service
// or from the gRPC client on the way), as opposed to one the gateway made itself.
type upstreamError struct{ st *status.Status }

func (e *upstreamError) Error() string              { return e.st.Message() }
func (e *upstreamError) GRPCStatus() *status.Status { return e.st }
