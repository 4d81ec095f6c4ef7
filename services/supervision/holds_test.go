package supervision_test

import (
	"google.golang.org/grpc/codes"
	"testing"
	"time"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
)

// A signer who declares, after signing, a relation with the payee of a case not yet paid
// raises related_payee (红牌, hold): the supervision service holds the case through the
// approval service (which then refuses to advance it), and only a supervisor's recorded
// decision releases it.
func TestHoldAndRelease(t *testing.T) {
	e := newEnv(t)
	c := e.open("feng", 100000)
	c = e.sign("feng", c, "zcjh")
	c = e.sign("he", c, "zgzr")
	_, err := registryv1.NewCatalogServiceClient(e.regConn).ApplyCatalog(e.admin(), &registryv1.ApplyCatalogRequest{Objects: []*registryv1.CatalogObject{
		{Object: &registryv1.CatalogObject_ConflictDeclaration{ConflictDeclaration: &registryv1.ConflictDeclaration{
			Name: "orgs/cz/conflictDeclarations/he-acme", Person: pn("he"), CounterpartyName: acme.Name, CounterpartyCode: acme.Code,
			Relation: registryv1.ConflictRelation_CONFLICT_RELATION_RELATIVE, Detail: "本人配偶在该公司任职。", ValidFrom: "2026-01-01",
		}}},
	}})
	if err != nil {
		t.Fatalf("declare: %s", describe(err))
	}
	for deadline := time.Now().Add(10 * time.Second); len(e.p.Facts().Conflicts("cz", "he", "2026-11-16")) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the declaration never reached the decision point")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c = e.sign("liu", c, "fgcz") // the next event of the case
	e.settle()
	var w *supervisionv1.Warning
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ws := e.warnings()["related_payee"]
		if len(ws) == 1 && ws[0].Hold != "" && ws[0].Hold != "pending" {
			w = ws[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no hold placed: %v", ws)
		}
	}
	// A 红牌 goes to the principal leader (and the discipline office's heads: none here).
	if len(w.Owners) != 1 || w.Owners[0] != pn("zhao") {
		t.Fatalf("owners of a red card: %v", w.Owners)
	}
	if w.Severity != supervisionv1.Severity_SEVERITY_RED || w.Action != "hold" || w.Person != pn("he") {
		t.Fatalf("related_payee: %v", w)
	}
	got, err := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c.Name})
	if err != nil || !got.Held || len(got.Holds) != 1 || got.Holds[0].Id != w.Hold || got.Holds[0].Rule != "supervision.related_payee" {
		t.Fatalf("case after the hold (warning hold %q): %v %v", w.Hold, got.GetHeld(), err)
	}
	if _, err := e.cases.Act(e.person("zhang"), &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_SIGN, Step: "zbsh", RequestId: e.rid()}); err == nil {
		t.Fatal("a held case advanced")
	}
	// Releasing needs the recorded decision, by someone who may release.
	rel := &supervisionv1.ActOnWarningRequest{Name: w.Name, Action: supervisionv1.WarningAction_WARNING_ACTION_RELEASE_HOLD, RequestId: e.rid()}
	_, err = e.sup.ActOnWarning(e.supervisor(), rel)
	wantReason(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
	rel.Text = "经核实，何某已申请回避，改由他人审核，同意解除拦截。"
	w, err = e.sup.ActOnWarning(e.supervisor(), rel)
	if err != nil || !w.HoldReleased {
		t.Fatalf("release: %v %s", w, describe(err))
	}
	if got, _ = e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c.Name}); got.Held {
		t.Fatal("the case is still held after the release")
	}
	_, err = e.sup.ActOnWarning(e.supervisor(), rel)
	wantReason(t, err, codes.FailedPrecondition, "NO_HOLD")
	// The service's own identity holds cases in any org, and does nothing else there: it
	// neither reads a case nor releases a hold.
	svc := e.as("supervision", "platform:service")
	_, err = e.cases.GetCase(svc, &approvalv1.GetCaseRequest{Name: c.Name})
	wantReason(t, err, codes.NotFound, "NOT_FOUND")
	_, err = e.cases.Act(svc, &approvalv1.ActRequest{Name: c.Name, Action: approvalv1.Action_ACTION_RELEASE, Hold: w.Hold, Text: "x", RequestId: e.rid()})
	wantReason(t, err, codes.PermissionDenied, "NOT_A_PERSON")
}
