package registry

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/store"
)

// validate checks a resource about to be written against the org it lives in (beyond the
// per-field rules of the proto, which the server's interceptor already applied). prev is
// the stored version for an update. prefix is the request field of m ("unit.", or
// "objects[3].unit." in an apply). Checks that read other resources register what they
// read in b, so a concurrent change to those makes the commit retry instead of writing a
// state that was never validated.
func (r *Registry) validate(v view, b *batch, m, prev proto.Message, prefix string) error {
	var vs apierr.Violations
	n, err := parseName(nameOf(m))
	if err != nil {
		vs.Add(prefix+"name", err.Error(), "资源名称无效")
		return vs.Err()
	}
	org := n.org
	switch x := m.(type) {
	case *registryv1.Org:
	case *registryv1.Unit:
		r.checkUnit(v, b, x, org, prefix, &vs)
	case *registryv1.Post:
		checkRef(v, &vs, org, prefix+"unit", x.Unit, collUnits, "unit", "处室")
		if x.KeyPost && x.RotationPeriodMonths <= 0 {
			vs.Add(prefix+"rotation_period_months", "a key post needs a rotation period (轮岗) in months",
				"重点岗位必须设定轮岗期限（月）")
		}
	case *registryv1.Person:
		if x.Unit != "" {
			checkRef(v, &vs, org, prefix+"unit", x.Unit, collUnits, "unit", "处室")
		}
	case *registryv1.Assignment:
		r.checkAssignment(v, b, x, org, prefix, &vs)
	case *registryv1.ConflictDeclaration:
		checkRef(v, &vs, org, prefix+"person", x.Person, collPeople, "person", "人员")
		checkDates(&vs, prefix+"valid_from", x.ValidFrom, prefix+"valid_until", x.ValidUntil)
	case *registryv1.Power:
		if prev != nil && prev.(*registryv1.Power).State == registryv1.PublicationState_PUBLICATION_STATE_RETIRED {
			return fmt.Errorf("%s is retired and read-only: %w", x.Name, store.ErrFailedPrecondition)
		}
		checkPower(v, x, org, prefix, &vs)
	case *registryv1.Flow:
		power, ok := r.flowPower(v, x)
		if !ok {
			vs.Add(prefix+"name", "the flow's power does not exist", "流程所属职权不存在")
			break
		}
		if power.State == registryv1.PublicationState_PUBLICATION_STATE_RETIRED {
			return fmt.Errorf("%s is retired: its flows are read-only: %w", power.Name, store.ErrFailedPrecondition)
		}
		vs.Merge(prefix, flowgraph.Validate(x, flowEnv{v: v, org: org}, flowgraph.Options{Org: org, ActingUnit: power.ActingUnit}))
	}
	return vs.Err()
}

// checkRef adds a violation unless target is a resource of coll in org that exists.
func checkRef(v view, vs *apierr.Violations, org, field, target, coll, en, zh string) {
	n, err := parseName(target)
	if err != nil || n.coll != coll {
		vs.Add(field, fmt.Sprintf("%q is not a %s name (orgs/%s/%s/{id})", target, en, org, coll),
			fmt.Sprintf("%q 不是%s资源名（orgs/%s/%s/{id}）", target, zh, org, coll))
		return
	}
	if n.org != org {
		vs.Add(field, fmt.Sprintf("%s must be in org %s", target, org), fmt.Sprintf("%s 必须属于本单位 %s", target, org))
		return
	}
	if _, _, ok := v.get(target); !ok {
		vs.Add(field, fmt.Sprintf("%s %s does not exist", en, target), fmt.Sprintf("%s %s 不存在", zh, target))
	}
}

func (r *Registry) checkUnit(v view, b *batch, u *registryv1.Unit, org, prefix string, vs *apierr.Violations) {
	if u.Parent == "" {
		return
	}
	before := vs.Len()
	checkRef(v, vs, org, prefix+"parent", u.Parent, collUnits, "unit", "处室")
	if vs.Len() > before {
		return
	}
	// Walk up from the new parent: reaching this unit would close a cycle. Every ancestor
	// read is guarded, so two concurrent re-parentings cannot build a cycle together.
	seen := map[string]bool{}
	for cur := u.Parent; cur != ""; {
		if cur == u.Name {
			vs.Add(prefix+"parent", fmt.Sprintf("%s is below %s: the units would form a cycle", u.Parent, u.Name),
				fmt.Sprintf("%s 是 %s 的下级，不能作为其上级（会形成循环）", u.Parent, u.Name))
			return
		}
		if seen[cur] {
			return
		}
		seen[cur] = true
		m, rev, ok := v.get(cur)
		if !ok {
			return
		}
		b.expectRead(cur, rev)
		cur = m.(*registryv1.Unit).Parent
	}
}

