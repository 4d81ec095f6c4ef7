package gateway

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	auditv1 "github.com/fenquan/fenquan/proto/fenquan/audit/v1"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

// call is one RPC the upstream received.
type call struct {
	method string
	md     metadata.MD
	req    proto.Message
}

// recorder records every call the test upstream receives (through a server interceptor,
// so it sees Unimplemented methods too).
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	m, _ := req.(proto.Message)
	r.mu.Lock()
	r.calls = append(r.calls, call{method: info.FullMethod, md: md.Copy(), req: m})
	r.mu.Unlock()
	return handler(ctx, req)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) last(t *testing.T) call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("the upstream received no call")
	}
	return r.calls[len(r.calls)-1]
}

// secret is a detail of an internal failure that must never reach a client.
const secret = "pq: password authentication failed for user fenquan at 10.20.30.40:5432"

// failure returns the error a test asks for through the resource id, or nil.
func failure(name string) error {
	switch name[strings.LastIndex(name, "/")+1:] {
	case "invalid":
		var v apierr.Violations
		v.Add("org.display_name", "must not be empty", "单位名称不能为空")
		v.Add("org.region", "too long", "地区名称过长")
		return v.Err()
	case "missing":
		return apierr.New(codes.NotFound, apierr.ReasonNotFound, "orgs/missing: not found", nil)
	case "stale":
		return apierr.New(codes.FailedPrecondition, apierr.ReasonStaleEtag, "etag is stale", nil)
	case "denied":
		return apierr.New(codes.PermissionDenied, apierr.ReasonPermissionDenied, "missing permission registry.org.read", nil)
	case "exists":
		return apierr.New(codes.AlreadyExists, apierr.ReasonAlreadyExists, "orgs/exists: already exists", nil)
	case "down":
		return apierr.New(codes.Unavailable, apierr.ReasonUnavailable, "the store is unavailable; retry", nil)
	case "crash":
		return status.Error(codes.Internal, secret)
	case "unknown":
		return status.Error(codes.Unknown, secret)
	case "busy":
		return apierr.New(codes.ResourceExhausted, "QUOTA", "too many cases", nil)
	}
	return nil
}

type orgServer struct {
	registryv1.UnimplementedOrgServiceServer
}

func (orgServer) GetOrg(ctx context.Context, req *registryv1.GetOrgRequest) (*registryv1.Org, error) {
	// Metadata that must not leak out as HTTP headers.
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-upstream-node", "registry-7.internal"))
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-upstream-trace", "internal-trace"))
	if err := failure(req.GetName()); err != nil {
		return nil, err
	}
	return &registryv1.Org{Name: req.GetName(), DisplayName: "某市财政局"}, nil
}

func (orgServer) CreateOrg(_ context.Context, req *registryv1.CreateOrgRequest) (*registryv1.Org, error) {
	if err := failure("orgs/" + req.GetOrgId()); err != nil {
		return nil, err
	}
	org := proto.Clone(req.GetOrg()).(*registryv1.Org)
	org.Name = "orgs/" + req.GetOrgId()
	return org, nil
}

func (orgServer) DeleteOrg(context.Context, *registryv1.DeleteOrgRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

type catalogServer struct {
	registryv1.UnimplementedCatalogServiceServer
}

const testSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`

func (catalogServer) RenderFlowDiagram(_ context.Context, req *registryv1.RenderFlowDiagramRequest) (*httpbody.HttpBody, error) {
	switch {
	case strings.HasSuffix(req.GetName(), "/html"):
		return &httpbody.HttpBody{ContentType: "text/html", Data: []byte("<script>alert(1)</script>")}, nil
	case req.GetFormat() == registryv1.DiagramFormat_DIAGRAM_FORMAT_MERMAID:
		return &httpbody.HttpBody{ContentType: "text/vnd.mermaid; charset=utf-8", Data: []byte("flowchart TD\n  a --> b\n")}, nil
	}
	return &httpbody.HttpBody{ContentType: "image/svg+xml", Data: []byte(testSVG)}, nil
}

type publicServer struct {
	registryv1.UnimplementedPublicCatalogServiceServer
}

func (publicServer) GetPublicPower(_ context.Context, req *registryv1.GetPublicPowerRequest) (*registryv1.PublicPower, error) {
	if err := failure(req.GetName()); err != nil {
		return nil, err
	}
	return &registryv1.PublicPower{Name: req.GetName(), Code: "CZ-CW-003", DisplayName: "财政资金拨付",
		Category: registryv1.PowerCategory_POWER_CATEGORY_INTERNAL_FINANCE}, nil
}

func (publicServer) ListPublicPowers(context.Context, *registryv1.ListPublicPowersRequest) (*registryv1.ListPublicPowersResponse, error) {
	return &registryv1.ListPublicPowersResponse{}, nil
}

func (publicServer) RenderPublicFlowDiagram(context.Context, *registryv1.RenderPublicFlowDiagramRequest) (*httpbody.HttpBody, error) {
	return &httpbody.HttpBody{ContentType: "image/svg+xml", Data: []byte(testSVG)}, nil
}

// complaintServer is the public complaint intake (the supervision service's).
type complaintServer struct {
	supervisionv1.UnimplementedComplaintServiceServer
}

func (complaintServer) SubmitComplaint(_ context.Context, req *supervisionv1.SubmitComplaintRequest) (*supervisionv1.ComplaintReceipt, error) {
	if err := failure(req.GetParent()); err != nil {
		return nil, err
	}
	return &supervisionv1.ComplaintReceipt{ReceiptCode: "ABCDEFGHIJKLMNOPQRST"}, nil
}

// startUpstream serves the three registry services on 127.0.0.1:0 and returns a client
// connection to them.
func startUpstream(t *testing.T) (*grpc.ClientConn, *recorder) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rec.interceptor))
	registryv1.RegisterOrgServiceServer(srv, orgServer{})
	registryv1.RegisterCatalogServiceServer(srv, catalogServer{})
	registryv1.RegisterPublicCatalogServiceServer(srv, publicServer{})
	policyv1.RegisterPolicyServiceServer(srv, policyv1.UnimplementedPolicyServiceServer{})
	auditv1.RegisterAuditServiceServer(srv, auditv1.UnimplementedAuditServiceServer{})
	// The supervision upstream's services, for tests that serve it too (withSupervision).
	supervisionv1.RegisterComplaintServiceServer(srv, complaintServer{})
	supervisionv1.RegisterSupervisionServiceServer(srv, supervisionv1.UnimplementedSupervisionServiceServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Stop()
		}
	})
	return dial(t, lis.Addr().String()), rec
}
