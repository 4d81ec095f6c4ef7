// Package config reads the settings every Fenquan binary shares — etcd, identity, TLS,
// listen addresses, logging — from flags, each with a FENQUAN_* environment fallback
// (flag > environment > default), and builds the shared runtime pieces from them.
package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"

	"github.com/fenquan/fenquan/services/shared/auth"
	"github.com/fenquan/fenquan/services/shared/etcdx"
	"github.com/fenquan/fenquan/services/shared/obs"
	"github.com/fenquan/fenquan/services/shared/server"
)

// Common holds the shared settings.
type Common struct {
	EtcdEndpoints                  string
	EtcdCert, EtcdKey, EtcdCA      string
	KeyRoot                        string
	GRPCAddr, AdvertiseAddr        string
	HTTPAddr                       string
	TLSCert, TLSKey, TLSCA         string
	TLSEdgePeers                   string
	OIDCIssuer                     string
	TokenIssuer, JWKSFile          string
	DevJWKSFile                    string
	Audience                       string
	Production                     bool
	ClaimPerson, ClaimOrg          string
	ClaimRoles, ClaimPlatformRoles string
	LogLevel, LogFormat            string
	GCPercent                      int64
	MemoryLimit                    int64
	// ServiceTokenFile holds the bearer token the service presents when it calls another
	// service on its own behalf (not forwarding a user's token), e.g. the facts stream.
	ServiceTokenFile string

	envErrs []error // environment values that did not parse
}

// envName turns a flag name into its environment variable: grpc-addr → FENQUAN_GRPC_ADDR.
func envName(flagName string) string {
	return "FENQUAN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func str(fs *flag.FlagSet, p *string, name, def, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+envName(name)+")")
}

// boolean declares a bool flag; an environment value that is not a boolean is an error
// (reported by Logger), never silently ignored — FENQUAN_PRODUCTION=yes must not leave
// production mode off.
func (c *Common) boolean(fs *flag.FlagSet, p *bool, name string, def bool, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("config: %s=%q is not a boolean (true or false)", envName(name), v))
		}
		def = b
	}
	fs.BoolVar(p, name, def, usage+" (env "+envName(name)+")")
}

func (c *Common) integer(fs *flag.FlagSet, p *int64, name string, def int64, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("config: %s=%q is not a whole number", envName(name), v))
		}
		def = n
	}
	fs.Int64Var(p, name, def, usage+" (env "+envName(name)+")")
}

