package catalogfile

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// specRoot carries what only the top level of a spec checks: the document's name, which a
// spec may repeat but not contradict, and the output-only fields.
type specRoot struct {
	name string
}

// message fills m from the mapping n. path is the document path of n ("spec.steps[2]"). Keys
// may be spelled as in the proto (time_limit_days) or as in JSON (timeLimitDays), as
// protojson accepts both.
func (p *parser) message(n *yaml.Node, m protoreflect.Message, path string, root *specRoot) {
	md := m.Descriptor()
	seen := map[protoreflect.FieldNumber]*yaml.Node{}
	oneofs := map[protoreflect.FullName]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "keys must be field names, not %s", describe(k))
			continue
		}
		fpath := path + "." + k.Value
		fd := lookupField(md, k.Value)
		if fd == nil {
			p.errorf(k, fpath, "%s has no field %q%s", md.Name(), k.Value, suggest(md, k.Value))
			continue
		}
		if first, dup := seen[fd.Number()]; dup {
			p.errorf(k, fpath, "%s given twice (first at line %d; %s and %s are the same field)", k.Value, first.Line, fd.Name(), fd.JSONName())
			continue
		}
		seen[fd.Number()] = k
		if root != nil {
			if outputOnly[fd.Name()] {
				p.errorf(k, fpath, "%s is output only: the server sets it, so a catalogue file may not; remove it", k.Value)
				continue
			}
			if fd.Name() == "name" {
				if v.Kind != yaml.ScalarNode || (!isNull(v) && v.Value != root.name) {
					p.errorf(v, fpath, "spec.name is %s but the document's name is %q; give the name once, outside spec", describe(v), root.name)
				}
				continue // the document's name is set by the caller
			}
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if other, dup := oneofs[od.FullName()]; dup {
				p.errorf(k, fpath, "%s and %s are alternatives (%s); set only one", other.Value, k.Value, oneofNames(od))
				continue
			}
			oneofs[od.FullName()] = k
		}
		if isNull(v) {
			continue // null means unset, as in protojson
		}
		switch {
		case fd.IsList():
			p.list(v, m, fd, fpath)
		case fd.IsMap():
			p.mapField(v, m, fd, fpath)
		case fd.Message() != nil:
			if v.Kind != yaml.MappingNode {
				p.errorf(v, fpath, "want a mapping of %s fields, not %s", fd.Message().Name(), describe(v))
				continue
			}
			p.message(v, m.Mutable(fd).Message(), fpath, nil)
		default:
			if val, ok := p.scalar(v, fd, fpath); ok {
				m.Set(fd, val)
			}
		}
	}
}

func (p *parser) list(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "want a list, not %s (write one item as \"- item\" or [item])", describe(n))
		return
	}
	list := m.Mutable(fd).List()
	for i, item := range n.Content {
		item = resolve(item)
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if fd.Message() != nil {
			if item.Kind != yaml.MappingNode {
				p.errorf(item, ipath, "want a mapping of %s fields, not %s", fd.Message().Name(), describe(item))
				continue
			}
			elem := list.NewElement()
			p.message(item, elem.Message(), ipath, nil)
			list.Append(elem)
			continue
		}
		if isNull(item) {
			p.errorf(item, ipath, "a list item may not be null")
			continue
		}
		if val, ok := p.scalar(item, fd, ipath); ok {
			list.Append(val)
		}
	}
}

func (p *parser) mapField(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a mapping, not %s", describe(n))
		return
	}
	mp := m.Mutable(fd).Map()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		kpath := fmt.Sprintf("%s[%q]", path, k.Value)
		key, ok := p.scalar(k, fd.MapKey(), kpath)
		if !ok {
			continue
		}
		if mp.Has(key.MapKey()) {
			p.errorf(k, kpath, "key %q given twice", k.Value)
			continue
		}
		if fd.MapValue().Message() != nil {
			if v.Kind != yaml.MappingNode {
				p.errorf(v, kpath, "want a mapping of %s fields, not %s", fd.MapValue().Message().Name(), describe(v))
				continue
			}
			val := mp.NewValue()
			p.message(v, val.Message(), kpath, nil)
			mp.Set(key.MapKey(), val)
			continue
		}
		if val, ok := p.scalar(v, fd.MapValue(), kpath); ok {
			mp.Set(key.MapKey(), val)
		}
	}
}

