package etcdx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Limits applied to the embedded server. An external cluster needs the same flags
// (--max-txn-ops, --max-request-bytes, --quota-backend-bytes): catalogue apply and case
// actions are single transactions and may be larger than etcd's defaults allow.
const (
	MaxTxnOps       = 10000
	MaxRequestBytes = 16 << 20
	QuotaBytes      = 8 << 30
)

// EmbedConfig configures an etcd server embedded in the process.
type EmbedConfig struct {
	// Dir holds the data; it survives restarts.
	Dir string
	// Name is the member's name; default "fenquan" (a single member).
	Name string
	// InitialCluster lists every member of a new cluster as name=peerURL,…; empty: a
	// single-member cluster.
	InitialCluster string
	// ClientURL is where other processes (fenquanctl, separately started services) reach
	// this etcd, e.g. "http://127.0.0.1:2379". Empty picks a free loopback port.
	ClientURL string
	// PeerURL is the raft peer address; empty picks a free loopback port.
	PeerURL string
	// NoFsync trades durability for speed. Tests only: never in a deployment.
	NoFsync bool
	// CompactionRetention is how much MVCC history to keep (etcd periodic compaction).
	// Watchers that fall further behind re-list. Default one hour.
	CompactionRetention time.Duration
	// Logger receives etcd's log lines at LogLevel and above. Nil discards them.
	Logger *slog.Logger
	// LogLevel is the least severe etcd line passed on; nil means warnings. `fenquan up`
	// passes errors only: etcd warns at every start about settings that are deliberate
	// here (one port for HTTP and gRPC, larger requests, simple auth tokens).
	LogLevel slog.Leveler
}

// Embedded is a running embedded etcd with an in-process client.
type Embedded struct {
	etcd *embed.Etcd
	// Client talks to the server in process (no network hop).
	Client *clientv3.Client
	// Endpoints are the client URLs other processes can dial.
	Endpoints []string
}

// StartEmbedded starts etcd with its data in cfg.Dir and waits until it serves.
func StartEmbedded(ctx context.Context, cfg EmbedConfig) (*Embedded, error) {
	if cfg.Dir == "" {
		return nil, errors.New("etcdx: EmbedConfig.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcdx: data dir: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = orDefault(cfg.Name, "fenquan")
	ec.Dir = filepath.Join(cfg.Dir, "member-data")
	clientURL, err := url.Parse(orDefault(cfg.ClientURL, "http://127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("etcdx: client url: %w", err)
	}
	peerURL, err := url.Parse(orDefault(cfg.PeerURL, "http://127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("etcdx: peer url: %w", err)
	}
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.InitialCluster != "" {
		// One member of a cluster (its peers started the same way, each with its own
		// name and URLs): the data folder already holding a member joins as it was.
		ec.InitialCluster = cfg.InitialCluster
		ec.InitialClusterToken = "fenquan-cluster"
	}
	ec.MaxTxnOps = MaxTxnOps
	ec.MaxRequestBytes = MaxRequestBytes
	ec.QuotaBackendBytes = QuotaBytes
	ec.UnsafeNoFsync = cfg.NoFsync
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	retention := cfg.CompactionRetention
	if retention <= 0 {
		retention = time.Hour
	}
	ec.AutoCompactionRetention = retention.String()
	level := slog.LevelWarn
	if cfg.LogLevel != nil {
		level = cfg.LogLevel.Level()
	}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(cfg.Logger, level))

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("etcdx: start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcdx: embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("etcdx: embedded etcd not ready after 60s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	out := &Embedded{etcd: e, Client: v3client.New(e.Server)}
	for _, l := range e.Clients {
		out.Endpoints = append(out.Endpoints, "http://"+l.Addr().String())
	}
	return out, nil
}

// Close stops the server. The in-process client stops working with it.
func (e *Embedded) Close() {
	_ = e.Client.Close()
	e.etcd.Close()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// zapLogger bridges etcd's zap logging into slog at the given level.
func zapLogger(l *slog.Logger, level slog.Level) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	zl := zapcore.WarnLevel
	switch {
	case level <= slog.LevelDebug:
		zl = zapcore.DebugLevel
	case level <= slog.LevelInfo:
		zl = zapcore.InfoLevel
	case level >= slog.LevelError:
		zl = zapcore.ErrorLevel
	}
	return zap.New(&slogCore{l: l.With("component", "etcd"), level: zl})
}

type slogCore struct {
	l      *slog.Logger
	level  zapcore.Level
	fields []zapcore.Field
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.level }
func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	return &slogCore{l: c.l, level: c.level, fields: append(append([]zapcore.Field(nil), c.fields...), fs...)}
}
func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}
func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(c.fields, fs...) {
		f.AddTo(enc)
	}
	attrs := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		attrs = append(attrs, k, v)
	}
	lvl := slog.LevelWarn
	switch {
	case e.Level >= zapcore.ErrorLevel:
		lvl = slog.LevelError
	case e.Level <= zapcore.DebugLevel:
		lvl = slog.LevelDebug
	case e.Level <= zapcore.InfoLevel:
		lvl = slog.LevelInfo
	}
	c.l.Log(context.Background(), lvl, e.Message, attrs...)
	return nil
}
func (c *slogCore) Sync() error { return nil }
