package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/fieldmask"
	"github.com/fenquan/fenquan/services/shared/store"
)

// outputOnly are the RiskPoint fields a client never writes.
var outputOnly = []string{
	"name", "unit", "grading", "owner", "comments", "objections", "campaign", "version", "drafted_by",
	"changed_by", "review_reasons", "warning_count", "regrade_suggested", "in_force", "retired",
	"create_time", "update_time", "etag",
}

// newVersion makes r the next version: its number, who made it, why and when.
func (s *Service) newVersion(r *riskv1.RiskPoint, by, note string, now time.Time) {
	r.Version++
	r.ChangedBy, r.ChangeNote, r.UpdateTime = by, note, timestamppb.New(now)
	r.Etag = ""
}

// writeRisk adds a risk point's new version and current record to t.
func (s *Service) writeRisk(t *store.Txn, org, id string, r *riskv1.RiskPoint) {
	b := storedRisk(r)
	t.Put(s.keys.versionKey(org, id, r.Version), b).Put(s.keys.riskKey(org, id), b)
}

// checkRisk checks what the proto rules cannot: the names belong to the org and fit the
// level, the grading factors are given, the measures are well formed. It sets the unit.
func (s *Service) checkRisk(org string, r *riskv1.RiskPoint, v *apierr.Violations) {
	switch r.Level {
	case riskv1.Level_LEVEL_POST:
		po, coll, id := splitAny(r.Scope)
		if po != org || coll != "posts" || id == "" {
			v.Add("risk.scope", fmt.Sprintf("a post risk point's scope is a post of org %s (orgs/%s/posts/{post})", org, org), "岗位风险点的范围应为本单位岗位")
		} else if unit, _, ok := s.pdp.Facts().Post(org, id); !ok {
			v.Add("risk.scope", r.Scope+" does not exist", r.Scope+" 不存在")
		} else {
			r.Unit = "orgs/" + org + "/units/" + unit
		}
	case riskv1.Level_LEVEL_UNIT, riskv1.Level_LEVEL_LEADERSHIP:
		po, coll, id := splitAny(r.Scope)
		if po != org || coll != "units" || id == "" {
			v.Add("risk.scope", fmt.Sprintf("a unit or leadership risk point's scope is a unit of org %s (orgs/%s/units/{unit})", org, org), "部门或领导班子风险点的范围应为本单位部门")
		} else {
			r.Unit = r.Scope
		}
	}
	for _, k := range factorKeys {
		if _, ok := r.Factors[k]; !ok {
			v.Add("risk.factors."+k, "required: the grading factors are importance, discretion and frequency (1..5)",
				"必填：评级因素为权力重要程度、自由裁量权大小、行使频率（1–5）")
		}
	}
	for i, p := range r.Powers {
		if po, coll, id := splitAny(p); po != org || coll != "powers" || id == "" {
			v.Add(fmt.Sprintf("risk.powers[%d]", i), fmt.Sprintf("%q is not a power of org %s", p, org), fmt.Sprintf("%q 不是本单位职权", p))
		}
	}
	for i, st := range r.Steps {
		if !strings.HasPrefix(st.GetFlow(), "orgs/"+org+"/") {
			v.Add(fmt.Sprintf("risk.steps[%d].flow", i), fmt.Sprintf("%q is not a flow of org %s", st.GetFlow(), org), fmt.Sprintf("%q 不是本单位流程", st.GetFlow()))
		}
	}
	seen := map[string]bool{}
	for i, m := range r.Measures {
		if m.Id != "" {
			if seen[m.Id] {
				v.Add(fmt.Sprintf("risk.measures[%d].id", i), "measure ids are unique within a risk point", "措施编号不得重复")
			}
			seen[m.Id] = true
		}
		if m.Responsible != "" {
			s.checkPerson(v, org, fmt.Sprintf("risk.measures[%d].responsible", i), m.Responsible)
		}
	}
}

