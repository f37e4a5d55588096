package datagen

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/connect"
)

type fakeContext struct {
	offsets map[string]map[string]any // by JSON of the partition
	asked   []map[string]any
}

func (f *fakeContext) ConnectorName() string { return "datagen-test" }
func (f *fakeContext) TaskID() int           { return 0 }
func (f *fakeContext) Logger() *slog.Logger  { return slog.Default() }
func (f *fakeContext) Offset(p map[string]any) (map[string]any, error) {
	f.asked = append(f.asked, p)
	b, _ := json.Marshal(p)
	return f.offsets[string(b)], nil
}

var fixed = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func parse(t *testing.T, raw map[string]string) connect.Config {
	t.Helper()
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startTasks starts the connector and its tasks with a fixed clock.
func startTasks(t *testing.T, raw map[string]string, maxTasks int, tc *fakeContext) []*Task {
	t.Helper()
	c := &Connector{}
	if err := c.Start(context.Background(), parse(t, raw), nil); err != nil {
		t.Fatal(err)
	}
	cfgs, err := c.TaskConfigs(maxTasks)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []*Task
	for _, tcfg := range cfgs {
		task := c.NewTask().(*Task)
		task.now = func() time.Time { return fixed }
		var ctx connect.SourceTaskContext
		if tc != nil {
			ctx = tc
		}
		if err := task.Start(context.Background(), parse(t, tcfg), ctx); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	return tasks
}

func drain(t *testing.T, task *Task, n int) []*connect.Record {
	t.Helper()
	var out []*connect.Record
	for len(out) < n && (task.limit == 0 || task.seq < task.limit) {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		out = append(out, recs...)
	}
	return out
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		raw  map[string]string
		want string
	}{
		{map[string]string{}, KafkaTopic},
		{map[string]string{KafkaTopic: ""}, KafkaTopic},
		{map[string]string{KafkaTopic: "t", FailureRate: "2"}, FailureRate},
		{map[string]string{KafkaTopic: "t", Format: "xml"}, Format},
		{map[string]string{KafkaTopic: "t", Cars: "0"}, Cars},
		{map[string]string{KafkaTopic: "t", Rate: "-1"}, Rate},
		{map[string]string{KafkaTopic: "t", Key: "speed"}, Key},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.raw), func(t *testing.T) {
			_, err := ConfigDef.Parse(tt.raw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{Class, "DatagenSource", "DatagenSourceConnector", "datagen"} {
		p, err := connect.Default.Lookup(name, connect.KindSource)
		if err != nil || p.Class != Class {
			t.Fatalf("lookup %q: %v", name, err)
		}
	}
}

func TestTaskConfigsSplit(t *testing.T) {
	tests := []struct {
		raw      map[string]string
		maxTasks int
		want     int
	}{
		{map[string]string{KafkaTopic: "t", Cars: "10"}, 3, 3},
		{map[string]string{KafkaTopic: "t", Cars: "2"}, 5, 2},
		{map[string]string{KafkaTopic: "t"}, 1, 1},
		{map[string]string{KafkaTopic: "t", Cars: "1", Format: "delimited"}, 4, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.raw, tt.maxTasks), func(t *testing.T) {
			c := &Connector{}
			c.Start(context.Background(), parse(t, tt.raw), nil)
			cfgs, err := c.TaskConfigs(tt.maxTasks)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfgs) != tt.want {
				t.Fatalf("%d task configs, want %d", len(cfgs), tt.want)
			}
			for i, cfg := range cfgs {
				if cfg[TaskIndex] != strconv.Itoa(i) || cfg[TaskCount] != strconv.Itoa(tt.want) || cfg[KafkaTopic] != "t" {
					t.Fatalf("task %d config %v", i, cfg)
				}
			}
		})
	}
}

// Per-car sequences are the same whatever the number of tasks.
func TestSplitKeepsPerCarSequences(t *testing.T) {
	raw := map[string]string{KafkaTopic: "t", Cars: "6", Rate: "0", Seed: "7", FailureRate: "0.2"}
	perCar := func(tasks []*Task) map[string][]map[string]any {
		m := map[string][]map[string]any{}
		for _, task := range tasks {
			for _, r := range drain(t, task, 120) {
				m[r.Key.(string)] = append(m[r.Key.(string)], r.Value.(map[string]any))
			}
		}
		return m
	}
	one := perCar(startTasks(t, raw, 1, nil))
	three := perCar(startTasks(t, raw, 3, nil))
	if len(one) != 6 || len(three) != 6 {
		t.Fatalf("cars seen: %d and %d, want 6", len(one), len(three))
	}
	for car, seq := range one {
		other := three[car]
		for i := range min(len(seq), len(other)) {
			if !reflect.DeepEqual(seq[i], other[i]) {
				t.Fatalf("%s reading %d differs between 1 and 3 tasks:\n%v\n%v", car, i, seq[i], other[i])
			}
		}
	}
	// Same config again: identical output.
	again := perCar(startTasks(t, raw, 3, nil))
	if !reflect.DeepEqual(three, again) {
		t.Fatal("same config gave different readings")
	}
}

func TestMaxRecordsAcrossTasks(t *testing.T) {
	tasks := startTasks(t, map[string]string{KafkaTopic: "t", Cars: "10", Rate: "0", MaxRecords: "1001", BatchSize: "64"}, 3, nil)
	total := 0
	for _, task := range tasks {
		total += len(drain(t, task, 10000))
	}
	if total != 1001 {
		t.Fatalf("produced %d records, want 1001", total)
	}
	// Exhausted tasks return nothing (promptly when the context is done).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if recs, err := tasks[0].Poll(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("poll after max.records: %d records, %v", len(recs), err)
	}
}

