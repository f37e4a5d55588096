package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
	"github.com/tributary-io/tributary/internal/testplugins"
	"github.com/tributary-io/tributary/logging"
	"github.com/tributary-io/tributary/rest"
	"github.com/tributary-io/tributary/worker"
)

// liveWorker starts a standalone worker on real Kafka behind a real HTTP
// server and returns its base URL.
func liveWorker(t *testing.T) string {
	t.Helper()
	cfg, err := worker.ParseConfig(map[string]string{
		"bootstrap.servers":            testenv.Kafka(t),
		"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets.json"),
		"key.converter":                "test.TestConverter",
		"value.converter":              "test.TestConverter",
		"header.converter":             "test.TestHeaderConverter",
		"offset.flush.interval.ms":     "200",
	})
	if err != nil {
		t.Fatal(err)
	}
	levels := logging.NewLevels(slog.LevelInfo)
	out := slog.NewTextHandler(io.Discard, nil)
	reg := testplugins.Registry()
	h, err := worker.NewStandalone(cfg, reg, "127.0.0.1:8083", levels.Named(out, "tributary.worker"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rest.New(rest.Options{Herder: h, Registry: reg, Metrics: h.Worker().Metrics.Registry, Levels: levels, Log: slog.New(out)}).Handler())
	t.Cleanup(func() { srv.Close(); h.Stop() })
	return srv.URL
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r.body)
	}
}

func call(t *testing.T, method, url string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{code: res.StatusCode, header: res.Header, body: b}
}

// expectError checks Kafka Connect's error body.
func expectError(t *testing.T, r response, code int, contains string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	var e struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	r.json(t, &e)
	if e.ErrorCode != code || !strings.Contains(e.Message, contains) {
		t.Fatalf("error body %s, want error_code %d and a message containing %q", r.body, code, contains)
	}
}

func name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, rand.IntN(1e6))
}

