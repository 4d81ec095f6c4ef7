// Package fieldmask applies AIP-134 update masks: copy the named fields of the request's
// resource onto the stored one. Output-only fields are never copied, whatever the mask
// says (the gateway derives masks from PATCH bodies, which often echo them back).
package fieldmask

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// Apply copies the fields named by mask from src onto dst (the same message type). A nil
// or empty mask, or the single path "*", copies every top-level field not in outputOnly.
// Paths use proto field names, dot-separated for nested messages. An unknown path is
// INVALID_ARGUMENT on update_mask.
func Apply(dst, src proto.Message, mask *fieldmaskpb.FieldMask, outputOnly ...string) error {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	if d.Descriptor() != s.Descriptor() {
		return fmt.Errorf("fieldmask: %s vs %s", d.Descriptor().FullName(), s.Descriptor().FullName())
	}
	paths := mask.GetPaths()
	if len(paths) == 0 || (len(paths) == 1 && paths[0] == "*") {
		fields := d.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if !slices.Contains(outputOnly, string(fd.Name())) {
				copyField(d, s, fd)
			}
		}
		return nil
	}
	for i, p := range paths {
		segs := strings.Split(p, ".")
		// Output-only is decided on the resolved field, so a JSON name cannot slip past.
		if fd := fieldByName(d.Descriptor(), segs[0]); fd != nil && slices.Contains(outputOnly, string(fd.Name())) {
			continue
		}
		if err := applyPath(d, s, segs); err != nil {
			return apierr.Field(fmt.Sprintf("update_mask.paths[%d]", i),
				fmt.Sprintf("unknown field %q", p), fmt.Sprintf("字段 %q 不存在", p))
		}
	}
	return nil
}

// fieldByName resolves a path segment by proto name or JSON (lowerCamel) name.
func fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(name)
}

func applyPath(d, s protoreflect.Message, path []string) error {
	fd := fieldByName(d.Descriptor(), path[0])
	if fd == nil {
		return fmt.Errorf("unknown field")
	}
	if len(path) == 1 {
		copyField(d, s, fd)
		return nil
	}
	if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
		return fmt.Errorf("not a message")
	}
	if !s.Has(fd) {
		// Clearing a sub-field of an absent source message: validate the path, then clear
		// it — without creating the parent when the destination has none either.
		if !d.Has(fd) {
			probe := d.Get(fd).Message().Type().New()
			return applyPath(probe, probe.Type().New(), path[1:])
		}
		sub := d.Mutable(fd).Message()
		return applyPath(sub, sub.Type().New(), path[1:])
	}
	return applyPath(d.Mutable(fd).Message(), s.Get(fd).Message(), path[1:])
}

func copyField(d, s protoreflect.Message, fd protoreflect.FieldDescriptor) {
	if !s.Has(fd) {
		d.Clear(fd)
		return
	}
	switch {
	case fd.IsList(), fd.IsMap(), fd.Kind() == protoreflect.MessageKind, fd.Kind() == protoreflect.GroupKind:
		// Deep copy, so the stored message never shares memory with the request.
		tmp := d.New()
		tmp.Set(fd, s.Get(fd))
		d.Set(fd, proto.Clone(tmp.Interface()).ProtoReflect().Get(fd))
	default:
		d.Set(fd, s.Get(fd))
	}
}