func TestResumeFromOffset(t *testing.T) {
	tests := []struct {
		name string
		seq  any // the form the offset store gives back
	}{
		{"float64", float64(100)},
		{"int64", int64(100)},
		{"json.Number", json.Number("100")},
	}
	raw := map[string]string{KafkaTopic: "t", Cars: "4", Rate: "0", Seed: "3", FailureRate: "0.3", BatchSize: "50"}
	full := drain(t, startTasks(t, raw, 1, nil)[0], 200)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := json.Marshal(full[99].SourcePartition)
			tc := &fakeContext{offsets: map[string]map[string]any{string(p): {"seq": tt.seq}}}
			if full[99].SourceOffset["seq"] != int64(100) {
				t.Fatalf("offset of record 100 = %v", full[99].SourceOffset)
			}
			resumed := drain(t, startTasks(t, raw, 1, tc)[0], 100)
			if len(tc.asked) != 1 {
				t.Fatalf("task asked for %d offsets", len(tc.asked))
			}
			for i, r := range resumed {
				want := full[100+i]
				if !reflect.DeepEqual(r.Value, want.Value) || r.Key != want.Key || !reflect.DeepEqual(r.SourceOffset, want.SourceOffset) {
					t.Fatalf("resumed record %d = %v, want %v", i, r.Value, want.Value)
				}
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for half a second")
	}
	const rate = 400.0
	task := startTasks(t, map[string]string{KafkaTopic: "t", Rate: "400", Cars: "5"}, 1, nil)[0]
	task.now = time.Now
	task.last = time.Now()
	start := time.Now()
	got := 0
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for ctx.Err() == nil {
		recs, err := task.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got += len(recs)
		// Never ahead of the bucket: rate × elapsed plus one burst.
		if limit := rate*time.Since(start).Seconds() + task.burst; float64(got) > limit {
			t.Fatalf("%d records after %v, limit %.0f", got, time.Since(start), limit)
		}
	}
	if got == 0 {
		t.Fatal("rate-limited task produced nothing")
	}
}

func TestDelimitedFormat(t *testing.T) {
	tasks := startTasks(t, map[string]string{KafkaTopic: "ecg", Format: "delimited", Rate: "0", BatchSize: "5"}, 2, nil)
	a := drain(t, tasks[0], 5)
	b := drain(t, tasks[1], 5)
	if a[0].Value == b[0].Value {
		t.Fatal("two tasks produce the same ECG stream")
	}
	for _, r := range a {
		s, ok := r.Value.(string)
		if !ok || strings.Count(s, "# ") != carsim.ECGLength-1 {
			t.Fatalf("value %T %.60v", r.Value, r.Value)
		}
		id, _, _ := strings.Cut(s, ",")
		if r.Key != id || r.Topic != "ecg" || r.Partition != -1 {
			t.Fatalf("key %v, event id %s, topic %s, partition %d", r.Key, id, r.Topic, r.Partition)
		}
	}
}

func TestNullKey(t *testing.T) {
	recs := drain(t, startTasks(t, map[string]string{KafkaTopic: "t", Key: "none", Rate: "0"}, 1, nil)[0], 3)
	for _, r := range recs {
		if r.Key != nil {
			t.Fatalf("key %v, want nil", r.Key)
		}
		if v := r.Value.(map[string]any); v["car_id"] == "" || v["failure_mode"] == nil {
			t.Fatalf("value %v", v)
		}
	}
}

func BenchmarkPoll(b *testing.B) {
	cfg, _ := ConfigDef.Parse(map[string]string{KafkaTopic: "t", Rate: "0"})
	task := &Task{}
	task.Start(context.Background(), cfg, nil)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		recs, _ := task.Poll(ctx)
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
