package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
	"github.com/tributary-io/tributary/internal/testplugins"
	. "github.com/tributary-io/tributary/worker"
)

func newTestHerder(t *testing.T) *Standalone {
	t.Helper()
	bootstrap := testenv.Kafka(t)
	cfg, err := ParseConfig(map[string]string{
		BootstrapServersConfig: bootstrap,
		OffsetFileConfig:       filepath.Join(t.TempDir(), "offsets.json"),
		KeyConverterConfig:     "test.TestConverter",
		ValueConverterConfig:   "test.TestConverter",
		HeaderConverterConfig:  "test.TestHeaderConverter",
		OffsetFlushIntervalCfg: "200",
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := NewStandalone(cfg, testplugins.Registry(), "test-worker:8083", log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, rand.IntN(1e6))
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStandaloneSourceToSinkThroughKafka(t *testing.T) {
	h := newTestHerder(t)
	ctx := context.Background()
	topic := uniq("roundtrip")
	src, snk := uniq("src"), uniq("snk")

	info, err := h.CreateConnector(ctx, src, map[string]string{
		ConnectorClassConfig: "CountingSource", "topic": topic, "count": "500", "secret": "s3cr3t",
	}, TargetRunning)
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != "source" || len(info.Tasks) != 1 || info.Config["secret"] != "[hidden]" {
		t.Fatalf("unexpected info %+v", info)
	}
	waitFor(t, "all 500 source records acknowledged", 30*time.Second, func() bool {
		w, _ := testplugins.Acknowledged(src)
		return w == 500
	})
	// Source offsets are committed from acknowledgements, at the flush interval.
	waitFor(t, "source offset 499 committed", 10*time.Second, func() bool {
		offs, err := h.Offsets(ctx, src)
		return err == nil && len(offs.Offsets) == 1 && offs.Offsets[0].Offset["n"] == int64(499)
	})
	topics, _ := h.ConnectorTopics(ctx, src)
	if len(topics) != 1 || topics[0] != topic {
		t.Fatalf("topics = %v, want [%s]", topics, topic)
	}

	if _, err := h.CreateConnector(ctx, snk, map[string]string{ConnectorClassConfig: "test.CollectingSinkConnector", TopicsConfig: topic}, TargetRunning); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sink received 500 records", 60*time.Second, func() bool { return len(testplugins.Collected(snk)) >= 500 })
	recs := testplugins.Collected(snk)
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.Key.(string)] = true
		if h, ok := r.Headers.Get("origin"); !ok || h.Value != "counting" {
			t.Errorf("record %v lost its header: %v", r.Key, r.Headers)
		}
	}
	if len(seen) != 500 {
		t.Fatalf("sink saw %d distinct keys, want 500", len(seen))
	}
	// Sink offsets land in the consumer group, shown in Kafka Connect's shape.
	waitFor(t, "sink offsets committed", 20*time.Second, func() bool {
		offs, err := h.Offsets(ctx, snk)
		return err == nil && len(offs.Offsets) == 1 && offs.Offsets[0].Offset["kafka_offset"] == int64(500)
	})

	// Offsets can only change while STOPPED.
	if _, err := h.ResetOffsets(ctx, src); err == nil || !strings.Contains(err.Error(), "STOPPED") {
		t.Fatalf("reset while running: err = %v, want a STOPPED error", err)
	}
	if err := h.StopConnector(ctx, src); err != nil {
		t.Fatal(err)
	}
	st, _ := h.ConnectorStatus(ctx, src)
	if st.Connector.State != StateStopped || len(st.Tasks) != 0 {
		t.Fatalf("stopped connector status %+v", st)
	}
	if _, err := h.AlterOffsets(ctx, src, ConnectorOffsets{Offsets: []ConnectorOffset{{Partition: map[string]any{"src": "counter"}, Offset: map[string]any{"n": 449}}}}); err != nil {
		t.Fatal(err)
	}
	testplugins.ResetAcknowledged(src)
	if err := h.ResumeConnector(ctx, src); err != nil {
		t.Fatal(err)
	}
	// Resumed from the altered offset: exactly 50 more.
	waitFor(t, "50 records after altering offsets", 30*time.Second, func() bool {
		w, _ := testplugins.Acknowledged(src)
		return w == 50
	})
	if err := h.DeleteConnector(ctx, src); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ConnectorInfo(ctx, src); !IsNotFound(err) {
		t.Fatalf("deleted connector still answers: %v", err)
	}
}

func TestStandaloneTransformFailureFailsTaskWithTrace(t *testing.T) {
	h := newTestHerder(t)
	ctx := context.Background()
	name := uniq("fail")
	_, err := h.CreateConnector(ctx, name, map[string]string{
		ConnectorClassConfig: "CountingSource", "topic": uniq("t"), "count": "10",
		TransformsConfig: "odd", "transforms.odd.type": "test.FailOnOdd",
	}, TargetRunning)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "task FAILED", 20*time.Second, func() bool {
		st, _ := h.ConnectorStatus(ctx, name)
		return len(st.Tasks) == 1 && st.Tasks[0].State == StateFailed
	})
	st, _ := h.ConnectorStatus(ctx, name)
	if tr := st.Tasks[0].Trace; !strings.Contains(tr, "TRANSFORMATION") || !strings.Contains(tr, "odd number 1") {
		t.Fatalf("trace does not say which stage and why: %q", tr)
	}
	// Record 0 got through; nothing after the failed record 1 was written.
	if w, _ := testplugins.Acknowledged(name); w != 1 {
		t.Fatalf("written = %d, want 1 (only the record before the failure)", w)
	}
}

