package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/connect"
)

var day = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func source(t *testing.T, r *elastic.GetResult) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Source, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInsertIDs(t *testing.T) {
	e := newESEnv(t)
	tests := []struct {
		name      string
		keyIgnore bool
		key       any
		wantID    string
		versioned bool
	}{
		{name: "string key", key: "car-7", wantID: "car-7", versioned: true},
		{name: "integer key", key: int64(4711), wantID: "4711", versioned: true},
		{name: "key ignored", keyIgnore: true, key: "whatever", wantID: e.prefix + "-ids+3+42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := e.prefix + "-ids"
			task := e.start(e.url, map[string]string{cfgKeyIgnore: fmt.Sprint(tt.keyIgnore)}, &fakeContext{})
			rec := &connect.Record{Topic: topic, Partition: 3, Offset: 42, Timestamp: day, Key: tt.key,
				Value: map[string]any{"speed": 88.5, "car_id": "c"}}
			commitAll(t, task, []*connect.Record{rec})
			doc := e.get(topic, tt.wantID)
			if doc == nil {
				t.Fatalf("document %q missing", tt.wantID)
			}
			if got := source(t, doc)["speed"]; got != 88.5 {
				t.Fatalf("speed = %v", got)
			}
			if tt.versioned && (doc.Version == nil || *doc.Version != 42) {
				t.Fatalf("version = %v, want the offset 42", doc.Version)
			}
		})
	}
}

func TestUpsertMergesDocuments(t *testing.T) {
	e := newESEnv(t)
	topic := e.prefix + "-upsert"
	task := e.start(e.url, map[string]string{cfgWriteMethod: "upsert"}, &fakeContext{})
	recs := []*connect.Record{
		{Topic: topic, Offset: 0, Timestamp: day, Key: "car-1", Value: map[string]any{"speed": 10.0, "car_id": "car-1"}},
		{Topic: topic, Offset: 1, Timestamp: day, Key: "car-1", Value: map[string]any{"anomaly_score": 0.9}},
		{Topic: topic, Offset: 2, Timestamp: day, Key: "car-2", Value: map[string]any{"speed": 20.0}},
	}
	commitAll(t, task, recs[:1])
	commitAll(t, task, recs[1:])
	if n := e.count(topic); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	got := source(t, e.get(topic, "car-1"))
	if got["speed"] != 10.0 || got["anomaly_score"] != 0.9 || got["car_id"] != "car-1" {
		t.Fatalf("car-1 = %v, want the merged fields", got)
	}
}

func TestTombstones(t *testing.T) {
	e := newESEnv(t)
	tests := []struct {
		behavior   string
		reporter   *recordingReporter
		wantDoc    bool
		wantPutErr bool
		wantReport int
	}{
		{behavior: "ignore", wantDoc: true},
		{behavior: "delete", wantDoc: false},
		{behavior: "fail", reporter: &recordingReporter{}, wantDoc: true, wantReport: 1},
		{behavior: "fail", reporter: &recordingReporter{err: errReporterRefuses}, wantDoc: true, wantPutErr: true, wantReport: 1},
		{behavior: "fail", wantDoc: true, wantPutErr: true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.behavior, i), func(t *testing.T) {
			topic := fmt.Sprintf("%s-tomb-%d", e.prefix, i)
			fc := &fakeContext{reporter: tt.reporter}
			// drop.invalid.message must not swallow a tombstone the user wants to fail on.
			task := e.start(e.url, map[string]string{cfgNullValues: tt.behavior, cfgDropInvalid: "true"}, fc)
			commitAll(t, task, []*connect.Record{{Topic: topic, Offset: 0, Timestamp: day, Key: "k", Value: map[string]any{"a": 1.0}}})
			tomb := []*connect.Record{{Topic: topic, Offset: 1, Timestamp: day, Key: "k", Value: nil}}
			err := task.Put(context.Background(), tomb)
			if tt.wantPutErr {
				if err == nil {
					t.Fatal("Put of a tombstone succeeded, want a failure")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, err := task.PreCommit(context.Background(), consumed(tomb))
				if err != nil || got[connect.TopicPartition{Topic: topic}] != 2 {
					t.Fatalf("PreCommit = %v, %v; want offset 2", got, err)
				}
			}
			if has := e.get(topic, "k") != nil; has != tt.wantDoc {
				t.Fatalf("document present = %v, want %v", has, tt.wantDoc)
			}
			if tt.reporter != nil {
				if recs, _ := tt.reporter.reported(); len(recs) != tt.wantReport {
					t.Fatalf("reported %d records, want %d", len(recs), tt.wantReport)
				}
			}
		})
	}
}

