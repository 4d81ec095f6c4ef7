package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Form is one of the users' own register layouts. The zero value is no form, so a caller
// that forgets to choose one gets ErrUnknownForm rather than a department form.
type Form int

const (
	// FormDepartment is the 部门廉政风险识别防控表 (附表1 of the university's plan).
	FormDepartment Form = iota + 1
	// FormPersonal is the 个人廉政风险识别防控表 (附表2 of the university's plan).
	FormPersonal
	// FormUnitRegistration is the unit's registration form (附件3 of the market
	// regulator's plan).
	FormUnitRegistration
	// FormDepartmentRegistration is the department's (处室) registration form (附件4).
	FormDepartmentRegistration
	// FormPersonRegistration is the person's (岗位) registration form (附件5).
	FormPersonRegistration
)

var (
	// ErrUnknownForm is returned for a Form outside the constants above.
	ErrUnknownForm = errors.New("report: unknown form")
	// ErrUnknownPhase is returned for a measure whose Phase is not 前期预防, 中期监控 or
	// 后期处置: a misfiled measure in a register that is reported upward is worse than no
	// export.
	ErrUnknownPhase = errors.New("report: unknown measure phase")
)

// Title is the form's Chinese title, as printed in its title row.
func (f Form) Title() string {
	if l := layoutOf(f); l != nil {
		return l.title
	}
	return ""
}

// Annex is the attachment number the seed plans give the form (附表1, 附表2, 附件3 …), for
// file names and covering letters.
func (f Form) Annex() string {
	if l := layoutOf(f); l != nil {
		return l.annex
	}
	return ""
}

