package diagram_test

import (
	"fmt"
	"os"
	"testing"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/diagram"
)

func TestScratch(t *testing.T) {
	f := &registryv1.Flow{DisplayName: "政府采购（多分支）"}
	add := func(id, name, group string) {
		f.Steps = append(f.Steps, &registryv1.FlowStep{Id: id, DisplayName: name, TimeLimitDays: 2, ParallelGroup: group,
			Actor: &registryv1.FlowStep_Post{Post: "orgs/x/posts/" + id}})
	}
	edge := func(from, to, cond, label string) {
		f.Transitions = append(f.Transitions, &registryv1.Transition{From: from, To: to, Condition: cond, Label: label})
	}
	add("sq", "采购申请", "")
	for i := 1; i <= 5; i++ {
		add(fmt.Sprintf("b%d", i), fmt.Sprintf("方式%d审核", i), "")
	}
	add("p1", "专家甲评审", "zj")
	add("p2", "专家乙评审", "zj")
	add("qd", "确定供应商并签订采购合同（含公示期满无异议确认）", "")
	f.ParallelGroups = []*registryv1.ParallelGroup{{Id: "zj", DisplayName: "专家评审委员会评审", Mode: registryv1.ParallelMode_PARALLEL_MODE_ANY}}
	edge("start", "sq", "", "")
	for i := 1; i <= 4; i++ {
		edge("sq", fmt.Sprintf("b%d", i), fmt.Sprintf("amount > %d.0", i*1000), fmt.Sprintf("方式%d", i))
	}
	edge("sq", "b5", "", "")
	for i := 1; i <= 5; i++ {
		if i%2 == 0 {
			edge(fmt.Sprintf("b%d", i), "zj", "", "")
		} else {
			edge(fmt.Sprintf("b%d", i), "qd", "", "")
		}
	}
	edge("zj", "qd", "", "")
	edge("qd", "end", "", "")
	for name, o := range map[string]diagram.Options{"scratch": {}, "scratch-public": {Public: true}} {
		b, err := diagram.SVG(f, o)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("/tmp/fq/"+name+".svg", b, 0o644)
	}
}
