package supervision

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	approvalv1 "github.com/fenquan/fenquan/proto/fenquan/approval/v1"
	supervisionv1 "github.com/fenquan/fenquan/proto/fenquan/supervision/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/auth"
)

// The supervision service's own acts — a warning's lifecycle, its disposition and hold
// release, and the handling of a complaint — are decided by the policy set (package
// oversight, actions supervision.warning.act and supervision.complaint.act): who may not
// act (监督与执行分离) and in which states an act applies are policy, edited and
// published by policy officers like every other rule. The request's shape (texts
// required, the assignee an active person of the org) is checked here.

// decideAct asks the decision point about act on subject (input.subject) for the caller
// in org. A denial is PERMISSION_DENIED with every violation; the returned context carries
// the decision, which the write records.
func (s *Service) decideAct(ctx context.Context, action, org string, subject map[string]any) (context.Context, error) {
	p := auth.FromContext(ctx)
	person := ""
	if g, ok := p.Grant(org); ok {
		person = g.Person
	}
	in := map[string]any{
		"org":     org,
		"today":   s.cfg.Now().In(cst).Format(time.DateOnly),
		"actor":   map[string]any{"person": person, "on_behalf_of": ""},
		"subject": subject,
	}
	dctx, _, err := s.cfg.PDP.Require(ctx, action, in)
	return dctx, err
}

// warningSubject is input.subject for act on w: the person it is about and everyone who
// took part in its case, as person ids. The case is read from the approval service as
// it is now, with the caller's token: every replica decides acts, and only the leader's
// case view follows the stream.
func (s *Service) warningSubject(ctx context.Context, w *supervisionv1.Warning, act supervisionv1.WarningAction, disposition string) (map[string]any, error) {
	var parts []any
	if strings.Contains(w.Subject, "/cases/") {
		if s.cfg.Approval == nil {
			return nil, apierr.New(codes.Unavailable, "APPROVAL_UNAVAILABLE", "the approval service is not connected: who took part in "+w.Subject+" cannot be checked", nil)
		}
		cctx, cancel := context.WithTimeout(auth.ForwardToken(ctx), callTimeout)
		defer cancel()
		c, err := approvalv1.NewCaseServiceClient(s.cfg.Approval).GetCase(cctx, &approvalv1.GetCaseRequest{Name: w.Subject})
		if err != nil {
			return nil, err
		}
		parts = participants(c)
	}
	return map[string]any{
		"kind":         "warning",
		"name":         w.Name,
		"state":        strings.TrimPrefix(w.State.String(), "WARNING_STATE_"),
		"act":          strings.TrimPrefix(act.String(), "WARNING_ACTION_"),
		"person":       personID(w.Person),
		"participants": parts,
		"disposition":  disposition,
	}, nil
}

// participants are the ids of who applied for, is A or B of, signed (or was signed for),
// or claimed a step of c.
func participants(c *approvalv1.Case) []any {
	seen := map[string]bool{}
	var out []any
	add := func(name string) {
		if id := personID(name); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	add(c.Applicant)
	add(c.A)
	add(c.B)
	for _, sg := range c.Signatures {
		add(sg.Person)
		add(sg.OnBehalfOf)
	}
	for _, a := range c.Active {
		add(a.ClaimedBy)
	}
	return out
}

// complaintSubject is input.subject for act on c: the people it names, the assignee asked
// and the people to link, as person ids.
func complaintSubject(c *supervisionv1.Complaint, req *supervisionv1.ActOnComplaintRequest) map[string]any {
	ids := func(names []string) []any {
		out := make([]any, 0, len(names))
		for _, n := range names {
			out = append(out, personID(n))
		}
		return out
	}
	return map[string]any{
		"kind":         "complaint",
		"name":         c.Name,
		"state":        strings.TrimPrefix(c.State.String(), "COMPLAINT_STATE_"),
		"act":          strings.TrimPrefix(req.GetAction().String(), "COMPLAINT_ACTION_"),
		"person":       "",
		"participants": ids(c.People),
		"assignee":     personID(req.GetAssignee()),
		"link_people":  ids(req.GetPeople()),
	}
}

// personID is the id of a person's resource name ("orgs/o/people/id"), "" for "".
func personID(name string) string {
	if name == "" {
		return ""
	}
	return idOf(name)
}
