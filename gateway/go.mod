module github.com/fenquan/fenquan/gateway

go 1.26.0

replace (
	github.com/fenquan/fenquan/proto => ../proto
	github.com/fenquan/fenquan/services/shared => ../services/shared
)

require (
	github.com/fenquan/fenquan/proto v0.0.0-00010101000000-000000000000
	github.com/fenquan/fenquan/services/shared v0.0.0-00010101000000-000000000000
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.31.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