func TestDeleteThenReplayKeepsDeletion(t *testing.T) {
	e := newESEnv(t)
	topic := e.prefix + "-redel"
	task := e.start(e.url, map[string]string{cfgNullValues: "delete"}, &fakeContext{})
	recs := []*connect.Record{
		{Topic: topic, Offset: 0, Timestamp: day, Key: "k", Value: map[string]any{"a": 1.0}},
		{Topic: topic, Offset: 1, Timestamp: day, Key: "k", Value: nil},
	}
	commitAll(t, task, recs)
	// A replay of the older insert must not resurrect the document: the
	// delete's external version (1) is newer.
	commitAll(t, task, recs[:1])
	if doc := e.get(topic, "k"); doc != nil {
		t.Fatalf("replayed insert resurrected the deleted document: %s", doc.Source)
	}
}

func TestDailyIndexRouting(t *testing.T) {
	e := newESEnv(t)
	task := e.start(e.url, map[string]string{cfgIndexFormat: e.prefix + "-car-sensors-${timestamp:yyyy.MM.dd}"}, &fakeContext{})
	d1 := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
	d2 := time.Date(2026, 11, 23, 0, 1, 0, 0, time.UTC)
	recs := append(sensorRecords("Sensor-Data", 0, 3, d1), sensorRecords("Sensor-Data", 3, 2, d2)...)
	commitAll(t, task, recs)
	for index, want := range map[string]int64{e.prefix + "-car-sensors-2026.11.22": 3, e.prefix + "-car-sensors-2026.11.23": 2} {
		if n := e.count(index); n != want {
			t.Errorf("count(%s) = %d, want %d", index, n, want)
		}
	}
}

func TestTopicRenameKeepsOffsets(t *testing.T) {
	e := newESEnv(t)
	task := e.start(e.url, nil, &fakeContext{})
	// A RegexRouter-style transform renamed the topic; offsets must be
	// reported for the original partition.
	rec := &connect.Record{Topic: e.prefix + "-renamed", Partition: 0, Offset: 9, Timestamp: day, Key: "k", Value: map[string]any{"a": 1.0},
		OriginalTopic: "raw", OriginalPartition: 4, OriginalOffset: 9}
	if err := task.Put(context.Background(), []*connect.Record{rec}); err != nil {
		t.Fatal(err)
	}
	orig := connect.TopicPartition{Topic: "raw", Partition: 4}
	got, err := task.PreCommit(context.Background(), map[connect.TopicPartition]int64{orig: 10})
	if err != nil || got[orig] != 10 {
		t.Fatalf("PreCommit = %v, %v; want raw-4 at 10", got, err)
	}
	if e.count(e.prefix+"-renamed") != 1 {
		t.Fatal("document not in the renamed topic's index")
	}
}

