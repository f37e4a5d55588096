package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", rel)
}

// HTTPS with the shipped test certificates, basic auth, and a connector
// password (given in clear and through ${env:…}) that never appears in any
// REST answer or log line.
func TestSecuredWorkerHidesSecrets(t *testing.T) {
	bootstrap, broker := testenv.Kafka(t), testenv.MQTT(t)
	const clearPassword = "clear-pw-7Hq2Zx"
	const envPassword = "env-pw-K9s3Lm"
	t.Setenv("TRIBUTARY_E2E_MQTT_PASSWORD", envPassword)
	dir := t.TempDir()
	port := freePort(t)
	props := writeFile(t, filepath.Join(dir, "worker.properties"), fmt.Sprintf(`bootstrap.servers=%s
listeners=https://127.0.0.1:%d
offset.storage.file.filename=%s
listeners.https.ssl.certificate.location=%s
listeners.https.ssl.key.location=%s
rest.basic.auth.credentials.file=%s
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
`, bootstrap, port, filepath.Join(dir, "offsets.json"), repoFile(t, "config-examples/security/server.pem"),
		repoFile(t, "config-examples/security/server-key.pem"), repoFile(t, "config-examples/security/credentials.properties")))

	ca, err := os.ReadFile(repoFile(t, "config-examples/security/ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)

	w := startSecureWorker(t, client, base, props)
	do := func(method, path, user, pass, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := do("GET", "/connectors", "", "", ""); code != 401 || !strings.Contains(body, `"error_code":401`) {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	if code, _ := do("GET", "/connectors", "admin", "wrong", ""); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, body := do("GET", "/connectors", "admin", "admin-secret", ""); code != 200 {
		t.Fatalf("with credentials: %d %s", code, body)
	}

	var answers []string
	for i, pw := range []string{clearPassword, "${env:TRIBUTARY_E2E_MQTT_PASSWORD}"} {
		name := fmt.Sprintf("secret-%d", i)
		cfg := fmt.Sprintf(`{"name": %q, "config": {"connector.class": "MqttSource", "mqtt.server.uri": %q,
			"mqtt.topics": "secret/%d", "kafka.topic": "secret-%d", "mqtt.username": "u", "mqtt.password": %q}}`, name, broker, i, i, pw)
		code, body := do("POST", "/connectors", "admin", "admin-secret", cfg)
		if code != 201 {
			t.Fatalf("create %s: %d %s", name, code, body)
		}
		answers = append(answers, body)
		for _, path := range []string{"/connectors/" + name, "/connectors/" + name + "/config", "/connectors/" + name + "/tasks",
			"/connectors/" + name + "/status", "/connectors?expand=info&expand=status"} {
			_, b := do("GET", path, "admin", "admin-secret", "")
			answers = append(answers, b)
		}
		_, b := do("PUT", "/connector-plugins/MqttSource/config/validate", "admin", "admin-secret",
			fmt.Sprintf(`{"name": "v", "mqtt.server.uri": %q, "mqtt.topics": "x", "kafka.topic": "x", "mqtt.password": %q}`, broker, pw))
		answers = append(answers, b)
	}
	waitUntil(t, "both connectors running", 30*time.Second, func() bool {
		_, b := do("GET", "/connectors?expand=status", "admin", "admin-secret", "")
		return strings.Count(b, `"state":"RUNNING"`) == 4
	})
	_, cfgBody := do("GET", "/connectors/secret-1/config", "admin", "admin-secret", "")
	if !strings.Contains(cfgBody, "[hidden]") {
		t.Fatalf("password key not hidden: %s", cfgBody)
	}
	w.stop(t)
	answers = append(answers, w.log.String())
	for _, a := range answers {
		for _, secret := range []string{clearPassword, envPassword} {
			if strings.Contains(a, secret) {
				t.Fatalf("secret %q leaked in:\n%s", secret, a)
			}
		}
	}
}

func startSecureWorker(t *testing.T, client *http.Client, base string, props string) *process {
	t.Helper()
	return startWorkerWith(t, client, base, "standalone", props)
}