func TestStandaloneToleratedFailuresAreSkippedAndAcknowledged(t *testing.T) {
	h := newTestHerder(t)
	ctx := context.Background()
	name := uniq("tolerate")
	_, err := h.CreateConnector(ctx, name, map[string]string{
		ConnectorClassConfig: "CountingSource", "topic": uniq("t"), "count": "100",
		TransformsConfig: "odd", "transforms.odd.type": "test.FailOnOdd", ErrorsTolerance: "all",
	}, TargetRunning)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "100 records done", 20*time.Second, func() bool {
		w, d := testplugins.Acknowledged(name)
		return w+d == 100
	})
	if w, d := testplugins.Acknowledged(name); w != 50 || d != 50 {
		t.Fatalf("written %d dropped %d, want 50/50", w, d)
	}
}

func TestStandaloneValidationErrors(t *testing.T) {
	h := newTestHerder(t)
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"unknown class", map[string]string{ConnectorClassConfig: "NoSuchConnector"}, "available: test.CollectingSinkConnector, test.CountingSourceConnector"},
		{"bad int", map[string]string{ConnectorClassConfig: "CountingSource", "topic": "t", "count": "many"}, "count: Invalid value many"},
		{"missing required", map[string]string{ConnectorClassConfig: "CountingSource"}, "Missing required configuration \"topic\""},
		{"sink without topics", map[string]string{ConnectorClassConfig: "CollectingSink"}, "Must configure one of topics or topics.regex"},
		{"unknown transform", map[string]string{ConnectorClassConfig: "CountingSource", "topic": "t", TransformsConfig: "x", "transforms.x.type": "Nope"}, "transforms.x.type"},
		{"typo key", map[string]string{ConnectorClassConfig: "CountingSource", "topic": "t", "tasks.mx": "2"}, "did you mean \"tasks.max\""},
		{"tasks.max zero", map[string]string{ConnectorClassConfig: "CountingSource", "topic": "t", TasksMaxConfig: "0"}, "Value must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.CreateConnector(ctx, uniq("bad"), tt.cfg, TargetRunning)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var he *Error
			if !errors.As(err, &he) || he.Code != 400 {
				t.Fatalf("err %v is not a 400", err)
			}
		})
	}
	names, _ := h.Connectors(ctx)
	if len(names) != 0 {
		t.Fatalf("invalid configs created connectors: %v", names)
	}
}
