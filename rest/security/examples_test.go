package security_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/tributary-io/tributary/configprovider"
	"github.com/tributary-io/tributary/rest/security"
	"github.com/tributary-io/tributary/worker"
)

// An external test package, so worker may one day import this package
// without an import cycle in tests.

// TestShippedExamples keeps config-examples/security working as documented.
func TestShippedExamples(t *testing.T) {
	t.Chdir("../..") // the examples' paths are relative to the repository root
	f, err := os.Open("config-examples/security/worker-secure.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := configprovider.ParseProperties(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := worker.ParseConfig(props); err != nil {
		t.Fatalf("the example is not a valid worker config: %v", err)
	}
	if _, err := security.TLSConfig(props); err != nil {
		t.Fatal(err)
	}
	if _, err := configprovider.New(props); err != nil {
		t.Fatal(err)
	}
	kafkaWay := map[string]string{
		security.RestExtensionsConfig: security.BasicAuthExtension,
		security.JAASConfigFileConfig: "config-examples/security/jaas.conf",
	}
	for name, p := range map[string]map[string]string{"own key": props, "JAAS": kafkaWay} {
		s, err := security.New(p, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h := s.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for _, c := range []struct {
			user, pass string
			want       bool
		}{{"admin", "admin-secret", true}, {"operator", "operator-secret", true}, {"operator", "admin-secret", false}} {
			r := httptest.NewRequest(http.MethodGet, "/connectors", nil)
			r.SetBasicAuth(c.user, c.pass)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if got := rec.Code == http.StatusOK; got != c.want {
				t.Errorf("%s: check(%s, %s) = %v, want %v", name, c.user, c.pass, got, c.want)
			}
		}
	}
	r, err := configprovider.New(map[string]string{"config.providers": "file", "config.providers.file.class": configprovider.FileProviderClass})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(map[string]string{"connection.password": "${file:config-examples/security/secrets.properties:es.password}"})
	if err != nil || got["connection.password"] != "changeme" {
		t.Fatalf("secrets example: %v, %v", got, err)
	}
}
