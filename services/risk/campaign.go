package risk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/informer"
	"github.com/fenquan/fenquan/services/shared/page"
	"github.com/fenquan/fenquan/services/shared/store"
)

// DefaultPublicityDays is the 公示 period when a campaign names none.
const DefaultPublicityDays = 5

// A campaign's carry-forward and its entry into force are one transaction each (the
// campaign and every risk point's new version and current record — and, into force, its
// copy in the register in force — or nothing): they are bounded by the transaction limits
// the store is configured with (store.MaxTxnOps = etcdx.MaxTxnOps = 10000 operations,
// etcdx.MaxRequestBytes = 16 MiB). MaxCampaignRisks and maxCampaignBytes keep well inside
// them: a campaign holds at most MaxCampaignRisks risk points (three writes each into
// force), and its writes at most maxCampaignBytes. Larger registers are reviewed in unit
// campaigns.
const (
	MaxCampaignRisks = 3000
	maxCampaignBytes = 12 << 20
)

// tooLarge refuses a campaign that outgrew one transaction.
func tooLarge(campaign string, what string) error {
	return refused(codes.FailedPrecondition, ReasonCampaignTooLarge,
		fmt.Sprintf("%s: %s exceeds what one campaign takes (%d risk points, %d MiB of writes): review the register in unit campaigns", campaign, what, MaxCampaignRisks, maxCampaignBytes>>20),
		fmt.Sprintf("%s：%s超过单个评估批次的上限（%d 个风险点）：请按部门分批开展评估", campaign, what, MaxCampaignRisks))
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateCampaign opens a review campaign; with carry_from, the in-force risk points of
// that campaign become drafts of the new one (new versions, in_force false), in the same
// transaction.
func (s *Service) CreateCampaign(ctx context.Context, req *riskv1.CreateCampaignRequest) (*riskv1.Campaign, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	a := callerIn(ctx, org)
	if err := needPerson(a, org); err != nil {
		return nil, err
	}
	in := req.GetCampaign()
	var v apierr.Violations
	if u := in.GetUnit(); u != "" {
		if uo, coll, _ := splitAny(u); uo != org || coll != "units" {
			v.Add("campaign.unit", fmt.Sprintf("the unit must be one of org %s (orgs/%s/units/{unit})", org, org), "范围应为本单位的部门")
		}
	}
	if cf := in.GetCarryFrom(); cf != "" {
		if co, _, ok := splitName(cf, "campaigns"); !ok || co != org {
			v.Add("campaign.carry_from", fmt.Sprintf("carry_from must be a campaign of org %s", org), "carry_from 应为本单位的评估批次")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.newRequest(ctx, org, "CreateCampaign", req.GetRequestId(), req)
	id := req.GetCampaignId()
	if id == "" {
		id = fmt.Sprintf("%d-%s", in.GetYear(), randomID())
	}
	name := campaignName(org, id)
	out, err := s.run(ctx, r, func(ctx context.Context) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
		now := s.cfg.Now()
		day := today(now)
		c := &riskv1.Campaign{
			Name: name, Title: in.GetTitle(), Year: in.GetYear(), Unit: in.GetUnit(), CarryFrom: in.GetCarryFrom(),
			PublicityDays: in.GetPublicityDays(), OpenedBy: a.person,
			CreateTime: timestamppb.New(now), UpdateTime: timestamppb.New(now),
		}
		if c.PublicityDays == 0 {
			c.PublicityDays = DefaultPublicityDays
		}
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, c, riskv1.Stage_STAGE_UNSPECIFIED)
		dctx, d, err := s.decide(ctx, "risk.campaign.open", input)
		if err != nil {
			return nil, nil, "", nil, err
		}
		c.Stage = riskv1.Stage_STAGE_DRAFTING
		c.History = []*riskv1.StageChange{{To: riskv1.Stage_STAGE_DRAFTING, By: a.person, Text: "opened", Time: timestamppb.New(now), DecisionId: d.DecisionID}}
		t := store.NewTxn().ExpectRevision(s.keys.campaignKey(org, id), 0, name)
		carried := 0
		if cf := in.GetCarryFrom(); cf != "" {
			if err := s.fresh(ctx); err != nil {
				return nil, nil, "", nil, err
			}
			cfKey := s.keys.campaignKey(org, idOf(cf))
			it, ok := s.cache.Get(cfKey)
			if !ok {
				return nil, nil, "", nil, apierr.Field("campaign.carry_from", cf+" does not exist", cf+" 不存在")
			}
			t.ExpectVersion(cfKey, it.ModRev, cf)
			bytes := 0
			for _, it := range s.campaignRisks(org, cf) {
				cur := it.Obj.(*riskv1.RiskPoint)
				if !cur.InForce || cur.Retired {
					continue
				}
				if carried++; carried > MaxCampaignRisks {
					break
				}
				next := proto.Clone(cur).(*riskv1.RiskPoint)
				next.Campaign, next.InForce = name, false
				next.Comments, next.Objections = nil, nil
				s.newVersion(next, a.person, "carried forward from "+cf, now)
				b := storedRisk(next)
				bytes += 2 * len(b)
				_, rid, _ := splitName(cur.Name, "risks")
				t.ExpectVersion(it.Key, it.ModRev, cur.Name).
					Put(s.keys.versionKey(org, rid, next.Version), b).
					Put(it.Key, b)
			}
			if carried > MaxCampaignRisks || bytes > maxCampaignBytes {
				return nil, nil, "", nil, tooLarge(cf, "the carry-forward of its risk points in force")
			}
		}
		t.Put(s.keys.campaignKey(org, id), storedCampaign(c))
		return t, dctx, name, func(rev int64) proto.Message {
			c.Etag, c.RiskCount = store.FormatEtag(rev), int32(carried)
			return c
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.(*riskv1.Campaign), nil
}

// GetCampaign reads a campaign from the store.
func (s *Service) GetCampaign(ctx context.Context, name string) (*riskv1.Campaign, error) {
	c, _, _, err := s.readCampaign(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	org, _, _ := splitName(name, "campaigns")
	c.RiskCount = int32(len(s.campaignRisks(org, name)))
	return c, nil
}

// readCampaign reads a campaign: it, its mod revision and the store's revision then.
func (s *Service) readCampaign(ctx context.Context, name string) (*riskv1.Campaign, int64, int64, error) {
	org, id, ok := splitName(name, "campaigns")
	if !ok {
		return nil, 0, 0, apierr.Field("name", "name must be orgs/{org}/campaigns/{campaign}", "名称应为 orgs/{org}/campaigns/{campaign}")
	}
	rr, err := s.cli.Get(ctx, s.keys.campaignKey(org, id))
	if err != nil {
		return nil, 0, 0, storeErr(err)
	}
	if len(rr.Kvs) == 0 {
		return nil, 0, 0, notFound(name)
	}
	c := &riskv1.Campaign{}
	if err := store.Unmarshal(rr.Kvs[0].Value, c); err != nil {
		return nil, 0, 0, err
	}
	c.Name, c.Etag = name, store.FormatEtag(rr.Kvs[0].ModRevision)
	return c, rr.Kvs[0].ModRevision, rr.Header.Revision, nil
}

// ListCampaigns lists an org's campaigns from the cache, by id.
func (s *Service) ListCampaigns(ctx context.Context, req *riskv1.ListCampaignsRequest) (*riskv1.ListCampaignsResponse, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	if err := s.fresh(ctx); err != nil {
		return nil, err
	}
	prefix := s.keys.data.CollectionPrefix(org, "campaigns")
	query := fmt.Sprintf("campaigns|%s|%d", org, req.GetYear())
	after, err := page.Decode(req.GetPageToken(), prefix, query)
	if err != nil {
		return nil, err
	}
	n := page.Size(req.GetPageSize())
	resp := &riskv1.ListCampaignsResponse{}
	last := ""
	more := false
	s.cache.Ascend(prefix, after, func(it *informer.Item) bool {
		c, ok := it.Obj.(*riskv1.Campaign)
		if !ok || (req.GetYear() != 0 && c.Year != req.GetYear()) {
			return true
		}
		if len(resp.Campaigns) == n {
			more = true
			return false
		}
		c = proto.Clone(c).(*riskv1.Campaign)
		c.RiskCount = int32(len(s.campaignRisks(org, c.Name)))
		resp.Campaigns = append(resp.Campaigns, c)
		last = it.Key
		return true
	})
	if more {
		resp.NextPageToken = page.Encode(prefix, last, query)
	}
	return resp, nil
}

var reviewActions = map[riskv1.ReviewAction]string{
	riskv1.ReviewAction_REVIEW_ACTION_ADVANCE:       "risk.campaign.advance",
	riskv1.ReviewAction_REVIEW_ACTION_CONVENE:       "risk.meeting.convene",
	riskv1.ReviewAction_REVIEW_ACTION_ATTEND:        "risk.meeting.attend",
	riskv1.ReviewAction_REVIEW_ACTION_VOTE:          "risk.meeting.vote",
	riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING: "risk.meeting.close",
}

// ReviewCampaign advances a campaign a stage, or acts in its 集体定 meeting. The write
// guards the campaign and every risk point of it: the drafters and open objections the
// decision read cannot change under it. Entering IN_FORCE writes a new version of every
// risk point of the campaign, in force, in the same transaction.
func (s *Service) ReviewCampaign(ctx context.Context, req *riskv1.ReviewCampaignRequest) (*riskv1.Campaign, error) {
	org, id, ok := splitName(req.GetName(), "campaigns")
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/campaigns/{campaign}", "名称应为 orgs/{org}/campaigns/{campaign}")
	}
	a := callerIn(ctx, org)
	if err := needPerson(a, org); err != nil {
		return nil, err
	}
	action, ok := reviewActions[req.GetAction()]
	if !ok {
		return nil, apierr.Field("action", "unknown action", "未知操作")
	}
	r := s.newRequest(ctx, org, "ReviewCampaign", req.GetRequestId(), req)
	out, err := s.run(ctx, r, func(ctx context.Context) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
		fail := func(err error) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
			return nil, nil, "", nil, err
		}
		cur, rev, header, err := s.readCampaign(ctx, req.GetName())
		if err != nil {
			return fail(err)
		}
		if err := store.CheckEtag(req.GetEtag(), rev, req.GetName()); err != nil {
			return fail(apierr.FromError(err))
		}
		// The campaign's risk points as of the read (the cache catches up with it).
		if err := s.cache.WaitFor(ctx, header); err != nil {
			return fail(storeErr(err))
		}
		now := s.cfg.Now()
		day := today(now)
		c := proto.Clone(cur).(*riskv1.Campaign)
		input := baseInput(org, day, a.id)
		to := riskv1.Stage_STAGE_UNSPECIFIED
		var meeting *riskv1.CampaignMeeting
		switch req.GetAction() {
		case riskv1.ReviewAction_REVIEW_ACTION_ADVANCE:
			to = req.GetToStage()
			if to == riskv1.Stage_STAGE_UNSPECIFIED {
				if c.Stage == riskv1.Stage_STAGE_IN_FORCE {
					return fail(illegal(req.GetName()+" is in force: it has no next stage", "评估批次已生效，没有下一阶段"))
				}
				to = c.Stage + 1
			}
		case riskv1.ReviewAction_REVIEW_ACTION_CONVENE:
			if m := openMeeting(c, ""); m != nil {
				return fail(illegal(fmt.Sprintf("meeting %s of %s is still open", m.Id, c.Name), fmt.Sprintf("会议 %s 尚未结束", m.Id)))
			}
			var members []string
			for _, p := range s.pdp.Facts().Leadership(org, day) {
				members = append(members, personName(org, p))
			}
			meeting = &riskv1.CampaignMeeting{
				Id: "m" + strconv.Itoa(len(c.Meetings)+1), Members: members, ConvenedBy: a.person, ConveneTime: timestamppb.New(now),
			}
			input["meeting"] = meetingInput(meeting, "")
		case riskv1.ReviewAction_REVIEW_ACTION_ATTEND, riskv1.ReviewAction_REVIEW_ACTION_VOTE, riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING:
			m := openMeeting(c, req.GetMeeting())
			if m == nil || req.GetMeeting() == "" {
				return fail(illegal(fmt.Sprintf("%s has no open meeting %q", c.Name, req.GetMeeting()), fmt.Sprintf("没有进行中的会议 %q", req.GetMeeting())))
			}
			meeting = m
			vote := ""
			switch req.GetAction() {
			case riskv1.ReviewAction_REVIEW_ACTION_ATTEND:
				var v apierr.Violations
				for i, n := range req.GetAttendees() {
					s.checkPerson(&v, org, fmt.Sprintf("attendees[%d]", i), n)
				}
				for i, n := range req.GetRecused() {
					s.checkPerson(&v, org, fmt.Sprintf("recused[%d]", i), n)
				}
				if err := v.Err(); err != nil {
					return fail(err)
				}
				m.Attendees, m.Recused = dedupe(req.GetAttendees()), dedupe(req.GetRecused())
			case riskv1.ReviewAction_REVIEW_ACTION_VOTE:
				if req.GetVote() == "" {
					return fail(apierr.Field("vote", "vote is required: yes, no or abstain", "vote 必填"))
				}
				vote = req.GetVote()
			case riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING:
				if req.GetText() == "" {
					return fail(apierr.Field("text", "text is required: the minutes", "text 必填：会议纪要"))
				}
			}
			input["meeting"] = meetingInput(m, vote)
		}
		input["campaign"] = s.campaignInput(org, c, to)
		dctx, d, err := s.decide(ctx, action, input)
		if err != nil {
			return fail(err)
		}
		t := store.NewTxn().ExpectRevision(s.keys.campaignKey(org, id), rev, c.Name)
		// The step is taken on the campaign's risk points as listed: none of the org's risk
		// points may have been drafted or changed since (a point drafted in the instant
		// between this read and the commit would otherwise miss the step).
		risks := s.campaignRisks(org, c.Name)
		since := header
		for _, it := range risks {
			since = max(since, it.ModRev)
		}
		t.ExpectNoChangeSince(s.keys.data.CollectionPrefix(org, "risks"), since, c.Name+" risk points")
		stage := func(to riskv1.Stage, text string) {
			c.History = append(c.History, &riskv1.StageChange{From: c.Stage, To: to, By: a.person, Text: text, Time: timestamppb.New(now), DecisionId: d.DecisionID})
			c.Stage = to
		}
		switch req.GetAction() {
		case riskv1.ReviewAction_REVIEW_ACTION_ADVANCE:
			stage(to, req.GetText())
			if to == riskv1.Stage_STAGE_IN_FORCE {
				// Each risk point's new version is in force, and replaces its entry in the
				// register in force (the copy the register's lists and exports read while a
				// later campaign revises the point).
				bytes := 0
				for _, it := range risks {
					cur := it.Obj.(*riskv1.RiskPoint)
					if cur.Retired {
						continue
					}
					next := proto.Clone(cur).(*riskv1.RiskPoint)
					next.InForce = true
					s.newVersion(next, a.person, "in force: "+c.Name, now)
					b := storedRisk(next)
					bytes += 3 * len(b)
					_, rid, _ := splitName(cur.Name, "risks")
					t.Put(s.keys.versionKey(org, rid, next.Version), b).Put(it.Key, b).Put(s.keys.inForceKey(org, rid), b)
				}
				if len(risks) > MaxCampaignRisks || bytes > maxCampaignBytes {
					return fail(tooLarge(c.Name, "putting its risk points in force"))
				}
			}
		case riskv1.ReviewAction_REVIEW_ACTION_CONVENE:
			c.Meetings = append(c.Meetings, meeting)
		case riskv1.ReviewAction_REVIEW_ACTION_VOTE:
			if meeting.Votes == nil {
				meeting.Votes = map[string]string{}
			}
			meeting.Votes[a.person] = req.GetVote()
		case riskv1.ReviewAction_REVIEW_ACTION_CLOSE_MEETING:
			meeting.Closed, meeting.Passed, meeting.Minutes, meeting.CloseTime = true, true, req.GetText(), timestamppb.New(now)
			if c.Stage == riskv1.Stage_STAGE_COLLECTIVE {
				end := time.Date(now.In(cst).Year(), now.In(cst).Month(), now.In(cst).Day()+int(c.PublicityDays), 0, 0, 0, 0, cst)
				c.PublicityEnd = timestamppb.New(end)
				stage(riskv1.Stage_STAGE_PUBLICITY, "集体定 "+meeting.Id+": "+req.GetText())
			}
		}
		c.UpdateTime = timestamppb.New(now)
		t.Put(s.keys.campaignKey(org, id), storedCampaign(c))
		return t, dctx, c.Name, func(rev int64) proto.Message {
			c.Etag, c.RiskCount = store.FormatEtag(rev), int32(len(risks))
			return c
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.(*riskv1.Campaign), nil
}

// openMeeting is the campaign's open meeting id (any open one for "").
func openMeeting(c *riskv1.Campaign, id string) *riskv1.CampaignMeeting {
	for _, m := range c.Meetings {
		if !m.Closed && (id == "" || m.Id == id) {
			return m
		}
	}
	return nil
}

// checkPerson checks a person named in a request: of this org, known and active.
func (s *Service) checkPerson(v *apierr.Violations, org, field, name string) {
	po, coll, id := splitAny(name)
	switch {
	case po != org || coll != "people" || id == "":
		v.Add(field, fmt.Sprintf("%q is not a person of org %s (orgs/%s/people/{person})", name, org, org), fmt.Sprintf("%q 不是本单位人员", name))
	case !s.pdp.Facts().Active(org, id):
		v.Add(field, fmt.Sprintf("%s is not an active person of org %s", name, org), fmt.Sprintf("%s 不是本单位在职人员", name))
	}
}

func dedupe(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}
