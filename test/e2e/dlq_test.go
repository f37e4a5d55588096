package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/internal/testenv"
)

func esSinkWorker(t *testing.T, bootstrap string) *process {
	t.Helper()
	props, port := standaloneConfig(t, bootstrap, jsonValues+"offset.flush.interval.ms=500\n")
	return startWorker(t, port, "standalone", props)
}

func headerMap(m *kafka.Message) map[string]string {
	out := map[string]string{}
	for _, h := range m.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

// 10,000 good and 100 malformed records with errors.tolerance=all and a DLQ:
// 10,000 documents, 100 dead letters whose headers name the stage and error.
func TestMalformedRecordsGoToTheDeadLetterQueue(t *testing.T) {
	bootstrap, es := testenv.Kafka(t), testenv.Elasticsearch(t)
	topic, dlq := uniq("dlq-in"), uniq("dlq-out")
	t.Cleanup(func() { deleteIndex(es, topic) })
	good := carReadings(t, 10000, 3)
	var values []string
	for i, v := range good {
		values = append(values, v)
		if i%100 == 50 {
			values = append(values, fmt.Sprintf(`{"car_id": "broken-%d", "speed": `, i)) // truncated JSON
		}
	}
	produce(t, bootstrap, topic, values)
	w := esSinkWorker(t, bootstrap)
	name := "dlq-" + topic
	code, body := sendJSON(t, "POST", w.url+"/connectors", map[string]any{"name": name, "config": map[string]string{
		"connector.class": "ElasticsearchSink", "topics": topic, "connection.url": es, "key.ignore": "true", "schema.ignore": "true",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq, "errors.deadletterqueue.topic.replication.factor": "1",
		"errors.deadletterqueue.context.headers.enable": "true", "errors.log.enable": "true",
	}})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	waitUntil(t, "10,000 documents", 120*time.Second, func() bool { return esCount(t, es, topic) == 10000 })
	dead := consumeUntil(t, bootstrap, dlq, 60*time.Second, func(ms []*kafka.Message) bool { return len(ms) >= 100 })
	if len(dead) != 100 {
		t.Fatalf("dead-letter queue holds %d records, want 100", len(dead))
	}
	for _, m := range dead {
		h := headerMap(m)
		if h["__connect.errors.stage"] != "VALUE_CONVERTER" || h["__connect.errors.topic"] != topic ||
			!strings.Contains(h["__connect.errors.exception.message"], "JSON") || h["__connect.errors.connector.name"] != name ||
			!strings.HasPrefix(string(m.Value), `{"car_id": "broken-`) {
			t.Fatalf("dead letter lacks context: headers %v value %q", h, m.Value)
		}
	}
	var metrics string
	waitUntil(t, "error metrics", 10*time.Second, func() bool {
		_, b := sendJSON(t, "GET", w.url+"/metrics", nil)
		metrics = string(b)
		return strings.Contains(metrics, fmt.Sprintf(`kafka_connect_task_error_deadletterqueue_produce_requests{connector=%q,task="0"} 100`, name))
	})
	if c := esCount(t, es, topic); c != 10000 {
		t.Fatalf("documents = %d after the DLQ drained, want 10000", c)
	}
}

// With errors.tolerance=none a malformed record fails the task with a trace
// naming the record and the reason, and nothing after it is committed.
func TestMalformedRecordFailsTaskWithoutTolerance(t *testing.T) {
	bootstrap, es := testenv.Kafka(t), testenv.Elasticsearch(t)
	topic := uniq("strict")
	t.Cleanup(func() { deleteIndex(es, topic) })
	good := carReadings(t, 100, 4)
	values := append(append(append([]string{}, good[:50]...), `{"speed": 12,`), good[50:]...)
	produce(t, bootstrap, topic, values)
	w := esSinkWorker(t, bootstrap)
	name := "strict-" + topic
	code, body := sendJSON(t, "POST", w.url+"/connectors", map[string]any{"name": name, "config": map[string]string{
		"connector.class": "ElasticsearchSink", "topics": topic, "connection.url": es, "key.ignore": "true", "schema.ignore": "true",
	}})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var trace string
	waitUntil(t, "the task to fail", 60*time.Second, func() bool {
		state, tr := taskTrace(t, w.url, name)
		trace = tr
		return state == "FAILED"
	})
	if !strings.Contains(trace, fmt.Sprintf("%s-0@50", topic)) || !strings.Contains(trace, "VALUE_CONVERTER") || !strings.Contains(trace, "JSON") {
		t.Fatalf("trace does not say which record and why:\n%s", trace)
	}
	var offs struct {
		Offsets []struct {
			Offset map[string]float64 `json:"offset"`
		} `json:"offsets"`
	}
	getJSON(t, w.url+"/connectors/"+name+"/offsets", &offs)
	for _, o := range offs.Offsets {
		if o.Offset["kafka_offset"] > 50 {
			t.Fatalf("committed past the failed record: %v", offs)
		}
	}
	if c := esCount(t, es, topic); c > 50 {
		t.Fatalf("%d documents indexed, but only the 50 records before the failure may be", c)
	}
	t.Logf("trace: %s", strings.SplitN(trace, "\n", 2)[0])
}
