package supervision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Complaints (信访举报), docs/SUPERVISION.md "Complaints":
//
//	<root>/supervision/<org>/complaints/<id>             Complaint (without name, etag)
//	<root>/supervision-state/-/receipts/<sha256(code)>   the complaint's name
//
// The receipt code is 100 random bits (20 base32 letters) given to the complainant once;
// only its hash is stored, so neither the store nor its backups yield a code, and a code
// says nothing of who filed the complaint or what it is about.

func (k keys) complaintKey(org, id string) string { return k.data.Key(org, "complaints", id) }
func (k keys) receiptKey(code string) string {
	h := sha256.Sum256([]byte(code))
	return k.state.Key(store.PlatformOrg, "receipts", hex.EncodeToString(h[:]))
}

func complaintName(org, id string) string { return "orgs/" + org + "/supervision/complaints/" + id }

func newReceiptCode() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)[:20]
}

func newComplaintID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "c" + hex.EncodeToString(b)
}

// SubmitComplaint files a complaint with no login: it is received (已受理) in one
// transaction with its receipt's hash, and the code is answered once.
func (s *Service) SubmitComplaint(ctx context.Context, req *supervisionv1.SubmitComplaintRequest) (*supervisionv1.ComplaintReceipt, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if !slices.Contains(s.cfg.PDP.Facts().Orgs(), org) {
		return nil, apierr.New(codes.NotFound, apierr.ReasonNotFound, req.GetParent()+": not found", nil)
	}
	now := s.cfg.Now()
	id, code := newComplaintID(), newReceiptCode()
	c := &supervisionv1.Complaint{
		Name: complaintName(org, id), Text: req.GetText(), About: req.GetAbout(), Contact: req.GetContact(),
		State: supervisionv1.ComplaintState_COMPLAINT_STATE_RECEIVED, ReceiveTime: nowTS(now), UpdateTime: nowTS(now),
	}
	k := s.keys.complaintKey(org, id)
	t := store.NewTxn().ExpectRevision(k, 0, c.Name).Put(k, storedComplaint(c)).
		ExpectRevision(s.keys.receiptKey(code), 0, "receipt").Put(s.keys.receiptKey(code), []byte(c.Name))
	if _, err := s.commitWarnings(store.SystemWrite(ctx, "supervision: a complaint received (public intake)"), t); err != nil {
		return nil, err
	}
	return &supervisionv1.ComplaintReceipt{ReceiptCode: code, ReceiveTime: c.ReceiveTime}, nil
}

// GetComplaintStatus answers a receipt code with the complaint's state and, once
// concluded, its outcome and reply — nothing that names anyone.
func (s *Service) GetComplaintStatus(ctx context.Context, req *supervisionv1.GetComplaintStatusRequest) (*supervisionv1.ComplaintStatus, error) {
	notFound := apierr.New(codes.NotFound, apierr.ReasonNotFound, "no complaint has this receipt code", nil)
	kv, err := s.store.Get(ctx, s.keys.receiptKey(req.GetReceiptCode()))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	c, err := s.GetComplaint(ctx, string(kv.Value))
	if status.Code(err) == codes.NotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, err // the store: retry, not "no such code"
	}
	st := &supervisionv1.ComplaintStatus{State: c.State, ReceiveTime: c.ReceiveTime, UpdateTime: c.UpdateTime}
	if c.State == supervisionv1.ComplaintState_COMPLAINT_STATE_CONCLUDED {
		st.Outcome, st.Reply = "不属实", c.Reply
		if c.Substantiated {
			st.Outcome = "属实"
		}
	}
	return st, nil
}

// GetComplaint reads a complaint from the cache.
func (s *Service) GetComplaint(ctx context.Context, name string) (*supervisionv1.Complaint, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	org, id := orgOf(name), idOf(name)
	it, ok := s.cache.Get(s.keys.complaintKey(org, id))
	if !ok {
		return nil, apierr.New(codes.NotFound, apierr.ReasonNotFound, name+": not found", nil)
	}
	return it.Obj.(*supervisionv1.Complaint), nil
}

// ListComplaints lists an org's complaints by id, with filters.
func (s *Service) ListComplaints(ctx context.Context, req *supervisionv1.ListComplaintsRequest) (*supervisionv1.ListComplaintsResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	prefix := s.keys.data.CollectionPrefix(org, "complaints")
	query := fmt.Sprintf("complaints|%s|%d|%s", org, req.GetState(), req.GetPost())
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	var kept []*informer.Item
	s.cache.Ascend(prefix, "", func(it *informer.Item) bool {
		c, ok := it.Obj.(*supervisionv1.Complaint)
		if ok && (req.GetState() == 0 || c.State == req.GetState()) && (req.GetPost() == "" || slices.Contains(c.Posts, req.GetPost())) {
			kept = append(kept, it)
		}
		return true
	})
	n := page.Size(req.GetPageSize())
	resp := &supervisionv1.ListComplaintsResponse{TotalSize: int32(len(kept))}
	items, token := pageOf(kept, after, n, prefix, query)
	for _, it := range items {
		resp.Complaints = append(resp.Complaints, it.Obj.(*supervisionv1.Complaint))
	}
	resp.NextPageToken = token
	return resp, nil
}

