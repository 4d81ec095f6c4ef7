package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// Reasons (ErrorInfo.reason) of errors the gateway makes itself, besides apierr's.
const (
	ReasonRateLimited      = "RATE_LIMITED"
	ReasonRouteNotFound    = "ROUTE_NOT_FOUND"
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	ReasonOriginNotAllowed = "ORIGIN_NOT_ALLOWED"
	ReasonUnavailable      = "UNAVAILABLE"
	ReasonDeadlineExceeded = "DEADLINE_EXCEEDED"
)

// fallbackError is written when even the error cannot be marshaled.
const fallbackError = `{"code":13,"message":"internal error","details":[]}`

// gatewayStatus is an error made by the gateway: an ErrorInfo reason, a Chinese
// LocalizedMessage and, for body fields, BadRequest field violations.
func gatewayStatus(code codes.Code, reason, en, zh string, violations ...*errdetails.BadRequest_FieldViolation) *status.Status {
	var details []protoadapt.MessageV1
	if len(violations) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: violations})
	}
	details = append(details, &errdetails.ErrorInfo{Reason: reason, Domain: apierr.Domain})
	if zh != "" {
		details = append(details, &errdetails.LocalizedMessage{Locale: "zh-CN", Message: zh})
	}
	st, err := status.New(code, en).WithDetails(details...)
	if err != nil {
		return status.New(code, en)
	}
	return st
}

// gatewayError is a status the gateway made (and logged) itself, passed back through
// grpc-gateway's error path unchanged.
type gatewayError struct{ st *status.Status }

func (e *gatewayError) Error() string              { return e.st.Message() }
func (e *gatewayError) GRPCStatus() *status.Status { return e.st }

func internalError() error { return &gatewayError{st: internalStatus()} }

func internalStatus() *status.Status {
	return gatewayStatus(codes.Internal, apierr.ReasonInternal, "internal error", "服务器内部错误")
}

// handleError is the mux's error handler: every error of a matched route, from the
// generated code (path, query and body parsing), the forward options, or upstream.
func (g *gateway) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		// The mux's own path errors (a malformed %-escape).
		if _, isStatus := status.FromError(hse.Err); !isStatus {
			g.writeStatus(w, r, hse.HTTPStatus, gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument,
				"malformed request path", "请求路径格式错误"))
			return
		}
		st := g.publicStatus(r, hse.Err)
		g.writeStatus(w, r, hse.HTTPStatus, st)
		return
	}
	st := g.publicStatus(r, err)
	g.writeStatus(w, r, runtime.HTTPStatusFromCode(st.Code()), st)
}

// handleRoutingError answers requests no route matched, in the same JSON shape.
func (g *gateway) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var st *status.Status
	switch httpStatus {
	case http.StatusNotFound:
		st = gatewayStatus(codes.NotFound, ReasonRouteNotFound, "no API route matches this path", "请求的接口不存在")
	case http.StatusMethodNotAllowed:
		st = gatewayStatus(codes.Unimplemented, ReasonMethodNotAllowed,
			"method "+strconv.Quote(r.Method)+" is not allowed on this path", "该接口不支持此请求方法")
	case http.StatusBadRequest:
		st = gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument, "malformed request path", "请求路径格式错误")
	default:
		httpStatus = http.StatusInternalServerError
		st = internalStatus()
	}
	g.writeStatus(w, r, httpStatus, st)
}

// publicStatus turns an error into what a client may see.
//
// Upstream statuses pass through, except that internal errors become "internal error"
// and transport failures of the gateway's own connection (Unavailable, DeadlineExceeded
// without a Fenquan ErrorInfo) lose their message, which may name internal addresses.
// Statuses the generated code made from the request (bad path, query or body) keep their
// message, which is about the client's input. Anything else is a gateway failure: logged,
// answered "internal error".
func (g *gateway) publicStatus(r *http.Request, err error) *status.Status {
	st0 := stateOf(r.Context())
	var ue *upstreamError
	if errors.As(err, &ue) {
		st := ue.st
		switch st.Code() {
		case codes.Internal, codes.Unknown, codes.DataLoss:
			g.log.Error("gateway: upstream internal error", "request_id", st0.id, "route", st0.routeLabel(),
				"code", st.Code().String(), "error", st.Message())
			return internalStatus()
		case codes.Unavailable, codes.DeadlineExceeded:
			if !fromFenquan(st) {
				g.log.Warn("gateway: upstream unreachable", "request_id", st0.id, "route", st0.routeLabel(),
					"code", st.Code().String(), "error", st.Message())
				if st.Code() == codes.DeadlineExceeded {
					return gatewayStatus(codes.DeadlineExceeded, ReasonDeadlineExceeded, "deadline exceeded", "请求超时")
				}
				return gatewayStatus(codes.Unavailable, ReasonUnavailable, "service unavailable; retry later", "服务暂不可用，请稍后重试")
			}
		case codes.Canceled:
			return status.New(codes.Canceled, "request canceled")
		}
		return st
	}
	var ge *gatewayError
	if errors.As(err, &ge) {
		return ge.st
	}
	st, ok := status.FromError(err)
	if !ok {
		g.log.Error("gateway: request failed", "request_id", st0.id, "route", st0.routeLabel(), "error", err.Error())
		return internalStatus()
	}
	switch st.Code() {
	case codes.InvalidArgument:
		if len(st.Details()) > 0 {
			return st // made by the gateway with details
		}
		return requestStatus(st.Message())
	case codes.Canceled:
		return status.New(codes.Canceled, "request canceled")
	case codes.DeadlineExceeded:
		return gatewayStatus(codes.DeadlineExceeded, ReasonDeadlineExceeded, "deadline exceeded", "请求超时")
	case codes.Internal, codes.Unknown, codes.DataLoss:
		g.log.Error("gateway: request failed", "request_id", st0.id, "route", st0.routeLabel(),
			"code", st.Code().String(), "error", st.Message())
		return internalStatus()
	}
	return st
}

