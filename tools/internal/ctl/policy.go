package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/fenquan/fenquan/policies"
	policyv1 "github.com/fenquan/fenquan/proto/fenquan/policy/v1"
	"github.com/fenquan/fenquan/services/shared/apierr"
	"github.com/fenquan/fenquan/services/shared/pdp"
)

// policyCommand is `fenquanctl policy`: the policy officers' workflow of docs/POLICY.md
// ("Publishing a policy set"). The policy service is served by the registry (--registry).
func policyCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test, propose, approve and roll back policy sets (制度规则)",
		Long: `Policy officers work on a folder like policies/: test it locally, compare it with the
active set, propose it; a second policy officer — never the proposer — approves it, and every
service swaps it in. Set ids may be given as 7, 00000007 or policySets/00000007.`,
	}
	cmd.AddCommand(
		policyTestCommand(),
		policyDiffCommand(o),
		policyProposeCommand(o),
		policyApproveCommand(o),
		policyRejectCommand(o),
		policyHistoryCommand(o),
		policyRollbackCommand(o),
		policyStatusCommand(o),
		policyCheckCommand(o),
	)
	return cmd
}

// policyClient connects to the policy service; done releases the connection.
func (o *options) policyClient(parent context.Context) (policyv1.PolicyServiceClient, context.Context, func(), error) {
	conn, ctx, done, err := o.connect(parent)
	if err != nil {
		return nil, nil, nil, err
	}
	return policyv1.NewPolicyServiceClient(conn), ctx, done, nil
}

// setName accepts "7", "00000007" or "policySets/00000007".
func setName(arg string) (string, error) {
	id := strings.TrimPrefix(arg, "policySets/")
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 || n > 99_999_999 || len(id) > 8 {
		return "", fmt.Errorf("%q is not a policy set id: give 7, 00000007 or policySets/00000007", arg)
	}
	return fmt.Sprintf("policySets/%08d", n), nil
}

// dirArg is the folder argument, "policies" by default.
func dirArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "policies"
}

// loadDir reads the policy files (.rego, .json, .yaml) of a folder.
func loadDir(dir string) (*pdp.Set, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	s, err := pdp.SetFromFS(os.DirFS(dir), "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}

// policyError renders a refusal for a person: every field violation (a refused set lists
// each problem), the Chinese message and the reason.
func policyError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var b strings.Builder
	if fvs, ok := apierr.ViolationsOf(err); ok && len(fvs) > 0 {
		fmt.Fprintf(&b, "%s: %d problem(s)", st.Code(), len(fvs))
		for _, fv := range fvs {
			fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
		}
	} else {
		fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	}
	reason := ""
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.LocalizedMessage:
			fmt.Fprintf(&b, "\n  %s", d.Message)
		case *errdetails.ErrorInfo:
			switch d.Reason {
			case "", apierr.ReasonInvalidArgument, apierr.ReasonInternal:
			default:
				reason = d.Reason
			}
		}
	}
	if reason != "" {
		fmt.Fprintf(&b, "\n  (reason %s)", reason)
	}
	return errors.New(b.String())
}

func policyTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test [dir]",
		Short: "Compile a policy folder (strict) and run its Rego tests, locally",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirArg(args)
			set, err := loadDir(dir)
			if err != nil {
				return err
			}
			n, err := pdp.Validate(cmd.Context(), set)
			if err != nil {
				var se *pdp.SetError
				if !errors.As(err, &se) {
					return err
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s: refused at %s:\n", dir, se.Stage)
				for _, p := range se.Problems {
					fmt.Fprintf(w, "  %s\n", p)
				}
				return fmt.Errorf("%s does not pass (%d problem(s) at %s)", dir, len(se.Problems), se.Stage)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s compiles (strict) and its %d tests pass (%d files, digest %s)\n",
				dir, n, len(set.Files), set.Digest()[:12])
			return nil
		},
	}
}