// ActOnComplaint assigns (交办), starts the investigation, links, or concludes (办结) a
// complaint, in one transaction guarded by its revision. The policy decides the act
// (supervision.complaint.act: nobody named in a complaint acts on it or is assigned it,
// 监督与执行分离; the states each act applies in). A substantiated conclusion then asks the rules
// about each linked post (complaints_on_key_post).
func (s *Service) ActOnComplaint(ctx context.Context, req *supervisionv1.ActOnComplaintRequest) (*supervisionv1.Complaint, error) {
	c, err := s.GetComplaint(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	org := orgOf(c.Name)
	who, err := personActing(ctx, org)
	if err != nil {
		return nil, err
	}
	if ctx, err = s.decideAct(ctx, "supervision.complaint.act", org, complaintSubject(c, req)); err != nil {
		return nil, err
	}
	rev, err := sentEtag(c.Etag, req.GetEtag(), c.Name)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	next := proto.Clone(c).(*supervisionv1.Complaint)
	to := c.State
	var v apierr.Violations
	switch req.GetAction() {
	case supervisionv1.ComplaintAction_COMPLAINT_ACTION_ASSIGN:
		a := req.GetAssignee()
		if orgOf(a) != org || !strings.HasPrefix(a, "orgs/"+org+"/people/") || !s.cfg.PDP.Facts().Active(org, idOf(a)) {
			v.Add("assignee", "assignee must be an active person of org "+org, "承办人应为本单位在职人员")
		}
		next.Assignee, to = a, supervisionv1.ComplaintState_COMPLAINT_STATE_ASSIGNED
	case supervisionv1.ComplaintAction_COMPLAINT_ACTION_INVESTIGATE:
		to = supervisionv1.ComplaintState_COMPLAINT_STATE_INVESTIGATING
	case supervisionv1.ComplaintAction_COMPLAINT_ACTION_LINK:
		for field, names := range map[string][]string{"posts": req.GetPosts(), "people": req.GetPeople(), "cases": req.GetCases(), "risks": req.GetRisks()} {
			for i, n := range names {
				if orgOf(n) != org {
					v.Add(fmt.Sprintf("%s[%d]", field, i), "must be a resource of org "+org, "应为本单位的资源")
				}
			}
		}
		next.Posts = dedupe(append(next.Posts, req.GetPosts()...))
		next.People = dedupe(append(next.People, req.GetPeople()...))
		next.Cases = dedupe(append(next.Cases, req.GetCases()...))
		next.Risks = dedupe(append(next.Risks, req.GetRisks()...))
	case supervisionv1.ComplaintAction_COMPLAINT_ACTION_CONCLUDE:
		if req.GetText() == "" {
			v.Add("text", "text is required: what the investigation found", "text 必填：调查核实情况")
		}
		if req.GetReply() == "" {
			v.Add("reply", "reply is required: the answer to the complainant", "reply 必填：答复举报人")
		}
		next.Substantiated, next.Findings, next.Reply, next.ConcludeTime = req.GetSubstantiated(), req.GetText(), req.GetReply(), nowTS(now)
		to = supervisionv1.ComplaintState_COMPLAINT_STATE_CONCLUDED
	default:
		return nil, apierr.Field("action", "unknown action", "未知操作")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	next.History = append(next.History, &supervisionv1.ComplaintChange{From: c.State, To: to, By: who, Text: req.GetText(), Time: nowTS(now), DecisionId: decisionID(ctx)})
	next.State, next.UpdateTime = to, nowTS(now)
	k := s.keys.complaintKey(org, idOf(c.Name))
	nrev, err := s.commitWarnings(ctx, store.NewTxn().ExpectRevision(k, rev, c.Name).Put(k, storedComplaint(next)))
	if err != nil {
		return nil, err
	}
	next.Etag = store.FormatEtag(nrev)
	if next.Substantiated && to == supervisionv1.ComplaintState_COMPLAINT_STATE_CONCLUDED {
		if err := s.complaintCards(ctx, org, next, now); err != nil {
			// The conclusion stands; the card is asked again by the next conclusion on the
			// post (its key is the post and year: raised once).
			s.log.Error("complaint cards not evaluated", "complaint", next.Name, "err", err)
		}
	}
	return next, nil
}

// complaintCards asks the rules about each post a substantiated complaint is linked to,
// with the number of the post's complaints substantiated in the year, and raises what
// they find.
func (s *Service) complaintCards(ctx context.Context, org string, c *supervisionv1.Complaint, now time.Time) error {
	if err := s.fresh(ctx); err != nil {
		return err
	}
	year := now.In(cst).Year()
	var raised []*supervisionv1.Warning
	for _, post := range c.Posts {
		key, unit, ok := s.cfg.PDP.Facts().KeyPost(org, idOf(post))
		if !ok {
			continue
		}
		n := 0
		s.cache.Ascend(s.keys.data.CollectionPrefix(org, "complaints"), "", func(it *informer.Item) bool {
			x, ok := it.Obj.(*supervisionv1.Complaint)
			if ok && x.Substantiated && x.ConcludeTime != nil && x.ConcludeTime.AsTime().In(cst).Year() == year && slices.Contains(x.Posts, post) {
				n++
			}
			return true
		})
		in := s.baseInput("complaint", org, now)
		in["complaint_post"] = map[string]any{"post": post, "unit": unit, "key_post": key, "substantiated": n, "year": year}
		fs, rev, err := s.findings(ctx, in)
		if err != nil {
			return err
		}
		for _, f := range fs {
			w := s.warning(f, org, unit, "", "", now, rev, &supervisionv1.Evidence{Event: c.Name, Type: "complaint_concluded", Time: c.ConcludeTime})
			if _, exists := s.cache.Get(s.warningKey(w.Name)); !exists {
				raised = append(raised, w)
			}
		}
	}
	if len(raised) == 0 {
		return nil
	}
	t := store.NewTxn()
	for _, w := range raised {
		k := s.warningKey(w.Name)
		t.ExpectRevision(k, 0, w.Name).Put(k, storedWarning(w))
	}
	_, err := s.commitWarnings(store.SystemWrite(ctx, "supervision: complaint cards"), t)
	return err
}

func storedComplaint(c *supervisionv1.Complaint) []byte { return stored(c, &c.Name, &c.Etag) }

func dedupe(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
