package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/fenquan/fenquan/services/shared/audit"
	"github.com/fenquan/fenquan/services/shared/etcdx"
)

// auditOptions reach etcd directly: an auditor checks what is stored, not what a service
// says is stored.
type auditOptions struct {
	endpoints, cert, key, ca string
	root                     string
}

func (a *auditOptions) client() (*clientv3.Client, error) {
	return etcdx.NewClient(etcdx.ClientConfig{Endpoints: etcdx.ParseEndpoints(a.endpoints), CertFile: a.cert, KeyFile: a.key, CAFile: a.ca})
}

func auditCommand(o *options) *cobra.Command {
	a := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and export an org's tamper-evident audit log (reads etcd directly)",
		Long: `The audit log of an org records every state change and policy decision; a sealer chains
them with hashes (docs/AUDIT.md). These commands read etcd directly, with an etcd client
certificate that may read <key-root>/audit/ and <key-root>/audit-seal/.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&a.endpoints, "etcd", envOr("FENQUAN_ETCD_ENDPOINTS", "http://127.0.0.1:2379"), "comma-separated etcd client URLs (env FENQUAN_ETCD_ENDPOINTS; `fenquan up` prints its own)")
	pf.StringVar(&a.cert, "etcd-cert", os.Getenv("FENQUAN_ETCD_CERT"), "client certificate for etcd (env FENQUAN_ETCD_CERT)")
	pf.StringVar(&a.key, "etcd-key", os.Getenv("FENQUAN_ETCD_KEY"), "client key for etcd (env FENQUAN_ETCD_KEY)")
	pf.StringVar(&a.ca, "etcd-ca", os.Getenv("FENQUAN_ETCD_CA"), "CA certificate of etcd (env FENQUAN_ETCD_CA)")
	pf.StringVar(&a.root, "key-root", envOr("FENQUAN_KEY_ROOT", "/fenquan"), "root of every Fenquan key in etcd (env FENQUAN_KEY_ROOT)")
	cmd.AddCommand(auditVerifyCommand(o, a), auditExportCommand(o, a))
	return cmd
}

func auditVerifyCommand(o *options, a *auditOptions) *cobra.Command {
	var org string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify --org ORG",
		Short: "Check an org's whole audit log against its seals; fails naming the first entry altered, removed or inserted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cli, err := a.client()
			if err != nil {
				return err
			}
			defer cli.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			r, err := audit.Verify(ctx, cli, a.root, org)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				printReport(out, r)
			}
			if !r.OK() {
				return fmt.Errorf("the audit log of org %s does not verify: %s", org, r.First())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "org id (\"_\" for the platform's log)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole report as JSON")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func printReport(w io.Writer, r *audit.Report) {
	last := "never"
	if r.Seals > 0 {
		last = fmt.Sprintf("through revision %d at %s (seal %d, hash %s)", r.LastSealedRev, r.LastSealedTime.Local().Format(time.RFC3339), r.LastSeal, r.LastHash)
	}
	fmt.Fprintf(w, "org %s (read at etcd revision %d): %d entries sealed in %d seals, sealed %s; %d not sealed yet\n",
		r.Org, r.Revision, r.Sealed, r.Seals, last, r.Pending)
	if r.OK() {
		fmt.Fprintln(w, "verified: no entry or seal was altered, removed or inserted")
		return
	}
	fmt.Fprintf(w, "DOES NOT VERIFY: %d problems\n", len(r.Problems))
	for i, p := range r.Problems {
		if i == 20 {
			fmt.Fprintf(w, "  … and %d more (--json lists them)\n", len(r.Problems)-i)
			break
		}
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func auditExportCommand(o *options, a *auditOptions) *cobra.Command {
	var (
		org, from, to, file string
		fromRev, toRev      int64
	)
	cmd := &cobra.Command{
		Use:   "export --org ORG [--from RFC3339] [--to RFC3339] [-o FILE]",
		Short: "Write an org's audit entries as JSON lines, with before digests and the seal of each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rng audit.Range
			var err error
			if from != "" {
				if rng.From, err = time.Parse(time.RFC3339, from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
			}
			if to != "" {
				if rng.To, err = time.Parse(time.RFC3339, to); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			rng.FromRev, rng.ToRev = fromRev, toRev
			cli, err := a.client()
			if err != nil {
				return err
			}
			defer cli.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			w := cmd.OutOrStdout()
			var f *os.File
			if file != "" && file != "-" {
				if f, err = os.Create(file); err != nil {
					return err
				}
				w = f
			}
			n, err := audit.Export(ctx, cli, a.root, org, rng, w)
			if f != nil {
				err = errors.Join(err, f.Close())
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d entries of org %s written to %s\n", n, org, file)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "org id (\"_\" for the platform's log)")
	f.StringVar(&from, "from", "", "first time included (RFC 3339)")
	f.StringVar(&to, "to", "", "first time excluded (RFC 3339)")
	f.Int64Var(&fromRev, "from-rev", 0, "first etcd revision included")
	f.Int64Var(&toRev, "to-rev", 0, "last etcd revision included")
	f.StringVarP(&file, "output", "o", "", "file to write (default: standard output)")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}
