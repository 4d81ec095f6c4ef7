// Package ctl is fenquanctl, the command line of operators and policy officers: apply a
// catalogue file, read resources, draw flows, mint development tokens. Each command is a
// thin client of the services' gRPC APIs; the services decide and validate. The auditor's
// commands (audit verify, audit export) read etcd directly.
package ctl

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/fenquan/fenquan/services/shared/apierr"
)

// options are the connection settings every command shares.
type options struct {
	registry string
	token    string
	caFile   string
	dataDir  string
	timeout  time.Duration
}

// New returns the fenquanctl command tree.
func New() *cobra.Command {
	o := &options{}
	root := &cobra.Command{
		Use:           "fenquanctl",
		Short:         "Operate Fenquan (分权): apply the catalogue, read resources, draw flows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&o.registry, "registry", envOr("FENQUAN_REGISTRY", "127.0.0.1:7101"), "registry gRPC address (env FENQUAN_REGISTRY)")
	pf.StringVar(&o.token, "token", os.Getenv("FENQUAN_TOKEN"), "bearer token (env FENQUAN_TOKEN; default: the development admin token of --data)")
	pf.StringVar(&o.caFile, "ca", os.Getenv("FENQUAN_CA"), "CA certificate of the services: use TLS (env FENQUAN_CA)")
	pf.StringVar(&o.dataDir, "data", envOr("FENQUAN_DATA", ".fenquan"), "data folder of `fenquan up` (development token and key)")
	pf.DurationVar(&o.timeout, "timeout", 2*time.Minute, "deadline of each call")
	root.AddCommand(applyCommand(o), getCommand(o), diagramCommand(o), devCommand(o))
	root.AddCommand(policyCommand(o), auditCommand(o))
	return root
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// dial connects to addr: TLS with --ca, plaintext only to loopback.
func (o *options) dial(addr string) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", o.caFile)
		}
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool})
	} else if host, _, err := net.SplitHostPort(addr); err != nil || !isLoopback(host) {
		return nil, fmt.Errorf("%s is not on this machine: pass --ca to connect over TLS", addr)
	}
	return grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// connect dials the registry and returns the connection with a call context carrying the
// token; close releases both.
func (o *options) connect(parent context.Context) (conn *grpc.ClientConn, ctx context.Context, close func(), err error) {
	conn, err = o.dial(o.registry)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel, err := o.ctx(parent)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	return conn, ctx, func() { cancel(); conn.Close() }, nil
}

// ctx returns a call context carrying the token, and its cancel.
func (o *options) ctx(parent context.Context) (context.Context, context.CancelFunc, error) {
	tok := o.token
	if tok == "" {
		b, err := os.ReadFile(filepath.Join(o.dataDir, "dev", "admin.token"))
		if err != nil {
			return nil, nil, errors.New("no token: pass --token or set FENQUAN_TOKEN (with `fenquan up`, the development admin token is read from --data)")
		}
		tok = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(parent, "authorization", "Bearer "+tok), o.timeout)
	return ctx, cancel, nil
}

// explain renders a gRPC error for a person: the message, each field violation with its
// Chinese message, and the reason.
func explain(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", st.Code(), st.Message())
	if fvs, ok := apierr.ViolationsOf(err); ok && len(fvs) > 3 {
		for _, fv := range fvs[3:] {
			fmt.Fprintf(&b, "\n  %s: %s", fv.Field, fv.Description)
		}
	}
	return b.String()
}
