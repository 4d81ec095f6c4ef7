package approval_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/etcdtest"
)

// 50 goroutines sign one step at once (the step's two holders, 25 requests each): exactly
// one signature is written, and every other call gets a clear refusal.
func TestSignRace(t *testing.T) {
	e := newEnv(t)
	c := e.mustOpen("feng", zjbf, 1000, func(c *approvalv1.Case) { c.B = pn("he") })
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, codesSeen := 0, map[codes.Code]int{}
	start := make(chan struct{})
	for i := range 50 {
		who := []string{"feng", "cao"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.sign(who, c, "zcjh")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			codesSeen[status.Code(err)]++
		}()
	}
	close(start)
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d signs succeeded, want exactly 1 (refusals: %v)", ok, codesSeen)
	}
	for code := range codesSeen {
		if code != codes.FailedPrecondition && code != codes.Aborted {
			t.Errorf("a losing signer got %s, want FAILED_PRECONDITION (the step is signed) or ABORTED", code)
		}
	}
	got, err := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range got.Signatures {
		if s.Step == "zcjh" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d signatures at zcjh, want 1", n)
	}
	evs, _ := e.cases.ListCaseEvents(e.person("feng"), &approvalv1.ListCaseEventsRequest{Parent: c.Name})
	signed := 0
	for _, ev := range evs.Events {
		if ev.Type == "signed" {
			signed++
		}
	}
	if signed != 1 {
		t.Fatalf("%d signed events, want 1", signed)
	}
}

// A retried request (same request_id) returns the first result and writes nothing; the
// same id with another request is refused.
func TestRequestIDReplay(t *testing.T) {
	e := newEnv(t)
	create := &approvalv1.CreateCaseRequest{Parent: "orgs/cz", RequestId: "create-1", Case: &approvalv1.Case{
		Title: "重试", Flow: zjbf, A: pn("feng"), B: pn("cao"), Payload: &approvalv1.Payload{Amount: 10, Payee: acme},
	}}
	c1, err := e.cases.CreateCase(e.person("feng"), create)
	if err != nil {
		t.Fatal(describe(err))
	}
	c2, err := e.cases.CreateCase(e.person("feng"), create)
	if err != nil {
		t.Fatal(describe(err))
	}
	if !proto.Equal(c1, c2) {
		t.Fatalf("the retried create answered differently:\n%v\n%v", c1, c2)
	}
	list, _ := e.cases.ListCases(e.person("feng"), &approvalv1.ListCasesRequest{Parent: "orgs/cz"})
	if len(list.Cases) != 1 {
		t.Fatalf("%d cases after a retried create, want 1", len(list.Cases))
	}

	sign := &approvalv1.ActRequest{Name: c1.Name, Action: approvalv1.Action_ACTION_SIGN, Step: "zcjh", RequestId: "sign-1"}
	s1, err := e.cases.Act(e.person("feng"), sign)
	if err != nil {
		t.Fatal(describe(err))
	}
	// The retry comes after the step moved on: it still gets the first answer.
	s2, err := e.cases.Act(e.person("feng"), sign)
	if err != nil {
		t.Fatalf("retry: %s", describe(err))
	}
	if !proto.Equal(s1, s2) {
		t.Fatalf("the retried sign answered differently")
	}
	now, _ := e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c1.Name})
	if now.Etag != s1.Etag || len(now.Signatures) != 1 || now.EventCount != s1.EventCount {
		t.Fatalf("the retry wrote: etag %s → %s, %d signatures", s1.Etag, now.Etag, len(now.Signatures))
	}
	// Another request under a used id.
	other := proto.Clone(sign).(*approvalv1.ActRequest)
	other.Action, other.Text = approvalv1.Action_ACTION_COMMENT, "另一个请求"
	_, err = e.cases.Act(e.person("feng"), other)
	wantCode(t, err, codes.AlreadyExists)
	// Concurrent retries of one request: one write, the same answer for all.
	req := &approvalv1.ActRequest{Name: c1.Name, Action: approvalv1.Action_ACTION_SIGN, Step: "zgzr", RequestId: "sign-2"}
	var wg sync.WaitGroup
	answers := make([]*approvalv1.Case, 10)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.cases.Act(e.person("he"), req)
			if err != nil {
				t.Errorf("concurrent retry: %s", describe(err))
				return
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if a != nil && answers[0] != nil && a.Etag != answers[0].Etag {
			t.Fatalf("concurrent retries answered with etags %s and %s", answers[0].Etag, a.Etag)
		}
	}
	now, _ = e.cases.GetCase(e.person("feng"), &approvalv1.GetCaseRequest{Name: c1.Name})
	if len(now.Signatures) != 2 {
		t.Fatalf("%d signatures after concurrent retries, want 2", len(now.Signatures))
	}
}