func TestMalformedDocuments(t *testing.T) {
	e := newESEnv(t)
	tests := []struct {
		behavior string
		fail     bool
	}{{"ignore", false}, {"warn", false}, {"fail", true}}
	for _, tt := range tests {
		t.Run(tt.behavior, func(t *testing.T) {
			index := e.prefix + "-malformed-" + tt.behavior
			if _, err := e.client.CreateIndex(index).BodyString(`{"mappings":{"properties":{"n":{"type":"long"}}}}`).Do(context.Background()); err != nil {
				t.Fatal(err)
			}
			rep := &recordingReporter{}
			task := e.start(e.url, map[string]string{cfgMalformed: tt.behavior}, &fakeContext{reporter: rep})
			recs := []*connect.Record{
				{Topic: index, Offset: 0, Timestamp: day, Key: "a", Value: map[string]any{"n": int64(1)}},
				{Topic: index, Offset: 1, Timestamp: day, Key: "b", Value: map[string]any{"n": "not a number"}},
				{Topic: index, Offset: 2, Timestamp: day, Key: "c", Value: map[string]any{"n": int64(3)}},
			}
			if err := task.Put(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			got, err := task.PreCommit(context.Background(), consumed(recs))
			if tt.fail {
				if err == nil || !strings.Contains(err.Error(), "mapper_parsing_exception") {
					t.Fatalf("PreCommit = %v, %v; want the task to fail with the mapping error", got, err)
				}
			} else if err != nil || got[connect.TopicPartition{Topic: index}] != 3 {
				t.Fatalf("PreCommit = %v, %v; want offset 3", got, err)
			}
			if n := e.count(index); n != 2 {
				t.Fatalf("count = %d, want the 2 good documents", n)
			}
			reported, errs := rep.reported()
			if len(reported) != 1 || reported[0].Offset != 1 || !strings.Contains(errs[0].Error(), "mapper_parsing_exception") {
				t.Fatalf("reported %v %v, want offset 1 with the mapping error", reported, errs)
			}
		})
	}
}

func TestInvalidRecords(t *testing.T) {
	e := newESEnv(t)
	tests := []struct {
		name       string
		drop       bool
		reporter   *recordingReporter
		wantErr    bool
		wantReport int
	}{
		{name: "dropped", drop: true},
		{name: "reported", reporter: &recordingReporter{}, wantReport: 2},
		{name: "reporter refuses", reporter: &recordingReporter{err: errReporterRefuses}, wantErr: true, wantReport: 1},
		{name: "no reporter", wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := fmt.Sprintf("%s-invalid-%d", e.prefix, i)
			task := e.start(e.url, map[string]string{cfgDropInvalid: fmt.Sprint(tt.drop)}, &fakeContext{reporter: tt.reporter})
			recs := []*connect.Record{
				{Topic: topic, Offset: 0, Timestamp: day, Key: "ok", Value: map[string]any{"a": 1.0}},
				{Topic: topic, Offset: 1, Timestamp: day, Key: nil, Value: map[string]any{"a": 2.0}},
				{Topic: topic, Offset: 2, Timestamp: day, Key: map[string]any{"id": "x"}, Value: map[string]any{"a": 3.0}},
				{Topic: topic, Offset: 3, Timestamp: day, Key: "ok2", Value: map[string]any{"a": 4.0}},
			}
			err := task.Put(context.Background(), recs)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Put succeeded, want a failure")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				got, err := task.PreCommit(context.Background(), consumed(recs))
				if err != nil || got[connect.TopicPartition{Topic: topic}] != 4 {
					t.Fatalf("PreCommit = %v, %v; want offset 4", got, err)
				}
				if n := e.count(topic); n != 2 {
					t.Fatalf("count = %d, want 2", n)
				}
			}
			if tt.reporter != nil {
				if recs, _ := tt.reporter.reported(); len(recs) != tt.wantReport {
					t.Fatalf("reported %d, want %d", len(recs), tt.wantReport)
				}
			}
		})
	}
}

func TestReplayIsIdempotent(t *testing.T) {
	e := newESEnv(t)
	for _, keyIgnore := range []bool{false, true} {
		t.Run(fmt.Sprintf("key.ignore=%v", keyIgnore), func(t *testing.T) {
			topic := fmt.Sprintf("%s-replay-%v", e.prefix, keyIgnore)
			recs := sensorRecords(topic, 0, 3000, day)
			for round := range 2 {
				// A fresh task each round, as after a restart from old offsets.
				task := e.start(e.url, map[string]string{cfgKeyIgnore: fmt.Sprint(keyIgnore), cfgBatchSize: "500"}, &fakeContext{})
				for i := 0; i < len(recs); i += 700 {
					commitAll(t, task, recs[i:min(i+700, len(recs))])
				}
				if n := e.count(topic); n != 3000 {
					t.Fatalf("round %d: count = %d, want 3000", round, n)
				}
			}
		})
	}
}

