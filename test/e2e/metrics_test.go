package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
)

func metricValue(metrics, series string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + `(?:\{[^}]*\})? ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(metrics)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// /metrics shows Kafka Connect's metric families with live values while a
// datagen → file pipeline runs.
func TestMetricsDuringAPipeline(t *testing.T) {
	bootstrap := testenv.Kafka(t)
	topic := uniq("metrics")
	props, port := standaloneConfig(t, bootstrap, jsonValues+"offset.flush.interval.ms=300\n")
	w := startWorker(t, port, "standalone", props)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, c := range []map[string]any{
		{"name": "gen", "config": map[string]string{"connector.class": "DatagenSource", "kafka.topic": topic, "rate": "500", "cars": "10"}},
		{"name": "file", "config": map[string]string{"connector.class": "FileStreamSink", "topics": topic, "file": out}},
	} {
		if code, body := sendJSON(t, "POST", w.url+"/connectors", c); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	var metrics string
	positive := []string{
		`kafka_connect_source_task_source_record_poll_total{connector="gen",task="0"}`,
		`kafka_connect_source_task_source_record_write_total{connector="gen",task="0"}`,
		`kafka_connect_source_task_poll_batch_time_seconds_count{connector="gen",task="0"}`,
		`kafka_connect_sink_task_sink_record_read_total{connector="file",task="0"}`,
		`kafka_connect_sink_task_sink_record_send_total{connector="file",task="0"}`,
		`kafka_connect_sink_task_put_batch_time_seconds_count{connector="file",task="0"}`,
		`kafka_connect_sink_task_offset_commit_completion_total{connector="file",task="0"}`,
		`kafka_connect_worker_connector_count`,
		`kafka_connect_worker_task_count`,
		`kafka_connect_worker_task_startup_success_total`,
		`kafka_connect_connector_status{connector="gen",state="RUNNING"}`,
		`kafka_connect_connector_task_status{connector="file",state="RUNNING",task="0"}`,
		`process_resident_memory_bytes`,
		`go_goroutines`,
	}
	waitUntil(t, "live metric values", 60*time.Second, func() bool {
		_, b := sendJSON(t, "GET", w.url+"/metrics", nil)
		metrics = string(b)
		for _, s := range positive {
			name := s
			labels := ""
			if i := strings.Index(s, "{"); i >= 0 {
				name, labels = s[:i], s[i:]
			}
			re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name+labels) + ` ([0-9.e+-]+)$`)
			m := re.FindStringSubmatch(metrics)
			if m == nil {
				return false
			}
			if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 {
				return false
			}
		}
		return true
	})
	if v, ok := metricValue(metrics, "kafka_connect_worker_task_count"); !ok || v != 2 {
		t.Fatalf("task_count = %v, want 2", v)
	}
	for _, family := range []string{"kafka_connect_sink_task_sink_record_lag_max", "kafka_connect_source_task_source_record_active_count",
		"kafka_connect_task_error_total_record_failures", "kafka_connect_rebalance_completed_rebalances_total"} {
		if !strings.Contains(metrics, "# TYPE "+family) {
			t.Errorf("family %s missing", family)
		}
	}
}
