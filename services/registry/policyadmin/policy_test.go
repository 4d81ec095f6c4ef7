package policyadmin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/store"
)

func TestProposeValidSet(t *testing.T) {
	e := newEnv(t)
	fs := files("A")
	ps := e.propose(e.alice(), fs, "raise nothing, retag")
	want := &pdp.Set{Files: fs}
	if ps.Name != "policySets/00000001" || ps.State != policyv1.PolicySet_STATE_PROPOSED || ps.Etag == "" ||
		ps.Digest != want.Digest() || ps.TestCount != 2 || ps.ProposedBy != "sub:alice" || ps.ProposeTime == nil ||
		ps.Note != "raise nothing, retag" || ps.ApprovedBy != "" {
		t.Fatalf("proposal = %+v", ps)
	}
	// Changed against the embedded default (nothing is published yet): only the data file.
	if !slices.Equal(ps.ChangedFiles, []string{"t/data.json"}) {
		t.Fatalf("changed files = %v", ps.ChangedFiles)
	}
	// Stored without name and etag, under the key every decision point reads.
	resp, err := e.cli.Get(context.Background(), pdp.SetsPrefix(e.root)+"00000001")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("stored set: %v %v", resp, err)
	}
	var st policyv1.PolicySet
	if err := proto.Unmarshal(resp.Kvs[0].Value, &st); err != nil || st.Name != "" || st.Etag != "" || len(st.Files) != 3 {
		t.Fatalf("stored = %+v, %v", &st, err)
	}
	if e.activation() != nil {
		t.Fatal("a proposal moved the active pointer")
	}
	// The next proposal takes the next id; a file added and one removed are changes too.
	fs2 := files("B")
	delete(fs2, "t/data.json")
	fs2["u/data.json"] = []byte(`{"tag": "B"}`)
	fs2["main/main.rego"] = []byte(strings.ReplaceAll(string(fs2["main/main.rego"]), "data.t.", "data.u."))
	fs2["main/main.rego"] = []byte(strings.Replace(string(fs2["main/main.rego"]), "input.amount > data.u.limit", "input.amount > 100", 1))
	fs2["main/main.rego"] = []byte(strings.ReplaceAll(string(fs2["main/main.rego"]), "data.u.limit]", "100]"))
	ps2 := e.propose(e.bob(), fs2, "move the tag")
	if ps2.Name != "policySets/00000002" || !slices.Equal(ps2.ChangedFiles, []string{"main/main.rego", "t/data.json", "u/data.json"}) {
		t.Fatalf("second proposal = %s %v", ps2.Name, ps2.ChangedFiles)
	}
	if got := e.get(ps.Name); !proto.Equal(got, ps) {
		t.Fatalf("get = %+v\nwant %+v", got, ps)
	}
}

func TestProposeInvalidSetIsRefused(t *testing.T) {
	e := newEnv(t)
	before := e.revision()

	noCompile := files("A")
	noCompile["main/extra.rego"] = []byte("package fenquan.main\n\nbroken if {\n\tundefined_thing\n}\n")
	_, err := e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: noCompile, Note: "broken"})
	wantRefusal(t, err, codes.InvalidArgument, "")
	vs := violations(err)
	if len(vs) == 0 || vs[0].Field != "files" || !strings.Contains(vs[0].Description, "compile") ||
		!strings.Contains(vs[0].Description, "undefined_thing") || !strings.Contains(vs[0].GetLocalizedMessage().GetMessage(), "编译失败") {
		t.Fatalf("compile refusal = %v", describe(err))
	}

	failing := files("A")
	failing["main/more_test.rego"] = []byte("package fenquan.more_test\n\ntest_one if {\n\t1 == 2\n}\n\ntest_two if {\n\t1 == 3\n}\n")
	_, err = e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: failing, Note: "failing tests"})
	wantRefusal(t, err, codes.InvalidArgument, "")
	vs = violations(err)
	if len(vs) != 2 || vs[1].Field != "files" || !strings.Contains(vs[1].GetLocalizedMessage().GetMessage(), "测试未通过") {
		t.Fatalf("test refusal = %v", describe(err))
	}
	for _, name := range []string{"test_one", "test_two"} {
		if !slices.ContainsFunc(vs, func(fv *errdetails.BadRequest_FieldViolation) bool { return strings.Contains(fv.Description, name) }) {
			t.Fatalf("test refusal does not name %s: %v", name, describe(err))
		}
	}

	unclean := files("A")
	unclean["t/../main/x.rego"] = unclean["main/main.rego"]
	_, err = e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: unclean, Note: "sneaky path"})
	wantRefusal(t, err, codes.InvalidArgument, "")
	if vs := violations(err); len(vs) != 1 || vs[0].Field != `files["t/../main/x.rego"]` {
		t.Fatalf("path refusal = %v", describe(err))
	}

	// The proto rules: a note is required, names end in a policy extension.
	_, err = e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: map[string][]byte{"main/x.txt": nil}})
	wantRefusal(t, err, codes.InvalidArgument, "")

	if e.revision() != before {
		t.Fatal("a refused proposal wrote to etcd")
	}
}

