package catalogfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
)

// Error is one mistake in a catalogue file, at the line and column where the user can fix it.
type Error struct {
	// File is the name given to Parse, e.g. "catalog.yaml".
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the place in the document, e.g. "spec.steps[2].timeLimitDays", with the keys
	// spelled as in the file; empty for the document as a whole.
	Path string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// File is a parsed catalogue file.
type File struct {
	// Name is the file name used in errors.
	Name string
	// Objects are the documents in file order, empty documents left out; the index of an
	// object here is the index the server reports violations against.
	Objects []*registryv1.CatalogObject

	// docs[i] remembers where Objects[i] came from, for Locate.
	docs []*document
}

// document keeps the nodes of one YAML document that Locate needs.
type document struct {
	root       *yaml.Node // the document's mapping
	nameKey    *yaml.Node
	name       *yaml.Node // the name's value
	specKey    *yaml.Node
	spec       *yaml.Node // the spec mapping, nil when absent
	publishKey *yaml.Node
	field      protoreflect.FieldDescriptor // the CatalogObject field of the kind
}

// maxErrors bounds the errors of one Parse: past it the file is broken in a way listing more
// lines will not help with.
const maxErrors = 100

var (
	objectDesc = (&registryv1.CatalogObject{}).ProtoReflect().Descriptor()
	// kindFields maps a kind ("Post") to its CatalogObject field (post); kindList keeps
	// them in declaration order for messages.
	kindFields, kindList = kinds()
	publishField         = objectDesc.Fields().ByName("publish")
)

func kinds() (map[string]protoreflect.FieldDescriptor, []string) {
	m := map[string]protoreflect.FieldDescriptor{}
	var list []string
	fields := objectDesc.Oneofs().ByName("object").Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		kind := string(fd.Message().Name())
		m[kind] = fd
		list = append(list, kind)
	}
	return m, list
}

// publishable are the kinds that have revisions.
var publishable = map[string]bool{"Power": true, "Flow": true}

// outputOnly are the resource fields the server sets. They are refused in a spec rather than
// ignored, so a file copied from `get -o json` with a stale etag or state does not silently
// look as if it asked for something.
var outputOnly = map[protoreflect.Name]bool{
	"etag":                    true,
	"state":                   true,
	"published_revision":      true,
	"has_unpublished_changes": true,
	"create_time":             true,
	"update_time":             true,
}

// The shape of each kind's resource name. Checking it here catches a Post named like a
// unit before the server does, with a line number.
const idPattern = `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`

var namePatterns = map[string]struct {
	re   *regexp.Regexp
	want string
}{
	"Org":                 {regexp.MustCompile(`^orgs/` + idPattern + `$`), "orgs/{org}"},
	"Unit":                {regexp.MustCompile(`^orgs/` + idPattern + `/units/` + idPattern + `$`), "orgs/{org}/units/{unit}"},
	"Post":                {regexp.MustCompile(`^orgs/` + idPattern + `/posts/` + idPattern + `$`), "orgs/{org}/posts/{post}"},
	"Person":              {regexp.MustCompile(`^orgs/` + idPattern + `/people/` + idPattern + `$`), "orgs/{org}/people/{person}"},
	"Assignment":          {regexp.MustCompile(`^orgs/` + idPattern + `/assignments/` + idPattern + `$`), "orgs/{org}/assignments/{assignment}"},
	"ConflictDeclaration": {regexp.MustCompile(`^orgs/` + idPattern + `/conflictDeclarations/` + idPattern + `$`), "orgs/{org}/conflictDeclarations/{declaration}"},
	"Power":               {regexp.MustCompile(`^orgs/` + idPattern + `/powers/` + idPattern + `$`), "orgs/{org}/powers/{power}"},
	"Flow":                {regexp.MustCompile(`^orgs/` + idPattern + `/powers/` + idPattern + `/flows/` + idPattern + `$`), "orgs/{org}/powers/{power}/flows/{flow}"},
}