// mergeMeasures keeps the progress of the measures that stay (by id; output-only on
// create and update) and numbers the new ones.
func mergeMeasures(prev, next []*riskv1.Measure, now time.Time) {
	old := map[string]*riskv1.Measure{}
	n := 0
	for _, m := range prev {
		old[m.Id] = m
		if k, err := strconv.Atoi(strings.TrimPrefix(m.Id, "m")); err == nil && k > n {
			n = k
		}
	}
	for _, m := range next {
		if k, err := strconv.Atoi(strings.TrimPrefix(m.Id, "m")); err == nil && strings.HasPrefix(m.Id, "m") && k > n {
			n = k
		}
	}
	for _, m := range next {
		if m.Id == "" {
			n++
			m.Id = "m" + strconv.Itoa(n)
		}
		if o := old[m.Id]; o != nil {
			m.Status, m.Evidence, m.VerifiedBy, m.StatusTime, m.Catches = o.Status, o.Evidence, o.VerifiedBy, o.StatusTime, o.Catches
		} else {
			m.Status, m.Evidence, m.VerifiedBy, m.StatusTime, m.Catches = riskv1.MeasureStatus_MEASURE_STATUS_PLANNED, nil, "", timestamppb.New(now), 0
		}
		m.PossiblyIneffective = false
	}
}