func TestProposeIdenticalToActiveIsRefused(t *testing.T) {
	e := newEnv(t)
	// Nothing published: the embedded default serves.
	_, err := e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: files("default"), Note: "same"})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_UNCHANGED")
	if !strings.Contains(message(err), "embedded default") || localized(err) == "" {
		t.Fatalf("refusal = %v / %q", describe(err), localized(err))
	}
	active := e.publish("A")
	before := e.revision()
	_, err = e.policy.ProposePolicySet(e.bob(), &policyv1.ProposePolicySetRequest{Files: files("A"), Note: "same again"})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_UNCHANGED")
	if !strings.Contains(message(err), active.Name) {
		t.Fatalf("refusal does not name the active set: %v", describe(err))
	}
	if e.revision() != before {
		t.Fatal("a refused proposal wrote to etcd")
	}
	// The default is a change once another set is active.
	if ps := e.propose(e.bob(), files("default"), "back to the default"); !slices.Equal(ps.ChangedFiles, []string{"t/data.json"}) {
		t.Fatalf("changed files = %v", ps.ChangedFiles)
	}
}

func TestProposerCannotApprove(t *testing.T) {
	e := newEnv(t)
	ps := e.propose(e.alice(), files("A"), "mine")
	before := e.revision()
	_, err := e.policy.ApprovePolicySet(e.alice(), &policyv1.ApprovePolicySetRequest{Name: ps.Name})
	wantRefusal(t, err, codes.FailedPrecondition, "FOUR_EYES")
	if msg := message(err); !strings.Contains(msg, "four-eyes") || !strings.Contains(msg, "sub:alice") {
		t.Fatalf("message = %q", msg)
	}
	if zh := localized(err); !strings.Contains(zh, "四眼原则") || !strings.Contains(zh, "提议人不得批准") {
		t.Fatalf("Chinese message = %q", zh)
	}
	if e.revision() != before {
		t.Fatal("the refused approval wrote to etcd")
	}
	e.wantState(ps.Name, policyv1.PolicySet_STATE_PROPOSED)
	if e.activation() != nil {
		t.Fatal("the refused approval moved the active pointer")
	}
}

func TestApproveActivates(t *testing.T) {
	e := newEnv(t)
	follower := e.follow("approval", "a1")
	if follower.Revision() != "embedded" {
		t.Fatalf("before publishing the follower decides with %q", follower.Revision())
	}
	p1 := e.propose(e.alice(), files("A"), "first")
	// A stale etag is refused and changes nothing.
	_, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: p1.Name, Etag: "1"})
	wantRefusal(t, err, codes.FailedPrecondition, "STALE_ETAG")

	a1, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: p1.Name, Etag: p1.Etag})
	if err != nil {
		t.Fatal(describe(err))
	}
	if a1.State != policyv1.PolicySet_STATE_ACTIVE || a1.ApprovedBy != "sub:bob" || a1.ApproveTime == nil || a1.ProposedBy != "sub:alice" || a1.Etag == p1.Etag {
		t.Fatalf("approved = %+v", a1)
	}
	act := e.activation()
	if act == nil || act.Set != p1.Name || act.ActivatedBy != "sub:bob" || act.Reason != "approve" || act.Time.IsZero() {
		t.Fatalf("active pointer = %+v", act)
	}
	eventually(t, "the follower to load "+p1.Name, func() bool { return follower.Revision() == p1.Name })
	d, err := follower.Decide(context.Background(), "t.act", map[string]any{"amount": 1})
	if err != nil || !d.Allowed || d.Output["tag"] != "A" || d.PolicyRevision != p1.Name {
		t.Fatalf("decision with the published set = %+v, %v", d, err)
	}

	// The next approval supersedes the first, in the same transaction as the pointer.
	p2 := e.propose(e.bob(), files("B"), "second")
	a2 := e.approve(e.alice(), p2.Name)
	if a2.ApprovedBy != "sub:alice" || a2.ProposedBy != "sub:bob" {
		t.Fatalf("second approval = %+v", a2)
	}
	e.wantState(p1.Name, policyv1.PolicySet_STATE_SUPERSEDED)
	e.wantState(p2.Name, policyv1.PolicySet_STATE_ACTIVE)
	if act := e.activation(); act.Set != p2.Name {
		t.Fatalf("active pointer = %+v", act)
	}
	eventually(t, "the follower to load "+p2.Name, func() bool { return follower.Revision() == p2.Name })

	// Only a proposal is approved.
	before := e.revision()
	for _, name := range []string{p1.Name, p2.Name} {
		_, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: name})
		wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STATE")
	}
	_, err = e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: "policySets/00000099"})
	wantRefusal(t, err, codes.NotFound, "")
	if e.revision() != before {
		t.Fatal("refused approvals wrote to etcd")
	}
}