// WatchEvents resumes from a middle revision with no gap and no duplicate — from the
// watch while the history is held, and from the event keys once it is compacted.
func TestWatchEventsResume(t *testing.T) {
	e := newEnv(t)
	svc := e.as("svc-supervision", "platform:service")
	c := e.mustOpen("feng", zjbf, 1000)
	c = e.signAll(c, [2]string{"zcjh", "feng"}, [2]string{"zgzr", "he"}, [2]string{"fgcz", "liu"})
	all, err := e.cases.ListCaseEvents(e.person("feng"), &approvalv1.ListCaseEventsRequest{Parent: c.Name})
	if err != nil {
		t.Fatal(describe(err))
	}
	events := all.Events
	if len(events) != 8 { // created, activated ×4, signed ×3
		t.Fatalf("%d events: %v", len(events), events)
	}
	for i, ev := range events {
		if ev.Seq != int64(i+1) || ev.Revision == 0 || ev.Time == nil {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	// Resume after the revision of the third event (a revision in the middle).
	from := events[2].Revision
	var want []string
	for _, ev := range events {
		if ev.Revision > from {
			want = append(want, ev.Name)
		}
	}
	collect := func(from int64, n int) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(svc, 10*time.Second)
		defer cancel()
		st, err := e.evs.WatchEvents(ctx, &approvalv1.WatchEventsRequest{Parent: "orgs/cz", FromRevision: from})
		if err != nil {
			t.Fatal(describe(err))
		}
		var got []string
		for len(got) < n {
			ev, err := st.Recv()
			if err == io.EOF || err != nil {
				t.Fatalf("after %v: %s", got, describe(err))
			}
			got = append(got, ev.Name)
		}
		return got
	}
	if got := collect(from, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("resumed from the watch:\n got %v\nwant %v", got, want)
	}
	// A window of the past (to_revision) sends the events in it and ends.
	to := events[5].Revision
	var window []string
	for _, ev := range events {
		if ev.Revision > from && ev.Revision <= to {
			window = append(window, ev.Name)
		}
	}
	wctx, wcancel := context.WithTimeout(svc, 10*time.Second)
	defer wcancel()
	ws, err := e.evs.WatchEvents(wctx, &approvalv1.WatchEventsRequest{Parent: "orgs/cz", FromRevision: from, ToRevision: to})
	if err != nil {
		t.Fatal(describe(err))
	}
	var gotWindow []string
	for {
		ev, err := ws.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("window after %v: %s", gotWindow, describe(err))
		}
		gotWindow = append(gotWindow, ev.Name)
	}
	if fmt.Sprint(gotWindow) != fmt.Sprint(window) {
		t.Fatalf("window (%d, %d]:\n got %v\nwant %v", from, to, gotWindow, window)
	}
	// New events follow in the same stream.
	ctx, cancel := context.WithTimeout(svc, 10*time.Second)
	defer cancel()
	st, err := e.evs.WatchEvents(ctx, &approvalv1.WatchEventsRequest{Parent: "orgs/cz", FromRevision: events[len(events)-1].Revision})
	if err != nil {
		t.Fatal(err)
	}
	c = e.mustSign("zhang", c, "zbsh")
	ev, err := st.Recv()
	if err != nil || ev.Type != "signed" || ev.Step != "zbsh" || ev.DecisionId == "" {
		t.Fatalf("live event: %v %v", ev, err)
	}
	ev, err = st.Recv()
	if err != nil || ev.Type != "step_activated" || ev.CaseAfter == nil || ev.CaseAfter.Active[0].Step != "zfsh" {
		t.Fatalf("live event 2: %v %v", ev, err)
	}

	// Compact the history past from: the stream catches up from the event keys.
	cli := etcdtest.Client(t)
	resp, err := cli.Get(context.Background(), "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	all, _ = e.cases.ListCaseEvents(e.person("feng"), &approvalv1.ListCaseEventsRequest{Parent: c.Name})
	want = want[:0]
	for _, ev := range all.Events {
		if ev.Revision > from {
			want = append(want, ev.Name)
		}
	}
	if got := collect(from, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("resumed after compaction:\n got %v\nwant %v", got, want)
	}
	// A caller without the permission is refused.
	_, err = e.evs.WatchEvents(e.person("feng"), &approvalv1.WatchEventsRequest{Parent: "orgs/cz"})
	if err == nil {
		var st approvalv1.EventService_WatchEventsClient
		st, _ = e.evs.WatchEvents(e.person("feng"), &approvalv1.WatchEventsRequest{Parent: "orgs/cz"})
		_, err = st.Recv()
	}
	wantCode(t, err, codes.PermissionDenied)
}
