package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// DefaultTLSCheckInterval is how often TLSFiles looks at its files again.
const DefaultTLSCheckInterval = 10 * time.Second

// TLSFiles names PEM files for mTLS. The files are read again when their content changes
// (looked at every CheckInterval at most), so certificates, keys and the CA rotate without
// a restart: new connections use the new files, established ones are not cut. While a
// rotation is half done (a certificate that does not match its key yet, a file being
// replaced) the last good files stay in use.
type TLSFiles struct {
	CertFile, KeyFile string
	// CAFile verifies the peer: clients of a server (mTLS), or the server for a client.
	CAFile string
	// CheckInterval bounds how often the files are looked at. Default
	// DefaultTLSCheckInterval.
	CheckInterval time.Duration

	mu      sync.Mutex
	loaded  bool
	cert    *tls.Certificate // nil without CertFile
	pool    *x509.CertPool   // nil without CAFile
	sum     [32]byte         // of the files' content, to notice a change
	checked time.Time
}

// load reads the files when they are due for a look, keeping the last good ones on any
// failure once loaded.
func (t *TLSFiles) load() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	every := t.CheckInterval
	if every <= 0 {
		every = DefaultTLSCheckInterval
	}
	if t.loaded && time.Since(t.checked) < every {
		return nil
	}
	t.checked = time.Now()
	keep := func(err error) error {
		if t.loaded {
			return nil // keep serving with the last good files
		}
		return err
	}
	var certPEM, keyPEM, caPEM []byte
	var err error
	if t.CertFile != "" {
		if certPEM, err = os.ReadFile(t.CertFile); err != nil {
			return keep(fmt.Errorf("tls: %w", err))
		}
		if keyPEM, err = os.ReadFile(t.KeyFile); err != nil {
			return keep(fmt.Errorf("tls: %w", err))
		}
	}
	if t.CAFile != "" {
		if caPEM, err = os.ReadFile(t.CAFile); err != nil {
			return keep(fmt.Errorf("tls: CA: %w", err))
		}
	}
	h := sha256.New()
	for _, b := range [][]byte{certPEM, keyPEM, caPEM} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if t.loaded && sum == t.sum {
		return nil
	}
	var cert *tls.Certificate
	if t.CertFile != "" {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return keep(fmt.Errorf("tls: key pair %s, %s: %w", t.CertFile, t.KeyFile, err))
		}
		cert = &c
	}
	var pool *x509.CertPool
	if t.CAFile != "" {
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return keep(fmt.Errorf("tls: no certificate in %s", t.CAFile))
		}
	}
	t.cert, t.pool, t.sum, t.loaded = cert, pool, sum, true
	return nil
}

// current returns the files in use, reloading them when due.
func (t *TLSFiles) current() (*tls.Certificate, *x509.CertPool, error) {
	if err := t.load(); err != nil {
		return nil, nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cert, t.pool, nil
}

// Certificate returns the certificate of CertFile and KeyFile as they are now (for
// tls.Config.GetCertificate: an HTTPS listener that picks up a rotated certificate).
func (t *TLSFiles) Certificate() (*tls.Certificate, error) {
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("tls: certificate and key files are required")
	}
	cert, _, err := t.current()
	return cert, err
}

// ServerConfig returns a TLS config that requires client certificates signed by CAFile
// (mTLS) when CAFile is set. Every handshake uses the files as they are then.
func (t *TLSFiles) ServerConfig() (*tls.Config, error) {
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("tls: certificate and key files are required")
	}
	if _, _, err := t.current(); err != nil {
		return nil, err
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		cert, pool, err := t.current()
		if err != nil {
			return nil, err
		}
		c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}, NextProtos: []string{"h2"}}
		if pool != nil {
			c.ClientCAs = pool
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	return base, nil
}

// ClientConfig returns a TLS config presenting CertFile (if set, reloaded on every
// handshake) and trusting CAFile as it is now. Dial with ClientCredentials to pick up a
// rotated CA too.
func (t *TLSFiles) ClientConfig() (*tls.Config, error) {
	if t.CAFile == "" {
		return nil, errors.New("tls: a CA file is required to verify servers")
	}
	_, pool, err := t.current()
	if err != nil {
		return nil, err
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if t.CertFile != "" {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _, err := t.current()
			if err != nil {
				return nil, err
			}
			return cert, nil
		}
	}
	return c, nil
}

// ClientCredentials returns gRPC transport credentials that, on every handshake, trust
// CAFile and present CertFile (if set) as the files are then: a rotated CA, certificate
// or key is used by the next connection without a restart.
func (t *TLSFiles) ClientCredentials() (credentials.TransportCredentials, error) {
	if _, err := t.ClientConfig(); err != nil {
		return nil, err
	}
	return &reloadingCreds{files: t}, nil
}

// reloadingCreds builds the TLS configuration of each client handshake from the files.
type reloadingCreds struct {
	files      *TLSFiles
	serverName string
}

func (c *reloadingCreds) config() (*tls.Config, error) {
	cert, pool, err := c.files.current()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: c.serverName}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg, nil
}

func (c *reloadingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, nil, err
	}
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, conn)
}

func (c *reloadingCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("tls: client credentials cannot serve")
}

func (c *reloadingCreds) Info() credentials.ProtocolInfo {
	return credentials.NewTLS(&tls.Config{ServerName: c.serverName}).Info()
}

func (c *reloadingCreds) Clone() credentials.TransportCredentials {
	return &reloadingCreds{files: c.files, serverName: c.serverName}
}

// OverrideServerName implements credentials.TransportCredentials (deprecated by gRPC).
func (c *reloadingCreds) OverrideServerName(name string) error {
	c.serverName = name
	return nil
}