func TestOutageHoldsOffsetsAndRecovers(t *testing.T) {
	e := newESEnv(t)
	p := newProxy(t, e.url)
	topic := e.prefix + "-outage"
	tp := connect.TopicPartition{Topic: topic}
	task := e.start(p.url(), map[string]string{cfgBatchSize: "50", cfgRetryBackoff: "20", cfgMaxRetries: "2", cfgFlushTimeout: "60000"}, &fakeContext{})
	ctx := context.Background()

	first := sensorRecords(topic, 0, 200, day)
	commitAll(t, task, first)
	if err := task.Health(); err != nil {
		t.Fatalf("Health while fine = %v", err)
	}

	p.down()
	second := sensorRecords(topic, 200, 300, day)
	if err := task.Put(ctx, second); err != nil {
		t.Fatalf("Put during the outage: %v", err)
	}
	// PreCommit must neither fail nor wait for flush.timeout.ms, and must
	// hold the offset at the first unwritten record.
	start := time.Now()
	got, err := task.PreCommit(ctx, consumed(second))
	if err != nil {
		t.Fatalf("PreCommit during the outage: %v", err)
	}
	if got[tp] != 200 {
		t.Fatalf("PreCommit during the outage = %d, want 200 (held back)", got[tp])
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("PreCommit waited %v during an outage", waited)
	}
	health := task.Health()
	if health == nil || !strings.Contains(health.Error(), "elasticsearch unreachable since") {
		t.Fatalf("Health during the outage = %v", health)
	}

	p.up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err = task.PreCommit(ctx, consumed(second))
		if err != nil {
			t.Fatal(err)
		}
		if got[tp] == 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets stuck at %d after the outage; health %v", got[tp], task.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := task.Health(); err != nil {
		t.Fatalf("Health after recovery = %v", err)
	}
	if n := e.count(topic); n != 500 {
		t.Fatalf("count = %d, want 500", n)
	}
}

func TestBackpressurePausesAndRedelivers(t *testing.T) {
	e := newESEnv(t)
	p := newProxy(t, e.url)
	p.down() // nothing can be written
	topic := e.prefix + "-bp"
	fc := &fakeContext{assignment: []connect.TopicPartition{{Topic: topic}}}
	task := e.start(p.url(), map[string]string{cfgMaxBuffered: "100", cfgFlushTimeout: "200", cfgRetryBackoff: "10", cfgMaxRetries: "1"}, fc)
	ctx := context.Background()

	if err := task.Put(ctx, sensorRecords(topic, 0, 100, day)); err != nil {
		t.Fatal(err)
	}
	if fc.pausedCount() != 1 {
		t.Fatal("partition not paused at max.buffered.records")
	}
	over := sensorRecords(topic, 100, 10, day)
	err := task.Put(ctx, over)
	if !connect.IsRetriable(err) {
		t.Fatalf("Put beyond the bound = %v, want a RetriableError", err)
	}
	p.up()
	// The runtime redelivers the refused batch later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = task.Put(ctx, over)
		if err == nil {
			break
		}
		if !connect.IsRetriable(err) || time.Now().After(deadline) {
			t.Fatalf("redelivery: %v", err)
		}
	}
	recs := append(sensorRecords(topic, 0, 100, day), over...)
	got, err := task.PreCommit(ctx, consumed(recs))
	if err != nil || got[connect.TopicPartition{Topic: topic}] != 110 {
		t.Fatalf("PreCommit = %v, %v; want 110", got, err)
	}
	if err := task.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if fc.pausedCount() != 0 {
		t.Fatal("partition still paused after the buffer drained")
	}
	if n := e.count(topic); n != 110 {
		t.Fatalf("count = %d, want 110", n)
	}
}

func TestUnreachableAtStart(t *testing.T) {
	e := newESEnv(t)
	// Port 1 on loopback: nothing listens. The task must start, hold the
	// offsets and report the outage instead of failing.
	task := e.start("http://127.0.0.1:1", map[string]string{cfgRetryBackoff: "10"}, &fakeContext{})
	recs := sensorRecords(e.prefix+"-down", 5, 3, day)
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for task.Health() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Health never reported the unreachable cluster")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got, err := task.PreCommit(context.Background(), consumed(recs))
	if err != nil || got[connect.TopicPartition{Topic: e.prefix + "-down"}] != 5 {
		t.Fatalf("PreCommit = %v, %v; want offset held at 5", got, err)
	}
}