func (r *Registry) checkAssignment(v view, b *batch, a *registryv1.Assignment, org, prefix string, vs *apierr.Violations) {
	before := vs.Len()
	checkRef(v, vs, org, prefix+"person", a.Person, collPeople, "person", "人员")
	checkRef(v, vs, org, prefix+"post", a.Post, collPosts, "post", "岗位")
	start, end := checkDates(vs, prefix+"start_date", a.StartDate, prefix+"end_date", a.EndDate)
	if vs.Len() > before {
		return
	}
	if p, _, _ := v.get(a.Person); p.(*registryv1.Person).Inactive && a.EndDate == "" {
		vs.Add(prefix+"person", a.Person+" has left (inactive) and cannot take a post", a.Person+" 已离职，不能任职")
	}
	// A post has at most one A and one B holder on any day, and nobody is both. Read the
	// guard first: if another assignment of this post commits meanwhile, ours fails the
	// guard and is checked again.
	guard := r.assignmentGuardKey(a.Post)
	b.bumpGuard(guard, v.guardRev(guard))
	for _, o := range v.assignmentsOfPost(a.Post) {
		if o.Name == a.Name {
			continue
		}
		os, oe, err := parseSpan(o.StartDate, o.EndDate)
		if err != nil || !overlaps(start, end, os, oe) {
			continue
		}
		switch {
		case o.AbRole == a.AbRole && o.Person != a.Person:
			vs.Add(prefix+"ab_role", fmt.Sprintf("%s already has %s as %s from %s (%s)", a.Post, o.Person, abLabel(o.AbRole), o.StartDate, o.Name),
				fmt.Sprintf("%s 在该期间已由 %s 担任%s（%s 起，%s）", a.Post, o.Person, abLabelZh(o.AbRole), o.StartDate, o.Name))
		case o.AbRole == a.AbRole:
			vs.Add(prefix+"start_date", fmt.Sprintf("%s already holds %s as %s in this period (%s)", a.Person, a.Post, abLabel(o.AbRole), o.Name),
				fmt.Sprintf("%s 在该期间已担任该岗位%s（%s）", a.Person, abLabelZh(o.AbRole), o.Name))
		case o.Person == a.Person:
			vs.Add(prefix+"ab_role", fmt.Sprintf("%s is already %s of %s: A and B must be two different people", a.Person, abLabel(o.AbRole), a.Post),
				fmt.Sprintf("%s 已是该岗位的%s：A角与B角必须是两个不同的人", a.Person, abLabelZh(o.AbRole)))
		}
	}
}

func abLabel(r registryv1.AbRole) string {
	if r == registryv1.AbRole_AB_ROLE_B {
		return "B (协办)"
	}
	return "A (主办)"
}

func abLabelZh(r registryv1.AbRole) string {
	if r == registryv1.AbRole_AB_ROLE_B {
		return "B角（协办）"
	}
	return "A角（主办）"
}

const dateLayout = "2006-01-02"

// checkDates parses a from/until pair ("until" may be empty: open-ended).
func checkDates(vs *apierr.Violations, fromField, from, untilField, until string) (time.Time, time.Time) {
	s, err := time.Parse(dateLayout, from)
	if err != nil {
		vs.Add(fromField, fmt.Sprintf("%q is not a date (YYYY-MM-DD)", from), fmt.Sprintf("%q 不是有效日期（YYYY-MM-DD）", from))
		return time.Time{}, time.Time{}
	}
	if until == "" {
		return s, time.Time{}
	}
	e, err := time.Parse(dateLayout, until)
	if err != nil {
		vs.Add(untilField, fmt.Sprintf("%q is not a date (YYYY-MM-DD)", until), fmt.Sprintf("%q 不是有效日期（YYYY-MM-DD）", until))
		return s, time.Time{}
	}
	if e.Before(s) {
		vs.Add(untilField, fmt.Sprintf("%s is before %s", until, from), fmt.Sprintf("结束日期 %s 早于开始日期 %s", until, from))
	}
	return s, e
}

func parseSpan(from, until string) (time.Time, time.Time, error) {
	s, err := time.Parse(dateLayout, from)
	if err != nil {
		return s, s, err
	}
	if until == "" {
		return s, time.Time{}, nil
	}
	e, err := time.Parse(dateLayout, until)
	return s, e, err
}

