package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// maxUnknownFields bounds the violations listed for unknown body fields.
const maxUnknownFields = 20

// checkBody reads the request body (at most MaxBodyBytes) and, for a binding that takes
// one, checks it is valid UTF-8, well-formed JSON nested at most MaxJSONDepth deep, and
// names no field the request message lacks. It answers 413 or 400 and returns false on
// failure; on success the body is replaced by the bytes read.
func (g *gateway) checkBody(w http.ResponseWriter, r *http.Request, rt *route) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	tooLarge := func() bool {
		g.metrics.rejected.WithLabelValues("body_too_large").Inc()
		g.writeStatus(w, r, http.StatusRequestEntityTooLarge, gatewayStatus(codes.ResourceExhausted, apierr.ReasonTooLarge,
			fmt.Sprintf("request body exceeds %d bytes", g.cfg.MaxBodyBytes),
			fmt.Sprintf("请求体超过 %d 字节的上限", g.cfg.MaxBodyBytes)))
		return false
	}
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, g.cfg.MaxBodyBytes+1))
	if err != nil {
		g.writeStatus(w, r, http.StatusBadRequest, gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument,
			"the request body could not be read", "无法读取请求体"))
		return false
	}
	if int64(len(body)) > g.cfg.MaxBodyBytes {
		return tooLarge()
	}
	if !rt.hasBody {
		// The binding ignores any body; nothing of it is forwarded.
		r.Body, r.ContentLength = http.NoBody, 0
		return true
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	if len(bytes.TrimSpace(body)) == 0 {
		return true // an empty body is an empty message
	}
	bad := func(en, zh string, extra ...*errdetails.BadRequest_FieldViolation) bool {
		g.metrics.rejected.WithLabelValues("body_invalid").Inc()
		g.writeStatus(w, r, http.StatusBadRequest, gatewayStatus(codes.InvalidArgument, apierr.ReasonInvalidArgument, en, zh, extra...))
		return false
	}
	if !utf8.Valid(body) {
		return bad("request body is not valid UTF-8", "请求体不是有效的 UTF-8 编码")
	}
	if jsonDeeperThan(body, g.cfg.MaxJSONDepth) {
		return bad(fmt.Sprintf("request body nests JSON deeper than %d levels", g.cfg.MaxJSONDepth),
			fmt.Sprintf("请求体 JSON 嵌套超过 %d 层", g.cfg.MaxJSONDepth))
	}
	if !json.Valid(body) {
		// Where, not the decoder's words: the answer is about the client's bytes.
		msg := "request body is not valid JSON"
		var se *json.SyntaxError
		if errors.As(json.Unmarshal(body, new(any)), &se) {
			msg += fmt.Sprintf(" (error at byte %d)", se.Offset)
		}
		return bad(msg, "请求体不是有效的 JSON")
	}
	// Numbers stay text: whether 1e999 fits the field is protojson's to say, per field.
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return bad("request body is not valid JSON", "请求体不是有效的 JSON")
	}
	if rt.bodyMsg != nil {
		var unknown []*errdetails.BadRequest_FieldViolation
		findUnknownFields(doc, rt.bodyMsg, rt.bodyField, &unknown)
		if len(unknown) > 0 {
			en := unknown[0].Description + " at " + unknown[0].Field
			if len(unknown) > 1 {
				en += fmt.Sprintf(" (and %d more)", len(unknown)-1)
			}
			return bad(en, unknown[0].LocalizedMessage.GetMessage(), unknown...)
		}
	}
	return true
}

// jsonDeeperThan reports whether objects and arrays in b nest deeper than max.
func jsonDeeperThan(b []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// findUnknownFields walks a decoded JSON value against the message it decodes into and
// records every object key that names no field (protojson accepts the lowerCamel JSON
// name and the proto name). Paths use proto field names, like the services' violations;
// well-known types are left to protojson.
func findUnknownFields(v any, md protoreflect.MessageDescriptor, path string, out *[]*errdetails.BadRequest_FieldViolation) {
	obj, ok := v.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(*out) >= maxUnknownFields {
			return
		}
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil {
			if strings.HasPrefix(k, "[") {
				continue // an extension, resolved (or refused) by protojson
			}
			*out = append(*out, &errdetails.BadRequest_FieldViolation{
				Field:       joinPath(path, k),
				Description: fmt.Sprintf("unknown field %q", k),
				Reason:      "UNKNOWN_FIELD",
				LocalizedMessage: &errdetails.LocalizedMessage{
					Locale:  "zh-CN",
					Message: fmt.Sprintf("未知字段 %q（请核对字段名，JSON 字段名为小驼峰形式）", k),
				},
			})
			continue
		}
		p := joinPath(path, string(fd.Name()))
		switch val := obj[k]; {
		case fd.IsMap():
			if vm := fd.MapValue().Message(); vm != nil {
				if m, ok := val.(map[string]any); ok {
					mk := make([]string, 0, len(m))
					for key := range m {
						mk = append(mk, key)
					}
					sort.Strings(mk)
					for _, key := range mk {
						findUnknownFields(m[key], vm, p+"["+strconv.Quote(key)+"]", out)
					}
				}
			}
		case fd.IsList():
			if fd.Message() != nil {
				if list, ok := val.([]any); ok {
					for i, e := range list {
						findUnknownFields(e, fd.Message(), fmt.Sprintf("%s[%d]", p, i), out)
					}
				}
			}
		case fd.Message() != nil:
			findUnknownFields(val, fd.Message(), p, out)
		}
	}
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