func TestIndexTemplateInstalled(t *testing.T) {
	e := newESEnv(t)
	shipped, err := os.ReadFile("../../config-examples/elasticsearch/car-sensors-template.json")
	if err != nil {
		t.Fatal(err)
	}
	// The shared cluster must not get the real patterns: scope a copy to
	// this test's prefix.
	body := strings.Replace(string(shipped), `"car-sensors*", "sensor-data*"`, `"`+e.prefix+`-car-sensors*"`, 1)
	if body == string(shipped) {
		t.Fatal("index_patterns of the shipped template changed; update the test")
	}
	file := filepath.Join(t.TempDir(), "tmpl.json")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	name := e.prefix + "-tmpl"
	t.Cleanup(func() {
		_, _ = e.client.PerformRequest(context.Background(), elastic.PerformRequestOptions{Method: "DELETE", Path: "/_index_template/" + name})
	})
	task := e.start(e.url, map[string]string{cfgTemplateFile: file, cfgTemplateName: name,
		cfgIndexFormat: e.prefix + "-car-sensors-${timestamp:yyyy.MM.dd}"}, &fakeContext{})
	rec := &connect.Record{Topic: "sensor-data", Offset: 0, Timestamp: day, Key: "car-1", Value: map[string]any{
		"timestamp": "2026-11-22T12:00:00.000Z", "car_id": "car-1", "speed": int64(30), "coolant_temp": int64(90),
		"failure_occurred": "false", "is_anomaly": false, "anomaly_score": 0.01, "model_version": "v1", "extra_reading": int64(4),
	}}
	commitAll(t, task, []*connect.Record{rec})
	index := e.prefix + "-car-sensors-2026.11.22"
	mappings, err := e.client.GetMapping().Index(index).Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	props := mappings[index].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	want := map[string]string{"timestamp": "date", "car_id": "keyword", "speed": "double", "coolant_temp": "double",
		"failure_occurred": "keyword", "is_anomaly": "boolean", "anomaly_score": "float", "model_version": "keyword", "extra_reading": "double"}
	for field, typ := range want {
		got, _ := props[field].(map[string]any)["type"].(string)
		if got != typ {
			t.Errorf("%s mapped as %q, want %q", field, got, typ)
		}
	}
}

func TestSchemaMapping(t *testing.T) {
	e := newESEnv(t)
	schema := &connect.Schema{Type: connect.Struct, Fields: []connect.Field{
		{Name: "small", Schema: &connect.Schema{Type: connect.Int32}},
		{Name: "at", Schema: &connect.Schema{Type: connect.Int64, Name: connect.TimestampName}},
	}}
	// Dynamic mapping would make an int32 a long; the schema makes it integer.
	tests := []struct {
		ignore bool
		want   string
	}{{false, "integer"}, {true, "long"}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("schema.ignore=%v", tt.ignore), func(t *testing.T) {
			index := fmt.Sprintf("%s-schema-%v", e.prefix, tt.ignore)
			task := e.start(e.url, map[string]string{cfgSchemaIgnore: fmt.Sprint(tt.ignore)}, &fakeContext{})
			rec := &connect.Record{Topic: index, Offset: 0, Timestamp: day, Key: "k", ValueSchema: schema,
				Value: map[string]any{"small": int32(5), "at": day}}
			commitAll(t, task, []*connect.Record{rec})
			m, err := e.client.GetMapping().Index(index).Do(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			props := m[index].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
			if got, _ := props["small"].(map[string]any)["type"].(string); got != tt.want {
				t.Fatalf("small mapped as %q, want %q", got, tt.want)
			}
			if got, _ := props["at"].(map[string]any)["type"].(string); got != "date" {
				t.Fatalf("at mapped as %q, want date", got)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	task := &Task{s: &settings{retryBackoff: 100 * time.Millisecond, maxRetries: 5}}
	for attempt := 1; attempt <= 40; attempt++ {
		want := min(100*time.Millisecond<<min(attempt-1, 20), 3200*time.Millisecond)
		for range 20 {
			d := task.backoff(attempt)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
