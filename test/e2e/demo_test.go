package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
)

// repoRoot is the checkout this test file lives in.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// demoConnector reads one of the demo's connector configs from
// config-examples/connectors and applies overrides (an empty value deletes).
func demoConnector(t *testing.T, file string, overrides map[string]string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "config-examples", "connectors", file))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for k, v := range overrides {
		if v == "" {
			delete(c.Config, k)
		} else {
			c.Config[k] = v
		}
	}
	return c.Config
}

// esSearch posts a _search body and decodes the answer into out.
func esSearch(t *testing.T, es, index string, body any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(es+"/"+index+"/_search", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("search %s: %d %s\nbody: %s", index, res.StatusCode, rb, b)
	}
	if err := json.Unmarshal(rb, out); err != nil {
		t.Fatalf("search %s: %v", index, err)
	}
}

// rocAUC is the probability that a random positive scores above a random
// negative (ties count half): the Mann–Whitney U statistic over n⁺·n⁻.
func rocAUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // ranks are 1-based: i+1 … j
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += avgRank
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

func TestROCAUC(t *testing.T) {
	for _, c := range []struct {
		scores []float64
		labels []bool
		want   float64
	}{
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{[]float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
	} {
		if got := rocAUC(c.scores, c.labels); got != c.want {
			t.Errorf("rocAUC(%v, %v) = %v, want %v", c.scores, c.labels, got, c.want)
		}
	}
}

// The connected-cars demo on the real services, with the demo's own
// connector configs (config-examples/connectors/demo-*.json) pointed at
// names of its own: the simulator publishes 3,000 readings of 50 cars with
// 5 % injected failures to Mosquitto; the MQTT source scores each with the
// shipped car autoencoder and writes it to Kafka; the Elasticsearch sink
// indexes it into daily car-sensors-* indices with the car-sensors template.
// Every reading must arrive exactly once, scored and stamped with the model
// version, the scores must separate the injected failures (ROC-AUC ≥ 0.95),
// and every query of the Grafana dashboard must return data.
func TestDemoPipeline(t *testing.T) {
	bootstrap, mqttURI, es := testenv.Kafka(t), testenv.MQTT(t), testenv.Elasticsearch(t)
	testenv.ONNXRuntime(t) // the worker finds it through ONNXRUNTIME_SHARED_LIBRARY_PATH
	const (
		cars        = 50
		n           = 3000
		failureRate = 0.05
		seed        = 20240
	)
	id := uniq("demo")
	mqttPrefix := "e2e/" + id + "/vehicles/sensor/data"
	topic := id + "-sensor-data"
	// Inside the template's "car-sensors*" pattern, so its mapping applies.
	indexPrefix := "car-sensors-e2e-" + id
	indexPattern := indexPrefix + "-*"
	t.Cleanup(func() { deleteIndex(es, indexPattern) })

	root, _ := filepath.Abs(repoRoot())
	dir := t.TempDir()
	port := freePort(t)
	props := writeFile(t, filepath.Join(dir, "worker.properties"), fmt.Sprintf(`bootstrap.servers=%s
listeners=http://127.0.0.1:%d
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename=%s
offset.flush.interval.ms=1000
`, bootstrap, port, filepath.Join(dir, "offsets.json")))
	w := startWorker(t, port, "standalone", props)

	sink := demoConnector(t, "demo-es-sink.json", map[string]string{
		"topics":                            topic,
		"connection.url":                    es,
		"index.name.format":                 indexPrefix + "-${timestamp}",
		"index.template.file":               filepath.Join(root, "config-examples", "elasticsearch", "car-sensors-template.json"),
		"errors.deadletterqueue.topic.name": topic + "-es-dlq",
	})
	source := demoConnector(t, "demo-mqtt-source.json", map[string]string{
		"mqtt.server.uri":                   mqttURI,
		"mqtt.topics":                       mqttPrefix + "/#",
		"kafka.topic":                       topic,
		"transforms.score.model.path":       filepath.Join(root, "models", "car_autoencoder.onnx"),
		"errors.deadletterqueue.topic.name": topic + "-dlq",
	})
	for _, c := range []struct {
		name string
		cfg  map[string]string
	}{{"sink-" + id, sink}, {"source-" + id, source}} {
		if code, body := sendJSON(t, "PUT", w.url+"/connectors/"+c.name+"/config", c.cfg); code != 201 {
			t.Fatalf("create %s: %d %s", c.name, code, body)
		}
		name := c.name
		waitUntil(t, name+" running", 60*time.Second, func() bool {
			var st struct {
				Connector struct{ State string } `json:"connector"`
				Tasks     []struct {
					State string `json:"state"`
					Trace string `json:"trace"`
				} `json:"tasks"`
			}
			getJSON(t, w.url+"/connectors/"+name+"/status", &st)
			if len(st.Tasks) == 0 || st.Connector.State != "RUNNING" {
				return false
			}
			for _, tk := range st.Tasks {
				if tk.State == "FAILED" {
					t.Fatalf("%s task failed: %s", name, tk.Trace)
				}
				if tk.State != "RUNNING" {
					return false
				}
			}
			return true
		})
	}

	// The source's tasks are subscribed once RUNNING (Start waits for the
	// SUBACK), so nothing the simulator publishes now can be missed.
	sim := exec.Command(binary(t), "simulate", "--broker", mqttURI, "--topic-prefix", mqttPrefix,
		"--cars", fmt.Sprint(cars), "--count", fmt.Sprint(n), "--rate", "1000", "--qos", "1",
		"--failure-rate", fmt.Sprint(failureRate), "--seed", fmt.Sprint(seed), "--summary-json")
	var simErr bytes.Buffer
	sim.Stderr = &simErr
	out, err := sim.Output()
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, simErr.String())
	}
	var summary struct {
		Sent   int64 `json:"sent"`
		Errors int64 `json:"errors"`
	}
	if err := json.Unmarshal(out, &summary); err != nil || summary.Sent != n || summary.Errors != 0 {
		t.Fatalf("simulator summary %s (%v): want %d sent, 0 errors", out, err, n)
	}

	count := -1
	waitUntil(t, fmt.Sprintf("%d documents in %s", n, indexPattern), 120*time.Second, func() bool {
		count = esCount(t, es, indexPattern)
		return count >= n
	})
	time.Sleep(2 * time.Second) // late duplicates would show now
	if c := esCount(t, es, indexPattern); c != n {
		t.Fatalf("%d documents in %s, want exactly %d", c, indexPattern, n)
	}

	var res struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	esSearch(t, es, indexPattern, map[string]any{"size": n + 10, "query": map[string]any{"match_all": map[string]any{}}}, &res)
	if len(res.Hits.Hits) != n {
		t.Fatalf("search returned %d documents, want %d", len(res.Hits.Hits), n)
	}
	scores := make([]float64, 0, n)
	labels := make([]bool, 0, n)
	var tp, fp, fn, failing int
	byMode := map[string][2]int{} // failure mode → {flagged, total}
	modelVersions := map[string]int{}
	readings := map[string]bool{}
	for _, h := range res.Hits.Hits {
		d := h.Source
		if !strings.HasPrefix(h.Index, indexPrefix+"-") || len(h.Index) != len(indexPrefix)+len("-2006.01.02") {
			t.Fatalf("document in index %q, want %s-yyyy.MM.dd", h.Index, indexPrefix)
		}
		score, ok := d["anomaly_score"].(float64)
		if !ok {
			t.Fatalf("document without a numeric anomaly_score: %v", d)
		}
		flag, ok := d["is_anomaly"].(bool)
		if !ok {
			t.Fatalf("document without a boolean is_anomaly: %v", d)
		}
		mv, _ := d["model_version"].(string)
		if !strings.HasPrefix(mv, "car_autoencoder:") || !strings.Contains(mv, "@") {
			t.Fatalf("document with model_version %q, want car_autoencoder:<version>@<sha>", mv)
		}
		modelVersions[mv]++
		readings[fmt.Sprint(d["car_id"], d["timestamp"])] = true
		label := d["failure_occurred"] == "true"
		if mode, _ := d["failure_mode"].(string); label != (mode != "" && mode != "none") {
			t.Fatalf("failure_occurred %v but failure_mode %q", d["failure_occurred"], mode)
		}
		scores = append(scores, score)
		labels = append(labels, label)
		if label {
			failing++
			m := byMode[d["failure_mode"].(string)]
			m[1]++
			if flag {
				m[0]++
			}
			byMode[d["failure_mode"].(string)] = m
		}
		switch {
		case flag && label:
			tp++
		case flag && !label:
			fp++
		case !flag && label:
			fn++
		}
	}
	if len(readings) != n {
		t.Errorf("%d distinct (car_id, timestamp) readings among %d documents, want %d", len(readings), n, n)
	}
	if len(modelVersions) != 1 {
		t.Errorf("documents scored by %d model versions, want 1: %v", len(modelVersions), modelVersions)
	}
	if failing == 0 || failing == n {
		t.Fatalf("%d of %d readings carry an injected failure: cannot measure", failing, n)
	}
	auc := rocAUC(scores, labels)
	precision := float64(tp) / float64(max(tp+fp, 1))
	recall := float64(tp) / float64(max(tp+fn, 1))
	t.Logf("%d documents, %d with injected failures, %d flagged; model %v", n, failing, tp+fp, modelVersions)
	t.Logf("ROC-AUC %.4f; at the model threshold: precision %.3f, recall %.3f (tp %d, fp %d, fn %d)", auc, precision, recall, tp, fp, fn)
	for mode, c := range byMode {
		t.Logf("  %-20s flagged %d of %d", mode, c[0], c[1])
	}
	if auc < 0.95 {
		t.Errorf("ROC-AUC %.4f of anomaly_score against failure_occurred, want ≥ 0.95", auc)
	}
	// The model card measures precision ≈ 0.9 and recall ≈ 0.7–0.9 (engine
	// vibration is the weak mode); fail well below that.
	if precision < 0.6 || recall < 0.5 {
		t.Errorf("precision %.3f / recall %.3f at the model threshold, want ≥ 0.6 / ≥ 0.5", precision, recall)
	}

	// The anomalies query the demo script prints and the dashboard's table uses.
	var anomalies struct {
		Count int `json:"count"`
	}
	if getJSON(t, es+"/"+indexPattern+"/_count?q=is_anomaly:true", &anomalies) != 200 || anomalies.Count != tp+fp {
		t.Errorf("_count?q=is_anomaly:true = %d, want %d", anomalies.Count, tp+fp)
	}

	checkDashboardQueries(t, es, indexPattern)
}