func (f Form) String() string {
	if t := f.Title(); t != "" {
		return t
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// Meta is what the form's meta row says about who filled it in.
type Meta struct {
	OrgName    string // 单位
	UnitName   string // 部门 / 部门（处室）
	PersonName string // 姓名 (personal forms)
	PostName   string // 岗位 (personal forms)
	Campaign   string // the review campaign; written to the workbook's properties
	Year       int    // 年度; 0 leaves it blank
	Date       string // 填表日期
}

// The three phases of a measure (前期预防 / 中期监控 / 后期处置), as Measure.Phase spells them.
const (
	PhasePrevention = "前期预防"
	PhaseMonitoring = "中期监控"
	PhaseDisposal   = "后期处置"
)

// Measure is one prevention and control measure (防控措施) of a risk point.
type Measure struct {
	Phase       string // PhasePrevention | PhaseMonitoring | PhaseDisposal
	Text        string
	Responsible string // 责任人
	Frequency   string // 频次, e.g. 每季度
	Due         string // 时限
	Status      string // 落实情况, e.g. 已落实
}

// Row is one risk point (廉政风险点) of the register, with display names already resolved.
type Row struct {
	Level          string // 岗位 | 处室 | 领导班子
	Unit           string // the 处室 (or 股室) the risk point is in
	Scope          string // the post or unit the risk point sits on
	Post           string // the post, for 岗位-level risk points
	People         string // the post's holders, joined
	Powers         []string
	Steps          []string
	Kind           string // 风险类别
	Title          string // 风险点
	Description    string // 风险内容
	Manifestations string // 风险表现
	PastCases      string // 过往案例: no seed form has a column for it; not written
	Likelihood     int    // 发生概率 (可能性), 1..5; 0 when not assessed
	Impact         int    // 危害程度, 1..5; 0 when not assessed
	Score          int    // 风险指数
	Grade          string // 高 中 低
	LevelLabel     string // 一级 二级 三级 (the org's convention)
	Owner          string // who owns and monitors the risk by its grade
	Measures       []Measure
	Version        int // the register version: not a column of the users' forms; not written
}

// maxCellUnits is Excel's limit on the text of one cell, in UTF-16 code units.
const maxCellUnits = 32767

// truncatedMark ends a cell whose text did not fit, so a reader knows it is incomplete
// (the CSV carries the whole text).
const truncatedMark = "…（超出单元格长度，已截断）"

// fitCell cuts s to Excel's cell limit, marking the cut. Excelize would cut silently.
func fitCell(s string) string {
	if len(s) <= maxCellUnits { // bytes ≥ UTF-16 units, so this is the common fast path
		return s
	}
	room := maxCellUnits - utf16Len(truncatedMark)
	units := 0
	for i, r := range s {
		n := 1
		if r > 0xFFFF {
			n = 2
		}
		if units+n > room {
			if units+utf16Len(s[i:]) <= maxCellUnits {
				return s
			}
			return s[:i] + truncatedMark
		}
		units += n
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// phaseIndex maps a measure's phase to its column (0, 1, 2).
func phaseIndex(p string) (int, bool) {
	switch strings.TrimSpace(p) {
	case PhasePrevention:
		return 0, true
	case PhaseMonitoring:
		return 1, true
	case PhaseDisposal:
		return 2, true
	}
	return 0, false
}

// splitMeasures renders the measures of each phase as numbered lines ("1. …\n2. …"), with
// each measure's 责任人, 频次, 时限 and 落实情况 after it where they are known. b is reused.
func splitMeasures(b *strings.Builder, row int, ms []Measure) (out [3]string, err error) {
	var counts [3]int
	for i := range ms {
		p, ok := phaseIndex(ms[i].Phase)
		if !ok {
			return out, fmt.Errorf("%w: row %d, measure %d: %q", ErrUnknownPhase, row, i+1, ms[i].Phase)
		}
		counts[p]++
	}
	for p := range 3 {
		if counts[p] == 0 {
			continue
		}
		b.Reset()
		n := 0
		for i := range ms {
			if q, _ := phaseIndex(ms[i].Phase); q != p {
				continue
			}
			n++
			if n > 1 {
				b.WriteByte('\n')
			}
			writeMeasure(b, n, &ms[i])
		}
		out[p] = b.String()
	}
	return out, nil
}

func writeMeasure(b *strings.Builder, n int, m *Measure) {
	b.WriteString(strconv.Itoa(n))
	b.WriteString(". ")
	b.WriteString(strings.TrimSpace(m.Text))
	sep := "（"
	for _, kv := range [...][2]string{
		{"责任人", m.Responsible},
		{"频次", m.Frequency},
		{"时限", m.Due},
		{"落实情况", m.Status},
	} {
		if kv[1] == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(kv[0])
		b.WriteString("：")
		b.WriteString(kv[1])
		sep = "；"
	}
	if sep != "（" {
		b.WriteString("）")
	}
}

// gradeText is the 风险等级 cell: the org's level label and the grade, "二级（中）", or
// whichever of the two is known (orgs grade by 一/二/三级 or by 高/中/低).
func gradeText(r *Row) string {
	switch {
	case r.LevelLabel != "" && r.Grade != "":
		return r.LevelLabel + "（" + r.Grade + "）"
	case r.LevelLabel != "":
		return r.LevelLabel
	}
	return r.Grade
}

// joinNames joins display names with the enumeration comma 、.
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names, "、")
}

// cellValue is one body cell: text, or a number when num is set (0 is left blank).
type cellValue struct {
	text string
	n    int
	num  bool
}

// values fills vals with the body cells of row r (sequence number seq) for layout l.
func (l *layout) values(vals []cellValue, seq int, r *Row, b *strings.Builder) error {
	ms, err := splitMeasures(b, seq, r.Measures)
	if err != nil {
		return err
	}
	for i, c := range l.cols {
		var v cellValue
		switch c.field {
		case fSeq:
			v = cellValue{n: seq, num: true}
		case fLevel:
			v.text = r.Level
		case fUnit:
			v.text = r.Unit
		case fPost:
			v.text = r.Post
			if v.text == "" && r.Level == "岗位" {
				v.text = r.Scope
			}
		case fPeople:
			v.text = r.People
		case fPowers:
			v.text = joinNames(r.Powers)
		case fSteps:
			v.text = joinNames(r.Steps)
		case fTitle:
			v.text = r.Title
		case fDescription:
			v.text = r.Description
		case fManifestations:
			v.text = r.Manifestations
		case fKind:
			v.text = r.Kind
		case fLikelihood:
			v = cellValue{n: r.Likelihood, num: true}
		case fImpact:
			v = cellValue{n: r.Impact, num: true}
		case fScore:
			v = cellValue{n: r.Score, num: true}
		case fGrade:
			v.text = gradeText(r)
		case fPrevention:
			v.text = ms[0]
		case fMonitoring:
			v.text = ms[1]
		case fDisposal:
			v.text = ms[2]
		case fOwner:
			v.text = r.Owner
		}
		vals[i] = v
	}
	return nil
}

// metaItems are the "label：value" cells of the meta row.
func (l *layout) metaItems(m Meta) []string {
	out := make([]string, 0, len(l.meta))
	for _, f := range l.meta {
		var v string
		switch f.field {
		case mOrg:
			v = m.OrgName
		case mUnit:
			v = m.UnitName
		case mPerson:
			v = m.PersonName
		case mPost:
			v = m.PostName
		case mYear:
			if m.Year != 0 {
				v = strconv.Itoa(m.Year)
			}
		case mDate:
			v = m.Date
		}
		out = append(out, f.label+"："+v)
	}
	return out
}

// validUTF8 replaces invalid bytes, which would make the XLSX unreadable.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
