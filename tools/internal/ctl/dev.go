package ctl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenquan/fenquan/services/shared/auth"
)

func devCommand(o *options) *cobra.Command {
	dev := &cobra.Command{Use: "dev", Short: "Development helpers for a `fenquan up` on this machine"}
	var (
		person, org, subject string
		roles, pRoles        []string
		ttl                  time.Duration
	)
	token := &cobra.Command{
		Use:   "token",
		Short: "Mint a development token with the key of `fenquan up` (refused by production services)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := filepath.Join(o.dataDir, "dev")
			if _, err := os.Stat(filepath.Join(dir, "dev-signing-key.json")); err != nil {
				return fmt.Errorf("no development key in %s: start `fenquan up` first (or pass --data)", dir)
			}
			if person == "" && len(pRoles) == 0 {
				return errors.New("--person (and --org) or --platform-role is required")
			}
			d, err := auth.OpenDevTokens(dir)
			if err != nil {
				return err
			}
			c := auth.Claims{PlatformRoles: pRoles}
			if person != "" {
				c.Orgs = map[string]auth.Grant{org: {Person: person, Roles: roles}}
			}
			sub := subject
			if sub == "" {
				sub = person
			}
			if sub == "" {
				sub = "platform:" + strings.Join(pRoles, ",")
			}
			tok, err := d.Mint(sub, c, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := token.Flags()
	f.StringVar(&person, "person", "", "person id in the org, e.g. feng-yu")
	f.StringVar(&org, "org", "czj", "org id")
	f.StringVar(&subject, "subject", "", "token subject (default: the person); distinct subjects are distinct people for four-eyes checks")
	f.StringSliceVar(&roles, "role", []string{"staff"}, "roles in the org (repeatable): staff, catalog-admin, policy-officer, supervisor, discipline-officer, auditor")
	f.StringSliceVar(&pRoles, "platform-role", nil, "platform roles, e.g. platform-admin")
	f.DurationVar(&ttl, "ttl", 12*time.Hour, "lifetime")
	dev.AddCommand(token, clusterCommand())
	return dev
}
