package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names PEM files for mTLS. Certificates are re-read when the files change
// (checked at most every 10s), so rotation needs no restart.
type TLSFiles struct {
	CertFile, KeyFile string
	// CAFile verifies the peer: clients of a server (mTLS), or the server for a client.
	CAFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	pool    *x509.CertPool
	modTime time.Time
	checked time.Time
}

func (t *TLSFiles) load() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cert != nil && time.Since(t.checked) < 10*time.Second {
		return nil
	}
	t.checked = time.Now()
	var newest time.Time
	for _, f := range []string{t.CertFile, t.KeyFile, t.CAFile} {
		if f == "" {
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			if t.cert != nil {
				return nil // keep serving with the last good certificate
			}
			return fmt.Errorf("tls: %w", err)
		}
		if st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	if t.cert != nil && !newest.After(t.modTime) {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		if t.cert != nil {
			return nil
		}
		return fmt.Errorf("tls: key pair: %w", err)
	}
	var pool *x509.CertPool
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("tls: CA: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls: no certificate in %s", t.CAFile)
		}
	}
	t.cert, t.pool, t.modTime = &cert, pool, newest
	return nil
}

// ServerConfig returns a TLS config that requires client certificates signed by CAFile
// (mTLS) when CAFile is set.
func (t *TLSFiles) ServerConfig() (*tls.Config, error) {
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("tls: certificate and key files are required")
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if err := t.load(); err != nil {
			return nil, err
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*t.cert}, NextProtos: []string{"h2"}}
		if t.pool != nil {
			c.ClientCAs = t.pool
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	return base, nil
}

// ClientConfig returns a TLS config presenting CertFile (if set) and trusting CAFile.
func (t *TLSFiles) ClientConfig() (*tls.Config, error) {
	if t.CAFile == "" {
		return nil, errors.New("tls: a CA file is required to verify servers")
	}
	if t.CertFile != "" {
		if err := t.load(); err != nil {
			return nil, err
		}
	} else {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		t.pool = x509.NewCertPool()
		t.pool.AppendCertsFromPEM(pem)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: t.pool}
	if t.CertFile != "" {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if err := t.load(); err != nil {
				return nil, err
			}
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.cert, nil
		}
	}
	return c, nil
}
