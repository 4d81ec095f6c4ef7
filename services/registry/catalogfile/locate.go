package catalogfile

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Locate maps a field violation the server reported back to the file, so `apply` can print
// "catalog.yaml:42:7: …" for an error only the server could find (a post that does not exist,
// a cycle in a flow). index is the object's index in Objects (the request's objects[index]);
// fieldPath starts with the CatalogObject field and continues with proto field names, e.g.
// "flow.steps[2].time_limit_days" or "power.legal_basis[0].law" (JSON names work too).
//
// It returns the position of the deepest part of the path present in the file: the key of a
// field, or the item of a list. When the path names something the file leaves out (a field
// at its default), that is the nearest enclosing node; when nothing matches, the document's
// start. It returns 0, 0 for an index out of range.
func (f *File) Locate(index int, fieldPath string) (line, col int) {
	if index < 0 || index >= len(f.docs) {
		return 0, 0
	}
	d := f.docs[index]
	best := d.root
	at := func(n *yaml.Node) (int, int) { return n.Line, n.Column }

	segs := splitPath(fieldPath)
	if len(segs) == 0 {
		return at(best)
	}
	first := segs[0]
	if first.name == string(publishField.Name()) {
		if d.publishKey != nil {
			return at(d.publishKey)
		}
		return at(best)
	}
	if first.name != string(d.field.Name()) && first.name != d.field.JSONName() {
		return at(best)
	}
	if d.specKey != nil {
		best = d.specKey
	}
	rest := segs[1:]
	if len(rest) == 0 {
		return at(best)
	}
	// The name lives outside spec unless the spec repeats it.
	if rest[0].name == "name" && (d.spec == nil || findKey(d.spec, d.field.Message().Fields().ByName("name")) == nil) {
		if d.nameKey != nil {
			return at(d.nameKey)
		}
		return at(d.root)
	}

	node, md := d.spec, d.field.Message()
	for _, s := range rest {
		if node == nil || node.Kind != yaml.MappingNode || md == nil {
			break
		}
		fd := lookupField(md, s.name)
		if fd == nil {
			break
		}
		k := findKey(node, fd)
		if k == nil {
			break
		}
		best, node = k, resolve(valueOf(node, k))
		md = fd.Message()
		if fd.IsMap() {
			md = nil // map keys are not located; the map field is close enough
		}
		for _, i := range s.indexes {
			if node.Kind != yaml.SequenceNode || i < 0 || i >= len(node.Content) {
				return at(best)
			}
			node = resolve(node.Content[i])
			best = node
		}
	}
	return at(best)
}

type pathSeg struct {
	name    string
	indexes []int
}

// splitPath splits "flow.steps[2].time_limit_days" into its fields and list indexes. A
// malformed index ends the path there, leaving Locate at the enclosing node.
func splitPath(path string) []pathSeg {
	if path == "" {
		return nil
	}
	var segs []pathSeg
	for part := range strings.SplitSeq(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		seg := pathSeg{name: name}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil {
				return append(segs, seg)
			}
			seg.indexes = append(seg.indexes, i)
			rest = strings.TrimPrefix(after, "[")
		}
		segs = append(segs, seg)
	}
	return segs
}

// findKey returns the key node of fd in the mapping, in either spelling.
func findKey(mapping *yaml.Node, fd protoreflect.FieldDescriptor) *yaml.Node {
	if fd == nil {
		return nil
	}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		k := mapping.Content[i]
		if k.Value == string(fd.Name()) || k.Value == fd.JSONName() {
			return k
		}
	}
	return nil
}

func valueOf(mapping, key *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i] == key {
			return mapping.Content[i+1]
		}
	}
	return nil
}