func waitState(t *testing.T, base, conn string, want string, tasks int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := call(t, "GET", base+"/connectors/"+conn+"/status", nil)
		var st struct {
			Connector struct{ State string }   `json:"connector"`
			Tasks     []struct{ State string } `json:"tasks"`
		}
		if r.code == 200 {
			r.json(t, &st)
			ok := st.Connector.State == want && len(st.Tasks) == tasks
			for _, ts := range st.Tasks {
				ok = ok && ts.State == want
			}
			if ok {
				var m map[string]any
				r.json(t, &m)
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector %s never reached %s with %d tasks; last: %d %s", conn, want, tasks, r.code, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRESTConformance(t *testing.T) {
	base := liveWorker(t)
	topic := name("rest-topic")
	src := name("src")
	srcCfg := map[string]any{"connector.class": "CountingSource", "topic": topic, "count": 20, "secret": "p4ss"}

	t.Run("root and health", func(t *testing.T) {
		r := call(t, "GET", base+"/", nil)
		var info map[string]string
		r.json(t, &info)
		if r.code != 200 || info["version"] == "" || info["kafka_cluster_id"] == "" {
			t.Fatalf("GET / = %d %s", r.code, r.body)
		}
		r = call(t, "GET", base+"/health", nil)
		var h map[string]string
		r.json(t, &h)
		if r.code != 200 || h["status"] != "healthy" {
			t.Fatalf("GET /health = %d %s", r.code, r.body)
		}
	})

	t.Run("create", func(t *testing.T) {
		r := call(t, "POST", base+"/connectors", map[string]any{"name": src, "config": srcCfg})
		if r.code != 201 {
			t.Fatalf("create = %d %s", r.code, r.body)
		}
		if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/connectors/"+src) {
			t.Fatalf("Location = %q", loc)
		}
		var info worker.ConnectorInfo
		r.json(t, &info)
		if info.Name != src || info.Type != "source" || info.Config["secret"] != "[hidden]" || info.Config["count"] != "20" || info.Config["name"] != src {
			t.Fatalf("create answer %s", r.body)
		}
		waitState(t, base, src, "RUNNING", 1)
	})

	t.Run("create errors", func(t *testing.T) {
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": src, "config": srcCfg}), 409, "already exists")
		expectError(t, call(t, "POST", base+"/connectors", `{"name": "x", "config": {`), 400, "malformed JSON")
		expectError(t, call(t, "POST", base+"/connectors", ""), 400, "empty")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"config": srcCfg}), 400, "name must be specified")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "y"}), 400, "config must be specified")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "a", "config": map[string]any{"name": "b", "connector.class": "CountingSource", "topic": "t"}}), 400, "doesn't match")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "c", "config": map[string]any{"connector.class": "Nope"}}), 400, "available: test.CollectingSinkConnector, test.CountingSourceConnector")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "c", "config": map[string]any{"connector.class": "CountingSource", "topic": "t", "count": "x"}}), 400, "count: Invalid value x")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "c", "config": map[string]any{"connector.class": "CountingSource", "topic": []int{1}}}), 400, "must be a string")
		expectError(t, call(t, "POST", base+"/connectors", map[string]any{"name": "c", "config": srcCfg, "initial_state": "SLEEPING"}), 400, "initial_state")
	})

	t.Run("list and expand", func(t *testing.T) {
		r := call(t, "GET", base+"/connectors", nil)
		var names []string
		r.json(t, &names)
		if r.code != 200 || len(names) != 1 || names[0] != src {
			t.Fatalf("list = %d %s", r.code, r.body)
		}
		r = call(t, "GET", base+"/connectors?expand=status&expand=info", nil)
		var ex map[string]struct {
			Status worker.ConnectorStatus `json:"status"`
			Info   worker.ConnectorInfo   `json:"info"`
		}
		r.json(t, &ex)
		if e := ex[src]; e.Status.Name != src || e.Info.Name != src || e.Info.Config["secret"] != "[hidden]" {
			t.Fatalf("expand = %s", r.body)
		}
	})

	t.Run("read endpoints", func(t *testing.T) {
		r := call(t, "GET", base+"/connectors/"+src, nil)
		var info worker.ConnectorInfo
		r.json(t, &info)
		if r.code != 200 || len(info.Tasks) != 1 || info.Tasks[0].Connector != src || info.Tasks[0].Task != 0 {
			t.Fatalf("info = %s", r.body)
		}
		r = call(t, "GET", base+"/connectors/"+src+"/config", nil)
		var cfg map[string]string
		r.json(t, &cfg)
		if cfg["topic"] != topic || cfg["secret"] != "[hidden]" {
			t.Fatalf("config = %s", r.body)
		}
		r = call(t, "GET", base+"/connectors/"+src+"/tasks", nil)
		var tasks []worker.TaskInfo
		r.json(t, &tasks)
		if len(tasks) != 1 || tasks[0].ID.Connector != src || tasks[0].Config["task.kind"] != "counting" || tasks[0].Config["secret"] != "[hidden]" {
			t.Fatalf("tasks = %s", r.body)
		}
		r = call(t, "GET", base+"/connectors/"+src+"/tasks/0/status", nil)
		var ts map[string]any
		r.json(t, &ts)
		if ts["id"] != float64(0) || ts["state"] != "RUNNING" || ts["worker_id"] != "127.0.0.1:8083" {
			t.Fatalf("task status = %s", r.body)
		}
		if _, has := ts["trace"]; has {
			t.Fatalf("trace present on a healthy task: %s", r.body)
		}
		expectError(t, call(t, "GET", base+"/connectors/"+src+"/tasks/7/status", nil), 404, "not found")
		expectError(t, call(t, "GET", base+"/connectors/"+src+"/tasks/abc/status", nil), 404, "not found")
		deadline := time.Now().Add(20 * time.Second)
		for {
			r = call(t, "GET", base+"/connectors/"+src+"/topics", nil)
			if strings.Contains(string(r.body), topic) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		var tp map[string]map[string][]string
		r.json(t, &tp)
		if got := tp[src]["topics"]; len(got) != 1 || got[0] != topic {
			t.Fatalf("topics = %s", r.body)
		}
		if r := call(t, "PUT", base+"/connectors/"+src+"/topics/reset", nil); r.code != 202 {
			t.Fatalf("topics reset = %d %s", r.code, r.body)
		}
	})

	t.Run("unknown connector is 404 everywhere", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", ""}, {"DELETE", ""}, {"GET", "/config"}, {"GET", "/status"}, {"GET", "/tasks"}, {"GET", "/tasks/0/status"},
			{"POST", "/restart"}, {"POST", "/tasks/0/restart"}, {"PUT", "/pause"}, {"PUT", "/resume"}, {"PUT", "/stop"},
			{"GET", "/topics"}, {"GET", "/offsets"}, {"DELETE", "/offsets"},
		} {
			expectError(t, call(t, c.method, base+"/connectors/nope"+c.path, nil), 404, "nope")
		}
		expectError(t, call(t, "PATCH", base+"/connectors/nope/config", map[string]any{"a": "b"}), 404, "nope")
		expectError(t, call(t, "GET", base+"/no/such/path", nil), 404, "Not Found")
		expectError(t, call(t, "PATCH", base+"/connectors", nil), 405, "Method Not Allowed")
	})

	t.Run("put and patch config", func(t *testing.T) {
		n := name("put")
		cfg := map[string]any{"connector.class": "CountingSource", "topic": topic, "count": "5"}
		r := call(t, "PUT", base+"/connectors/"+n+"/config", cfg)
		if r.code != 201 {
			t.Fatalf("PUT create = %d %s", r.code, r.body)
		}
		cfg["count"] = "6"
		if r = call(t, "PUT", base+"/connectors/"+n+"/config", cfg); r.code != 200 {
			t.Fatalf("PUT update = %d %s", r.code, r.body)
		}
		expectError(t, call(t, "PUT", base+"/connectors/"+n+"/config", map[string]any{"name": "other", "connector.class": "CountingSource", "topic": "t"}), 400, "doesn't match")
		expectError(t, call(t, "PUT", base+"/connectors/"+n+"/config", map[string]any{"connector.class": "CountingSource"}), 400, "topic")
		r = call(t, "PATCH", base+"/connectors/"+n+"/config", map[string]any{"count": "7", "secret": "x"})
		var info worker.ConnectorInfo
		r.json(t, &info)
		if r.code != 200 || info.Config["count"] != "7" || info.Config["secret"] != "[hidden]" {
			t.Fatalf("PATCH = %d %s", r.code, r.body)
		}
		r = call(t, "PATCH", base+"/connectors/"+n+"/config", map[string]any{"secret": nil})
		var patched worker.ConnectorInfo
		r.json(t, &patched)
		if _, still := patched.Config["secret"]; r.code != 200 || still {
			t.Fatalf("PATCH with null did not remove the key: %d %s", r.code, r.body)
		}
		expectError(t, call(t, "PATCH", base+"/connectors/"+n+"/config", map[string]any{"count": "many"}), 400, "count")
		if r := call(t, "DELETE", base+"/connectors/"+n, nil); r.code != 204 {
			t.Fatalf("DELETE = %d %s", r.code, r.body)
		}
	})

	t.Run("pause resume stop offsets", func(t *testing.T) {
		if r := call(t, "PUT", base+"/connectors/"+src+"/pause", nil); r.code != 202 {
			t.Fatalf("pause = %d %s", r.code, r.body)
		}
		waitState(t, base, src, "PAUSED", 1)
		if r := call(t, "PUT", base+"/connectors/"+src+"/resume", nil); r.code != 202 {
			t.Fatalf("resume = %d %s", r.code, r.body)
		}
		waitState(t, base, src, "RUNNING", 1)
		expectError(t, call(t, "PATCH", base+"/connectors/"+src+"/offsets", map[string]any{"offsets": []any{}}), 400, "STOPPED")
		expectError(t, call(t, "DELETE", base+"/connectors/"+src+"/offsets", nil), 400, "STOPPED")
		// Wait until all 20 records' offsets are committed.
		deadline := time.Now().Add(20 * time.Second)
		var offs worker.ConnectorOffsets
		for {
			call(t, "GET", base+"/connectors/"+src+"/offsets", nil).json(t, &offs)
			if len(offs.Offsets) == 1 && offs.Offsets[0].Offset["n"] == float64(19) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(offs.Offsets) != 1 || offs.Offsets[0].Partition["src"] != "counter" || offs.Offsets[0].Offset["n"] != float64(19) {
			t.Fatalf("offsets = %+v", offs)
		}
		if r := call(t, "PUT", base+"/connectors/"+src+"/stop", nil); r.code != 204 {
			t.Fatalf("stop = %d %s", r.code, r.body)
		}
		st := waitState(t, base, src, "STOPPED", 0)
		if tasks := st["tasks"].([]any); len(tasks) != 0 {
			t.Fatalf("stopped connector still lists tasks: %v", st)
		}
		var tasks []any
		call(t, "GET", base+"/connectors/"+src+"/tasks", nil).json(t, &tasks)
		if len(tasks) != 0 {
			t.Fatalf("task configs not emptied on stop: %v", tasks)
		}
		expectError(t, call(t, "PATCH", base+"/connectors/"+src+"/offsets", `{"offsets": 3}`), 400, "malformed JSON")
		expectError(t, call(t, "PATCH", base+"/connectors/"+src+"/offsets", map[string]any{}), 400, "offsets")
		r := call(t, "PATCH", base+"/connectors/"+src+"/offsets", map[string]any{"offsets": []any{map[string]any{"partition": map[string]any{"src": "counter"}, "offset": map[string]any{"n": 9}}}})
		var msg map[string]string
		r.json(t, &msg)
		if r.code != 200 || !strings.Contains(msg["message"], "altered successfully") {
			t.Fatalf("alter = %d %s", r.code, r.body)
		}
		call(t, "GET", base+"/connectors/"+src+"/offsets", nil).json(t, &offs)
		if offs.Offsets[0].Offset["n"] != float64(9) {
			t.Fatalf("altered offset not stored: %+v", offs)
		}
		r = call(t, "DELETE", base+"/connectors/"+src+"/offsets", nil)
		r.json(t, &msg)
		if r.code != 200 || !strings.Contains(msg["message"], "reset successfully") {
			t.Fatalf("reset = %d %s", r.code, r.body)
		}
		call(t, "GET", base+"/connectors/"+src+"/offsets", nil).json(t, &offs)
		if len(offs.Offsets) != 0 {
			t.Fatalf("offsets after reset: %+v", offs)
		}
		if r := call(t, "PUT", base+"/connectors/"+src+"/resume", nil); r.code != 202 {
			t.Fatalf("resume from STOPPED = %d %s", r.code, r.body)
		}
		waitState(t, base, src, "RUNNING", 1)
	})

	t.Run("restart", func(t *testing.T) {
		if r := call(t, "POST", base+"/connectors/"+src+"/restart", nil); r.code != 204 {
			t.Fatalf("restart connector only = %d %s", r.code, r.body)
		}
		r := call(t, "POST", base+"/connectors/"+src+"/restart?includeTasks=true&onlyFailed=false", nil)
		var st worker.ConnectorStatus
		r.json(t, &st)
		if r.code != 202 || st.Connector.State != "RESTARTING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RESTARTING" {
			t.Fatalf("restart with tasks = %d %s", r.code, r.body)
		}
		waitState(t, base, src, "RUNNING", 1)
		r = call(t, "POST", base+"/connectors/"+src+"/restart?includeTasks=true&onlyFailed=true", nil)
		r.json(t, &st)
		if r.code != 202 || st.Connector.State != "RUNNING" || st.Tasks[0].State != "RUNNING" {
			t.Fatalf("onlyFailed restart touched healthy parts: %d %s", r.code, r.body)
		}
		expectError(t, call(t, "POST", base+"/connectors/"+src+"/restart?includeTasks=maybe", nil), 400, "includeTasks")
		if r := call(t, "POST", base+"/connectors/"+src+"/tasks/0/restart", nil); r.code != 204 {
			t.Fatalf("task restart = %d %s", r.code, r.body)
		}
		expectError(t, call(t, "POST", base+"/connectors/"+src+"/tasks/3/restart", nil), 404, "not found")
	})

	t.Run("plugins", func(t *testing.T) {
		var plugins []worker.PluginInfo
		r := call(t, "GET", base+"/connector-plugins", nil)
		r.json(t, &plugins)
		if len(plugins) != 2 || plugins[0].Class != "test.CollectingSinkConnector" || plugins[0].Type != "sink" || plugins[1].Type != "source" {
			t.Fatalf("connector plugins = %s", r.body)
		}
		call(t, "GET", base+"/connector-plugins?connectorsOnly=false", nil).json(t, &plugins)
		kinds := map[string]bool{}
		for _, p := range plugins {
			kinds[p.Type] = true
		}
		for _, k := range []string{"source", "sink", "transformation", "converter", "header_converter"} {
			if !kinds[k] {
				t.Fatalf("connectorsOnly=false lacks %s: %+v", k, plugins)
			}
		}
		r = call(t, "GET", base+"/connector-plugins/CountingSource/config", nil)
		var defs []worker.ConfigKeyInfo
		r.json(t, &defs)
		if r.code != 200 || len(defs) != 3 || defs[0].Name != "topic" || !defs[0].Required || defs[1].DefaultValue == nil || *defs[1].DefaultValue != "100" || defs[2].Type != "PASSWORD" {
			t.Fatalf("plugin config = %s", r.body)
		}
		expectError(t, call(t, "GET", base+"/connector-plugins/Nope/config", nil), 404, "Nope")
	})

	t.Run("validate", func(t *testing.T) {
		r := call(t, "PUT", base+"/connector-plugins/CountingSource/config/validate", map[string]any{"name": "v", "topic": "t", "count": "x", "secret": "hunter2", "tasks.mx": "1"})
		var v worker.ConfigInfos
		r.json(t, &v)
		if r.code != 200 || v.Name != "test.CountingSourceConnector" || v.ErrorCount != 2 {
			t.Fatalf("validate = %d %s", r.code, r.body)
		}
		if strings.Contains(string(r.body), "hunter2") {
			t.Fatalf("validate echoed a secret: %s", r.body)
		}
		errs := map[string][]string{}
		for _, c := range v.Configs {
			errs[c.Value.Name] = c.Value.Errors
		}
		if len(errs["count"]) != 1 || len(errs["tasks.mx"]) != 1 || len(errs["topic"]) != 0 || !strings.Contains(errs["tasks.mx"][0], "tasks.max") {
			t.Fatalf("field errors = %v", errs)
		}
		if len(v.Groups) == 0 || v.Groups[0] != "Common" {
			t.Fatalf("groups = %v", v.Groups)
		}
		expectError(t, call(t, "PUT", base+"/connector-plugins/CountingSource/config/validate", map[string]any{"connector.class": "CollectingSink"}), 400, "does not match")
		expectError(t, call(t, "PUT", base+"/connector-plugins/CountingSource/config/validate", "{"), 400, "malformed JSON")
		expectError(t, call(t, "PUT", base+"/connector-plugins/Nope/config/validate", map[string]any{}), 404, "Nope")
	})

	t.Run("loggers", func(t *testing.T) {
		var all map[string]logging.LoggerLevel
		call(t, "GET", base+"/admin/loggers", nil).json(t, &all)
		if all["root"].Level != "INFO" || all["tributary.worker"].Level != "INFO" {
			t.Fatalf("loggers = %v", all)
		}
		r := call(t, "PUT", base+"/admin/loggers/tributary", map[string]string{"level": "DEBUG"})
		var affected []string
		r.json(t, &affected)
		if r.code != 200 || strings.Join(affected, ",") != "tributary,tributary.worker" {
			t.Fatalf("set level = %d %s", r.code, r.body)
		}
		var one logging.LoggerLevel
		call(t, "GET", base+"/admin/loggers/tributary.worker", nil).json(t, &one)
		if one.Level != "DEBUG" {
			t.Fatalf("level after PUT = %+v", one)
		}
		expectError(t, call(t, "PUT", base+"/admin/loggers/tributary", map[string]string{"level": "LOUD"}), 400, "Invalid log level")
		expectError(t, call(t, "GET", base+"/admin/loggers/no.such", nil), 404, "not found")
	})

	t.Run("metrics", func(t *testing.T) {
		r := call(t, "GET", base+"/metrics", nil)
		for _, want := range []string{"kafka_connect_source_task_source_record_write_total", "kafka_connect_worker_connector_startup_attempts_total", "kafka_connect_connector_status", "go_goroutines"} {
			if !strings.Contains(string(r.body), want) {
				t.Fatalf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if r := call(t, "DELETE", base+"/connectors/"+src, nil); r.code != 204 {
			t.Fatalf("delete = %d %s", r.code, r.body)
		}
		expectError(t, call(t, "GET", base+"/connectors/"+src, nil), 404, "not found")
		var names []string
		call(t, "GET", base+"/connectors", nil).json(t, &names)
		if len(names) != 0 {
			t.Fatalf("connectors after delete: %v", names)
		}
	})
}
