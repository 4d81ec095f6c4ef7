package flowgraph_test

import (
	"slices"
	"strings"
	"testing"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/flowgraph"
	"github.com/fenquan/fenquan/services/registry/flowgraph/flowgraphtest"
)

func TestBuildWuhan(t *testing.T) {
	g, err := flowgraph.Build(flowgraphtest.Wuhan())
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got, want := g.TopoOrder(), []string{"start", "zcjh", "zgzr", "fgcz", "cz", "jwh", "lhhs", "yszb", "zfsh", "bfbl", "kjhs", "end"}; !slices.Equal(got, want) {
		t.Errorf("TopoOrder = %q, want %q", got, want)
	}
	if !g.IsGroup("lhhs") || g.IsGroup("zfsh") {
		t.Errorf("IsGroup(lhhs), IsGroup(zfsh) = %v, %v, want true, false", g.IsGroup("lhhs"), g.IsGroup("zfsh"))
	}
	if got, want := g.Members("lhhs"), []string{"ysc-hs", "gkc-hs", "jjz-hs"}; !slices.Equal(got, want) {
		t.Errorf("Members(lhhs) = %q, want %q", got, want)
	}
	for step, want := range map[string]string{"gkc-hs": "lhhs", "zfsh": "zfsh"} {
		if got := g.NodeOf(step); got != want {
			t.Errorf("NodeOf(%s) = %q, want %q", step, got, want)
		}
	}
	if got := g.Step("bfbl"); got == nil || !got.GetPayment() {
		t.Errorf("Step(bfbl) = %v, want the payment step", got)
	}
	if got := g.Group("lhhs"); got == nil || !got.GetVeto() {
		t.Errorf("Group(lhhs) = %v, want the veto group", got)
	}
	var got []string
	for _, e := range g.Out("fgcz") {
		got = append(got, e.To+"|"+e.Condition+"|"+e.Label)
	}
	if want := []string{"cz|amount >= 500000.0|50万元以上", "yszb||"}; !slices.Equal(got, want) {
		t.Errorf("Out(fgcz) = %q, want %q", got, want)
	}
	if e := g.Out("lhhs"); len(e) != 1 || e[0].Index != 9 {
		t.Errorf("Out(lhhs) = %+v, want transitions[9]", e)
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *registryv1.Flow)
		want string
	}{
		{"unknown target", func(f *registryv1.Flow) { f.Transitions[4].To = "cz2" }, `transitions[4].to: "cz2" is not a step or parallel group`},
		{"member step", func(f *registryv1.Flow) { f.Transitions[9].From = "ysc-hs" }, `transitions[9].from: step "ysc-hs" is a member of parallel group "lhhs"`},
		{"duplicate id", func(f *registryv1.Flow) { f.Steps[3].Id = "zgzr" }, `steps[3]: duplicate step id "zgzr"`},
		{"missing group", func(f *registryv1.Flow) { f.Steps[5].ParallelGroup = "x" }, `steps[5]: parallel group "x" does not exist`},
		{"cycle", func(f *registryv1.Flow) { f.Transitions[10].To = "fgcz" }, "has a cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowgraphtest.Wuhan()
			tt.edit(f)
			_, err := flowgraph.Build(f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	g, err := flowgraph.Build(flowgraphtest.Wuhan())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from string
		vars flowgraph.Vars
		want string
	}{
		{"start", flowgraph.Vars{}, "zcjh"},
		{"zcjh", flowgraph.Vars{}, "zgzr"},
		{"zcjh", flowgraph.Vars{Emergency: true}, "lhhs"},
		{"fgcz", flowgraph.Vars{Amount: 120_000}, "yszb"},
		{"fgcz", flowgraph.Vars{Amount: 499_999.99}, "yszb"},
		{"fgcz", flowgraph.Vars{Amount: 500_000}, "cz"},
		{"cz", flowgraph.Vars{Amount: 1_200_000}, "yszb"},
		{"cz", flowgraph.Vars{Amount: 5_000_000}, "jwh"},
		{"lhhs", flowgraph.Vars{Emergency: true}, "yszb"},
		{"kjhs", flowgraph.Vars{}, "end"},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			got, err := g.Next(tt.from, tt.vars)
			if err != nil || got != tt.want {
				t.Errorf("Next(%s, %+v) = %q, %v, want %q", tt.from, tt.vars, got, err, tt.want)
			}
		})
	}
	for _, from := range []string{"end", "nope", "gkc-hs"} {
		if got, err := g.Next(from, flowgraph.Vars{}); err == nil {
			t.Errorf("Next(%s) = %q, want an error", from, got)
		}
	}
}

