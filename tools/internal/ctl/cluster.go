package ctl

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/tools/internal/cluster"
	"github.com/fenquan/fenquan/tools/internal/up"
)

// clusterCommand is `fenquanctl dev cluster`: the multi-process cluster on loopback, in
// the foreground until Ctrl-C, which stops every process.
func clusterCommand() *cobra.Command {
	var (
		o    cluster.Options
		demo bool
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a cluster on loopback: 3 etcd members, every service as its own process (2 replicas of approval and supervision), the gateway",
		Long: `Builds the binaries into --dir/bin and runs, each as its own process: a three-member etcd
(fenquan etcd), registry, approval ×2, risk, supervision ×2 and the REST gateway; they find
each other through etcd. Logs are in --dir/logs. Ctrl-C stops them all (etcd last). With
--demo the demo catalogue is applied once the cluster is up.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := obs.NewLogger(os.Stderr, "info", "text")
			if err != nil {
				return err
			}
			o.Log = log
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := cluster.Start(ctx, o)
			if err != nil {
				return err
			}
			defer c.Stop()
			if demo {
				if err := c.ApplyDemo(ctx); err != nil {
					return err
				}
			}
			tok, err := c.Dev.Mint(up.AdminSub, up.AdminClaims(), 12*time.Hour)
			if err != nil {
				return err
			}
			adminFile := filepath.Join(o.Dir, "dev", "admin.token")
			if err := os.WriteFile(adminFile, []byte(tok), 0o600); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Fenquan cluster is up.\n  REST gateway  %s\n  etcd          %v\n", c.GatewayURL, c.Etcd)
			for _, p := range c.Procs() {
				if p.GRPC != "" {
					fmt.Fprintf(w, "  %-14s gRPC %s\n", p.Name, p.GRPC)
				}
			}
			fmt.Fprintf(w, "  logs          %s\n  admin token   %s\nCtrl-C stops everything.\n", filepath.Join(o.Dir, "logs"), adminFile)
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping…")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", ".fenquan-cluster", "folder for binaries, data, keys and logs")
	f.IntVar(&o.BasePort, "base-port", 17000, "first port (see tools/internal/cluster for the layout)")
	f.IntVar(&o.Approval, "approval", 2, "approval replicas")
	f.IntVar(&o.Supervision, "supervision", 2, "supervision replicas")
	f.BoolVar(&demo, "demo", false, "apply the demo catalogue")
	return cmd
}
