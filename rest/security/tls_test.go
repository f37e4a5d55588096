package security

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/rest/security/testpki"
)

// pki generates a fresh test PKI once per test binary.
var pkiDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tributary-pki-")
	if err != nil {
		panic(err)
	}
	if err := testpki.Generate(dir, time.Hour); err != nil {
		panic(err)
	}
	pkiDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// quietLog drops the server's expected handshake failures.
var quietLog = log.New(io.Discard, "", 0)

func pkiFile(name string) string { return filepath.Join(pkiDir, name) }

func serverProps(clientAuth string) map[string]string {
	return map[string]string{
		CertificateLocationConfig: pkiFile(testpki.ServerCertFile),
		KeyLocationConfig:         pkiFile(testpki.ServerKeyFile),
		TruststoreLocationConfig:  pkiFile(testpki.CAFile),
		ClientAuthConfig:          clientAuth,
	}
}

func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatal("no CA certificate in", file)
	}
	return p
}

// tlsGet starts an HTTPS server with tc and GETs / with a client presenting
// clientCert (if any); it returns the body or the client's error.
func tlsGet(t *testing.T, tc *tls.Config, roots *x509.CertPool, clientCert []tls.Certificate) (string, error) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		io.WriteString(w, who)
	}))
	srv.TLS = tc
	srv.Config.ErrorLog = quietLog
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: clientCert}}, Timeout: 10 * time.Second}
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestTLSHandshake(t *testing.T) {
	clientCert, err := tls.LoadX509KeyPair(pkiFile(testpki.ClientCertFile), pkiFile(testpki.ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := caPool(t, pkiFile(testpki.CAFile))
	tests := []struct {
		mode     string
		withCert bool
		want     string // body, or "" for a failed handshake
	}{
		{ClientAuthNone, false, "anonymous"},
		{ClientAuthNone, true, "anonymous"}, // not asked for, not sent
		{ClientAuthRequested, false, "anonymous"},
		{ClientAuthRequested, true, "tributary-test-client"},
		{ClientAuthRequired, false, ""},
		{ClientAuthRequired, true, "tributary-test-client"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+map[bool]string{true: "/cert", false: "/nocert"}[tt.withCert], func(t *testing.T) {
			tc, err := TLSConfig(serverProps(tt.mode))
			if err != nil {
				t.Fatal(err)
			}
			if tc.MinVersion != tls.VersionTLS12 {
				t.Fatalf("MinVersion = %x, want TLS 1.2", tc.MinVersion)
			}
			var certs []tls.Certificate
			if tt.withCert {
				certs = []tls.Certificate{clientCert}
			}
			got, err := tlsGet(t, tc, roots, certs)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("handshake succeeded without a client certificate (body %q)", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestTLSRejectsUntrustedClientAndOldTLS(t *testing.T) {
	tc, err := TLSConfig(serverProps(ClientAuthRequired))
	if err != nil {
		t.Fatal(err)
	}
	// A certificate from another CA must not pass "required".
	other := t.TempDir()
	if err := testpki.Generate(other, time.Hour); err != nil {
		t.Fatal(err)
	}
	foreign, err := tls.LoadX509KeyPair(filepath.Join(other, testpki.ClientCertFile), filepath.Join(other, testpki.ClientKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if body, err := tlsGet(t, tc, caPool(t, pkiFile(testpki.CAFile)), []tls.Certificate{foreign}); err == nil {
		t.Fatalf("a foreign client certificate was accepted: %q", body)
	}

	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS, _ = TLSConfig(serverProps(ClientAuthNone))
	srv.Config.ErrorLog = quietLog
	srv.StartTLS()
	defer srv.Close()
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: caPool(t, pkiFile(testpki.CAFile)), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was accepted")
	}
}

func TestClientTLSConfigForwardsToRequiredListener(t *testing.T) {
	server, err := TLSConfig(serverProps(ClientAuthRequired))
	if err != nil {
		t.Fatal(err)
	}
	client, err := ClientTLSConfig(serverProps(ClientAuthRequired))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tlsGet(t, server, client.RootCAs, client.Certificates)
	if err != nil || got != "localhost" {
		t.Fatalf("worker-to-worker request: %q, %v; want the worker certificate's CN", got, err)
	}
}

func TestShippedCertificates(t *testing.T) {
	dir := "../../config-examples/security"
	props := map[string]string{
		CertificateLocationConfig: filepath.Join(dir, "server.pem"),
		KeyLocationConfig:         filepath.Join(dir, "server-key.pem"),
		TruststoreLocationConfig:  filepath.Join(dir, "ca.pem"),
		ClientAuthConfig:          ClientAuthRequested,
	}
	tc, err := TLSConfig(props)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(leaf.NotAfter) < 365*24*time.Hour {
		t.Errorf("shipped server certificate expires %s; regenerate with go run ./config-examples/security/gen config-examples/security", leaf.NotAfter)
	}
	client, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tlsGet(t, tc, caPool(t, filepath.Join(dir, "ca.pem")), []tls.Certificate{client})
	if err != nil || got != "tributary-test-client" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(change map[string]string) map[string]string {
		p := serverProps(ClientAuthNone)
		for k, v := range change {
			if v == "-" {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}
	tests := []struct {
		name     string
		props    map[string]string
		want     []string
		notExist bool
	}{
		{name: "no certificate configured", props: with(map[string]string{CertificateLocationConfig: "-"}), want: []string{CertificateLocationConfig, KeyLocationConfig}},
		{name: "missing certificate file", props: with(map[string]string{CertificateLocationConfig: "/nonexistent/server.pem"}),
			want: []string{CertificateLocationConfig, "/nonexistent/server.pem"}, notExist: true},
		{name: "missing key file", props: with(map[string]string{KeyLocationConfig: "/nonexistent/key.pem"}), want: []string{KeyLocationConfig}, notExist: true},
		{name: "key of another certificate", props: with(map[string]string{KeyLocationConfig: pkiFile(testpki.ClientKeyFile)}), want: []string{"does not belong to the certificate"}},
		{name: "certificate file not PEM", props: with(map[string]string{CertificateLocationConfig: bad}), want: []string{"no PEM CERTIFICATE"}},
		{name: "key file not PEM", props: with(map[string]string{KeyLocationConfig: bad}), want: []string{"no unencrypted PEM private key"}},
		{name: "required without truststore", props: with(map[string]string{ClientAuthConfig: ClientAuthRequired, TruststoreLocationConfig: "-"}), want: []string{TruststoreLocationConfig}},
		{name: "truststore not PEM", props: with(map[string]string{ClientAuthConfig: ClientAuthRequested, TruststoreLocationConfig: bad}), want: []string{"no PEM CERTIFICATE found"}},
		{name: "unknown client auth", props: with(map[string]string{ClientAuthConfig: "sometimes"}), want: []string{ClientAuthConfig, "none, requested, required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSConfig(tt.props)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.notExist && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

func TestTLSFallsBackToClientKeys(t *testing.T) {
	tc, err := TLSConfig(map[string]string{
		"ssl.certificate.location": pkiFile(testpki.ServerCertFile),
		"ssl.key.location":         pkiFile(testpki.ServerKeyFile),
		"ssl.ca.location":          pkiFile(testpki.CAFile),
		ClientAuthConfig:           ClientAuthRequired,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Certificates) != 1 || tc.ClientCAs == nil || tc.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("fallback keys were not used: %+v", tc)
	}
}