func policyDiffCommand(o *options) *cobra.Command {
	var stored string
	cmd := &cobra.Command{
		Use:   "diff [dir]",
		Short: "Show how a policy folder (or a stored set, --set) differs from the active set",
		Long: `Compares each file of the folder with the active set: a unified diff of every changed file,
and the files added or removed. With --set, compares a stored set (a proposal to review
before approving it) instead of a folder. While nothing is published, the comparison is with
the default set embedded in this fenquanctl build.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			w := cmd.OutOrStdout()
			var local *pdp.Set
			label := dirArg(args)
			if stored != "" {
				if len(args) > 0 {
					return errors.New("give a folder or --set, not both")
				}
				name, err := setName(stored)
				if err != nil {
					return err
				}
				ps, err := c.GetPolicySet(ctx, &policyv1.GetPolicySetRequest{Name: name})
				if err != nil {
					return policyError(err)
				}
				local, label = pdp.SetFromProto(ps), name
			} else if local, err = loadDir(label); err != nil {
				return err
			}
			st, err := c.GetPolicyStatus(ctx, &policyv1.GetPolicyStatusRequest{})
			if err != nil {
				return policyError(err)
			}
			var base *pdp.Set
			baseLabel := st.Active
			if st.Active == "" {
				if base, err = pdp.SetFromFS(policies.FS, "embedded"); err != nil {
					return err
				}
				baseLabel = "embedded"
				fmt.Fprintln(w, "# nothing is published: comparing with the default set embedded in this fenquanctl build")
			} else {
				ps, err := c.GetPolicySet(ctx, &policyv1.GetPolicySetRequest{Name: st.Active})
				if err != nil {
					return policyError(err)
				}
				base = pdp.SetFromProto(ps)
			}
			diffSets(w, baseLabel, base.Files, label, local.Files)
			return nil
		},
	}
	cmd.Flags().StringVar(&stored, "set", "", "compare a stored set (e.g. a proposal) instead of a folder")
	return cmd
}

// diffSets writes a unified diff of every file changed from a to b, then the files only
// in one of them.
func diffSets(w io.Writer, aLabel string, a map[string][]byte, bLabel string, b map[string][]byte) {
	var changed, added, removed []string
	for n, bb := range b {
		ab, ok := a[n]
		switch {
		case !ok:
			added = append(added, n)
		case string(ab) != string(bb):
			changed = append(changed, n)
		}
	}
	for n := range a {
		if _, ok := b[n]; !ok {
			removed = append(removed, n)
		}
	}
	sort.Strings(changed)
	sort.Strings(added)
	sort.Strings(removed)
	if len(changed)+len(added)+len(removed) == 0 {
		fmt.Fprintf(w, "%s is identical to %s\n", bLabel, aLabel)
		return
	}
	for _, n := range changed {
		unifiedDiff(w, aLabel+"/"+n, bLabel+"/"+n, a[n], b[n])
	}
	for _, n := range added {
		fmt.Fprintf(w, "added:   %s\n", n)
	}
	for _, n := range removed {
		fmt.Fprintf(w, "removed: %s\n", n)
	}
	fmt.Fprintf(w, "%d changed, %d added, %d removed (from %s to %s)\n", len(changed), len(added), len(removed), aLabel, bLabel)
}

func policyProposeCommand(o *options) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "propose [dir] -m note",
		Short: "Upload a policy folder as a proposal (validated: compiles, its tests pass)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(note) == "" {
				return errors.New("-m is required: say what the proposal changes and why")
			}
			set, err := loadDir(dirArg(args))
			if err != nil {
				return err
			}
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ps, err := c.ProposePolicySet(ctx, &policyv1.ProposePolicySetRequest{Files: set.Files, Note: note})
			if err != nil {
				return policyError(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "proposed %s: %d tests pass; changed: %s\n", ps.Name, ps.TestCount, strings.Join(ps.ChangedFiles, ", "))
			fmt.Fprintf(w, "another policy officer reviews it (fenquanctl policy diff --set %s) and approves it (fenquanctl policy approve %s)\n",
				shortID(ps.Name), shortID(ps.Name))
			return nil
		},
	}
	cmd.Flags().StringVarP(&note, "message", "m", "", "what the proposal changes and why")
	return cmd
}

// shortID is the id without leading zeros ("policySets/00000007" → "7").
func shortID(name string) string {
	id := strings.TrimLeft(strings.TrimPrefix(name, "policySets/"), "0")
	if id == "" {
		return "0"
	}
	return id
}

func policyApproveCommand(o *options) *cobra.Command {
	var etag string
	cmd := &cobra.Command{
		Use:   "approve <id>",
		Short: "Approve and activate a proposed set (a second policy officer, never the proposer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := setName(args[0])
			if err != nil {
				return err
			}
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ps, err := c.ApprovePolicySet(ctx, &policyv1.ApprovePolicySetRequest{Name: name, Etag: etag})
			if err != nil {
				return policyError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s approved by %s (proposed by %s) and active; the services load it (fenquanctl policy status)\n",
				ps.Name, ps.ApprovedBy, ps.ProposedBy)
			return nil
		},
	}
	cmd.Flags().StringVar(&etag, "etag", "", "approve only if the set is still at this etag")
	return cmd
}

func policyRejectCommand(o *options) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reject <id> -m reason",
		Short: "Reject a proposed set",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := setName(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return errors.New("-m is required: say why the set is rejected")
			}
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ps, err := c.RejectPolicySet(ctx, &policyv1.RejectPolicySetRequest{Name: name, Reason: reason})
			if err != nil {
				return policyError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s rejected by %s: %s\n", ps.Name, ps.RejectedBy, ps.RejectReason)
			return nil
		},
	}
	cmd.Flags().StringVarP(&reason, "message", "m", "", "why the set is rejected")
	return cmd
}

func policyRollbackCommand(o *options) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback <id> -m reason",
		Short: "Re-activate a set that was active before (it had its four eyes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := setName(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return errors.New("-m is required: say why the rollback is needed")
			}
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ps, err := c.RollbackPolicySet(ctx, &policyv1.RollbackPolicySetRequest{Name: name, Reason: reason})
			if err != nil {
				return policyError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is active again (approved by %s); the services load it (fenquanctl policy status)\n", ps.Name, ps.ApprovedBy)
			return nil
		},
	}
	cmd.Flags().StringVarP(&reason, "message", "m", "", "why the rollback is needed")
	return cmd
}

func policyHistoryCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "Every policy set, newest first: who proposed and approved it, and when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tPROPOSED BY\tPROPOSED AT\tAPPROVED BY\tAPPROVED AT\tTESTS\tCHANGED FILES")
			tok := ""
			for {
				resp, err := c.ListPolicySets(ctx, &policyv1.ListPolicySetsRequest{PageSize: 100, PageToken: tok})
				if err != nil {
					return policyError(err)
				}
				for _, ps := range resp.PolicySets {
					approver := ps.ApprovedBy
					if ps.State == policyv1.PolicySet_STATE_REJECTED {
						approver = "rejected by " + ps.RejectedBy
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
						strings.TrimPrefix(ps.Name, "policySets/"), enumShort(ps.State, "STATE_"),
						orDash(ps.ProposedBy), when(ps.ProposeTime), orDash(approver), when(ps.ApproveTime),
						ps.TestCount, fileList(ps.ChangedFiles))
				}
				if resp.NextPageToken == "" {
					break
				}
				tok = resp.NextPageToken
			}
			return tw.Flush()
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().Local().Format("2006-01-02 15:04")
}

// fileList shows up to three files and how many more.
func fileList(files []string) string {
	switch {
	case len(files) == 0:
		return "-"
	case len(files) > 3:
		return strings.Join(files[:3], ",") + fmt.Sprintf(" (+%d)", len(files)-3)
	}
	return strings.Join(files, ",")
}

func policyStatusCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "The active set and what each running service has loaded or refused",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			st, err := c.GetPolicyStatus(ctx, &policyv1.GetPolicyStatusRequest{})
			if err != nil {
				return policyError(err)
			}
			w := cmd.OutOrStdout()
			if st.Active == "" {
				fmt.Fprintln(w, "active: none published (the embedded default set serves)")
			} else {
				fmt.Fprintf(w, "active: %s\n", st.Active)
			}
			if len(st.Instances) == 0 {
				fmt.Fprintln(w, "no running service has reported")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tINSTANCE\tREVISION\tREFUSED\tUPDATED")
			for _, is := range st.Instances {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", is.Service, is.Instance, is.Revision, orDash(is.RefusedRevision), when(is.UpdateTime))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, is := range st.Instances {
				for _, p := range is.Problems {
					fmt.Fprintf(w, "%s/%s refused %s: %s\n", is.Service, is.Instance, is.RefusedRevision, p)
				}
			}
			return nil
		},
	}
}

func policyCheckCommand(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check <action> -f input.json",
		Short: "Evaluate an action on an input with the active set, without acting (explain)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("-f is required (use - for standard input)")
			}
			var data []byte
			var err error
			if file == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				return fmt.Errorf("%s: the input must be a JSON object: %w", file, err)
			}
			in, err := structpb.NewStruct(doc)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, ctx, done, err := o.policyClient(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := c.CheckPolicy(ctx, &policyv1.CheckPolicyRequest{Action: args[0], Input: in})
			if err != nil {
				return policyError(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "allowed: %v\npolicy revision: %s\ndecision: %s\n", resp.Allowed, resp.PolicyRevision, resp.DecisionId)
			if len(resp.Violations) > 0 {
				fmt.Fprintln(w, "violations:")
			}
			for _, v := range resp.Violations {
				fmt.Fprintf(w, "  %s\n    zh: %s\n    en: %s\n", v.Rule, v.Zh, v.En)
				if v.Basis != "" {
					fmt.Fprintf(w, "    basis: %s\n", v.Basis)
				}
				if v.LegalBasis != "" {
					fmt.Fprintf(w, "    legal basis: %s\n", v.LegalBasis)
				}
			}
			if out := resp.Output.AsMap(); len(out) > 0 {
				b, err := json.Marshal(out)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "output: %s\n", b)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the input document (JSON), - for standard input")
	return cmd
}
