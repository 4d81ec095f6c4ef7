package registry

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/authz"
)

// applied is one object of an apply, as planned.
type applied struct {
	index   int
	kind    string
	field   string // the CatalogObject field: "unit", "flow", ...
	desired proto.Message
	cur     proto.Message // nil when created
	curRev  int64
	publish bool
	change  *registryv1.CatalogChange
	// revision to write when the object is published by this apply
	revision proto.Message
}

var kindNames = map[string]string{
	"org": "Org", "unit": "Unit", "post": "Post", "person": "Person", "assignment": "Assignment",
	"conflict_declaration": "ConflictDeclaration", "power": "Power", "flow": "Flow",
}

// Apply creates or updates every object of req in one transaction, publishing powers and
// flows marked publish when their content changed. Objects may refer to each other in any
// order. A dry run validates and reports the changes without writing.
func (r *Registry) Apply(ctx context.Context, req *registryv1.ApplyCatalogRequest) (*registryv1.ApplyCatalogResponse, error) {
	ctx, objs, err := r.unpack(ctx, req)
	if err != nil {
		return nil, err
	}
	plan := func(v view, b *batch) error { return r.planApply(ctx, v, b, objs) }
	out := &registryv1.ApplyCatalogResponse{}
	if req.DryRun {
		if err := r.fresh(ctx); err != nil {
			return nil, err
		}
		if err := plan(cacheView{r}, r.newBatch()); err != nil {
			return nil, err
		}
	} else {
		rev, err := r.mutate(ctx, plan)
		if err != nil {
			return nil, err
		}
		out.Revision = rev
	}
	for _, a := range objs {
		out.Changes = append(out.Changes, a.change)
	}
	return out, nil
}

// unpack reads the objects, checks names, duplicates and the caller's permissions (each
// decision joins the returned context: the write carries them all).
func (r *Registry) unpack(ctx context.Context, req *registryv1.ApplyCatalogRequest) (context.Context, []*applied, error) {
	var vs apierr.Violations
	seen := map[string]int{}
	objs := make([]*applied, 0, len(req.Objects))
	for i, o := range req.Objects {
		rm := o.ProtoReflect()
		fd := rm.WhichOneof(rm.Descriptor().Oneofs().ByName("object"))
		if fd == nil {
			vs.Add(fmt.Sprintf("objects[%d]", i), "empty object", "空对象")
			continue
		}
		field := string(fd.Name())
		m := rm.Get(fd).Message().Interface()
		name := nameOf(m)
		at := fmt.Sprintf("objects[%d].%s.name", i, field)
		n, err := parseName(name)
		if err != nil || kindNames[field] != kindOfColl(n.coll) {
			vs.Add(at, fmt.Sprintf("%q is not a %s name", name, kindNames[field]), fmt.Sprintf("%q 不是有效的%s资源名", name, kindNames[field]))
			continue
		}
		if j, dup := seen[name]; dup {
			vs.Add(at, fmt.Sprintf("%s appears twice (also objects[%d])", name, j), fmt.Sprintf("%s 重复出现（另见 objects[%d]）", name, j))
			continue
		}
		seen[name] = i
		if o.Publish && field != "power" && field != "flow" {
			vs.Add(fmt.Sprintf("objects[%d].publish", i), "only powers and flows are published", "只有职权和流程可以发布")
		}
		objs = append(objs, &applied{index: i, kind: kindNames[field], field: field, desired: proto.Clone(m), publish: o.Publish})
	}
	if err := vs.Err(); err != nil {
		return nil, nil, err
	}
	decided := map[string]bool{}
	for _, a := range objs {
		n, _ := parseName(nameOf(a.desired))
		perm := "registry.catalog.write"
		switch a.field {
		case "org":
			if _, _, exists := (cacheView{r}).get(nameOf(a.desired)); !exists {
				// A new org is a platform-level act, whatever the caller holds in it.
				var err error
				if ctx, err = authz.RequirePlatform(ctx, "registry.orgs.create"); err != nil {
					return nil, nil, err
				}
			}
		case "conflict_declaration":
			perm = "registry.conflicts.write"
		case "power", "flow":
			if a.publish {
				perm = "registry.catalog.publish"
			}
		}
		if decided[n.org+"|"+perm] {
			continue
		}
		decided[n.org+"|"+perm] = true
		var err error
		if ctx, err = authz.Require(ctx, n.org, perm, nameOf(a.desired)); err != nil {
			return nil, nil, err
		}
	}
	return ctx, objs, nil
}

func kindOfColl(coll string) string {
	switch coll {
	case collOrgs:
		return "Org"
	case collUnits:
		return "Unit"
	case collPosts:
		return "Post"
	case collPeople:
		return "Person"
	case collAssignments:
		return "Assignment"
	case collConflicts:
		return "ConflictDeclaration"
	case collPowers:
		return "Power"
	case collFlows:
		return "Flow"
	}
	return ""
}