// A stored proposal that no longer passes validation (the binary changed since) is not
// activated, and nothing is written.
func TestApproveRevalidates(t *testing.T) {
	e := newEnv(t)
	e.propose(e.alice(), files("A"), "about to rot") // takes id 1 and the sequence
	rotten := files("A")
	rotten["main/main_test.rego"] = []byte("package fenquan.main_test\n\ntest_now_fails if {\n\tfalse\n}\n")
	ps := &policyv1.PolicySet{State: policyv1.PolicySet_STATE_PROPOSED, Files: rotten, ProposedBy: "sub:alice", Note: "rotten"}
	if _, err := e.cli.Put(context.Background(), pdp.SetsPrefix(e.root)+"00000001", string(store.Marshal(ps))); err != nil {
		t.Fatal(err)
	}
	before := e.revision()
	_, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: "policySets/00000001"})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_INVALID")
	if !strings.Contains(message(err), "test_now_fails") || localized(err) == "" {
		t.Fatalf("refusal = %v", describe(err))
	}
	if e.revision() != before || e.activation() != nil {
		t.Fatal("an invalid set was activated")
	}
}

func TestReject(t *testing.T) {
	e := newEnv(t)
	ps := e.propose(e.alice(), files("A"), "to be rejected")
	rj, err := e.policy.RejectPolicySet(e.bob(), &policyv1.RejectPolicySetRequest{Name: ps.Name, Reason: "阈值依据不足"})
	if err != nil {
		t.Fatal(describe(err))
	}
	if rj.State != policyv1.PolicySet_STATE_REJECTED || rj.RejectedBy != "sub:bob" || rj.RejectReason != "阈值依据不足" || rj.ApprovedBy != "" {
		t.Fatalf("rejected = %+v", rj)
	}
	e.wantState(ps.Name, policyv1.PolicySet_STATE_REJECTED)
	before := e.revision()
	_, err = e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: ps.Name})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STATE")
	_, err = e.policy.RejectPolicySet(e.bob(), &policyv1.RejectPolicySetRequest{Name: ps.Name, Reason: "again"})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STATE")
	// A reason is required.
	_, err = e.policy.RejectPolicySet(e.bob(), &policyv1.RejectPolicySetRequest{Name: ps.Name})
	wantRefusal(t, err, codes.InvalidArgument, "")
	if e.revision() != before || e.activation() != nil {
		t.Fatal("refused calls wrote to etcd")
	}
	// An active set cannot be rejected; its proposer may withdraw a proposal.
	active := e.publish("B")
	_, err = e.policy.RejectPolicySet(e.alice(), &policyv1.RejectPolicySetRequest{Name: active.Name, Reason: "too late"})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STATE")
	own := e.propose(e.alice(), files("C"), "withdrawn")
	if _, err := e.policy.RejectPolicySet(e.alice(), &policyv1.RejectPolicySetRequest{Name: own.Name, Reason: "withdrawn"}); err != nil {
		t.Fatal(describe(err))
	}
}