// scalar converts a scalar node to a value of fd's kind, accepting what protojson accepts
// for it. Strings take any scalar's text: `startDate: 2019-03-01` or `code: 001` must not need
// quotes, though YAML reads them as a date and a number.
func (p *parser) scalar(n *yaml.Node, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "want %s, not %s", wantOf(fd), describe(n))
		return protoreflect.Value{}, false
	}
	bad := func(format string, args ...any) (protoreflect.Value, bool) {
		p.errorf(n, path, format, args...)
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(n.Value), true
	case protoreflect.BoolKind:
		b, ok := boolValue(n)
		if !ok {
			return bad("want true or false, not %s", describe(n))
		}
		return protoreflect.ValueOfBool(b), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		i, err := intValue(n, 32)
		if err != nil {
			return bad("%v", err)
		}
		return protoreflect.ValueOfInt32(int32(i)), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		i, err := intValue(n, 64)
		if err != nil {
			return bad("%v", err)
		}
		return protoreflect.ValueOfInt64(i), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		u, err := uintValue(n, 32)
		if err != nil {
			return bad("%v", err)
		}
		return protoreflect.ValueOfUint32(uint32(u)), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		u, err := uintValue(n, 64)
		if err != nil {
			return bad("%v", err)
		}
		return protoreflect.ValueOfUint64(u), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, ok := floatValue(n)
		if !ok {
			return bad("want a number, not %s", describe(n))
		}
		if fd.Kind() == protoreflect.FloatKind {
			if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
				return bad("%s is out of range for a float", n.Value)
			}
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	case protoreflect.BytesKind:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(n.Value); err == nil {
				return protoreflect.ValueOfBytes(b), true
			}
		}
		return bad("want base64 text, not %s", describe(n))
	case protoreflect.EnumKind:
		num, ok := enumValue(n, fd.Enum())
		if !ok {
			return bad("unknown %s %q: want one of %s", fd.Enum().Name(), n.Value, strings.Join(enumChoices(fd.Enum()), ", "))
		}
		return protoreflect.ValueOfEnum(num), true
	}
	return bad("fields of kind %v are not supported in catalogue files", fd.Kind())
}

func wantOf(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "text"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.EnumKind:
		return "one of " + strings.Join(enumChoices(fd.Enum()), ", ")
	case protoreflect.BytesKind:
		return "base64 text"
	}
	return "a number"
}

// boolValue accepts YAML booleans, not the text "true": protojson refuses a quoted bool too.
func boolValue(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	return b, err == nil
}

// intValue accepts integers, integral numbers such as 1e3, and digits in quotes (protojson
// writes 64-bit integers as strings).
func intValue(n *yaml.Node, bits int) (int64, error) {
	switch n.ShortTag() {
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, bits)
		if err != nil {
			return 0, rangeOrSyntax(n, bits, err)
		}
		return i, nil
	case "!!float":
		f, _ := floatValue(n)
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("want a whole number, not %s", n.Value)
		}
		if f < -math.Exp2(float64(bits-1)) || f >= math.Exp2(float64(bits-1)) {
			return 0, fmt.Errorf("%s is out of range for int%d", n.Value, bits)
		}
		return int64(f), nil
	case "!!str":
		i, err := strconv.ParseInt(n.Value, 10, bits)
		if err != nil {
			return 0, rangeOrSyntax(n, bits, err)
		}
		return i, nil
	}
	return 0, fmt.Errorf("want a whole number, not %s", describe(n))
}

func uintValue(n *yaml.Node, bits int) (uint64, error) {
	s := n.Value
	switch n.ShortTag() {
	case "!!int":
		s = strings.ReplaceAll(s, "_", "")
	case "!!float":
		f, _ := floatValue(n)
		if f != math.Trunc(f) || f < 0 || f >= math.Exp2(float64(bits)) {
			return 0, fmt.Errorf("want a whole number from 0 to %d, not %s", uint64(math.Exp2(float64(bits)))-1, n.Value)
		}
		return uint64(f), nil
	case "!!str":
	default:
		return 0, fmt.Errorf("want a whole number, not %s", describe(n))
	}
	u, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return 0, rangeOrSyntax(n, bits, err)
	}
	return u, nil
}