func (r *Registry) planApply(ctx context.Context, base view, b *batch, objs []*applied) error {
	now := timestamppb.New(r.now())
	ov := &overlayView{base: base, pending: map[string]proto.Message{}}
	// 1. What each object becomes.
	for _, a := range objs {
		name := nameOf(a.desired)
		cur, rev, ok := base.get(name)
		a.change = &registryv1.CatalogChange{Index: int32(a.index), Name: name, Kind: a.kind}
		if !ok {
			setTimes(a.desired, now, now)
			initPublication(a.desired)
			a.change.Action = registryv1.ChangeAction_CHANGE_ACTION_CREATE
		} else {
			next := proto.Clone(cur)
			for _, fd := range fieldsOf(a.desired) {
				if !isOutputOnly(a.desired, string(fd.Name())) {
					copyOrClear(next, a.desired, fd)
				}
			}
			a.cur, a.curRev = cur, rev
			if sameContent(next, cur) {
				a.change.Action = registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED
			} else {
				a.change.Action = registryv1.ChangeAction_CHANGE_ACTION_UPDATE
				a.change.Diff = diffLines(cur, next)
				setTimes(next, nil, now)
			}
			a.desired = next
		}
		ov.pending[name] = a.desired
	}
	for _, a := range objs {
		r.markUnpublished(ov, a.desired)
	}
	// 2. Validate what changes against the org as it will be (unchanged objects were
	// valid when written, and a change that breaks them is caught on the changed side).
	var vs apierr.Violations
	for _, a := range objs {
		if a.change.Action == registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED {
			continue
		}
		if err := r.validate(ov, b, a.desired, a.cur, fmt.Sprintf("objects[%d].%s.", a.index, a.field)); err != nil {
			if !mergeViolations(&vs, err) {
				return err
			}
		}
	}
	if err := vs.Err(); err != nil {
		return err
	}
	// 3. Publish powers, then flows (a flow needs its power published).
	for _, pass := range []string{"power", "flow"} {
		for _, a := range objs {
			if a.field != pass || !a.publish {
				continue
			}
			if err := r.planApplyPublish(ctx, ov, b, a); err != nil {
				return err
			}
		}
	}
	// 4. Writes. Objects created here may be referred to before they are put.
	for _, a := range objs {
		if a.change.Action != registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED || a.change.Published {
			b.names[nameOf(a.desired)] = true
		}
	}
	for _, a := range objs {
		if a.change.Action == registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED && !a.change.Published {
			continue
		}
		if err := b.put(a.desired, a.cur, a.curRev, false, fmt.Sprintf("objects[%d].%s.", a.index, a.field)); err != nil {
			return err
		}
		if a.revision != nil {
			if err := b.put(a.revision, nil, 0, false, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Registry) planApplyPublish(ctx context.Context, ov *overlayView, b *batch, a *applied) error {
	var (
		next     proto.Message
		revision proto.Message
		err      error
	)
	switch x := a.desired.(type) {
	case *registryv1.Power:
		if x.State == statePublished && !x.HasUnpublishedChanges {
			return nil
		}
		next, revision, err = r.planPublishPower(ctx, ov, b, x, "fenquanctl apply")
	case *registryv1.Flow:
		if x.State == statePublished && !x.HasUnpublishedChanges {
			return nil
		}
		next, revision, err = r.planPublishFlow(ctx, ov, b, x, "fenquanctl apply")
	}
	if err != nil {
		return fmt.Errorf("objects[%d]: %w", a.index, err)
	}
	a.desired, a.revision, a.change.Published = next, revision, true
	ov.pending[nameOf(next)] = next
	return nil
}

// mergeViolations adds an INVALID_ARGUMENT's field violations to vs; false for other errors.
func mergeViolations(vs *apierr.Violations, err error) bool {
	fvs, ok := apierr.ViolationsOf(err)
	if !ok {
		return false
	}
	for _, fv := range fvs {
		vs.AddViolation(fv)
	}
	return true
}

func fieldsOf(m proto.Message) []protoreflect.FieldDescriptor {
	fds := m.ProtoReflect().Descriptor().Fields()
	out := make([]protoreflect.FieldDescriptor, fds.Len())
	for i := range fds.Len() {
		out[i] = fds.Get(i)
	}
	return out
}

func isOutputOnly(m proto.Message, field string) bool {
	for _, f := range outputOnlyOf(m) {
		if f == field {
			return true
		}
	}
	return false
}

func copyOrClear(dst, src proto.Message, fd protoreflect.FieldDescriptor) {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	if !s.Has(fd) {
		d.Clear(fd)
		return
	}
	d.Set(fd, s.Get(fd))
}

// diffLines describes what an update changes, one line per top-level field.
func diffLines(cur, next proto.Message) []string {
	var out []string
	c, n := content(cur).ProtoReflect(), content(next).ProtoReflect()
	for _, fd := range fieldsOf(cur) {
		cv, nv := c.Get(fd), n.Get(fd)
		if c.Has(fd) == n.Has(fd) && (!c.Has(fd) || cv.Equal(nv)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", fd.Name(), short(c, fd), short(n, fd)))
	}
	return out
}

func short(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if !m.Has(fd) {
		return "(none)"
	}
	var s string
	switch {
	case fd.IsList():
		s = fmt.Sprintf("[%d items]", m.Get(fd).List().Len())
	case fd.Kind() == protoreflect.MessageKind:
		b, _ := protojson.Marshal(m.Get(fd).Message().Interface())
		s = string(b)
	case fd.Kind() == protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(m.Get(fd).Enum()); ev != nil {
			s = string(ev.Name())
		}
	default:
		s = fmt.Sprint(m.Get(fd).Interface())
	}
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "…"
	}
	return s
}
