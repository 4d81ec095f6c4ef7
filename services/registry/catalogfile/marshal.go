package catalogfile

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// Marshal writes objects as a catalogue file that Parse reads back to the same objects.
// Keys are spelled as in JSON (displayName), enums by their full names (RANK_HANDLER).
//
// Output-only fields (etag, state, revisions, times) are not part of a spec — a file that
// carried them could not be applied again — so they are written as a comment above each
// document instead, where `fenquanctl get -o yaml` readers still see them.
func Marshal(objs []*registryv1.CatalogObject) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for i, obj := range objs {
		doc, err := objectNode(obj)
		if err != nil {
			return nil, fmt.Errorf("catalogfile: object %d: %w", i, err)
		}
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("catalogfile: object %d: %w", i, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("catalogfile: %w", err)
	}
	return buf.Bytes(), nil
}

func objectNode(obj *registryv1.CatalogObject) (*yaml.Node, error) {
	om := obj.ProtoReflect()
	fd := om.WhichOneof(objectDesc.Oneofs().ByName("object"))
	if fd == nil {
		return nil, fmt.Errorf("no object set")
	}
	kind := string(fd.Message().Name())
	res := om.Get(fd).Message()
	name := res.Get(res.Descriptor().Fields().ByName("name")).String()
	if name == "" {
		return nil, fmt.Errorf("%s without a name", kind)
	}
	if obj.GetPublish() && !publishable[kind] {
		return nil, fmt.Errorf("%s %s: publish applies only to Power and Flow", kind, name)
	}

	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	root.Content = append(root.Content, str("kind"), str(kind), str("name"), str(name))
	if obj.GetPublish() {
		root.Content = append(root.Content, str("publish"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	spec := messageNode(res, func(fd protoreflect.FieldDescriptor) bool {
		return fd.Name() == "name" || outputOnly[fd.Name()]
	})
	if len(spec.Content) > 0 {
		root.Content = append(root.Content, str("spec"), spec)
	}
	root.HeadComment = outputComment(res)
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}, nil
}

// outputComment lists the output-only fields that are set, e.g.
// "state: PUBLICATION_STATE_PUBLISHED, publishedRevision: 3, etag: 812".
func outputComment(m protoreflect.Message) string {
	var parts []string
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !outputOnly[fd.Name()] || !m.Has(fd) {
			continue
		}
		v := m.Get(fd)
		var s string
		switch {
		case fd.Message() != nil && fd.Message().FullName() == "google.protobuf.Timestamp":
			ts, ok := v.Message().Interface().(*timestamppb.Timestamp)
			if !ok {
				continue
			}
			s = ts.AsTime().Format(time.RFC3339)
		case fd.Message() != nil:
			continue
		default:
			s = scalarNode(fd, v).Value
		}
		parts = append(parts, fd.JSONName()+": "+s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "# " + strings.Join(parts, ", ")
}

// messageNode writes the populated fields of m in declaration order, skipping those skip
// says to.
func messageNode(m protoreflect.Message, skip func(protoreflect.FieldDescriptor) bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if (skip != nil && skip(fd)) || !m.Has(fd) {
			continue
		}
		n.Content = append(n.Content, str(fd.JSONName()), valueNode(fd, m.Get(fd)))
	}
	return n
}

func valueNode(fd protoreflect.FieldDescriptor, v protoreflect.Value) *yaml.Node {
	switch {
	case fd.IsList():
		list := v.List()
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range list.Len() {
			n.Content = append(n.Content, elemNode(fd, list.Get(i)))
		}
		return n
	case fd.IsMap():
		mp := v.Map()
		var keys []protoreflect.MapKey
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k)
			return true
		})
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			n.Content = append(n.Content, scalarNode(fd.MapKey(), k.Value()), elemNode(fd.MapValue(), mp.Get(k)))
		}
		return n
	}
	return elemNode(fd, v)
}

// elemNode writes a single value: a message or a scalar.
func elemNode(fd protoreflect.FieldDescriptor, v protoreflect.Value) *yaml.Node {
	if fd.Message() != nil {
		return messageNode(v.Message(), nil)
	}
	return scalarNode(fd, v)
}

func scalarNode(fd protoreflect.FieldDescriptor, v protoreflect.Value) *yaml.Node {
	switch fd.Kind() {
	case protoreflect.StringKind:
		n := str(v.String())
		// Duties, clause texts and standards run over several lines; a literal block keeps
		// them readable. The encoder falls back to quotes where a block cannot hold the text.
		if strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	case protoreflect.BoolKind:
		return plain(strconv.FormatBool(v.Bool()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return str(string(ev.Name()))
		}
		return plain(strconv.Itoa(int(v.Enum())))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return plain(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return plain(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind:
		return plain(formatFloat(v.Float(), 32))
	case protoreflect.DoubleKind:
		return plain(formatFloat(v.Float(), 64))
	case protoreflect.BytesKind:
		return str(base64.StdEncoding.EncodeToString(v.Bytes()))
	}
	return str(v.String())
}

// formatFloat writes amounts as people write them (500000, not 5e+05) and keeps the
// shortest form that reads back to the same value.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, bits)
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// str is a string scalar; its tag makes the encoder quote text YAML would read otherwise
// ("2019-03-01", "001", "true").
func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// plain is a number or boolean, written bare.
func plain(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s}
}