// grade asks the decision point for the grade of r (risk.grade) and sets its grading and
// owner. The returned context carries the grading decision too.
func (s *Service) grade(ctx context.Context, org, day, actorID string, r *riskv1.RiskPoint) (context.Context, error) {
	in := baseInput(org, day, actorID)
	in["risk"] = riskInput(r)
	dctx, d, err := s.decide(ctx, "risk.grade", in)
	if err != nil {
		return nil, err
	}
	out := d.Output
	g := &riskv1.Grading{
		Grade:   riskv1.Grade(riskv1.Grade_value["GRADE_"+str(out["grade"])]),
		GradeZh: str(out["grade_zh"]), Level: str(out["level"]), Score: int32(num(out["score"])),
		FactorIndex: num(out["factor_index"]), OwnerRankLevel: int32(num(out["owner_rank_level"])),
		MatrixVersion: str(out["matrix_version"]), DecisionId: d.DecisionID, PolicyRevision: d.PolicyRevision,
	}
	for _, f := range list(out["forced_by"]) {
		g.ForcedBy = append(g.ForcedBy, str(f))
	}
	for _, w := range list(out["watchers"]) {
		g.Watchers = append(g.Watchers, str(w))
	}
	if c, ok := plain(out["criteria"]).(map[string]any); ok {
		if st, err := structpb.NewStruct(c); err == nil {
			g.Criteria = st
		}
	}
	r.Grading = g
	r.Owner = s.owner(org, idOrEmpty(r.Unit), int(g.OwnerRankLevel), day)
	return dctx, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// plain turns a decision output into values structpb takes (json.Number → float64).
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		return num(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// draftAction is the action that writes a risk point in the campaign's stage: risk.draft
// while drafting (自己找), risk.amend later (领导提, or an upheld objection in 公示). The
// rules refuse either outside its stages.
func draftAction(c *riskv1.Campaign) string {
	if c.Stage == riskv1.Stage_STAGE_DRAFTING || c.Stage == riskv1.Stage_STAGE_COMMENTING {
		return "risk.draft"
	}
	return "risk.amend"
}

// riskInputFull is input.risk with what the stage rules read beyond the grading: the
// number of upheld objections (an amendment in 公示 needs one).
func riskInputFull(r *riskv1.RiskPoint) map[string]any {
	in := riskInput(r)
	upheld := 0
	for _, o := range r.Objections {
		if o.Upheld {
			upheld++
		}
	}
	in["upheld_objection"] = upheld > 0
	return in
}

// CreateRisk drafts a risk point in a campaign, graded by the decision point.
func (s *Service) CreateRisk(ctx context.Context, req *riskv1.CreateRiskRequest) (*riskv1.RiskPoint, error) {
	org := strings.TrimPrefix(req.GetParent(), "orgs/")
	a := callerIn(ctx, org)
	if err := needPerson(a, org); err != nil {
		return nil, err
	}
	in := proto.Clone(req.GetRisk()).(*riskv1.RiskPoint)
	var v apierr.Violations
	co, cid, ok := splitName(in.GetCampaign(), "campaigns")
	if !ok || co != org {
		v.Add("risk.campaign", fmt.Sprintf("required: a campaign of org %s (orgs/%s/campaigns/{campaign})", org, org), "必填：本单位的评估批次")
	}
	s.checkRisk(org, in, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	id := req.GetRiskId()
	if id == "" {
		id = "r" + s.cfg.Now().In(cst).Format("20060102150405") + "-" + randomID()
	}
	name := riskName(org, id)
	r := s.newRequest(ctx, org, "CreateRisk", req.GetRequestId(), req)
	out, err := s.run(ctx, r, func(ctx context.Context) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
		fail := func(err error) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
			return nil, nil, "", nil, err
		}
		camp, crev, header, err := s.readCampaign(ctx, in.Campaign)
		if err != nil {
			if status.Code(err) == codes.NotFound {
				return fail(apierr.Field("risk.campaign", in.Campaign+" does not exist", in.Campaign+" 不存在"))
			}
			return fail(err)
		}
		if err := s.cache.WaitFor(ctx, header); err != nil {
			return fail(storeErr(err))
		}
		if s.cache.CountIndex(idxCampaign, org+"|"+camp.Name) >= MaxCampaignRisks {
			return fail(tooLarge(camp.Name, "one risk point more"))
		}
		now := s.cfg.Now()
		day := today(now)
		rp := proto.Clone(in).(*riskv1.RiskPoint)
		rp.Name, rp.DraftedBy, rp.Campaign = name, a.person, camp.Name
		rp.Comments, rp.Objections, rp.ReviewReasons = nil, nil, nil
		rp.WarningCount, rp.RegradeSuggested, rp.InForce, rp.Retired, rp.Version = 0, false, false, false, 0
		rp.CreateTime = timestamppb.New(now)
		mergeMeasures(nil, rp.Measures, now)
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, camp, riskv1.Stage_STAGE_UNSPECIFIED)
		input["risk"] = riskInputFull(rp)
		dctx, _, err := s.decide(ctx, draftAction(camp), input)
		if err != nil {
			return fail(err)
		}
		if dctx, err = s.grade(dctx, org, day, a.id, rp); err != nil {
			return fail(err)
		}
		note := rp.ChangeNote
		if note == "" {
			note = "drafted"
		}
		s.newVersion(rp, a.person, note, now)
		t := store.NewTxn().ExpectRevision(s.keys.riskKey(org, id), 0, name).ExpectVersion(s.keys.campaignKey(org, cid), crev, camp.Name)
		s.writeRisk(t, org, id, rp)
		return t, dctx, name, func(rev int64) proto.Message {
			rp.Etag = store.FormatEtag(rev)
			return rp
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.(*riskv1.RiskPoint), nil
}

// change is one write to an existing risk point: fn checks and decides the action on the
// point as read (cur, with its campaign) and changes next; the write is a new version.
type change func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (dctx context.Context, note string, err error)

// mutate reads a risk point and its campaign, applies fn and writes the new version and
// the current record in one transaction guarded by both revisions.
func (s *Service) mutate(ctx context.Context, name, etag string, r request, fn change) (*riskv1.RiskPoint, error) {
	org, id, ok := splitName(name, "risks")
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/risks/{risk}", "名称应为 orgs/{org}/risks/{risk}")
	}
	a := callerIn(ctx, org)
	if err := needPerson(a, org); err != nil {
		return nil, err
	}
	out, err := s.run(ctx, r, func(ctx context.Context) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
		fail := func(err error) (*store.Txn, context.Context, string, func(int64) proto.Message, error) {
			return nil, nil, "", nil, err
		}
		cur, rev, err := s.readRisk(ctx, org, id, 0)
		if err != nil {
			return fail(err)
		}
		if err := store.CheckEtag(etag, rev, name); err != nil {
			return fail(apierr.FromError(err))
		}
		camp, crev, header, err := s.readCampaign(ctx, cur.Campaign)
		if err != nil {
			return fail(err)
		}
		if err := s.cache.WaitFor(ctx, header); err != nil {
			return fail(storeErr(err))
		}
		now := s.cfg.Now()
		next := proto.Clone(cur).(*riskv1.RiskPoint)
		dctx, note, err := fn(ctx, a, today(now), now, camp, cur, next)
		if err != nil {
			return fail(err)
		}
		s.newVersion(next, a.person, note, now)
		t := store.NewTxn().ExpectRevision(s.keys.riskKey(org, id), rev, name).
			ExpectVersion(s.keys.campaignKey(org, idOf(camp.Name)), crev, camp.Name)
		s.writeRisk(t, org, id, next)
		return t, dctx, name, func(rev int64) proto.Message {
			next.Etag = store.FormatEtag(rev)
			s.decorate(next)
			return next
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.(*riskv1.RiskPoint), nil
}

// readRisk reads the current record (version 0) or a version of a risk point.
func (s *Service) readRisk(ctx context.Context, org, id string, version int32) (*riskv1.RiskPoint, int64, error) {
	key := s.keys.riskKey(org, id)
	if version > 0 {
		key = s.keys.versionKey(org, id, version)
	}
	rr, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, 0, storeErr(err)
	}
	name := riskName(org, id)
	if len(rr.Kvs) == 0 {
		if version > 0 {
			return nil, 0, notFound(fmt.Sprintf("%s version %d", name, version))
		}
		return nil, 0, notFound(name)
	}
	r := &riskv1.RiskPoint{}
	if err := store.Unmarshal(rr.Kvs[0].Value, r); err != nil {
		return nil, 0, err
	}
	r.Name, r.Etag = name, store.FormatEtag(rr.Kvs[0].ModRevision)
	return r, rr.Kvs[0].ModRevision, nil
}

// UpdateRisk revises a risk point: a new version, regraded. The revision answers the
// review reasons and the regrade suggestion, which it clears.
func (s *Service) UpdateRisk(ctx context.Context, req *riskv1.UpdateRiskRequest) (*riskv1.RiskPoint, error) {
	in := req.GetRisk()
	org, _, _ := splitAny(in.GetName())
	r := s.newRequest(ctx, org, "UpdateRisk", req.GetRequestId(), req)
	return s.mutate(ctx, in.GetName(), in.GetEtag(), r, func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (context.Context, string, error) {
		if err := fieldmask.Apply(next, in, &fieldmaskpb.FieldMask{Paths: req.GetUpdateMask()}, outputOnly...); err != nil {
			return nil, "", err
		}
		var v apierr.Violations
		s.checkRisk(org, next, &v)
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		mergeMeasures(cur.Measures, next.Measures, now)
		next.ReviewReasons, next.RegradeSuggested = nil, false
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, camp, riskv1.Stage_STAGE_UNSPECIFIED)
		input["risk"] = riskInputFull(next)
		dctx, _, err := s.decide(ctx, draftAction(camp), input)
		if err != nil {
			return nil, "", err
		}
		if dctx, err = s.grade(dctx, org, day, a.id, next); err != nil {
			return nil, "", err
		}
		note := in.GetChangeNote()
		if note == "" {
			note = "revised"
		}
		return dctx, note, nil
	})
}

// GetRisk returns a risk point's current record, or one of its versions.
func (s *Service) GetRisk(ctx context.Context, req *riskv1.GetRiskRequest) (*riskv1.RiskPoint, error) {
	org, id, ok := splitName(req.GetName(), "risks")
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/risks/{risk}", "名称应为 orgs/{org}/risks/{risk}")
	}
	r, _, err := s.readRisk(ctx, org, id, req.GetVersion())
	if err != nil {
		return nil, err
	}
	s.decorate(r)
	return r, nil
}

// ListRiskVersions lists every version of a risk point, oldest first.
func (s *Service) ListRiskVersions(ctx context.Context, req *riskv1.ListRiskVersionsRequest) (*riskv1.ListRiskVersionsResponse, error) {
	org, id, ok := splitName(req.GetName(), "risks")
	if !ok {
		return nil, apierr.Field("name", "name must be orgs/{org}/risks/{risk}", "名称应为 orgs/{org}/risks/{risk}")
	}
	rr, err := s.cli.Get(ctx, s.keys.versionsOf(org, id), clientv3.WithPrefix())
	if err != nil {
		return nil, storeErr(err)
	}
	if len(rr.Kvs) == 0 {
		return nil, notFound(req.GetName())
	}
	resp := &riskv1.ListRiskVersionsResponse{}
	for _, kv := range rr.Kvs {
		r := &riskv1.RiskPoint{}
		if err := store.Unmarshal(kv.Value, r); err != nil {
			return nil, err
		}
		r.Name, r.Etag = req.GetName(), store.FormatEtag(kv.ModRevision)
		resp.Versions = append(resp.Versions, r)
	}
	return resp, nil
}

var measureStatusNames = map[riskv1.MeasureStatus]string{
	riskv1.MeasureStatus_MEASURE_STATUS_PLANNED:  "PLANNED",
	riskv1.MeasureStatus_MEASURE_STATUS_IN_PLACE: "IN_PLACE",
	riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED: "VERIFIED",
}

// UpdateMeasure moves a measure planned → in place → verified (or back to planned), with
// evidence; decided by risk.measure.update.
func (s *Service) UpdateMeasure(ctx context.Context, req *riskv1.UpdateMeasureRequest) (*riskv1.RiskPoint, error) {
	org, _, _ := splitAny(req.GetName())
	r := s.newRequest(ctx, org, "UpdateMeasure", req.GetRequestId(), req)
	return s.mutate(ctx, req.GetName(), req.GetEtag(), r, func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (context.Context, string, error) {
		i := slices.IndexFunc(next.Measures, func(m *riskv1.Measure) bool { return m.Id == req.GetMeasure() })
		if i < 0 {
			return nil, "", apierr.Field("measure", fmt.Sprintf("%s has no measure %q", req.GetName(), req.GetMeasure()), fmt.Sprintf("没有措施 %q", req.GetMeasure()))
		}
		m := next.Measures[i]
		input := baseInput(org, day, a.id)
		input["risk"] = riskInputFull(next)
		input["measure"] = map[string]any{
			"id": m.Id, "responsible": idOrEmpty(m.Responsible),
			"from": measureStatusNames[m.Status], "to": measureStatusNames[req.GetStatus()],
		}
		dctx, _, err := s.decide(ctx, "risk.measure.update", input)
		if err != nil {
			return nil, "", err
		}
		from := measureStatusNames[m.Status]
		m.Status, m.StatusTime = req.GetStatus(), timestamppb.New(now)
		m.Evidence = append(m.Evidence, req.GetEvidence()...)
		switch req.GetStatus() {
		case riskv1.MeasureStatus_MEASURE_STATUS_VERIFIED:
			m.VerifiedBy = a.person
		case riskv1.MeasureStatus_MEASURE_STATUS_PLANNED:
			m.VerifiedBy = ""
		}
		return dctx, fmt.Sprintf("measure %s: %s → %s", m.Id, from, measureStatusNames[req.GetStatus()]), nil
	})
}

// CommentRisk adds a colleague's comment (群众帮); an anonymous comment stores no person.
func (s *Service) CommentRisk(ctx context.Context, req *riskv1.CommentRiskRequest) (*riskv1.RiskPoint, error) {
	org, _, _ := splitAny(req.GetName())
	r := s.newRequest(ctx, org, "CommentRisk", req.GetRequestId(), req)
	return s.mutate(ctx, req.GetName(), "", r, func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (context.Context, string, error) {
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, camp, riskv1.Stage_STAGE_UNSPECIFIED)
		input["risk"] = riskInputFull(next)
		dctx, _, err := s.decide(ctx, "risk.comment", input)
		if err != nil {
			return nil, "", err
		}
		c := &riskv1.RiskComment{Id: "c" + strconv.Itoa(len(next.Comments)+1), Anonymous: req.GetAnonymous(), Text: req.GetText(), Time: timestamppb.New(now)}
		if !req.GetAnonymous() {
			c.Person = a.person
		}
		next.Comments = append(next.Comments, c)
		return dctx, "comment " + c.Id, nil
	})
}

