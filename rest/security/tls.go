package security

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// TLSConfig returns the server TLS configuration for https:// listeners from
// the worker properties: certificate and key, TLS 1.2 at least, and client
// certificates per listeners.https.ssl.client.auth.
func TLSConfig(props map[string]string) (*tls.Config, error) {
	c, err := parse(props)
	if err != nil {
		return nil, err
	}
	cert, err := loadKeyPair(c, props)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	mode := strings.ToLower(c.String(ClientAuthConfig))
	if mode == ClientAuthNone {
		return tc, nil
	}
	pool, err := loadTrust(c, props)
	if err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%s=%s needs %s: the CA bundle client certificates are verified against", ClientAuthConfig, mode, TruststoreLocationConfig)
	}
	tc.ClientCAs = pool
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	if mode == ClientAuthRequired {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// ClientTLSConfig returns what a worker uses to forward requests to another
// worker's https:// listener: the truststore as roots (system roots when
// unset) and the listener certificate as client certificate when configured.
func ClientTLSConfig(props map[string]string) (*tls.Config, error) {
	c, err := parse(props)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	pool, err := loadTrust(c, props)
	if err != nil {
		return nil, err
	}
	tc.RootCAs = pool
	if certFile, _ := setting(c, props, CertificateLocationConfig, "ssl.certificate.location"); certFile != "" {
		cert, err := loadKeyPair(c, props)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func loadKeyPair(c connect.Config, props map[string]string) (tls.Certificate, error) {
	certFile, certKey := setting(c, props, CertificateLocationConfig, "ssl.certificate.location")
	keyFile, keyKey := setting(c, props, KeyLocationConfig, "ssl.key.location")
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, fmt.Errorf("an https listener needs %s and %s (PEM files)", CertificateLocationConfig, KeyLocationConfig)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: reading certificate: %w", certKey, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: reading private key: %w", keyKey, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s and %s: %w", certKey, keyKey, explainKeyPair(err))
	}
	return cert, nil
}

// explainKeyPair turns crypto/tls's terse messages into advice.
func explainKeyPair(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not match"):
		return fmt.Errorf("the private key does not belong to the certificate: %w", err)
	case strings.Contains(msg, "failed to find any PEM data in certificate"):
		return fmt.Errorf("the certificate file holds no PEM CERTIFICATE block: %w", err)
	case strings.Contains(msg, "failed to find") && strings.Contains(msg, "key"):
		return fmt.Errorf("the key file holds no unencrypted PEM private key (encrypted keys are not supported): %w", err)
	}
	return err
}

// loadTrust returns nil when no CA bundle is configured.
func loadTrust(c connect.Config, props map[string]string) (*x509.CertPool, error) {
	file, key := setting(c, props, TruststoreLocationConfig, "ssl.ca.location")
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: reading CA bundle: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: %s: %w", key, file, errNoCerts)
	}
	return pool, nil
}

var errNoCerts = errors.New("no PEM CERTIFICATE found")
