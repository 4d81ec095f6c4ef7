package approval

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unique"

	"google.golang.org/protobuf/types/known/timestamppb"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Keys. Three keyspaces, so the watch-fed cache never ranges the events or the request
// records (there are many times more of them than cases):
//
//	<root>/approval/<org>/cases/<case>             Case (without name, etag)
//	<root>/approval/_/calendars/<year>             Calendar
//	<root>/approval-events/<org>/<case>/<seq>      CaseEvent (seq zero-padded: the timeline in order)
//	<root>/approval-requests/<org>/<request id>    requests.Record, under a lease (25h): exactly once
//
// Every action writes the case, its events and its request record in one transaction that
// compares the case's revision (and, for a new request id, that the record is absent).
type keys struct {
	data   store.Keyspace
	events store.Keyspace
}

func newKeys(root string) keys {
	return keys{
		data:   store.Keyspace{Root: root, Service: "approval"},
		events: store.Keyspace{Root: root, Service: "approval-events"},
	}
}

func (k keys) caseKey(org, id string) string { return k.data.Key(org, "cases", id) }
func (k keys) calendarKey(year string) string {
	return k.data.Key(store.PlatformOrg, "calendars", year)
}

func (k keys) eventKey(org, caseID string, seq int64) string {
	return k.events.OrgPrefix(org) + caseID + "/" + fmt.Sprintf("%010d", seq)
}

func (k keys) eventsOf(org, caseID string) string { return k.events.OrgPrefix(org) + caseID + "/" }

// caseName splits "orgs/{org}/cases/{case}".
func caseName(name string) (org, id string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "orgs" || parts[2] != "cases" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

func personName(org, id string) string { return "orgs/" + org + "/people/" + id }

// idOf returns the last segment of a resource name.
func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// newCaseID is time-ordered to the millisecond, so cases list in the order they were
// opened: "20261116100000123-1a2b3c" (CST; random within a millisecond).
func newCaseID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	t := now.In(cst)
	return t.Format("20060102150405") + fmt.Sprintf("%03d", t.Nanosecond()/1e6) + "-" + hex.EncodeToString(b)
}

var cst = time.FixedZone("CST", 8*3600)

// summary is what the cache keeps of a case: enough for lists, the inbox and overdue
// steps. It is compact — the strings cases share (power, flow, unit, people, steps) are
// interned, times are Unix nanoseconds — so a million cases fit in a few hundred MiB.
// Gets read the store.
// IndicatorDuty is the duty of a flow step that sets (下达) or manages a budget indicator:
// its signers are recorded as who set the case's indicator.
const IndicatorDuty = "预算指标"

type summary struct {
	name                     string
	title, power, flow, unit string // interned
	applicant, a, b          string // interned
	amount                   float64
	created, updated         int64
	modRev                   int64
	state                    approvalv1.Case_State
	held, emergency          bool
	indicator                string   // interned
	signers                  []string // who signed a 预算指标 step (interned)
	active                   []cachedStep
}

// cachedStep is an active step in the cache.
type cachedStep struct {
	step, displayName, node, post, unit string // interned
	claimedBy, delegate, delegatedBy    string // interned
	delegatedUntil                      string // interned
	start, due                          int64
	rank                                int32
	signed, collective, payment         bool
	added, addedSigned                  []string // interned
	// voters are the members of the step's open meeting (集体决策) who have not voted nor
	// stood aside.
	voters []string // interned
}

// in interns a string: the cache holds one copy of each distinct value.
func in(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

func ins(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = in(s)
	}
	return out
}

func nanos(t *timestamppb.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return t.AsTime().UnixNano()
}

func fromNanos(n int64) *timestamppb.Timestamp {
	if n == 0 {
		return nil
	}
	return timestamppb.New(time.Unix(0, n))
}