// FileObjection takes an objection during the publicity period (公示).
func (s *Service) FileObjection(ctx context.Context, req *riskv1.FileObjectionRequest) (*riskv1.RiskPoint, error) {
	org, _, _ := splitAny(req.GetName())
	r := s.newRequest(ctx, org, "FileObjection", req.GetRequestId(), req)
	return s.mutate(ctx, req.GetName(), "", r, func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (context.Context, string, error) {
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, camp, riskv1.Stage_STAGE_UNSPECIFIED)
		input["risk"] = riskInputFull(next)
		dctx, _, err := s.decide(ctx, "risk.object", input)
		if err != nil {
			return nil, "", err
		}
		o := &riskv1.Objection{Id: "o" + strconv.Itoa(len(next.Objections)+1), Anonymous: req.GetAnonymous(), Text: req.GetText(), Time: timestamppb.New(now)}
		if !req.GetAnonymous() {
			o.Person = a.person
		}
		next.Objections = append(next.Objections, o)
		return dctx, "objection " + o.Id, nil
	})
}

// AnswerObjection answers an objection; upheld, the risk point is amended before force.
func (s *Service) AnswerObjection(ctx context.Context, req *riskv1.AnswerObjectionRequest) (*riskv1.RiskPoint, error) {
	org, _, _ := splitAny(req.GetName())
	r := s.newRequest(ctx, org, "AnswerObjection", req.GetRequestId(), req)
	return s.mutate(ctx, req.GetName(), "", r, func(ctx context.Context, a actor, day string, now time.Time, camp *riskv1.Campaign, cur, next *riskv1.RiskPoint) (context.Context, string, error) {
		i := slices.IndexFunc(next.Objections, func(o *riskv1.Objection) bool { return o.Id == req.GetObjection() })
		if i < 0 {
			return nil, "", apierr.Field("objection", fmt.Sprintf("%s has no objection %q", req.GetName(), req.GetObjection()), fmt.Sprintf("没有异议 %q", req.GetObjection()))
		}
		o := next.Objections[i]
		if o.AnswerTime != nil {
			return nil, "", illegal(fmt.Sprintf("objection %s was already answered by %s", o.Id, o.AnsweredBy), fmt.Sprintf("异议 %s 已答复", o.Id))
		}
		input := baseInput(org, day, a.id)
		input["campaign"] = s.campaignInput(org, camp, riskv1.Stage_STAGE_UNSPECIFIED)
		input["risk"] = riskInputFull(next)
		input["objection"] = map[string]any{"by": idOrEmpty(o.Person)}
		dctx, _, err := s.decide(ctx, "risk.answer_objection", input)
		if err != nil {
			return nil, "", err
		}
		o.Answer, o.AnsweredBy, o.Upheld, o.AnswerTime = req.GetAnswer(), a.person, req.GetUpheld(), timestamppb.New(now)
		return dctx, "objection " + o.Id + " answered", nil
	})
}