// overlaps tells whether two inclusive day spans meet; a zero end is open.
func overlaps(s1, e1, s2, e2 time.Time) bool {
	return (e2.IsZero() || !s1.After(e2)) && (e1.IsZero() || !s2.After(e1))
}

func checkPower(v view, p *registryv1.Power, org, prefix string, vs *apierr.Violations) {
	checkRef(v, vs, org, prefix+"acting_unit", p.ActingUnit, collUnits, "unit", "处室")
	if other := v.powerWithCode(org, p.Code); other != "" && other != p.Name {
		vs.Add(prefix+"code", fmt.Sprintf("code %s is already used by %s", p.Code, other),
			fmt.Sprintf("编码 %s 已被 %s 使用", p.Code, other))
	}
	db := p.DiscretionBenchmark
	if db == nil || len(db.Items) == 0 {
		return
	}
	if p.Category != registryv1.PowerCategory_POWER_CATEGORY_PENALTY {
		vs.Add(prefix+"discretion_benchmark", "a 裁量基准 belongs to 行政处罚 (penalty) powers only",
			"只有行政处罚类职权才能设置裁量基准")
		return
	}
	items := map[string]bool{}
	for i, it := range db.Items {
		f := fmt.Sprintf("%sdiscretion_benchmark.items[%d]", prefix, i)
		if items[it.Id] {
			vs.Add(f+".id", "duplicate item id "+it.Id, "裁量事项编号重复："+it.Id)
		}
		items[it.Id] = true
		tiers, codes := map[string]bool{}, map[string]string{}
		var prevMax float64
		for j, t := range it.Tiers {
			tf := fmt.Sprintf("%s.tiers[%d]", f, j)
			if tiers[t.Id] {
				vs.Add(tf+".id", "duplicate tier id "+t.Id, "裁量阶次编号重复："+t.Id)
			}
			tiers[t.Id] = true
			if t.MinAmount > t.MaxAmount {
				vs.Add(tf+".max_amount", fmt.Sprintf("tier %s: the maximum %.2f is below the minimum %.2f", t.Id, t.MaxAmount, t.MinAmount),
					fmt.Sprintf("阶次 %s（%s）：上限 %.2f 低于下限 %.2f", t.Id, t.DisplayName, t.MaxAmount, t.MinAmount))
			}
			if j > 0 && t.MaxAmount < prevMax {
				vs.Add(tf+".max_amount", fmt.Sprintf("tier %s: tiers go from the lightest to the heaviest, but its maximum is below the previous tier's", t.Id),
					fmt.Sprintf("阶次 %s（%s）：阶次应由轻到重排列，其上限低于前一阶次", t.Id, t.DisplayName))
			}
			prevMax = t.MaxAmount
			for k, c := range t.CircumstanceCodes {
				if other, dup := codes[c]; dup {
					vs.Add(fmt.Sprintf("%s.circumstance_codes[%d]", tf, k), fmt.Sprintf("circumstance code %s already selects tier %s", c, other),
						fmt.Sprintf("情节代码 %s 已用于阶次 %s", c, other))
				}
				codes[c] = t.Id
			}
		}
	}
}

// flowPower returns the power a flow belongs to.
func (r *Registry) flowPower(v view, f *registryv1.Flow) (*registryv1.Power, bool) {
	n, err := parseName(f.Name)
	if err != nil || n.coll != collFlows {
		return nil, false
	}
	m, _, ok := v.get(childName(n.org, collPowers, n.ids[0]))
	if !ok {
		return nil, false
	}
	return m.(*registryv1.Power), true
}

// flowEnv answers the flow validator's questions from a view.
type flowEnv struct {
	v   view
	org string
}

func (e flowEnv) PostExists(name string) bool {
	m, _, ok := e.v.get(name)
	_, isPost := m.(*registryv1.Post)
	return ok && isPost && sameOrg(name, e.org)
}

func (e flowEnv) UnitExists(name string) bool {
	m, _, ok := e.v.get(name)
	_, isUnit := m.(*registryv1.Unit)
	return ok && isUnit && sameOrg(name, e.org)
}

func (e flowEnv) RankHeld(rank registryv1.Rank, unit string) bool {
	if unit == "" {
		unit = orgName(e.org)
	}
	return len(e.v.postsWithRank(unit, rank)) > 0
}

// expectRead guards a resource read during validation (unless the batch writes it).
func (b *batch) expectRead(name string, rev int64) {
	if b.names[name] || slices.Contains(b.reads, name) {
		return
	}
	n, err := parseName(name)
	if err != nil {
		return
	}
	b.reads = append(b.reads, name)
	b.txn.ExpectRevision(b.r.key(n), rev, name)
}
