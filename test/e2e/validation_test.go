package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/testenv"
)

// A bad URI, mqtt.qos=3 and an empty topic list each get a field-level error
// from config/validate and a 400 naming the field from POST /connectors.
func TestMQTTValidationThroughREST(t *testing.T) {
	bootstrap := testenv.Kafka(t)
	props, port := standaloneConfig(t, bootstrap, jsonValues)
	w := startWorker(t, port, "standalone", props)
	base := map[string]string{"connector.class": "MqttSource", "mqtt.server.uri": "tcp://127.0.0.1:1883", "mqtt.topics": "a/b", "kafka.topic": "k"}
	tests := []struct {
		name, key, value string
	}{
		{"bad uri", "mqtt.server.uri", "not a uri://"},
		{"qos 3", "mqtt.qos", "3"},
		{"empty topics", "mqtt.topics", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]string{"name": "v"}
			for k, v := range base {
				cfg[k] = v
			}
			cfg[tt.key] = tt.value
			code, body := sendJSON(t, "PUT", w.url+"/connector-plugins/MqttSource/config/validate", cfg)
			var v struct {
				ErrorCount int `json:"error_count"`
				Configs    []struct {
					Value struct {
						Name   string   `json:"name"`
						Errors []string `json:"errors"`
					} `json:"value"`
				} `json:"configs"`
			}
			if err := json.Unmarshal(body, &v); code != 200 || err != nil {
				t.Fatalf("validate: %d %s", code, body)
			}
			var fieldErrs []string
			for _, c := range v.Configs {
				if c.Value.Name == tt.key {
					fieldErrs = c.Value.Errors
				}
			}
			if v.ErrorCount != 1 || len(fieldErrs) != 1 {
				t.Fatalf("want exactly one error, on %s; got %d errors, %q on the field: %s", tt.key, v.ErrorCount, fieldErrs, body)
			}
			delete(cfg, "name")
			code, body = sendJSON(t, "POST", w.url+"/connectors", map[string]any{"name": "v-" + strings.ReplaceAll(tt.name, " ", "-"), "config": cfg})
			if code != 400 || !strings.Contains(string(body), tt.key) || !strings.Contains(string(body), `"error_code":400`) {
				t.Fatalf("POST: %d %s", code, body)
			}
		})
	}
}
