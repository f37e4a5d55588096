// Package testenv gives integration tests the addresses of the real services
// that scripts/services.sh starts. `make test` exports them and sets
// TRIBUTARY_REQUIRE_SERVICES=1, so there a missing service fails the test
// instead of skipping it; a plain `go test` without services skips.
package testenv

import (
	"os"
	"testing"
)

func lookup(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv("TRIBUTARY_REQUIRE_SERVICES") != "" {
		t.Fatalf("%s is not set: %s is required (run through `make test`)", env, what)
	}
	t.Skipf("%s not set: needs %s (run `make test` or `eval $(scripts/services.sh env)`)", env, what)
	return ""
}

// Kafka returns the bootstrap servers of the test broker.
func Kafka(t testing.TB) string { return lookup(t, "TRIBUTARY_KAFKA", "a Kafka broker") }

// MQTT returns the URI of the test Mosquitto, e.g. tcp://127.0.0.1:1883.
func MQTT(t testing.TB) string { return lookup(t, "TRIBUTARY_MQTT", "an MQTT broker") }

// Elasticsearch returns the URL of the test Elasticsearch.
func Elasticsearch(t testing.TB) string { return lookup(t, "TRIBUTARY_ES", "Elasticsearch") }

// ONNXRuntime returns the path of the ONNX Runtime shared library.
func ONNXRuntime(t testing.TB) string {
	return lookup(t, "ONNXRUNTIME_SHARED_LIBRARY_PATH", "the ONNX Runtime shared library")
}