// TestDashboardQueriesOnLiveData runs the dashboard's queries against an
// index pattern given in TRIBUTARY_DASHBOARD_INDEX (scripts/demo.sh check
// sets car-sensors-*), e.g. the data of a running demo.
func TestDashboardQueriesOnLiveData(t *testing.T) {
	pattern := os.Getenv("TRIBUTARY_DASHBOARD_INDEX")
	if pattern == "" {
		t.Skip("TRIBUTARY_DASHBOARD_INDEX not set (scripts/demo.sh check sets it)")
	}
	checkDashboardQueries(t, testenv.Elasticsearch(t), pattern)
}

// grafanaTarget is the part of a Grafana Elasticsearch-datasource query
// (a panel target) that decides the request.
type grafanaTarget struct {
	RefID   string `json:"refId"`
	Query   string `json:"query"`
	Metrics []struct {
		ID       string         `json:"id"`
		Type     string         `json:"type"`
		Field    string         `json:"field"`
		Settings map[string]any `json:"settings"`
	} `json:"metrics"`
	BucketAggs []struct {
		ID       string         `json:"id"`
		Type     string         `json:"type"`
		Field    string         `json:"field"`
		Settings map[string]any `json:"settings"`
	} `json:"bucketAggs"`
	TimeField string `json:"timeField"`
}