func TestNextStallsWithoutDefault(t *testing.T) {
	f := flowgraphtest.Wuhan()
	f.Transitions[5].Condition = "amount < 100.0" // fgcz has no default branch any more
	g, err := flowgraph.Build(f)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := g.Next("fgcz", flowgraph.Vars{Amount: 200}); err == nil || !strings.Contains(err.Error(), `no transition out of "fgcz" holds`) {
		t.Errorf("Next = %q, %v, want a stall error naming fgcz", got, err)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *registryv1.Flow)
		want []string
	}{
		{"wuhan", func(*registryv1.Flow) {}, []string{"zcjh", "zgzr", "fgcz", "yszb", "zfsh", "bfbl", "kjhs"}},
		{"through the group", func(f *registryv1.Flow) {
			// The emergency branch becomes the default.
			f.Transitions[1], f.Transitions[2] = f.Transitions[2], f.Transitions[1]
		}, []string{"zcjh", "ysc-hs", "gkc-hs", "jjz-hs", "yszb", "zfsh", "bfbl", "kjhs"}},
		{"stops on a cycle", func(f *registryv1.Flow) { f.Transitions[11].To = "yszb" }, []string{"zcjh", "zgzr", "fgcz", "yszb", "zfsh"}},
		{"stops on a dangling reference", func(f *registryv1.Flow) { f.Transitions[5].To = "nope" }, []string{"zcjh", "zgzr", "fgcz"}},
		{"no transitions", func(f *registryv1.Flow) { f.Transitions = nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowgraphtest.Wuhan()
			tt.edit(f)
			if got := flowgraph.DefaultPath(f); !slices.Equal(got, tt.want) {
				t.Errorf("DefaultPath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmergency(t *testing.T) {
	f := flowgraphtest.Wuhan()
	before := flowgraphtest.Wuhan()
	ef, err := flowgraph.Emergency(f)
	if err != nil {
		t.Fatalf("Emergency: %v", err)
	}
	if !protoEqual(f, before) {
		t.Error("Emergency modified its input")
	}
	var got []string
	for _, tr := range ef.Flow.GetTransitions() {
		got = append(got, tr.GetFrom()+" → "+tr.GetTo()+" ["+tr.GetCondition()+"] "+tr.GetLabel())
	}
	want := []string{
		"start → zcjh [] ",
		"zcjh → lhhs [emergency] 绿色通道",
		"zcjh → fgcz [] ", // zgzr contracted
		"fgcz → jwh [(amount >= 500000.0) && (amount >= 5000000.0)] 50万元以上，500万元以上", // cz contracted, in cz's order
		"fgcz → yszb [amount >= 500000.0] 50万元以上",
		"fgcz → yszb [] ",
		"jwh → yszb [] ",
		"lhhs → yszb [] ",
		"yszb → zfsh [] ",
		"zfsh → bfbl [] ",
		"bfbl → kjhs [] ",
		"kjhs → end [] ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions:\n got %q\nwant %q", got, want)
	}
	var steps []string
	for _, s := range ef.Flow.GetSteps() {
		steps = append(steps, s.GetId())
	}
	if want := []string{"zcjh", "fgcz", "jwh", "ysc-hs", "gkc-hs", "jjz-hs", "yszb", "zfsh", "bfbl", "kjhs"}; !slices.Equal(steps, want) {
		t.Errorf("steps = %q, want %q", steps, want)
	}
	wantHours := map[string]int32{"zcjh": 4, "fgcz": 8, "jwh": 40, "ysc-hs": 8, "gkc-hs": 8, "jjz-hs": 8, "yszb": 8, "zfsh": 4, "bfbl": 4, "kjhs": 16}
	if len(ef.StepHours) != len(wantHours) {
		t.Errorf("StepHours = %v, want %v", ef.StepHours, wantHours)
	}
	for id, want := range wantHours {
		if got := ef.StepHours[id]; got != want {
			t.Errorf("StepHours[%s] = %d, want %d", id, got, want)
		}
	}
	// The result is itself a valid flow, and deriving it again changes nothing.
	if vs := flowgraph.Validate(ef.Flow, flowgraphtest.WuhanEnv(), wuhanOpts); vs.Len() != 0 {
		t.Errorf("Validate(emergency flow) got violations:%s", dump(vs))
	}
	again, err := flowgraph.Emergency(ef.Flow)
	if err != nil || !protoEqual(again.Flow, ef.Flow) {
		t.Errorf("Emergency(Emergency(f)) = %v, %v, want the same flow", again, err)
	}
	if _, err := flowgraph.Build(ef.Flow); err != nil {
		t.Errorf("Build(emergency flow): %v", err)
	}
}

func TestEmergencyRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *registryv1.Flow)
		want string
	}{
		{"no variant", func(f *registryv1.Flow) { f.Emergency = nil }, "no emergency variant"},
		{"unknown step", func(f *registryv1.Flow) { f.Emergency.SkipSteps = []string{"nope"} }, `skipped step "nope" does not exist`},
		{"member step", func(f *registryv1.Flow) { f.Emergency.SkipSteps = []string{"gkc-hs"} }, `skipped step "gkc-hs" is a member of parallel group "lhhs"`},
		{"self-loop", func(f *registryv1.Flow) {
			f.Transitions = slices.Insert(f.Transitions, 3, &registryv1.Transition{From: "zgzr", To: "zgzr", Condition: "false"})
		}, `skipped step "zgzr" has a transition to itself`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowgraphtest.Wuhan()
			tt.edit(f)
			if _, err := flowgraph.Emergency(f); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Emergency error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEmergencyAndsConditions(t *testing.T) {
	// u → s → v with conditions on both edges, and an empty one on either side.
	f := &registryv1.Flow{
		Steps: []*registryv1.FlowStep{{Id: "u", TimeLimitDays: 1}, {Id: "s", TimeLimitDays: 1}, {Id: "v", TimeLimitDays: 1}},
		Transitions: []*registryv1.Transition{
			{From: "start", To: "u"},
			{From: "u", To: "end", Condition: "fund == \"zx\""},
			{From: "u", To: "s", Condition: "amount > 1.0"},
			{From: "u", To: "v"},
			{From: "s", To: "v", Condition: "payee_is_person"},
			{From: "s", To: "end"},
			{From: "v", To: "end"},
		},
		Emergency: &registryv1.EmergencyVariant{SkipSteps: []string{"s"}},
	}
	ef, err := flowgraph.Emergency(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ef.Flow.GetTransitions() {
		got = append(got, tr.GetFrom()+"→"+tr.GetTo()+" "+tr.GetCondition())
	}
	want := []string{"start→u ", `u→end fund == "zx"`, "u→v (amount > 1.0) && (payee_is_person)", "u→end amount > 1.0", "u→v ", "v→end "}
	if !slices.Equal(got, want) {
		t.Errorf("transitions = %q, want %q", got, want)
	}
}