// Parse reads a catalogue file. On any mistake it returns no File and an error that is a
// *Error, or an errors.Join of several, each pointing at the line to fix; it reports as many
// mistakes as it can find rather than stopping at the first.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{file: name}
	f := &File{Name: name}
	seen := map[string]*yaml.Node{} // resource name → the name node that first used it
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for len(p.errs) < maxErrors {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML parser cannot resume after a syntax error, so this ends the file.
			p.syntax(err)
			break
		}
		root := &doc
		if doc.Kind == yaml.DocumentNode {
			if len(doc.Content) == 0 {
				continue
			}
			root = doc.Content[0]
		}
		root = resolve(root)
		if isNull(root) {
			continue // an empty document, e.g. after a trailing "---"
		}
		obj, d := p.document(root)
		if obj == nil {
			continue
		}
		objName := nameOf(obj)
		if first, dup := seen[objName]; dup {
			p.errorf(d.name, "name", "duplicate name %q: already used at line %d", objName, first.Line)
			continue
		}
		seen[objName] = d.name
		f.Objects = append(f.Objects, obj)
		f.docs = append(f.docs, d)
	}
	if len(p.errs) >= maxErrors {
		p.errs = append(p.errs[:maxErrors], &Error{File: name, Msg: fmt.Sprintf("too many errors; stopped after %d", maxErrors)})
	}
	if len(p.errs) > 0 {
		if len(p.errs) == 1 {
			return nil, p.errs[0]
		}
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

// nameOf returns the resource name inside a CatalogObject.
func nameOf(obj *registryv1.CatalogObject) string {
	m := obj.ProtoReflect()
	fd := m.WhichOneof(objectDesc.Oneofs().ByName("object"))
	if fd == nil {
		return ""
	}
	res := m.Get(fd).Message()
	return res.Get(res.Descriptor().Fields().ByName("name")).String()
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax turns the YAML library's error ("yaml: line 14: did not find expected key") into an
// Error with the line in its place.
func (p *parser) syntax(err error) {
	msg := err.Error()
	e := &Error{File: p.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
	}
	p.errs = append(p.errs, e)
}

// document converts one document. It returns nil when the document has errors (recorded).
func (p *parser) document(root *yaml.Node) (*registryv1.CatalogObject, *document) {
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "a document must be a mapping with kind, name and spec, not %s", describe(root))
		return nil, nil
	}
	before := len(p.errs)
	d := &document{root: root}
	var kindN, nameN, specN, publishN *yaml.Node
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "", "keys must be plain words, not %s", describe(k))
			continue
		}
		if first, dup := keys[k.Value]; dup {
			p.errorf(k, k.Value, "%s given twice (first at line %d)", k.Value, first.Line)
			continue
		}
		keys[k.Value] = k
		switch k.Value {
		case "kind":
			kindN = v
		case "name":
			nameN, d.nameKey, d.name = v, k, v
		case "spec":
			specN, d.specKey = v, k
		case "publish":
			publishN, d.publishKey = v, k
		default:
			p.errorf(k, "", "unknown key %q: a document has kind, name, publish and spec; put the resource's fields under spec", k.Value)
		}
	}

	var kind string
	switch {
	case kindN == nil || isNull(kindN):
		p.errorf(root, "", "missing kind: want one of %s", strings.Join(kindList, ", "))
	case kindN.Kind != yaml.ScalarNode:
		p.errorf(kindN, "kind", "want a kind (one of %s), not %s", strings.Join(kindList, ", "), describe(kindN))
	default:
		kind = kindN.Value
		if d.field = kindFields[kind]; d.field == nil {
			p.errorf(kindN, "kind", "unknown kind %q: want one of %s", kind, strings.Join(kindList, ", "))
		}
	}

	var name string
	switch {
	case nameN == nil || isNull(nameN) || (nameN.Kind == yaml.ScalarNode && nameN.Value == ""):
		at := root
		if nameN != nil {
			at = nameN
		}
		p.errorf(at, "", "missing name: every object needs its resource name, e.g. orgs/czj/posts/gkc-zfsh")
	case nameN.Kind != yaml.ScalarNode:
		p.errorf(nameN, "name", "want a resource name, not %s", describe(nameN))
	default:
		name = nameN.Value
		if pat, ok := namePatterns[kind]; ok && !pat.re.MatchString(name) {
			p.errorf(nameN, "name", "%q is not a %s name: want %s (ids are lower-case letters, digits and hyphens)", name, kind, pat.want)
		}
	}

	publish := false
	if publishN != nil && !isNull(publishN) {
		if b, ok := boolValue(publishN); !ok {
			p.errorf(publishN, "publish", "want true or false, not %s", describe(publishN))
		} else {
			publish = b
		}
		if d.field != nil && !publishable[kind] {
			p.errorf(d.publishKey, "publish", "publish applies only to Power and Flow (they have revisions); %s has none", kind)
		}
	}

	if d.field == nil {
		return nil, nil
	}
	obj := &registryv1.CatalogObject{}
	om := obj.ProtoReflect()
	res := om.NewField(d.field).Message()
	if specN != nil && !isNull(specN) {
		if specN.Kind != yaml.MappingNode {
			p.errorf(specN, "spec", "want the %s's fields as a mapping, not %s", kind, describe(specN))
		} else {
			d.spec = specN
			p.message(specN, res, "spec", &specRoot{name: name})
		}
	}
	if len(p.errs) > before {
		return nil, nil
	}
	res.Set(res.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(name))
	om.Set(d.field, protoreflect.ValueOfMessage(res))
	if publish {
		om.Set(publishField, protoreflect.ValueOfBool(true))
	}
	return obj, d
}

// resolve follows YAML aliases (*anchor) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the text %q", n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}