// parameterError matches grpc-gateway's messages about one path or query parameter.
var parameterError = regexp.MustCompile(`^(?:parsing (?:field|list|map key|map value) "([^"]+)"|type mismatch, parameter: ([^,]+), error|too many values for field "([^"]+)"): ?(.*)$`)

// goNoise is the part of a strconv error naming the Go function.
var goNoise = regexp.MustCompile(`strconv\.[A-Za-z0-9]+: `)

// requestStatus rewrites an INVALID_ARGUMENT the generated code made from the request's
// path, query or body: a parameter error becomes a field violation.
func requestStatus(msg string) *status.Status {
	msg = goNoise.ReplaceAllString(cleanProtoError(msg), "")
	if m := parameterError.FindStringSubmatch(msg); m != nil {
		field, why := m[1]+m[2]+m[3], m[4]
		if why == "" {
			why = "too many values"
		}
		zh := fmt.Sprintf("参数 %s 的值无效", field)
		return gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument,
			fmt.Sprintf("invalid value for parameter %s: %s", field, why), zh,
			&errdetails.BadRequest_FieldViolation{
				Field: field, Description: why, Reason: apierr.ReasonInvalidArgument,
				LocalizedMessage: &errdetails.LocalizedMessage{Locale: "zh-CN", Message: zh},
			})
	}
	return gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument, "invalid request: "+msg, "请求参数无效")
}

// cleanProtoError drops the protobuf library's "proto:" prefix (it alternates between a
// space and a no-break space on purpose).
func cleanProtoError(msg string) string {
	for _, p := range []string{"proto: ", "proto:\u00a0"} {
		if rest, ok := strings.CutPrefix(msg, p); ok {
			return rest
		}
	}
	return msg
}

// fromFenquan reports whether a status carries a Fenquan ErrorInfo, i.e. was made by a
// service rather than by the gRPC client on the way.
func fromFenquan(st *status.Status) bool {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == apierr.Domain {
			return true
		}
	}
	return false
}

// writeStatus writes st as {"code", "message", "details"} with httpStatus. Details whose
// type the gateway cannot resolve are dropped; a RequestInfo with the request id is added.
func (g *gateway) writeStatus(w http.ResponseWriter, r *http.Request, httpStatus int, st *status.Status) {
	state := stateOf(r.Context())
	p := st.Proto()
	kept := p.Details[:0]
	hasRequestInfo := false
	for _, d := range p.GetDetails() {
		if _, err := protoregistry.GlobalTypes.FindMessageByURL(d.GetTypeUrl()); err != nil {
			continue
		}
		kept = append(kept, d)
		if ri := new(errdetails.RetryInfo); d.MessageIs(ri) && d.UnmarshalTo(ri) == nil && w.Header().Get("Retry-After") == "" {
			secs := math.Ceil(ri.GetRetryDelay().AsDuration().Seconds())
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(secs))))
		}
		hasRequestInfo = hasRequestInfo || d.MessageIs(new(errdetails.RequestInfo))
	}
	p.Details = kept
	if !hasRequestInfo && state.id != "" {
		if a, err := anypb.New(&errdetails.RequestInfo{RequestId: state.id}); err == nil {
			p.Details = append(p.Details, a)
		}
	}
	body, err := g.json.Marshal(p)
	if err != nil {
		g.log.Error("gateway: marshal error response", "request_id", state.id, "error", err.Error())
		body, httpStatus = []byte(fallbackError), http.StatusInternalServerError
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Set("Content-Type", "application/json")
	if st.Code() == codes.Unauthenticated && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="fenquan"`)
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}
