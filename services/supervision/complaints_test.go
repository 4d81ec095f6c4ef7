package supervision_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// A complaint filed with no login answers a receipt code that follows it and says nothing
// else; the discipline office assigns, investigates, links and concludes it; two
// substantiated complaints on a key post in a year raise a 廉政风险黄牌 on the post.
func TestComplaints(t *testing.T) {
	e := newEnv(t)
	cl := supervisionv1.NewComplaintServiceClient(e.supConn)
	anon := context.Background()
	file := func(text string) string {
		t.Helper()
		r, err := cl.SubmitComplaint(anon, &supervisionv1.SubmitComplaintRequest{Parent: "orgs/cz", Text: text, About: "国库处支付审核岗", Contact: "13800000000"})
		if err != nil {
			t.Fatalf("submit: %s", describe(err))
		}
		return r.ReceiptCode
	}
	code1 := file("国库处支付审核岗高某对某建设公司的支付申请随意加快审核，疑似收受好处。")
	code2 := file("国库处支付审核岗对我单位的支付申请无故拖延，暗示需要“意思意思”。")
	if code1 == code2 || len(code1) != 20 {
		t.Fatalf("receipt codes %q %q", code1, code2)
	}
	st, err := cl.GetComplaintStatus(anon, &supervisionv1.GetComplaintStatusRequest{ReceiptCode: code1})
	if err != nil || st.State != supervisionv1.ComplaintState_COMPLAINT_STATE_RECEIVED || st.Outcome != "" || st.Reply != "" {
		t.Fatalf("status: %v %s", st, describe(err))
	}
	_, err = cl.GetComplaintStatus(anon, &supervisionv1.GetComplaintStatusRequest{ReceiptCode: "AAAAAAAAAAAAAAAAAAAA"})
	wantReason(t, err, codes.NotFound, "NOT_FOUND")
	_, err = cl.GetComplaintStatus(anon, &supervisionv1.GetComplaintStatusRequest{ReceiptCode: "not-a-code"})
	wantReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	_, err = cl.SubmitComplaint(anon, &supervisionv1.SubmitComplaintRequest{Parent: "orgs/nowhere", Text: "一个不存在的单位的举报内容"})
	wantReason(t, err, codes.NotFound, "NOT_FOUND")
	_, err = cl.SubmitComplaint(anon, &supervisionv1.SubmitComplaintRequest{Parent: "orgs/cz", Text: "太短"})
	wantReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")

	// Staff without the complaint permission see nothing; the discipline office sees both.
	_, err = cl.ListComplaints(e.person("he"), &supervisionv1.ListComplaintsRequest{Parent: "orgs/cz"})
	wantReason(t, err, codes.PermissionDenied, "POLICY_DENIED")
	office := e.as("xu", "cz:discipline-officer")
	list, err := cl.ListComplaints(office, &supervisionv1.ListComplaintsRequest{Parent: "orgs/cz"})
	if err != nil || list.TotalSize != 2 {
		t.Fatalf("list: %v %s", list, describe(err))
	}
	for _, c := range list.Complaints {
		if strings.Contains(c.Name, code1) || strings.Contains(c.Name, code2) {
			t.Fatalf("a complaint's name holds its receipt code: %s", c.Name)
		}
	}
	conclude := func(name string, substantiated bool) *supervisionv1.Complaint {
		t.Helper()
		act := func(req *supervisionv1.ActOnComplaintRequest) *supervisionv1.Complaint {
			t.Helper()
			req.Name, req.RequestId = name, e.rid()
			c, err := cl.ActOnComplaint(office, req)
			if err != nil {
				t.Fatalf("%s: %s", req.Action, describe(err))
			}
			return c
		}
		act(&supervisionv1.ActOnComplaintRequest{Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_ASSIGN, Assignee: pn("song")})
		act(&supervisionv1.ActOnComplaintRequest{Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_INVESTIGATE, Text: "调阅支付记录，约谈相关人员"})
		act(&supervisionv1.ActOnComplaintRequest{Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_LINK, Posts: []string{"orgs/cz/posts/gkc-zfsh"}, People: []string{pn("gao")}})
		return act(&supervisionv1.ActOnComplaintRequest{Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_CONCLUDE, Substantiated: substantiated,
			Text: "经查，反映问题基本属实。", Reply: "您反映的问题已查实，已按规定处理。感谢您的监督。"})
	}
	first := list.Complaints[0].Name
	// Out of order, and by the person complained about, it is refused.
	_, err = cl.ActOnComplaint(office, &supervisionv1.ActOnComplaintRequest{Name: first, Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_CONCLUDE, Text: "x", Reply: "y", RequestId: e.rid()})
	wantRule(t, err, "oversight.transition")
	// Nobody links themselves to a complaint they handle.
	_, err = cl.ActOnComplaint(office, &supervisionv1.ActOnComplaintRequest{Name: first, Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_LINK, People: []string{pn("xu")}, RequestId: e.rid()})
	wantRule(t, err, "oversight.self_link")
	c := conclude(first, true)
	if c.State != supervisionv1.ComplaintState_COMPLAINT_STATE_CONCLUDED || len(c.History) != 4 || c.History[0].By != pn("xu") {
		t.Fatalf("concluded: %v", c)
	}
	_, err = cl.ActOnComplaint(e.as("gao", "cz:discipline-officer"), &supervisionv1.ActOnComplaintRequest{Name: first, Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_LINK, RequestId: e.rid()})
	wantRule(t, err, "oversight.self_supervision")
	// Nor is anyone it names assigned it.
	if _, err := cl.ActOnComplaint(office, &supervisionv1.ActOnComplaintRequest{Name: list.Complaints[1].Name, Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_LINK, People: []string{pn("gao")}, RequestId: e.rid()}); err != nil {
		t.Fatalf("link: %s", describe(err))
	}
	_, err = cl.ActOnComplaint(office, &supervisionv1.ActOnComplaintRequest{Name: list.Complaints[1].Name, Action: supervisionv1.ComplaintAction_COMPLAINT_ACTION_ASSIGN, Assignee: pn("gao"), RequestId: e.rid()})
	wantRule(t, err, "oversight.assignee_named")
	if got := ruleCounts(e.warnings())["complaints_on_key_post"]; got != 0 {
		t.Fatalf("one substantiated complaint raised %d cards", got)
	}
	conclude(list.Complaints[1].Name, true)
	ws := e.warnings()["complaints_on_key_post"]
	if len(ws) != 1 || ws[0].Subject != "orgs/cz/posts/gkc-zfsh" || ws[0].Severity != supervisionv1.Severity_SEVERITY_YELLOW || ws[0].Unit != "orgs/cz/units/gkc" {
		t.Fatalf("cards: %v", ws)
	}
	// The complainant sees the outcome and the reply, and nothing else.
	st, err = cl.GetComplaintStatus(anon, &supervisionv1.GetComplaintStatusRequest{ReceiptCode: code1})
	if err != nil || st.State != supervisionv1.ComplaintState_COMPLAINT_STATE_CONCLUDED || st.Outcome != "属实" || !strings.Contains(st.Reply, "已查实") {
		t.Fatalf("status after: %v %s", st, describe(err))
	}
	if s := st.String(); strings.Contains(s, "gao") || strings.Contains(s, "xu") || strings.Contains(s, "13800000000") || strings.Contains(s, "高某") {
		t.Fatalf("the status tells more than the outcome: %s", s)
	}
}