func rangeOrSyntax(n *yaml.Node, bits int, err error) error {
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return fmt.Errorf("%s is out of range for a %d-bit integer", n.Value, bits)
	}
	return fmt.Errorf("want a whole number, not %s", describe(n))
}

// floatValue accepts YAML numbers (including .inf and .nan) and protojson's strings
// ("1.5", "NaN", "Infinity", "-Infinity").
func floatValue(n *yaml.Node) (float64, bool) {
	s := n.Value
	switch n.ShortTag() {
	case "!!int", "!!float":
		switch strings.ToLower(s) {
		case ".inf", "+.inf":
			return math.Inf(1), true
		case "-.inf":
			return math.Inf(-1), true
		case ".nan":
			return math.NaN(), true
		}
		s = strings.ReplaceAll(s, "_", "")
		if n.ShortTag() == "!!int" {
			if i, err := strconv.ParseInt(s, 0, 64); err == nil {
				return float64(i), true
			}
		}
	case "!!str":
		switch s {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// enumValue accepts the value's full name (RANK_HANDLER), the name without the enum's prefix
// (HANDLER), or its number, as protojson does.
func enumValue(n *yaml.Node, ed protoreflect.EnumDescriptor) (protoreflect.EnumNumber, bool) {
	values := ed.Values()
	if v := values.ByName(protoreflect.Name(n.Value)); v != nil {
		return v.Number(), true
	}
	if prefix := enumPrefix(ed); prefix != "" {
		if v := values.ByName(protoreflect.Name(prefix + n.Value)); v != nil {
			return v.Number(), true
		}
	}
	if n.ShortTag() == "!!int" {
		if i, err := strconv.ParseInt(n.Value, 10, 32); err == nil {
			if v := values.ByNumber(protoreflect.EnumNumber(i)); v != nil {
				return v.Number(), true
			}
		}
	}
	return 0, false
}

// enumPrefix is the prefix every value of an AIP-style enum carries: "RANK_" for Rank,
// "UNIT_KIND_" for UnitKind. Empty when the values do not all carry it.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	var b strings.Builder
	for i, r := range string(ed.Name()) {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	b.WriteByte('_')
	prefix := b.String()
	values := ed.Values()
	for i := range values.Len() {
		if !strings.HasPrefix(string(values.Get(i).Name()), prefix) {
			return ""
		}
	}
	return prefix
}

// enumChoices lists the short names a user would write, leaving out the zero value
// (UNSPECIFIED), which no catalogue needs.
func enumChoices(ed protoreflect.EnumDescriptor) []string {
	prefix := enumPrefix(ed)
	values := ed.Values()
	var out []string
	for i := range values.Len() {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		out = append(out, strings.TrimPrefix(string(v.Name()), prefix))
	}
	return out
}

// lookupField finds a field by its proto name or its JSON name.
func lookupField(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByName(protoreflect.Name(key)); fd != nil {
		return fd
	}
	return fields.ByJSONName(key)
}

// suggest names the field the user probably meant ("timelimitdays" → timeLimitDays), or lists
// the message's fields when nothing is close.
func suggest(md protoreflect.MessageDescriptor, key string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	fields := md.Fields()
	var names []string
	for i := range fields.Len() {
		fd := fields.Get(i)
		if norm(string(fd.Name())) == norm(key) {
			return fmt.Sprintf("; did you mean %q?", fd.JSONName())
		}
		if !outputOnly[fd.Name()] {
			names = append(names, fd.JSONName())
		}
	}
	return "; its fields are " + strings.Join(names, ", ")
}

func oneofNames(od protoreflect.OneofDescriptor) string {
	var names []string
	for i := range od.Fields().Len() {
		names = append(names, od.Fields().Get(i).JSONName())
	}
	return "one of " + strings.Join(names, ", ")
}
