package approval

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
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
//	<root>/approval-requests/<org>/<request id>    requestRecord, under a lease (24h): exactly once
//
// Every action writes the case, its events and its request record in one transaction that
// compares the case's revision (and, for a new request id, that the record is absent).
type keys struct {
	data     store.Keyspace
	events   store.Keyspace
	requests store.Keyspace
}

func newKeys(root string) keys {
	return keys{
		data:     store.Keyspace{Root: root, Service: "approval"},
		events:   store.Keyspace{Root: root, Service: "approval-events"},
		requests: store.Keyspace{Root: root, Service: "approval-requests"},
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

func (k keys) requestKey(org, id string) string {
	// Request ids are client strings: hash them into a key-safe form.
	h := sha256.Sum256([]byte(id))
	return k.requests.OrgPrefix(org) + hex.EncodeToString(h[:16])
}

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

// requestRecord remembers a done request: a retry with the same id gets the same answer.
type requestRecord struct {
	Method string `json:"m"`
	// Digest of the request, so a reused id with a different request is refused.
	Digest string `json:"d"`
	// The resource written: the answer is that resource as of the record's mod revision
	// (the same transaction wrote both).
	Name string `json:"n"`
}

func requestDigest(m proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// leases hands out the lease request records live under: one per hour, expiring a day
// after, so records are kept 24–25 hours and etcd holds few leases.
type leases struct {
	cli *clientv3.Client
	mu  sync.Mutex
	cur clientv3.LeaseID
	at  time.Time
}

func (l *leases) get(ctx context.Context, now time.Time) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != 0 && now.Sub(l.at) < time.Hour {
		return l.cur, nil
	}
	resp, err := l.cli.Grant(ctx, int64((25 * time.Hour).Seconds()))
	if err != nil {
		return 0, err
	}
	l.cur, l.at = resp.ID, now
	return l.cur, nil
}

// summary is what the cache keeps of a case: enough for lists, the inbox and overdue
// steps, a few hundred bytes (a million cases fit in memory). Gets read the store.
type summary struct {
	name, title, power, flow, unit string
	applicant, a, b                string
	state                          approvalv1.Case_State
	amount                         float64
	held, emergency                bool
	active                         []*approvalv1.ActiveStep
	created, updated               time.Time
	modRev                         int64
	// 预算指标: the case sets an indicator, and who signed it.
	setsIndicator bool
	indicator     string
	signers       []string
}

func summarize(c *approvalv1.Case, name string, modRev int64) *summary {
	s := &summary{
		name: name, title: c.Title, power: c.Power, flow: c.Flow, unit: c.Unit,
		applicant: c.Applicant, a: c.A, b: c.B, state: c.State, held: c.Held,
		emergency: c.GetEmergency().GetActive(),
		amount:    c.GetPayload().GetAmount(), modRev: modRev,
		setsIndicator: c.GetPayload().GetSetsIndicator(), indicator: c.GetPayload().GetIndicator(),
	}
	if c.CreateTime != nil {
		s.created = c.CreateTime.AsTime()
	}
	if c.UpdateTime != nil {
		s.updated = c.UpdateTime.AsTime()
	}
	if c.State == approvalv1.Case_STATE_OPEN {
		s.active = c.Active
	}
	if s.setsIndicator {
		for _, sig := range c.Signatures {
			if !sig.Voided {
				s.signers = append(s.signers, idOf(sig.Person))
				if sig.OnBehalfOf != "" {
					s.signers = append(s.signers, idOf(sig.OnBehalfOf))
				}
			}
		}
	}
	return s
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
		Payload: &approvalv1.Payload{Amount: s.amount}, Active: s.active, Etag: store.FormatEtag(s.modRev),
		Emergency: &approvalv1.Emergency{Active: s.emergency},
	}
	c.CreateTime, c.UpdateTime = ts(s.created), ts(s.updated)
	return c
}

// inboxKeys are the inbox index values of the case: for each active step, who it waits
// for ("org|post:<post>", "org|seat:<unit>|<rank>", "org|person:<person>").
func (s *summary) inboxKeys() []string {
	var out []string
	seen := map[string]bool{}
	org := s.org()
	for _, st := range s.active {
		for _, w := range waitsFor(st) {
			k := org + "|" + w.key
			if !seen[k] {
				seen[k] = true
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
// rank seat (until then), the delegate, and the added signers who have not signed.
func waitsFor(st *approvalv1.ActiveStep) []waiter {
	var out []waiter
	if !st.Signed {
		switch {
		case st.ClaimedBy != "":
			out = append(out, waiter{key: "person:" + idOf(st.ClaimedBy)})
		case st.Post != "":
			out = append(out, waiter{key: "post:" + idOf(st.Post)})
		case st.RankLevel > 0:
			out = append(out, waiter{key: "seat:" + idOf(st.Unit) + "|" + strconv.Itoa(int(st.RankLevel))})
		}
		if st.Delegate != "" {
			out = append(out, waiter{key: "person:" + idOf(st.Delegate), onBehalfOf: st.DelegatedBy})
		}
	}
	for _, p := range st.AddedSigners {
		if !slices.Contains(st.AddedSigned, p) {
			out = append(out, waiter{key: "person:" + idOf(p)})
		}
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
