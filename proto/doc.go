// Package proto holds Fenquan's API: the .proto sources under fenquan/<service>/v1 and
// the Go, gRPC and grpc-gateway code generated from them (committed; regenerate with
// tools/protoc/gen.sh). Every service, the gateway and the tools import this one module.
package proto
