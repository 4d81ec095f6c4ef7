package ctl

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	registryv1 "github.com/fenquan/fenquan/proto/fenquan/registry/v1"
	"github.com/fenquan/fenquan/services/registry/catalogfile"
	"github.com/fenquan/fenquan/services/shared/apierr"
)

func applyCommand(o *options) *cobra.Command {
	var (
		file    string
		dryRun  bool
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f catalog.yaml",
		Short: "Create or update the objects of a catalogue file, all or nothing",
		Long: `Applies a catalogue file (see docs/CATALOG.md): orgs, units, posts, people, assignments,
conflict declarations, powers and flows. The server applies the whole file in one
transaction: one bad object rejects the file, with its path and line, and nothing is
written. Applying the same file again changes nothing. --dry-run prints what would change.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			f, err := catalogfile.Parse(file, data)
			if err != nil {
				return err
			}
			if len(f.Objects) == 0 {
				return fmt.Errorf("%s: no objects", file)
			}
			conn, ctx, done, err := o.connect(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := registryv1.NewCatalogServiceClient(conn).ApplyCatalog(ctx, &registryv1.ApplyCatalogRequest{Objects: f.Objects, DryRun: dryRun})
			if err != nil {
				return locate(f, err)
			}
			printChanges(cmd.OutOrStdout(), resp, dryRun, verbose)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "catalogue file (YAML), - for standard input")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and print the changes without writing")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also list unchanged objects")
	return cmd
}

var objectPath = regexp.MustCompile(`^objects\[(\d+)\]\.(.*)$`)

// locate maps the server's field violations back to lines of the file.
func locate(f *catalogfile.File, err error) error {
	fvs, ok := apierr.ViolationsOf(err)
	if !ok {
		st := status.Convert(err)
		if st.Code() == codes.FailedPrecondition || st.Code() == codes.NotFound {
			// e.g. "objects[3]: publish orgs/x/powers/y before its flows"
			if m := regexp.MustCompile(`^objects\[(\d+)\]: (.*)$`).FindStringSubmatch(st.Message()); m != nil {
				i, _ := strconv.Atoi(m[1])
				line, col := f.Locate(i, "")
				return fmt.Errorf("%s:%d:%d: %s", f.Name, line, col, m[2])
			}
		}
		return errors.New(explain(err))
	}
	var lines []string
	for _, fv := range fvs {
		msg := fv.Description
		if lm := fv.GetLocalizedMessage().GetMessage(); lm != "" {
			msg += " (" + lm + ")"
		}
		m := objectPath.FindStringSubmatch(fv.Field)
		if m == nil {
			lines = append(lines, fmt.Sprintf("%s: %s: %s", f.Name, fv.Field, msg))
			continue
		}
		i, _ := strconv.Atoi(m[1])
		line, col := f.Locate(i, m[2])
		lines = append(lines, fmt.Sprintf("%s:%d:%d: %s: %s", f.Name, line, col, fv.Field, msg))
	}
	return fmt.Errorf("the file was refused, nothing was written:\n%s", strings.Join(lines, "\n"))
}

func printChanges(w io.Writer, resp *registryv1.ApplyCatalogResponse, dryRun, verbose bool) {
	counts := map[registryv1.ChangeAction]int{}
	published := 0
	for _, c := range resp.Changes {
		counts[c.Action]++
		if c.Published {
			published++
		}
		var sign, verb string
		switch c.Action {
		case registryv1.ChangeAction_CHANGE_ACTION_CREATE:
			sign, verb = "+", "create"
		case registryv1.ChangeAction_CHANGE_ACTION_UPDATE:
			sign, verb = "~", "update"
		default:
			if !verbose && !c.Published {
				continue
			}
			sign, verb = "=", "unchanged"
		}
		pub := ""
		if c.Published {
			pub = " (publish)"
		}
		fmt.Fprintf(w, "%s %-9s %-19s %s%s\n", sign, verb, c.Kind, c.Name, pub)
		for _, d := range c.Diff {
			fmt.Fprintf(w, "      %s\n", d)
		}
	}
	what := "applied"
	if dryRun {
		what = "dry run, nothing written"
	} else if resp.Revision > 0 {
		what = fmt.Sprintf("applied at etcd revision %d", resp.Revision)
	}
	fmt.Fprintf(w, "%d created, %d updated, %d unchanged, %d published (%s)\n",
		counts[registryv1.ChangeAction_CHANGE_ACTION_CREATE], counts[registryv1.ChangeAction_CHANGE_ACTION_UPDATE],
		counts[registryv1.ChangeAction_CHANGE_ACTION_UNCHANGED], published, what)
}