func TestRollback(t *testing.T) {
	e := newEnv(t)
	follower := e.follow("approval", "a1")
	s1 := e.publish("A")
	s2 := e.publish("B")
	eventually(t, "the follower to load "+s2.Name, func() bool { return follower.Revision() == s2.Name })
	proposed := e.propose(e.alice(), files("C"), "pending")

	before := e.revision()
	for _, name := range []string{s2.Name, proposed.Name} {
		_, err := e.policy.RollbackPolicySet(e.alice(), &policyv1.RollbackPolicySetRequest{Name: name, Reason: "no"})
		wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STATE")
	}
	if e.revision() != before {
		t.Fatal("refused rollbacks wrote to etcd")
	}

	// One officer — here the proposer of s1 — may roll back to it alone.
	rb, err := e.policy.RollbackPolicySet(e.alice(), &policyv1.RollbackPolicySetRequest{Name: s1.Name, Reason: "B 的限额有误"})
	if err != nil {
		t.Fatal(describe(err))
	}
	if rb.State != policyv1.PolicySet_STATE_ACTIVE || rb.ApprovedBy != "sub:bob" {
		t.Fatalf("rolled back = %+v (approved_by keeps the original approver)", rb)
	}
	e.wantState(s2.Name, policyv1.PolicySet_STATE_SUPERSEDED)
	e.wantState(proposed.Name, policyv1.PolicySet_STATE_PROPOSED)
	act := e.activation()
	if act.Set != s1.Name || act.ActivatedBy != "sub:alice" || act.Reason != "rollback: B 的限额有误" {
		t.Fatalf("active pointer = %+v", act)
	}
	eventually(t, "the follower to roll back to "+s1.Name, func() bool { return follower.Revision() == s1.Name })
	// Exactly one set is active.
	sets := e.list(0)
	var activeSets []string
	for _, ps := range sets {
		if ps.State == policyv1.PolicySet_STATE_ACTIVE {
			activeSets = append(activeSets, ps.Name)
		}
	}
	if !slices.Equal(activeSets, []string{s1.Name}) {
		t.Fatalf("active sets = %v", activeSets)
	}
}

func (e *env) list(size int32) []*policyv1.PolicySet {
	e.t.Helper()
	var all []*policyv1.PolicySet
	tok := ""
	for {
		resp, err := e.policy.ListPolicySets(e.reader(), &policyv1.ListPolicySetsRequest{PageSize: size, PageToken: tok})
		if err != nil {
			e.t.Fatal(describe(err))
		}
		all = append(all, resp.PolicySets...)
		if resp.NextPageToken == "" {
			return all
		}
		if len(resp.PolicySets) != int(size) {
			e.t.Fatalf("a page of %d with a next page token (size %d)", len(resp.PolicySets), size)
		}
		tok = resp.NextPageToken
	}
}

func TestHistoryNewestFirst(t *testing.T) {
	e := newEnv(t)
	if sets := e.list(0); len(sets) != 0 {
		t.Fatalf("empty history = %v", sets)
	}
	for i := range 5 {
		e.propose(e.alice(), files(fmt.Sprint("H", i)), "history")
	}
	e.approve(e.bob(), "policySets/00000002")
	for _, size := range []int32{0, 2, 5} {
		sets := e.list(size)
		var names []string
		for _, ps := range sets {
			names = append(names, ps.Name)
			if len(ps.Files) != 0 || ps.Digest == "" || ps.Etag == "" || ps.TestCount != 2 || ps.ProposedBy != "sub:alice" {
				t.Fatalf("listed set = %+v", ps)
			}
		}
		want := []string{"policySets/00000005", "policySets/00000004", "policySets/00000003", "policySets/00000002", "policySets/00000001"}
		if !slices.Equal(names, want) {
			t.Fatalf("page size %d: %v", size, names)
		}
		if sets[3].State != policyv1.PolicySet_STATE_ACTIVE || sets[3].ApprovedBy != "sub:bob" {
			t.Fatalf("the approved set in the history = %+v", sets[3])
		}
	}
	// A token is bound to this list.
	_, err := e.policy.ListPolicySets(e.reader(), &policyv1.ListPolicySetsRequest{PageToken: "garbage"})
	wantRefusal(t, err, codes.InvalidArgument, "")
}

