package mqtt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testenv"
)

// testWriter sends logs to t.Log until the test ends; paho callbacks may
// still fire during cleanup, when t.Log would panic.
type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	var out io.Writer = w
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type fakeTaskCtx struct {
	name string
	id   int
	log  *slog.Logger
}

func (c fakeTaskCtx) ConnectorName() string { return c.name }
func (c fakeTaskCtx) TaskID() int           { return c.id }
func (c fakeTaskCtx) Logger() *slog.Logger  { return c.log }
func (c fakeTaskCtx) Offset(map[string]any) (map[string]any, error) {
	return nil, nil
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// unique returns a name no other test run uses, for topics and client ids
// on the shared broker.
func unique(t *testing.T) string {
	return nonWord.ReplaceAllString(t.Name(), "_") + "_" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// startTask starts a task with the base config plus set; Stop runs at cleanup.
func startTask(t *testing.T, broker, connector string, taskID int, set map[string]string) *Task {
	t.Helper()
	raw := map[string]string{ServerURIConfig: broker, KafkaTopicConfig: "mqtt-test", ConnectTimeoutConfig: "10"}
	maps.Copy(raw, set)
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	task := NewTask()
	if err := task.Start(context.Background(), cfg, fakeTaskCtx{connector, taskID, testLogger(t)}); err != nil {
		t.Fatalf("start task %s-%d: %v", connector, taskID, err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

func publisher(t *testing.T, broker string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("pub-" + unique(t)).SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, retained bool, payloads ...string) {
	t.Helper()
	toks := make([]paho.Token, 0, len(payloads))
	for _, p := range payloads {
		toks = append(toks, c.Publish(topic, qos, retained, p))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
			t.Fatalf("publish to %s: %v", topic, tok.Error())
		}
	}
}

func numbered(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

// collect polls until n records arrived or timeout passed, committing each
// record when commit is set.
func collect(t *testing.T, task *Task, n int, commit bool, timeout time.Duration) []*connect.Record {
	t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		recs, err := task.Poll(context.Background())
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, r := range recs {
			if commit {
				if err := task.CommitRecord(r, true); err != nil {
					t.Fatalf("commit: %v", err)
				}
			}
		}
		out = append(out, recs...)
	}
	return out
}

func payloads(recs []*connect.Record) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		switch v := r.Value.(type) {
		case []byte:
			out[string(v)]++
		case string:
			out[v]++
		default:
			out[fmt.Sprint(v)]++
		}
	}
	return out
}

func wantExactlyOnce(t *testing.T, got map[string]int, want []string) {
	t.Helper()
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("payload %q delivered %d times, want once", w, got[w])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct payloads, want %d", len(got), len(want))
	}
}

func TestDeliveryPerQoS(t *testing.T) {
	broker := testenv.MQTT(t)
	for _, qos := range []byte{0, 1, 2} {
		t.Run("qos"+strconv.Itoa(int(qos)), func(t *testing.T) {
			name := unique(t)
			topic := "tributary-test/" + name + "/data"
			task := startTask(t, broker, name, 0, map[string]string{
				TopicsConfig: "tributary-test/" + name + "/#", QoSConfig: strconv.Itoa(int(qos)),
				CleanSessionConfig: "false",
			})
			want := numbered("m", 0, 50)
			publish(t, publisher(t, broker), topic, qos, false, want...)
			recs := collect(t, task, len(want), true, 20*time.Second)
			wantExactlyOnce(t, payloads(recs), want)
			for _, r := range recs {
				h, _ := r.Headers.Get(HeaderQoS)
				if h.Value != int32(qos) || r.Key != topic || r.Topic != "mqtt-test" {
					t.Fatalf("record qos header %v key %v topic %s; want %d %s mqtt-test", h.Value, r.Key, r.Topic, qos, topic)
				}
			}
			// Everything was committed, so nothing may come back.
			if extra := collect(t, task, 1, true, time.Second); len(extra) != 0 {
				t.Fatalf("%d unexpected records after all were committed", len(extra))
			}
			if task.InFlight() != 0 {
				t.Fatalf("%d messages still in flight after commit", task.InFlight())
			}
		})
	}
}

func TestMappingKeysHeaders(t *testing.T) {
	broker := testenv.MQTT(t)
	name := unique(t)
	root := "tributary-test/" + name
	pub := publisher(t, broker)
	// A retained message is delivered on subscribe, flagged as retained.
	publish(t, pub, root+"/cars/car-1", 1, true, `{"car":{"id":"car-1"},"speed":10}`)
	t.Cleanup(func() { publish(t, pub, root+"/cars/car-1", 1, true) }) // clear it
	task := startTask(t, broker, name, 0, map[string]string{
		TopicsConfig: root + "/cars/+," + root + "/engine", QoSConfig: "1",
		TopicRegexListConfig: "cars_${car}:" + regexp.QuoteMeta(root) + "/cars/(?P<car>[^/]+)",
		KeySourceConfig:      "field", KeyFieldConfig: "car.id", PayloadFormatConfig: "json",
	})
	publish(t, pub, root+"/cars/car-2", 2, false, `{"car":{"id":"car-2"},"speed":12.5}`)
	publish(t, pub, root+"/engine", 1, false, `{"car":{"id":"car-3"},"temp":90}`)
	recs := collect(t, task, 3, true, 20*time.Second)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	byKey := map[any]*connect.Record{}
	for _, r := range recs {
		byKey[r.Key] = r
	}
	tests := []struct {
		key, topic, mqttTopic string
		qos                   int32
		retained              bool
		field                 string
		value                 any
	}{
		{"car-1", "cars_car-1", root + "/cars/car-1", 1, true, "speed", int64(10)},
		{"car-2", "cars_car-2", root + "/cars/car-2", 1, false, "speed", 12.5}, // granted QoS 1 caps the QoS 2 publish
		{"car-3", "mqtt-test", root + "/engine", 1, false, "temp", int64(90)},
	}
	for _, tt := range tests {
		r := byKey[tt.key]
		if r == nil {
			t.Errorf("no record with key %s; got keys of %v", tt.key, byKey)
			continue
		}
		v, _ := r.Value.(map[string]any)
		if r.Topic != tt.topic || v[tt.field] != tt.value {
			t.Errorf("key %s: topic %s value %v; want %s, %s=%v", tt.key, r.Topic, r.Value, tt.topic, tt.field, tt.value)
		}
		hdr := map[string]any{HeaderTopic: tt.mqttTopic, HeaderQoS: tt.qos, HeaderRetained: tt.retained, HeaderDuplicate: false}
		for k, want := range hdr {
			if h, ok := r.Headers.Get(k); !ok || h.Value != want {
				t.Errorf("key %s header %s = %v, want %v", tt.key, k, h.Value, want)
			}
		}
		if h, ok := r.Headers.Get(HeaderMessageID); !ok || h.Value.(int32) <= 0 {
			t.Errorf("key %s: message id header %v, want a QoS 1 message id", tt.key, h.Value)
		}
	}
}

func TestSharedSubscriptionAcrossTasks(t *testing.T) {
	broker := testenv.MQTT(t)
	name := unique(t)
	topic := "tributary-test/" + name + "/data"
	set := map[string]string{TopicsConfig: "tributary-test/" + name + "/#", QoSConfig: "1", CleanSessionConfig: "false", "tasks.max": "3"}
	// What the runtime does: TaskConfigs, then one task per config.
	raw := maps.Clone(set)
	raw[ServerURIConfig] = broker
	raw[KafkaTopicConfig] = "mqtt-test"
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	conn := &Connector{}
	if err := conn.Start(context.Background(), cfg, fakeConnCtx{t}); err != nil {
		t.Fatal(err)
	}
	taskCfgs, err := conn.TaskConfigs(3)
	if err != nil || len(taskCfgs) != 3 {
		t.Fatalf("task configs %v, %v", taskCfgs, err)
	}
	tasks := make([]*Task, 3)
	for i, tc := range taskCfgs {
		tasks[i] = startTask(t, broker, name, i, tc)
	}
	want := numbered("m", 0, 600)
	publish(t, publisher(t, broker), topic, 1, false, want...)

	var mu sync.Mutex
	all := map[string]int{}
	perTask := make([]int, 3)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i, task := range tasks {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				recs, err := task.Poll(context.Background())
				if err != nil {
					t.Errorf("task %d poll: %v", i, err)
					return
				}
				mu.Lock()
				for p, n := range payloads(recs) {
					all[p] += n
				}
				perTask[i] += len(recs)
				mu.Unlock()
				for _, r := range recs {
					_ = task.CommitRecord(r, true)
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(all)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // let a duplicate, if any, arrive
	close(done)
	wg.Wait()
	wantExactlyOnce(t, all, want)
	for i, n := range perTask {
		if n == 0 {
			t.Errorf("task %d got no messages; the shared subscription did not spread the load: %v", i, perTask)
		}
	}
	t.Logf("messages per task: %v", perTask)
}

// TestUnackedRedeliveredToNewTask is the task-level no-loss property: what
// a task polled but Kafka never confirmed is redelivered to the task that
// replaces it, and what was confirmed is not.
func TestUnackedRedeliveredToNewTask(t *testing.T) {
	broker := testenv.MQTT(t)
	for _, qos := range []byte{1, 2} {
		t.Run("qos"+strconv.Itoa(int(qos)), func(t *testing.T) {
			name := unique(t)
			topic := "tributary-test/" + name + "/data"
			set := map[string]string{TopicsConfig: topic, QoSConfig: strconv.Itoa(int(qos)), CleanSessionConfig: "false"}
			pub := publisher(t, broker)

			first := startTask(t, broker, name, 0, set)
			publish(t, pub, topic, qos, false, numbered("m", 0, 50)...)
			recs := collect(t, first, 50, false, 20*time.Second)
			if len(recs) != 50 {
				t.Fatalf("first task got %d records, want 50", len(recs))
			}
			for _, r := range recs[:20] { // Kafka confirmed these ...
				_ = first.CommitRecord(r, true)
			}
			// ... and the task dies with 30 unconfirmed.
			if err := first.Stop(); err != nil {
				t.Fatal(err)
			}
			publish(t, pub, topic, qos, false, numbered("m", 50, 60)...) // published while no task runs

			second := startTask(t, broker, name, 0, set)
			got := collect(t, second, 40, true, 20*time.Second)
			var confirmed []string
			for _, r := range recs[:20] {
				confirmed = append(confirmed, string(r.Value.([]byte)))
			}
			var want []string
			for _, r := range recs[20:] {
				want = append(want, string(r.Value.([]byte)))
			}
			want = append(want, numbered("m", 50, 60)...)
			gotSet := payloads(got)
			wantExactlyOnce(t, gotSet, want)
			for _, c := range confirmed {
				if gotSet[c] != 0 {
					t.Errorf("confirmed message %s was redelivered", c)
				}
			}
			dups := 0
			for _, r := range got {
				if h, _ := r.Headers.Get(HeaderDuplicate); h.Value == true {
					dups++
				}
			}
			t.Logf("redelivered with DUP flag: %d of %d", dups, len(got))
		})
	}
}

// TestBackpressure checks that a task never holds more than
// mqtt.max.inflight unacknowledged messages and that the broker keeps the
// rest until commits free room.
func TestBackpressure(t *testing.T) {
	broker := testenv.MQTT(t)
	name := unique(t)
	topic := "tributary-test/" + name + "/data"
	task := startTask(t, broker, name, 0, map[string]string{TopicsConfig: topic, QoSConfig: "1",
		CleanSessionConfig: "false", MaxInflightConfig: "10"})
	want := numbered("m", 0, 100)
	publish(t, publisher(t, broker), topic, 1, false, want...)

	held := collect(t, task, 11, false, 2*time.Second)
	if len(held) != 10 || task.InFlight() != 10 {
		t.Fatalf("without commits the task took %d records (%d in flight), want exactly 10", len(held), task.InFlight())
	}
	for _, r := range held {
		_ = task.CommitRecord(r, true)
	}
	rest := collect(t, task, 90, true, 30*time.Second)
	wantExactlyOnce(t, payloads(append(held, rest...)), want)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
