// Command fenquan runs Fenquan. `fenquan up` starts everything in one process on the
// embedded default — a real etcd embedded with its data in one folder, every service and
// the REST gateway on loopback — and, with --demo, loads the demo bureau.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/tools/internal/up"
)

func main() {
	root := &cobra.Command{Use: "fenquan", Short: "Fenquan (分权): integrity-risk prevention and control", SilenceUsage: true}
	root.AddCommand(upCommand(), etcdCommand())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}

func upCommand() *cobra.Command {
	var (
		o        up.Options
		logLevel string
		tokenTTL time.Duration
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run every service, the gateway and an embedded etcd on this machine",
		Long: `Runs all of Fenquan in this process on loopback, with a real etcd embedded and its data
under --data (it survives restarts). Identity is in development mode: a signing key kept in
the data folder mints the tokens printed at start. Ctrl-C stops everything cleanly.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			obs.TuneGC(obs.DefaultGCPercent, 0)
			log, err := obs.NewLogger(os.Stderr, logLevel, "text")
			if err != nil {
				return err
			}
			o.Log = log
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := up.Start(ctx, o)
			if err != nil {
				return err
			}
			if err := banner(cmd, s, o, tokenTTL); err != nil {
				_ = s.Stop()
				return err
			}
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping…")
			return s.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", ".fenquan", "data folder (etcd data, development signing key)")
	f.StringVar(&o.EtcdURL, "etcd", "http://127.0.0.1:2379", "client URL of the embedded etcd")
	f.StringVar(&o.GatewayAddr, "gateway", "127.0.0.1:8080", "REST gateway address")
	f.IntVar(&o.BasePort, "base-port", 7100, "gRPC ports are base+1 (registry), …; metrics base+100+n")
	f.BoolVar(&o.Demo, "demo", false, "load the demo bureau (江城市财政局) with its people, powers and flows")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.DurationVar(&tokenTTL, "token-ttl", 12*time.Hour, "lifetime of the printed development tokens")
	return cmd
}

func banner(cmd *cobra.Command, s *up.Stack, o up.Options, ttl time.Duration) error {
	admin, err := s.Dev.Mint(up.AdminSub, up.AdminClaims(), ttl)
	if err != nil {
		return err
	}
	staff, err := s.Dev.Mint("feng-yu", up.StaffClaims("feng-yu"), ttl)
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.DataDir+"/dev/admin.token", []byte(admin+"\n"), 0o600); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "\nFenquan (分权) is up — development mode, loopback only.\n\n")
	fmt.Fprintf(w, "  REST gateway    %s   (OpenAPI: %s/openapi.json)\n", s.GatewayURL, s.GatewayURL)
	for name, a := range s.GRPC {
		fmt.Fprintf(w, "  gRPC %-10s %s   (metrics http://%s/metrics)\n", name, a, s.Metrics[name])
	}
	fmt.Fprintf(w, "  etcd            %s   (data: %s)\n", s.Etcd.Endpoints[0], o.DataDir)
	if o.Demo {
		state := "already loaded"
		if s.DemoChanges > 0 {
			state = fmt.Sprintf("%d objects created or published", s.DemoChanges)
		}
		fmt.Fprintf(w, "  demo            org %s, 江城市财政局 (%s)\n", up.DemoOrg, state)
		if s.DemoCases > 0 {
			fmt.Fprintf(w, "                  %d demo cases opened and played\n", s.DemoCases)
		}
		if s.DemoRisks.Points > 0 {
			fmt.Fprintf(w, "                  %d demo risk points in %d campaigns (廉政风险台账) loaded\n", s.DemoRisks.Points, s.DemoRisks.Campaigns)
		}
	}
	fmt.Fprintf(w, "\nDevelopment tokens (valid %s; the admin token is also in %s/dev/admin.token):\n", ttl, o.DataDir)
	fmt.Fprintf(w, "  export FENQUAN_TOKEN=%s\n", admin)
	fmt.Fprintf(w, "    ↑ 王静 (办公室): platform-admin; catalog-admin, policy-officer, auditor in %s\n", up.DemoOrg)
	fmt.Fprintf(w, "  export STAFF_TOKEN=%s\n", staff)
	fmt.Fprintf(w, "    ↑ 冯雨 (社会保障处支出计划岗, 经办人): staff in %s\n", up.DemoOrg)
	fmt.Fprintf(w, "\nTry:\n")
	fmt.Fprintf(w, "  curl -s %s/public/v1/orgs/czj/powers\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $FENQUAN_TOKEN\" '%s/v1/orgs/czj/powers?pageSize=5'\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $FENQUAN_TOKEN\" %s/v1/orgs/czj/powers/zjbf/flows/internal:diagram > flow.svg\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $STAFF_TOKEN\" %s/v1/orgs/czj/inbox\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $FENQUAN_TOKEN\" '%s/v1/orgs/czj/cases?pageSize=5'\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $FENQUAN_TOKEN\" '%s/v1/orgs/czj/risks:export?campaign=orgs/czj/campaigns/2026-czj&form=FORM_DEPARTMENT' > register.xlsx\n", s.GatewayURL)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $FENQUAN_TOKEN\" '%s/v1/orgs/czj/risks:heatMap?campaign=orgs/czj/campaigns/2026-czj' > heatmap.svg\n", s.GatewayURL)
	fmt.Fprintf(w, "  grpcurl -plaintext -H \"authorization: Bearer $FENQUAN_TOKEN\" -d '{\"name\":\"orgs/czj\"}' %s fenquan.registry.v1.OrgService/GetOrg\n", s.GRPC["registry"])
	fmt.Fprintf(w, "  go run ./tools/cmd/fenquanctl apply -f tools/internal/demo/catalog.yaml --dry-run\n\n")
	fmt.Fprintln(w, "Ctrl-C stops everything.")
	return nil
}
