package load

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// RawReply receives a gRPC response undecoded: a load generator sharing the machine with
// the service should not spend its CPU decoding what it throws away (as wrk does not
// parse HTTP bodies).
type RawReply struct{ Bytes []byte }

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("load: cannot marshal %T", v)
	}
	return proto.Marshal(m)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	r, ok := v.(*RawReply)
	if !ok {
		return fmt.Errorf("load: cannot unmarshal into %T", v)
	}
	r.Bytes = append(r.Bytes[:0], data...)
	return nil
}

// Invoke calls a unary method, leaving the response undecoded in reply.
func Invoke(ctx context.Context, conn grpc.ClientConnInterface, method string, req proto.Message, reply *RawReply) error {
	return conn.Invoke(ctx, method, req, reply, grpc.ForceCodec(rawCodec{}))
}

// StringField returns the first value of a top-level string field of a raw message (e.g.
// next_page_token) without decoding the rest.
func StringField(b []byte, num protowire.Number) string {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return ""
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return ""
			}
			return string(v)
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return ""
		}
		b = b[l:]
	}
	return ""
}
