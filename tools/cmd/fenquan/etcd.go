package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/services/shared/obs"
)

// etcdCommand runs one etcd member (v3.7.3, embedded, with Fenquan's limits) as its own
// process: the members of `fenquanctl dev cluster`, and a small site's store.
func etcdCommand() *cobra.Command {
	var (
		cfg       etcdx.EmbedConfig
		logLevel  string
		retention time.Duration
	)
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run one etcd member (a single-member store, or one member of a cluster)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := obs.NewLogger(os.Stderr, logLevel, "text")
			if err != nil {
				return err
			}
			var lv slog.Level
			_ = lv.UnmarshalText([]byte(logLevel)) // NewLogger checked it
			cfg.Logger, cfg.LogLevel, cfg.CompactionRetention = log, lv, retention
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			e, err := etcdx.StartEmbedded(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "etcd member %s serving clients at %s\n", cfg.Name, cfg.ClientURL)
			<-ctx.Done()
			e.Close()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "data", ".fenquan/etcd", "data folder (survives restarts)")
	f.StringVar(&cfg.Name, "name", "fenquan", "member name")
	f.StringVar(&cfg.ClientURL, "client-url", "http://127.0.0.1:2379", "client URL (listen and advertise)")
	f.StringVar(&cfg.PeerURL, "peer-url", "http://127.0.0.1:2380", "peer URL (listen and advertise)")
	f.StringVar(&cfg.InitialCluster, "initial-cluster", "", "every member of a new cluster, name=peerURL,… (empty: a single member)")
	f.DurationVar(&retention, "compaction-retention", time.Hour, "MVCC history kept (periodic compaction)")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	return cmd
}