func TestStatusShowsInstances(t *testing.T) {
	e := newEnv(t)
	e.follow("approval", "a1")
	e.follow("risk", "r1")
	statusOf := func() *policyv1.PolicyStatus {
		st, err := e.policy.GetPolicyStatus(e.reader(), &policyv1.GetPolicyStatusRequest{})
		if err != nil {
			t.Fatal(describe(err))
		}
		return st
	}
	revisions := func(st *policyv1.PolicyStatus) string {
		var rs []string
		for _, is := range st.Instances {
			rs = append(rs, is.Service+"/"+is.Instance+"="+is.Revision)
		}
		return strings.Join(rs, " ")
	}
	eventually(t, "both instances to report", func() bool {
		return revisions(statusOf()) == "approval/a1=embedded risk/r1=embedded"
	})
	if st := statusOf(); st.Active != "" || st.Instances[0].UpdateTime == nil {
		t.Fatalf("status before publishing = %+v", st)
	}
	ps := e.publish("A")
	eventually(t, "both instances to load "+ps.Name, func() bool {
		return revisions(statusOf()) == "approval/a1="+ps.Name+" risk/r1="+ps.Name
	})
	if st := statusOf(); st.Active != ps.Name || st.Instances[1].RefusedRevision != "" {
		t.Fatalf("status = %+v", st)
	}
}

func TestCheckPolicy(t *testing.T) {
	e := newEnv(t)
	check := func(amount float64) *policyv1.CheckPolicyResponse {
		t.Helper()
		in, _ := structpb.NewStruct(map[string]any{"amount": amount})
		resp, err := e.policy.CheckPolicy(e.reader(), &policyv1.CheckPolicyRequest{Action: "t.act", Input: in})
		if err != nil {
			t.Fatal(describe(err))
		}
		return resp
	}
	before := e.revision()
	denied := check(5000)
	if denied.Allowed || len(denied.Violations) != 1 || denied.PolicyRevision != "embedded" || denied.DecisionId == "" {
		t.Fatalf("denied = %+v", denied)
	}
	v := denied.Violations[0]
	if v.Rule != "t.limit" || v.Zh != "金额 5000 超过限额 100" || v.En != "the amount 5000 exceeds the limit 100" || v.Basis != "default" {
		t.Fatalf("violation = %+v", v)
	}
	allowed := check(7)
	if !allowed.Allowed || len(allowed.Violations) != 0 || allowed.Output.AsMap()["tag"] != "default" {
		t.Fatalf("allowed = %+v", allowed)
	}
	if e.revision() != before {
		t.Fatal("a check wrote to etcd")
	}
	_, err := e.policy.CheckPolicy(e.reader(), &policyv1.CheckPolicyRequest{Action: "t.act"})
	wantRefusal(t, err, codes.InvalidArgument, "")
}

// Every state-changing method needs its permission; a refused call writes nothing.
func TestWithoutPermission(t *testing.T) {
	e := newEnv(t)
	s1 := e.publish("A")
	s2 := e.publish("B")
	p3 := e.propose(e.alice(), files("C"), "pending")
	nobody := e.as("nobody")
	in, _ := structpb.NewStruct(map[string]any{"amount": 1})
	calls := map[string]func(ctx context.Context) error{
		"propose": func(ctx context.Context) error {
			_, err := e.policy.ProposePolicySet(ctx, &policyv1.ProposePolicySetRequest{Files: files("D"), Note: "x"})
			return err
		},
		"approve": func(ctx context.Context) error {
			_, err := e.policy.ApprovePolicySet(ctx, &policyv1.ApprovePolicySetRequest{Name: p3.Name})
			return err
		},
		"reject": func(ctx context.Context) error {
			_, err := e.policy.RejectPolicySet(ctx, &policyv1.RejectPolicySetRequest{Name: p3.Name, Reason: "x"})
			return err
		},
		"rollback": func(ctx context.Context) error {
			_, err := e.policy.RollbackPolicySet(ctx, &policyv1.RollbackPolicySetRequest{Name: s1.Name, Reason: "x"})
			return err
		},
	}
	for name, call := range calls {
		for who, ctx := range map[string]context.Context{"reader": e.reader(), "nobody": nobody} {
			t.Run(name+"/"+who, func(t *testing.T) {
				before := e.revision()
				wantRefusal(t, call(ctx), codes.PermissionDenied, "POLICY_DENIED")
				if e.revision() != before {
					t.Fatal("the etcd revision moved")
				}
			})
		}
	}
	// Reading needs policy.read.
	for name, call := range map[string]func() error{
		"get": func() error {
			_, err := e.policy.GetPolicySet(nobody, &policyv1.GetPolicySetRequest{Name: s1.Name})
			return err
		},
		"list": func() error {
			_, err := e.policy.ListPolicySets(nobody, &policyv1.ListPolicySetsRequest{})
			return err
		},
		"status": func() error {
			_, err := e.policy.GetPolicyStatus(nobody, &policyv1.GetPolicyStatusRequest{})
			return err
		},
		"check": func() error {
			_, err := e.policy.CheckPolicy(nobody, &policyv1.CheckPolicyRequest{Action: "t.act", Input: in})
			return err
		},
	} {
		if err := call(); message(err) == "" || reason(err) != "POLICY_DENIED" {
			t.Fatalf("%s without policy.read: %v", name, describe(err))
		}
	}
	e.wantState(s2.Name, policyv1.PolicySet_STATE_ACTIVE)
	e.wantState(p3.Name, policyv1.PolicySet_STATE_PROPOSED)
}