// Register declares the flags. grpcPort and httpPort are the service's default ports.
func (c *Common) Register(fs *flag.FlagSet, grpcPort, httpPort int) {
	str(fs, &c.EtcdEndpoints, "etcd-endpoints", "http://127.0.0.1:2379", "comma-separated etcd client URLs")
	str(fs, &c.EtcdCert, "etcd-cert", "", "client certificate for etcd (mTLS)")
	str(fs, &c.EtcdKey, "etcd-key", "", "client key for etcd")
	str(fs, &c.EtcdCA, "etcd-ca", "", "CA certificate of etcd")
	str(fs, &c.KeyRoot, "key-root", "/fenquan", "root of every Fenquan key in etcd")
	str(fs, &c.GRPCAddr, "grpc-addr", fmt.Sprintf("127.0.0.1:%d", grpcPort), "gRPC listen address (plaintext only on loopback)")
	str(fs, &c.AdvertiseAddr, "advertise-addr", "", "address peers dial (default: the listen address)")
	str(fs, &c.HTTPAddr, "http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "listen address of /metrics, /healthz, /readyz (empty: off)")
	str(fs, &c.TLSCert, "tls-cert", "", "server certificate (PEM); reloaded when it changes")
	str(fs, &c.TLSKey, "tls-key", "", "server key (PEM)")
	str(fs, &c.TLSCA, "tls-ca", "", "CA for client certificates: set to require mTLS (required in production)")
	str(fs, &c.TLSEdgePeers, "tls-edge-peers", DefaultEdgePeers, "comma-separated client-certificate names (CN, DNS or URI SAN) that call with a user's token alone, like the gateway; over mTLS any other client must carry its service identity")
	str(fs, &c.OIDCIssuer, "oidc-issuer", "", "trust tokens of this OIDC issuer (keys from its discovery document)")
	str(fs, &c.TokenIssuer, "token-issuer", "", "trust tokens with this iss, verified with --jwks-file")
	str(fs, &c.JWKSFile, "jwks-file", "", "public keys of --token-issuer (JWKS); reloaded when it changes")
	str(fs, &c.DevJWKSFile, "dev-jwks-file", "", "development only: trust the development issuer with these keys")
	str(fs, &c.Audience, "audience", auth.DefaultAudience, "required token audience")
	c.boolean(fs, &c.Production, "production", false, "production mode: refuses development tokens and plaintext non-loopback listeners")
	str(fs, &c.ClaimPerson, "claim-person", "", "flat claim holding the person id (IdPs without the structured \"fenquan\" claim)")
	str(fs, &c.ClaimOrg, "claim-org", "", "flat claim holding the org id(s)")
	str(fs, &c.ClaimRoles, "claim-roles", "", "flat claim holding the roles")
	str(fs, &c.ClaimPlatformRoles, "claim-platform-roles", "", "flat claim holding platform roles")
	str(fs, &c.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(fs, &c.LogFormat, "log-format", "json", "json or text")
	c.integer(fs, &c.GCPercent, "gc-percent", obs.DefaultGCPercent, "garbage collector target (GOGC wins when set)")
	c.integer(fs, &c.MemoryLimit, "memory-limit", 0, "soft memory limit in bytes (GOMEMLIMIT wins; 0: 90% of the container's limit)")
	str(fs, &c.ServiceTokenFile, "service-token-file", "", "bearer token this service presents on its own calls to other services (read again when it changes)")
}

// DefaultEdgePeers is the default of --tls-edge-peers: the gateway's client certificate.
const DefaultEdgePeers = "fenquan-gateway"

// EdgePeers lists --tls-edge-peers.
func (c *Common) EdgePeers() []string {
	var out []string
	for _, n := range strings.Split(c.TLSEdgePeers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// ServiceToken returns the service's own token source: --service-token-file, re-read
// when the file changes (a rotated token is picked up). Its subject must be a name of the
// service's client certificate when services talk over mTLS. A production configuration
// refuses a development token.
func (c *Common) ServiceToken() (func() (string, error), error) {
	if c.ServiceTokenFile == "" {
		return nil, errors.New("config: --service-token-file is required: this service calls others on its own behalf")
	}
	tf := &tokenFile{path: c.ServiceTokenFile, production: c.Production}
	if _, err := tf.token(); err != nil {
		return nil, err
	}
	return tf.token, nil
}

// ServiceCallContext returns what the service's own calls carry: the token read from
// --service-token-file (see ServiceToken).
func (c *Common) ServiceCallContext() (func(context.Context) context.Context, error) {
	tok, err := c.ServiceToken()
	if err != nil {
		return nil, err
	}
	return callContext(tok), nil
}

func callContext(token func() (string, error)) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		tok, err := token()
		if err != nil {
			return ctx // the call fails as unauthenticated and is retried
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
}

// tokenFile caches a token file's content until its modification time changes.
type tokenFile struct {
	path       string
	production bool
	mu         sync.Mutex
	mod        time.Time
	tok        string
}

func (t *tokenFile) token() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("config: service token: %w", err)
	}
	if t.tok != "" && fi.ModTime().Equal(t.mod) {
		return t.tok, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("config: service token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("config: service token file %s is empty", t.path)
	}
	if t.production && auth.IsDevelopmentToken(tok) {
		return "", fmt.Errorf("config: service token file %s holds a development token, refused in production", t.path)
	}
	t.tok, t.mod = tok, fi.ModTime()
	return tok, nil
}

// Parse parses args and reports environment values that did not parse.
func (c *Common) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.Join(c.envErrs...)
}

// Logger builds the logger; it also applies the GC settings, the first thing every
// binary does.
func (c *Common) Logger() (*slog.Logger, error) {
	if err := errors.Join(c.envErrs...); err != nil {
		return nil, err
	}
	obs.TuneGC(int(c.GCPercent), c.MemoryLimit)
	return obs.NewLogger(os.Stderr, c.LogLevel, c.LogFormat)
}

// EtcdClient dials the etcd cluster.
func (c *Common) EtcdClient() (*clientv3.Client, error) {
	return etcdx.NewClient(etcdx.ClientConfig{
		Endpoints: etcdx.ParseEndpoints(c.EtcdEndpoints),
		CertFile:  c.EtcdCert, KeyFile: c.EtcdKey, CAFile: c.EtcdCA,
	})
}

// Verifier builds the token verifier from the trusted issuers configured.
func (c *Common) Verifier() (*auth.Verifier, error) {
	var issuers []auth.IssuerConfig
	if c.Production && c.OIDCIssuer != "" && !strings.HasPrefix(c.OIDCIssuer, "https://") {
		return nil, errors.New("config: --oidc-issuer must be an https:// URL in production (its keys are fetched from it)")
	}
	if c.OIDCIssuer != "" {
		issuers = append(issuers, auth.IssuerConfig{Issuer: c.OIDCIssuer, Audience: c.Audience, Keys: auth.NewOIDCKeys(c.OIDCIssuer)})
	}
	if c.TokenIssuer != "" || c.JWKSFile != "" {
		if c.TokenIssuer == "" || c.JWKSFile == "" {
			return nil, errors.New("config: --token-issuer and --jwks-file go together")
		}
		keys, err := auth.NewFileKeys(c.JWKSFile)
		if err != nil {
			return nil, err
		}
		issuers = append(issuers, auth.IssuerConfig{Issuer: c.TokenIssuer, Audience: c.Audience, Keys: keys})
	}
	if c.DevJWKSFile != "" {
		if c.Production {
			return nil, errors.New("config: --dev-jwks-file is refused in production")
		}
		keys, err := auth.NewFileKeys(c.DevJWKSFile)
		if err != nil {
			return nil, err
		}
		issuers = append(issuers, auth.IssuerConfig{Issuer: auth.DevIssuer, Audience: c.Audience, Keys: keys})
	}
	if len(issuers) == 0 {
		return nil, errors.New("config: no token issuer configured: set --oidc-issuer, --token-issuer with --jwks-file, or (development) --dev-jwks-file")
	}
	return auth.NewVerifier(auth.Config{
		Issuers:    issuers,
		Production: c.Production,
		Claims: auth.ClaimMap{
			PersonClaim: c.ClaimPerson, OrgClaim: c.ClaimOrg, RolesClaim: c.ClaimRoles, PlatformRolesClaim: c.ClaimPlatformRoles,
		},
	})
}

// TLS returns the server's TLS files, or nil for plaintext (development: the server then
// listens on loopback only). Production needs mTLS: a certificate, its key and the CA of
// the clients' certificates.
func (c *Common) TLS() (*server.TLSFiles, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		if c.Production {
			return nil, errors.New("config: production needs --tls-cert, --tls-key and --tls-ca (mTLS between services)")
		}
		if c.TLSCA != "" {
			return nil, errors.New("config: --tls-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return nil, errors.New("config: --tls-cert and --tls-key go together")
	}
	if c.Production && c.TLSCA == "" {
		return nil, errors.New("config: production needs --tls-ca: services require client certificates (mTLS)")
	}
	return &server.TLSFiles{CertFile: c.TLSCert, KeyFile: c.TLSKey, CAFile: c.TLSCA}, nil
}

// CheckListen refuses, in production, a listener without TLS on an address other than
// loopback (the gateway's REST port; gRPC servers refuse plaintext off loopback always).
func (c *Common) CheckListen(flagName, addr string, tls bool) error {
	if !c.Production || tls {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("config: --%s %q: %w", flagName, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("config: production refuses plaintext on --%s %s: configure TLS, or listen on loopback behind a TLS proxy", flagName, addr)
}
