package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/internal/testenv"
)

func esCount(t *testing.T, es, index string) int {
	t.Helper()
	res, err := http.Post(es+"/"+index+"/_refresh", "application/json", nil)
	if err == nil {
		res.Body.Close()
	}
	var out struct {
		Count int `json:"count"`
	}
	if getJSON(t, es+"/"+index+"/_count", &out) != 200 {
		return -1
	}
	return out.Count
}

func deleteIndex(es, index string) {
	req, _ := http.NewRequest("DELETE", es+"/"+index, nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
}

func carReadings(t *testing.T, n int, seed int64) []string {
	t.Helper()
	g, err := carsim.New(carsim.Options{Cars: 50, Seed: seed, FailureRate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, n)
	now := time.Now().UTC()
	for i := range out {
		r := g.Next(now.Add(time.Duration(i) * time.Millisecond))
		out[i] = string(r.JSON())
	}
	return out
}

func taskTrace(t *testing.T, base, name string) (string, string) {
	var st struct {
		Tasks []struct {
			State string `json:"state"`
			Trace string `json:"trace"`
		} `json:"tasks"`
	}
	getJSON(t, base+"/connectors/"+name+"/status", &st)
	if len(st.Tasks) == 0 {
		return "", ""
	}
	return st.Tasks[0].State, st.Tasks[0].Trace
}

// 10,000 records in, 10,000 documents out; a replay from reset offsets
// still leaves exactly 10,000; an Elasticsearch outage mid-stream loses
// nothing, the task recovers by itself and its status tells meanwhile.
func TestElasticsearchSinkThroughWorker(t *testing.T) {
	bootstrap, es := testenv.Kafka(t), testenv.Elasticsearch(t)
	const n = 10000
	topic := uniq("es-e2e")
	index := topic // the sink's default index is the lowercased topic
	t.Cleanup(func() { deleteIndex(es, index) })
	produce(t, bootstrap, topic, carReadings(t, n, 1))

	proxy := newProxy(t, strings.TrimPrefix(es, "http://"))
	props, port := standaloneConfig(t, bootstrap, jsonValues+"offset.flush.interval.ms=1000\n")
	w := startWorker(t, port, "standalone", props)
	name := "es-" + topic
	code, body := sendJSON(t, "POST", w.url+"/connectors", map[string]any{"name": name, "config": map[string]string{
		"connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "topics": topic,
		"connection.url": "http://" + proxy.addr, "key.ignore": "true", "schema.ignore": "true",
		"read.timeout.ms": "10000", "max.retries": "10",
	}})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	waitUntil(t, "10,000 documents", 120*time.Second, func() bool { return esCount(t, es, index) == n })
	waitUntil(t, "offsets committed", 30*time.Second, func() bool {
		var offs struct {
			Offsets []struct {
				Offset map[string]float64 `json:"offset"`
			} `json:"offsets"`
		}
		getJSON(t, w.url+"/connectors/"+name+"/offsets", &offs)
		return len(offs.Offsets) == 1 && offs.Offsets[0].Offset["kafka_offset"] == n
	})

	// Replay everything from scratch: ids are topic+partition+offset, so
	// documents are overwritten, not duplicated.
	if code, body := sendJSON(t, "PUT", w.url+"/connectors/"+name+"/stop", nil); code != 204 {
		t.Fatalf("stop: %d %s", code, body)
	}
	if code, body := sendJSON(t, "DELETE", w.url+"/connectors/"+name+"/offsets", nil); code != 200 {
		t.Fatalf("reset offsets: %d %s", code, body)
	}
	if code, body := sendJSON(t, "PUT", w.url+"/connectors/"+name+"/resume", nil); code != 202 {
		t.Fatalf("resume: %d %s", code, body)
	}
	waitUntil(t, "the replay to be committed", 120*time.Second, func() bool {
		var offs struct {
			Offsets []struct {
				Offset map[string]float64 `json:"offset"`
			} `json:"offsets"`
		}
		getJSON(t, w.url+"/connectors/"+name+"/offsets", &offs)
		return len(offs.Offsets) == 1 && offs.Offsets[0].Offset["kafka_offset"] == n
	})
	if c := esCount(t, es, index); c != n {
		t.Fatalf("after replay: %d documents, want exactly %d", c, n)
	}
	var docs struct {
		Hits struct {
			Hits []struct {
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	getJSON(t, es+"/"+index+"/_search?size=1", &docs)
	if h := docs.Hits.Hits; len(h) != 1 || !strings.HasPrefix(h[0].ID, topic+"+0+") || h[0].Source["car_id"] == nil {
		t.Fatalf("unexpected document %+v", docs)
	}

	// Outage: cut Elasticsearch away for 30 s while 5,000 more records arrive.
	proxy.Cut()
	produce(t, bootstrap, topic, carReadings(t, 5000, 2))
	waitUntil(t, "the outage to show in the task status", 60*time.Second, func() bool {
		state, tr := taskTrace(t, w.url, name)
		return state == "RUNNING" && strings.Contains(tr, "unreachable")
	})
	_, tr := taskTrace(t, w.url, name)
	t.Logf("status during the outage: %s", tr)
	time.Sleep(30 * time.Second)
	if state, _ := taskTrace(t, w.url, name); state != "RUNNING" {
		t.Fatalf("task did not keep running through the outage: %s", state)
	}
	proxy.Restore()
	start := time.Now()
	waitUntil(t, "15,000 documents after the outage", 180*time.Second, func() bool { return esCount(t, es, index) == n+5000 })
	waitUntil(t, "the status to clear", 60*time.Second, func() bool {
		state, tr := taskTrace(t, w.url, name)
		return state == "RUNNING" && tr == ""
	})
	t.Logf("recovered %s after Elasticsearch came back; %d documents", time.Since(start).Round(time.Millisecond), esCount(t, es, index))
}