// Concurrent proposals get distinct ids; concurrent approvals leave exactly one active
// set, the pointer naming it.
// A proposal made before another set was activated cannot be approved: it would silently
// undo that set.
func TestApproveRefusesAStaleBase(t *testing.T) {
	e := newEnv(t)
	first := e.propose(e.alice(), files("A"), "first")
	second := e.propose(e.alice(), files("B"), "second, made against the same base")
	e.approve(e.bob(), first.Name)
	before := e.revision()
	_, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: second.Name})
	wantRefusal(t, err, codes.FailedPrecondition, "POLICY_SET_STALE")
	if !strings.Contains(message(err), first.Name) || !strings.Contains(localized(err), "重新提议") {
		t.Fatalf("refusal = %q / %q", message(err), localized(err))
	}
	if e.revision() != before || e.activation().Set != first.Name {
		t.Fatal("the stale approval wrote")
	}
	// Proposed again on top of the first, it goes through.
	third := e.propose(e.alice(), files("B"), "second, rebased")
	if third.Base != first.Name {
		t.Fatalf("base = %q, want %q", third.Base, first.Name)
	}
	e.approve(e.bob(), third.Name)
}

func TestConcurrentProposalsAndApprovals(t *testing.T) {
	e := newEnv(t)
	const n = 8
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps, err := e.policy.ProposePolicySet(e.alice(), &policyv1.ProposePolicySetRequest{Files: files(fmt.Sprint("P", i)), Note: "concurrent"})
			if err != nil {
				t.Errorf("proposal %d: %v", i, describe(err))
				return
			}
			names[i] = ps.Name
		}()
	}
	wg.Wait()
	slices.Sort(names)
	for i, name := range names {
		if want := fmt.Sprintf("policySets/%08d", i+1); name != want {
			t.Fatalf("ids = %v", names)
		}
	}
	// All eight were proposed against the same base: whichever approval lands first wins,
	// and the others are refused as stale (approving them would undo the winner).
	var approved, stale atomic.Int32
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.policy.ApprovePolicySet(e.bob(), &policyv1.ApprovePolicySetRequest{Name: name})
			switch {
			case err == nil:
				approved.Add(1)
			case reason(err) == "POLICY_SET_STALE":
				stale.Add(1)
			default:
				t.Errorf("approve %s: %v", name, describe(err))
			}
		}()
	}
	wg.Wait()
	if approved.Load() != 1 || stale.Load() != n-1 {
		t.Fatalf("%d approved, %d stale; want 1 and %d", approved.Load(), stale.Load(), n-1)
	}
	var active []string
	for _, ps := range e.list(0) {
		switch ps.State {
		case policyv1.PolicySet_STATE_ACTIVE:
			active = append(active, ps.Name)
		case policyv1.PolicySet_STATE_PROPOSED:
		default:
			t.Fatalf("%s is %s after the approvals", ps.Name, ps.State)
		}
	}
	if len(active) != 1 || e.activation().Set != active[0] {
		t.Fatalf("active sets %v, pointer %+v", active, e.activation())
	}
}