// dashboardTargets reads every query of the provisioned dashboard.
func dashboardTargets(t *testing.T) map[string]grafanaTarget {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "config-examples", "grafana", "dashboards", "car-sensors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string          `json:"title"`
			Type    string          `json:"type"`
			Targets []grafanaTarget `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	out := map[string]grafanaTarget{}
	for _, p := range d.Panels {
		if p.Type == "row" || p.Type == "text" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Fatalf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out[p.Title+" / "+tg.RefID] = tg
		}
	}
	if len(out) < 4 {
		t.Fatalf("dashboard has %d queries, want at least 4", len(out))
	}
	return out
}

// searchBody translates a Grafana Elasticsearch target into the _search body
// Grafana sends (time-range filter + Lucene query, nested bucket
// aggregations, metrics in the innermost bucket; raw_data: sorted hits).
func searchBody(t *testing.T, tg grafanaTarget, from, to time.Time) map[string]any {
	t.Helper()
	timeField := tg.TimeField
	if timeField == "" {
		timeField = "timestamp"
	}
	query := tg.Query
	if query == "" {
		query = "*"
	}
	body := map[string]any{
		"size": 0,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{timeField: map[string]any{
				"gte": from.UnixMilli(), "lte": to.UnixMilli(), "format": "epoch_millis"}}},
			map[string]any{"query_string": map[string]any{"analyze_wildcard": true, "query": query}},
		}}},
	}
	if len(tg.Metrics) == 1 && (tg.Metrics[0].Type == "raw_data" || tg.Metrics[0].Type == "raw_document") {
		size := 500
		if s, ok := tg.Metrics[0].Settings["size"].(string); ok {
			fmt.Sscan(s, &size)
		}
		body["size"] = size
		body["sort"] = []any{map[string]any{timeField: map[string]any{"order": "desc", "unmapped_type": "boolean"}}}
		return body
	}
	metrics := map[string]any{}
	for _, m := range tg.Metrics {
		switch m.Type {
		case "count":
			// doc_count of each bucket
		case "avg", "max", "min", "sum", "cardinality":
			metrics[m.ID] = map[string]any{m.Type: map[string]any{"field": m.Field}}
		default:
			t.Fatalf("query %q: metric %q not translated by this test", tg.RefID, m.Type)
		}
	}
	var inner map[string]any // aggregations of the innermost level
	level := body
	for _, b := range tg.BucketAggs {
		var agg map[string]any
		switch b.Type {
		case "date_histogram":
			interval, _ := b.Settings["interval"].(string)
			if interval == "" || interval == "auto" {
				interval = "10s"
			}
			agg = map[string]any{"date_histogram": map[string]any{"field": b.Field, "fixed_interval": interval,
				"min_doc_count": 0, "extended_bounds": map[string]any{"min": from.UnixMilli(), "max": to.UnixMilli()}, "format": "epoch_millis"}}
		case "terms":
			size := 10
			if s, ok := b.Settings["size"].(string); ok {
				fmt.Sscan(s, &size)
			}
			agg = map[string]any{"terms": map[string]any{"field": b.Field, "size": size, "order": map[string]any{"_key": "asc"}}}
		default:
			t.Fatalf("query %q: bucket aggregation %q not translated by this test", tg.RefID, b.Type)
		}
		level["aggs"] = map[string]any{b.ID: agg}
		level, inner = agg, agg
	}
	if inner == nil {
		t.Fatalf("query %q has neither raw data nor a bucket aggregation", tg.RefID)
	}
	if len(metrics) > 0 {
		inner["aggs"] = metrics
	}
	return body
}

// checkDashboardQueries runs every dashboard query over the last hour of
// pattern and requires each to return data: hits for raw data, and buckets
// holding documents and metric values for aggregations.
func checkDashboardQueries(t *testing.T, es, pattern string) {
	t.Helper()
	to := time.Now().Add(5 * time.Minute)
	from := to.Add(-65 * time.Minute)
	for name, tg := range dashboardTargets(t) {
		body := searchBody(t, tg, from, to)
		var res struct {
			Hits struct {
				Total struct {
					Value int `json:"value"`
				} `json:"total"`
				Hits []json.RawMessage `json:"hits"`
			} `json:"hits"`
			Aggregations map[string]json.RawMessage `json:"aggregations"`
		}
		esSearch(t, es, pattern, body, &res)
		if res.Hits.Total.Value == 0 {
			t.Errorf("dashboard query %q (%s): no documents match", name, tg.Query)
			continue
		}
		if body["size"] != 0 {
			if len(res.Hits.Hits) == 0 {
				t.Errorf("dashboard query %q: no raw documents", name)
			} else {
				t.Logf("dashboard query %q: %d raw documents", name, len(res.Hits.Hits))
			}
			continue
		}
		docs, values := walkBuckets(res.Aggregations)
		wantValues := 0
		for _, m := range tg.Metrics {
			if m.Type != "count" {
				wantValues++
			}
		}
		if docs == 0 || (wantValues > 0 && values == 0) {
			t.Errorf("dashboard query %q: buckets hold %d documents and %d metric values", name, docs, values)
			continue
		}
		t.Logf("dashboard query %q: %d documents, %d metric values", name, docs, values)
	}
}

// walkBuckets sums doc_count over the innermost buckets with documents and
// counts non-null metric values in them.
func walkBuckets(aggs map[string]json.RawMessage) (docs, values int) {
	for _, raw := range aggs {
		var a struct {
			Buckets []map[string]json.RawMessage `json:"buckets"`
			Value   *float64                     `json:"value"`
		}
		if json.Unmarshal(raw, &a) != nil {
			continue
		}
		if a.Value != nil {
			values++
		}
		for _, b := range a.Buckets {
			var dc int
			_ = json.Unmarshal(b["doc_count"], &dc)
			sub := map[string]json.RawMessage{}
			hasSub := false
			for k, v := range b {
				if k != "key" && k != "key_as_string" && k != "doc_count" {
					sub[k] = v
					hasSub = true
				}
			}
			if !hasSub {
				docs += dc
				continue
			}
			d, v := walkBuckets(sub)
			if d == 0 && dc > 0 { // only metrics below: this is the innermost bucket
				d = dc
			}
			docs, values = docs+d, values+v
		}
	}
	return docs, values
}
