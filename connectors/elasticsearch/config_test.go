package elasticsearch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/connect"
)

func TestConfigDefaults(t *testing.T) {
	// Framework keys must pass through untouched.
	s := mustSettings(t, map[string]string{
		cfgURL: "http://a:9200, https://b:9200", "name": "es", "connector.class": Class, "tasks.max": "2",
		"topics": "x", "errors.tolerance": "all", "transforms": "", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"urls", strings.Join(s.urls, ","), "http://a:9200,https://b:9200"},
		{"connection timeout", s.connTimeout, time.Second},
		{"read timeout", s.readTimeout, 3 * time.Second},
		{"batch size", s.batchSize, 2000},
		{"bulk bytes", s.bulkSizeBytes, int64(5 << 20)},
		{"in flight", s.maxInFlight, 5},
		{"buffered", s.maxBuffered, 20000},
		{"linger", s.linger, time.Millisecond},
		{"flush timeout", s.flushTimeout, 180 * time.Second},
		{"retries", s.maxRetries, 5},
		{"backoff", s.retryBackoff, 100 * time.Millisecond},
		{"write method", s.writeMethod, writeInsert},
		{"null values", s.nullValues, nullFail},
		{"malformed", s.malformed, malformedFail},
		{"key ignore", s.keyIgnore, false},
		{"schema ignore", s.schemaIgnore, false},
		{"drop invalid", s.dropInvalid, false},
		{"tls from https url", s.tlsEnabled, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mappings":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		raw    map[string]string
		errKey string
	}{
		{"missing url", map[string]string{}, cfgURL},
		{"not http", map[string]string{cfgURL: "es:9200"}, cfgURL},
		{"bad write method", map[string]string{cfgURL: "http://a", cfgWriteMethod: "append"}, cfgWriteMethod},
		{"bad null behavior", map[string]string{cfgURL: "http://a", cfgNullValues: "drop"}, cfgNullValues},
		{"bad malformed behavior", map[string]string{cfgURL: "http://a", cfgMalformed: "skip"}, cfgMalformed},
		{"bad index format", map[string]string{cfgURL: "http://a", cfgIndexFormat: "${nope}"}, cfgIndexFormat},
		{"template without patterns", map[string]string{cfgURL: "http://a", cfgTemplateFile: bad}, cfgTemplateFile},
		{"missing template", map[string]string{cfgURL: "http://a", cfgTemplateFile: filepath.Join(dir, "none.json")}, cfgTemplateFile},
		{"cert without key", map[string]string{cfgURL: "http://a", cfgTLSCert: bad}, cfgTLSKey},
		{"password without user", map[string]string{cfgURL: "http://a", cfgPassword: "p"}, cfgUsername},
		{"jks", map[string]string{cfgURL: "http://a", "elastic.https.ssl.truststore.location": "/x.jks"}, "elastic.https.ssl.truststore.location"},
		{"zero batch", map[string]string{cfgURL: "http://a", cfgBatchSize: "0"}, cfgBatchSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigDef.Parse(tt.raw)
			ce, ok := err.(*connect.ConfigError)
			if !ok {
				t.Fatalf("Parse = %v, want a ConfigError", err)
			}
			for _, f := range ce.Fields {
				if f.Key == tt.errKey {
					return
				}
			}
			t.Fatalf("errors %v do not name %s", ce.Fields, tt.errKey)
		})
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{Class, "ElasticsearchSinkConnector", "ElasticsearchSink"} {
		p, err := connect.Default.Lookup(name, connect.KindSink)
		if err != nil || p.Config != ConfigDef {
			t.Errorf("Lookup(%q) = %v, %v", name, p.Class, err)
		}
	}
	if k, _ := ConfigDef.Key(cfgPassword); !k.IsSecret() {
		t.Error("connection.password is not secret")
	}
}

func TestShippedTemplate(t *testing.T) {
	tmpl, err := loadTemplate("../../config-examples/elasticsearch/car-sensors-template.json")
	if err != nil {
		t.Fatal(err)
	}
	if !tmpl.composable {
		t.Fatal("the shipped template should be composable")
	}
}

func TestClassifyItem(t *testing.T) {
	item := func(status int, typ string) *elastic.BulkResponseItem {
		it := &elastic.BulkResponseItem{Status: status}
		if typ != "" {
			it.Error = &elastic.ErrorDetails{Type: typ}
		}
		return it
	}
	tests := []struct {
		name      string
		it        *elastic.BulkResponseItem
		kind      opKind
		versioned bool
		want      errClass
	}{
		{"created", item(201, ""), opIndex, true, classOK},
		{"external conflict is a replay", item(409, "version_conflict_engine_exception"), opIndex, true, classOK},
		{"upsert conflict retried", item(409, "version_conflict_engine_exception"), opUpdate, false, classRetry},
		{"delete missing", item(404, ""), opDelete, true, classOK},
		{"rejected", item(429, "es_rejected_execution_exception"), opIndex, true, classRetry},
		{"unavailable shards", item(503, "unavailable_shards_exception"), opIndex, true, classRetry},
		{"mapping", item(400, "mapper_parsing_exception"), opIndex, true, classMalformed},
		{"illegal argument", item(400, "illegal_argument_exception"), opIndex, true, classMalformed},
		{"read-only block", item(403, "cluster_block_exception"), opIndex, true, classRetry},
		{"forbidden", item(403, "security_exception"), opIndex, true, classFatal},
	}
	for _, tt := range tests {
		if got := classifyItem(tt.it, tt.kind, tt.versioned); got != tt.want {
			t.Errorf("%s: class %d, want %d", tt.name, got, tt.want)
		}
	}
}
