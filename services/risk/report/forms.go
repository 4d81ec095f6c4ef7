package report

// The layouts of the five forms. The seed plans name the forms but do not reproduce their
// tables, so the headings are the seeds' own words for each thing a form records:
//
//   - 001 (the university): 部门廉政风险识别防控表 (附表1) and 个人廉政风险识别防控表
//     (附表2), filled in after the 风险点 have been graded; the 三个层次 (岗位、科室、单位);
//     the 四类风险 (岗位职责、业务流程、制度机制、外部环境); 风险等级 一、二、三级;
//     防控措施 in 前期预防、中期监控、后期处置; 风险表现; 责任人.
//   - 004 (the market regulator): 单位、部门和个人廉政风险点和防范措施登记表 (附件3、4、5);
//     风险类别 (五类); 风险发生的概率 and 危害程度 giving the 风险指数 and the 风险等级;
//     each grade 由…进行监控 (the 监控责任人); 防范措施 in 前期预防、中期监控、后期处置;
//     处(科)室.
//   - 000 and 003: 职权名称 (职权目录), 风险内容 (修正风险内容, 调整廉政风险内容), the
//     流程's 风险环节 (002: 风险环节及风险点), 在岗人员 (000).

type field int

const (
	fSeq            field = iota // 序号
	fLevel                       // 层次: 岗位 | 处室 | 领导班子
	fUnit                        // 部门（处室）
	fPost                        // 岗位
	fPeople                      // 在岗人员
	fPowers                      // 职权名称
	fSteps                       // 风险环节
	fTitle                       // 风险点
	fDescription                 // 风险内容
	fManifestations              // 风险表现
	fKind                        // 风险类别
	fLikelihood                  // 发生概率
	fImpact                      // 危害程度
	fScore                       // 风险指数
	fGrade                       // 风险等级
	fPrevention                  // 前期预防
	fMonitoring                  // 中期监控
	fDisposal                    // 后期处置
	fOwner                       // 责任人 / 监控责任人
)

// column is one column of a form; group is the heading it sits under in the first heading
// row ("" for a column whose heading spans both heading rows).
type column struct {
	group string
	head  string
	field field
	width float64
}

type metaField int

const (
	mOrg metaField = iota
	mUnit
	mPerson
	mPost
	mYear
	mDate
)

type metaItem struct {
	label string
	field metaField
}

type layout struct {
	title string
	annex string
	meta  []metaItem
	cols  []column
}

// Column widths, in Excel's character units (a Chinese character is about two).
const (
	wSeq     = 6
	wShort   = 9
	wName    = 14
	wText    = 26
	wLong    = 30
	wMeasure = 40
)

func col(head string, f field, w float64) column { return column{head: head, field: f, width: w} }

// measureCols are the three phases under one group heading: 防控措施 in the university's
// forms, 防范措施 in the market regulator's.
func measureCols(group string) []column {
	return []column{
		{group: group, head: PhasePrevention, field: fPrevention, width: wMeasure},
		{group: group, head: PhaseMonitoring, field: fMonitoring, width: wMeasure},
		{group: group, head: PhaseDisposal, field: fDisposal, width: wMeasure},
	}
}

func cols(parts ...[]column) []column {
	var out []column
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	metaOrg      = metaItem{"单位", mOrg}
	metaDept     = metaItem{"部门", mUnit}
	metaDivision = metaItem{"部门（处室）", mUnit}
	metaPerson   = metaItem{"姓名", mPerson}
	metaPost     = metaItem{"岗位", mPost}
	metaYear     = metaItem{"年度", mYear}
	metaDate     = metaItem{"填表日期", mDate}
)

// identification is the body shared by the university's 识别防控表 after the columns that
// say where the risk sits.
func identification() []column {
	return cols([]column{
		col("职权名称", fPowers, wName),
		col("风险环节", fSteps, wName),
		col("风险点", fTitle, wText),
		col("风险内容", fDescription, wLong),
		col("风险表现", fManifestations, wText),
		col("风险类别", fKind, wShort),
		col("风险等级", fGrade, wShort),
	}, measureCols("防控措施"), []column{col("责任人", fOwner, wName)})
}

// registration is the body shared by the market regulator's 登记表 after the columns that
// say where the risk sits.
func registration() []column {
	return cols([]column{
		col("职权名称", fPowers, wName),
		col("风险环节", fSteps, wName),
		col("风险点", fTitle, wText),
		col("风险内容", fDescription, wLong),
		col("风险表现", fManifestations, wText),
		col("风险类别", fKind, wShort),
		col("发生概率", fLikelihood, wShort),
		col("危害程度", fImpact, wShort),
		col("风险指数", fScore, wShort),
		col("风险等级", fGrade, wShort),
	}, measureCols("防范措施"), []column{col("监控责任人", fOwner, wName)})
}

var layouts = map[Form]*layout{
	FormDepartment: {
		title: "部门廉政风险识别防控表",
		annex: "附表1",
		meta:  []metaItem{metaOrg, metaDept, metaYear, metaDate},
		cols: cols([]column{
			col("序号", fSeq, wSeq),
			col("层次", fLevel, wShort),
			col("岗位", fPost, wName),
			col("在岗人员", fPeople, wName),
		}, identification()),
	},
	FormPersonal: {
		title: "个人廉政风险识别防控表",
		annex: "附表2",
		meta:  []metaItem{metaOrg, metaDept, metaPerson, metaPost, metaYear, metaDate},
		cols: cols([]column{
			col("序号", fSeq, wSeq),
			col("岗位", fPost, wName),
		}, identification()),
	},
	FormUnitRegistration: {
		title: "单位廉政风险点登记表",
		annex: "附件3",
		meta:  []metaItem{metaOrg, metaYear, metaDate},
		cols: cols([]column{
			col("序号", fSeq, wSeq),
			col("部门（处室）", fUnit, wName),
			col("层次", fLevel, wShort),
			col("岗位", fPost, wName),
		}, registration()),
	},
	FormDepartmentRegistration: {
		title: "部门（处室）廉政风险点登记表",
		annex: "附件4",
		meta:  []metaItem{metaOrg, metaDivision, metaYear, metaDate},
		cols: cols([]column{
			col("序号", fSeq, wSeq),
			col("层次", fLevel, wShort),
			col("岗位", fPost, wName),
			col("在岗人员", fPeople, wName),
		}, registration()),
	},
	FormPersonRegistration: {
		title: "个人（岗位）廉政风险点登记表",
		annex: "附件5",
		meta:  []metaItem{metaOrg, metaDivision, metaPerson, metaPost, metaYear, metaDate},
		cols: cols([]column{
			col("序号", fSeq, wSeq),
			col("岗位", fPost, wName),
		}, registration()),
	},
}

func layoutOf(f Form) *layout { return layouts[f] }

// Headings returns the form's column headings as the CSV's heading row has them: a column
// under a group heading is written "防控措施（前期预防）". The XLSX has the same columns
// in two heading rows.
func Headings(f Form) []string {
	l := layoutOf(f)
	if l == nil {
		return nil
	}
	out := make([]string, len(l.cols))
	for i, c := range l.cols {
		out[i] = c.flatHead()
	}
	return out
}

func (c column) flatHead() string {
	if c.group == "" {
		return c.head
	}
	return c.group + "（" + c.head + "）"
}