func summarize(c *approvalv1.Case, name string, modRev int64) *summary {
	s := &summary{
		name: name, title: in(c.Title), power: in(c.Power), flow: in(c.Flow), unit: in(c.Unit),
		applicant: in(c.Applicant), a: in(c.A), b: in(c.B), state: c.State, held: c.Held,
		emergency: c.GetEmergency().GetActive(),
		amount:    c.GetPayload().GetAmount(), modRev: modRev,
		created: nanos(c.CreateTime), updated: nanos(c.UpdateTime),
		indicator: in(c.GetPayload().GetIndicator()),
	}
	if c.State == approvalv1.Case_STATE_OPEN && len(c.Active) > 0 {
		s.active = make([]cachedStep, len(c.Active))
		for i, a := range c.Active {
			s.active[i] = cachedStep{
				step: in(a.Step), displayName: in(a.DisplayName), node: in(a.Node), post: in(a.Post), unit: in(a.Unit),
				claimedBy: in(a.ClaimedBy), delegate: in(a.Delegate), delegatedBy: in(a.DelegatedBy), delegatedUntil: in(a.DelegatedUntil),
				start: nanos(a.StartTime), due: nanos(a.DueTime), rank: a.RankLevel,
				signed: a.Signed, collective: a.CollectiveDecision, payment: a.Payment,
				added: ins(a.AddedSigners), addedSigned: ins(a.AddedSigned),
			}
		}
		for _, m := range c.Meetings {
			if m.Closed || m.Voided {
				continue
			}
			for i := range s.active {
				if s.active[i].step != m.Step {
					continue
				}
				for _, p := range m.Members {
					if _, voted := m.Votes[p]; !voted && !slices.Contains(m.Recused, p) {
						s.active[i].voters = append(s.active[i].voters, in(p))
					}
				}
			}
		}
	}
	if s.indicator != "" {
		// Voided signatures count: whoever signed the indicator step, even a signature later
		// voided by a return or an edit, set it (sod.indicator_setter).
		for _, sig := range c.Signatures {
			if sig.Duty == IndicatorDuty {
				s.signers = append(s.signers, in(idOf(sig.Person)))
				if sig.OnBehalfOf != "" {
					s.signers = append(s.signers, in(idOf(sig.OnBehalfOf)))
				}
			}
		}
	}
	return s
}

// proto is the ActiveStep message of a cached step.
func (a *cachedStep) proto() *approvalv1.ActiveStep {
	return &approvalv1.ActiveStep{
		Step: a.step, DisplayName: a.displayName, Node: a.node, Post: a.post, RankLevel: a.rank, Unit: a.unit,
		StartTime: fromNanos(a.start), DueTime: fromNanos(a.due), ClaimedBy: a.claimedBy,
		AddedSigners: a.added, AddedSigned: a.addedSigned, CollectiveDecision: a.collective, Payment: a.payment,
		Delegate: a.delegate, DelegatedBy: a.delegatedBy, DelegatedUntil: a.delegatedUntil, Signed: a.signed,
	}
}

// org is the case's org id.
func (s *summary) org() string {
	org, _, _ := caseName(s.name)
	return org
}

// basic is the BASIC view of a case from its summary.
func (s *summary) basic() *approvalv1.Case {
	c := &approvalv1.Case{
		Name: s.name, Title: s.title, Power: s.power, Flow: s.flow, Unit: s.unit,
		Applicant: s.applicant, A: s.a, B: s.b, State: s.state, Held: s.held,
		Payload: &approvalv1.Payload{Amount: s.amount}, Etag: store.FormatEtag(s.modRev),
		CreateTime: fromNanos(s.created), UpdateTime: fromNanos(s.updated),
	}
	if s.emergency {
		c.Emergency = &approvalv1.Emergency{Active: true}
	}
	for i := range s.active {
		c.Active = append(c.Active, s.active[i].proto())
	}
	return c
}

// inboxKeys are the inbox index values of the case: for each active step, who it waits
// for ("org|post:<post>", "org|seat:<unit>|<rank>", "org|person:<person>").
func (s *summary) inboxKeys() []string {
	var out []string
	org := s.org()
	for i := range s.active {
		for _, w := range s.active[i].waitsFor() {
			k := org + "|" + w.key
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// waiter is one way an active step reaches an inbox: the key, and the principal when it
// is there through a delegation.
type waiter struct {
	key        string
	onBehalfOf string
}

// waitsFor lists who an active step waits for: the claimer (once claimed) or the post or
// rank seat (until then), the delegate, the added signers who have not signed, and the
// members of its open meeting who have not voted.
func (a *cachedStep) waitsFor() []waiter {
	var out []waiter
	if !a.signed {
		switch {
		case a.claimedBy != "":
			out = append(out, waiter{key: "person:" + idOf(a.claimedBy)})
		case a.post != "":
			out = append(out, waiter{key: "post:" + idOf(a.post)})
		case a.rank > 0:
			out = append(out, waiter{key: "seat:" + idOf(a.unit) + "|" + strconv.Itoa(int(a.rank))})
		}
		if a.delegate != "" {
			out = append(out, waiter{key: "person:" + idOf(a.delegate), onBehalfOf: a.delegatedBy})
		}
	}
	for _, p := range a.added {
		if !slices.Contains(a.addedSigned, p) {
			out = append(out, waiter{key: "person:" + idOf(p)})
		}
	}
	for _, p := range a.voters {
		out = append(out, waiter{key: "person:" + idOf(p)})
	}
	return out
}
