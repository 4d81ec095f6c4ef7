package risk

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	riskv1 "github.com/fenquan/fenquan/proto/fenquan/risk/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/pdp"
	"github.com/fenquan/fenquan/services/shared/requests"
	"github.com/fenquan/fenquan/services/shared/store"
)

// Reasons of FAILED_PRECONDITION (and other) answers that front ends may branch on.
const (
	ReasonIllegalState     = "ILLEGAL_TRANSITION"
	ReasonRequestReuse     = requests.ReasonReused
	ReasonCampaignTooLarge = "CAMPAIGN_TOO_LARGE"
	ReasonNotAPerson       = "NOT_A_PERSON"
)

// illegal is the FAILED_PRECONDITION of an action the state does not allow.
func illegal(en, zh string) error {
	return refused(codes.FailedPrecondition, ReasonIllegalState, en, zh)
}

// refused is an error with code, reason and a Chinese message.
func refused(code codes.Code, reason, en, zh string) error {
	return apierr.Refused(code, reason, en, zh, nil)
}

func notFound(name string) error {
	return apierr.New(codes.NotFound, apierr.ReasonNotFound, name+": not found", nil)
}

// storeErr maps an error of reading the store (UNAVAILABLE, or the context's code).
func storeErr(err error) error { return apierr.Unavailable(err) }

// actor is who acts: the caller's person in the org.
type actor struct {
	principal *auth.Principal
	person    string // "orgs/{org}/people/{p}", "" for a caller who is no person of the org
	id        string // person id
}

func (a actor) subject() string {
	if a.principal == nil {
		return ""
	}
	return a.principal.Subject
}

func callerIn(ctx context.Context, org string) actor {
	p := auth.FromContext(ctx)
	a := actor{principal: p}
	if name := p.PersonName(org); name != "" {
		a.person, a.id = name, idOf(name)
	}
	return a
}

// needPerson refuses a caller who is no person of the org.
func needPerson(a actor, org string) error {
	if a.person == "" {
		return apierr.New(codes.PermissionDenied, ReasonNotAPerson,
			fmt.Sprintf("the caller is no person of org %s: only people act on the register", org), nil)
	}
	return nil
}

// decide asks the decision point; a denial is PERMISSION_DENIED with every violation.
// The returned context carries the decision, which the write requires.
func (s *Service) decide(ctx context.Context, action string, in policyInput) (context.Context, pdp.Decision, error) {
	return s.pdp.Require(ctx, action, map[string]any(in))
}

// request is the idempotency of one write: the caller's request id, recorded with the
// write so a retry returns the first result.
type request struct {
	org, method, digest, id string
	key                     string // "" when the request carries no id
}

func (s *Service) newRequest(ctx context.Context, org, method, id string, m proto.Message) request {
	r := request{org: org, method: method, digest: requests.Digest(m), id: id}
	if id != "" {
		r.key = s.requests.Key(org, callerIn(ctx, org).subject(), id)
	}
	return r
}

// plan reads what an action needs, decides it and returns the transaction to commit (its
// guards compare every revision read), the context carrying the decision and the result
// as it will be once written (its etag set from the commit revision by finish).
type plan func(ctx context.Context) (t *store.Txn, dctx context.Context, name string, finish func(rev int64) proto.Message, err error)

// run executes a write: a request id already done is answered from its record; otherwise
// the plan is made and committed with the request record, and re-made when something it
// read changed before the commit (up to MaxAttempts).
func (s *Service) run(ctx context.Context, r request, p plan) (proto.Message, error) {
	for attempt := 1; ; attempt++ {
		if r.key != "" {
			rr, err := s.cli.Get(ctx, r.key)
			if err != nil {
				return nil, storeErr(err)
			}
			if len(rr.Kvs) > 0 {
				return s.replay(ctx, rr.Kvs[0], r)
			}
		}
		t, dctx, name, finish, err := p(ctx)
		if err != nil {
			return nil, err
		}
		if r.key != "" {
			if err := s.requests.Add(ctx, t, r.key, r.id, requests.Record{Method: r.method, Digest: r.digest, Name: name}, s.cfg.Now()); err != nil {
				return nil, err
			}
		}
		rev, err := s.store.Commit(dctx, t)
		if err == nil {
			return finish(rev), nil
		}
		var ge *store.GuardError
		if errors.As(err, &ge) && r.key != "" && ge.Guard.What == requests.GuardWhat(r.id) && attempt < s.cfg.MaxAttempts {
			continue // the same request was done concurrently: answer with its result
		}
		if rev, retry := store.Retryable(err); retry && attempt < s.cfg.MaxAttempts {
			if werr := s.cache.WaitFor(ctx, rev); werr != nil {
				return nil, storeErr(werr)
			}
			continue
		} else if retry {
			return nil, apierr.New(codes.Aborted, "CONTENDED", fmt.Sprintf("%s changed %d times while this action was decided: retry", name, attempt), nil)
		}
		return nil, apierr.FromError(err)
	}
}

// replay answers a request id that was already done: the resource as the first call
// wrote it. A different request under the same id is refused.
func (s *Service) replay(ctx context.Context, kv *mvccpb.KeyValue, r request) (proto.Message, error) {
	var m proto.Message
	rec, rkv, err := s.requests.Replay(ctx, kv, r.method, r.digest, func(name string) (string, bool) {
		if org, id, ok := splitName(name, "risks"); ok {
			m = &riskv1.RiskPoint{}
			return s.keys.riskKey(org, id), true
		}
		if org, id, ok := splitName(name, "campaigns"); ok {
			m = &riskv1.Campaign{}
			return s.keys.campaignKey(org, id), true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	if err := store.Unmarshal(rkv.Value, m); err != nil {
		return nil, err
	}
	etag := store.FormatEtag(rkv.ModRevision)
	switch x := m.(type) {
	case *riskv1.RiskPoint:
		x.Name, x.Etag = rec.Name, etag
		s.decorate(x)
	case *riskv1.Campaign:
		x.Name, x.Etag = rec.Name, etag
		org, _, _ := splitAny(rec.Name)
		x.RiskCount = int32(len(s.campaignRisks(org, rec.Name)))
	}
	return m, nil
}

// splitAny splits "orgs/{org}/{coll}/{id}".
func splitAny(name string) (org, coll, id string) {
	var parts [4]string
	n := 0
	start := 0
	for i := 0; i <= len(name) && n < 4; i++ {
		if i == len(name) || name[i] == '/' {
			parts[n] = name[start:i]
			n++
			start = i + 1
		}
	}
	return parts[1], parts[2], parts[3]
}

// stored returns m as stored: without name and etag.
func stored[M proto.Message](m M, clear func(M)) []byte {
	c := proto.Clone(m).(M)
	clear(c)
	return store.Marshal(c)
}

func storedRisk(r *riskv1.RiskPoint) []byte {
	return stored(r, func(c *riskv1.RiskPoint) { c.Name, c.Etag = "", "" })
}

func storedCampaign(c *riskv1.Campaign) []byte {
	return stored(c, func(c *riskv1.Campaign) { c.Name, c.Etag, c.RiskCount = "", "", 0 })
}
