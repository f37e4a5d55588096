package rest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tributary-io/tributary/internal/testplugins"
	"github.com/tributary-io/tributary/rest"
	"github.com/tributary-io/tributary/worker"
)

// fakeHerder is an in-process fake of our own Herder interface: it knows one
// connector, "c", and validates like the real herders so that a client's
// mistake comes back as a 4xx.
type fakeHerder struct{}

func known(name string) error {
	if name != "c" {
		return worker.NotFound("Connector %s not found", name)
	}
	return nil
}

func (fakeHerder) ServerInfo(context.Context) (worker.ServerInfo, error) {
	return worker.ServerInfo{}, nil
}
func (fakeHerder) Health(context.Context) (bool, error)         { return true, nil }
func (fakeHerder) Connectors(context.Context) ([]string, error) { return []string{"c"}, nil }
func (fakeHerder) ConnectorInfo(_ context.Context, n string) (worker.ConnectorInfo, error) {
	return worker.ConnectorInfo{Name: n}, known(n)
}
func (fakeHerder) ConnectorConfig(_ context.Context, n string) (map[string]string, error) {
	return map[string]string{}, known(n)
}
func (fakeHerder) ConnectorStatus(_ context.Context, n string) (worker.ConnectorStatus, error) {
	return worker.ConnectorStatus{Name: n}, known(n)
}
func (fakeHerder) TaskConfigs(_ context.Context, n string) ([]worker.TaskInfo, error) {
	return nil, known(n)
}
func (fakeHerder) TaskStatus(_ context.Context, id worker.ConnectorTaskID) (worker.TaskState, error) {
	return worker.TaskState{}, known(id.Connector)
}
func (fakeHerder) CreateConnector(_ context.Context, n string, cfg map[string]string, _ worker.TargetState) (worker.ConnectorInfo, error) {
	return worker.ConnectorInfo{Name: n}, worker.ValidateForWrite(testplugins.Registry(), n, cfg)
}
func (fakeHerder) PutConnectorConfig(_ context.Context, n string, cfg map[string]string) (worker.ConnectorInfo, bool, error) {
	return worker.ConnectorInfo{Name: n}, false, worker.ValidateForWrite(testplugins.Registry(), n, cfg)
}
func (fakeHerder) PatchConnectorConfig(_ context.Context, n string, p map[string]*string) (worker.ConnectorInfo, error) {
	if err := known(n); err != nil {
		return worker.ConnectorInfo{}, err
	}
	return worker.ConnectorInfo{Name: n}, worker.ValidateForWrite(testplugins.Registry(), n, worker.ApplyPatch(map[string]string{"name": "c"}, p))
}
func (fakeHerder) DeleteConnector(_ context.Context, n string) error { return known(n) }
func (fakeHerder) RestartConnector(_ context.Context, r worker.RestartRequest) (*worker.ConnectorStatus, error) {
	return nil, known(r.Connector)
}
func (fakeHerder) RestartTask(_ context.Context, id worker.ConnectorTaskID) error {
	return known(id.Connector)
}
func (fakeHerder) PauseConnector(_ context.Context, n string) error  { return known(n) }
func (fakeHerder) ResumeConnector(_ context.Context, n string) error { return known(n) }
func (fakeHerder) StopConnector(_ context.Context, n string) error   { return known(n) }
func (fakeHerder) ConnectorTopics(_ context.Context, n string) ([]string, error) {
	return nil, known(n)
}
func (fakeHerder) ResetConnectorTopics(_ context.Context, n string) error { return known(n) }
func (fakeHerder) Offsets(_ context.Context, n string) (worker.ConnectorOffsets, error) {
	return worker.ConnectorOffsets{}, known(n)
}
func (fakeHerder) AlterOffsets(_ context.Context, n string, o worker.ConnectorOffsets) (string, error) {
	if err := known(n); err != nil {
		return "", err
	}
	if len(o.Offsets) == 0 {
		return "", worker.BadRequest("The offsets to be altered must not be empty")
	}
	return "ok", nil
}
func (fakeHerder) ResetOffsets(_ context.Context, n string) (string, error) { return "ok", known(n) }

var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/connectors"},
	{"PUT", "/connectors/c/config"},
	{"PUT", "/connectors/new/config"},
	{"PATCH", "/connectors/c/config"},
	{"PATCH", "/connectors/c/offsets"},
	{"PUT", "/connector-plugins/CountingSource/config/validate"},
	{"PUT", "/connector-plugins/CollectingSink/config/validate"},
	{"PUT", "/admin/loggers/x"},
	{"POST", "/connectors/c/restart?includeTasks=true"},
}

// No request body, however broken, makes the API answer 5xx or panic.
func FuzzRESTBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"c","config":{"connector.class":"CountingSource","topic":"t"}}`, `{"offsets":[{"partition":{"a":1},"offset":null}]}`,
		`{"connector.class":"CountingSource","count":"x"}`, `{"level":"DEBUG"}`, `null`, `[]`, `{"config":[1]}`, `{"a":{"b":[]}}`, "\xff", `{"name":null}`,
		`{"offsets":[{"partition":null}]}`, `{"transforms":"a","transforms.a.type":"Nope"}`, `{"tasks.max":1e999}`,
	} {
		for i := range fuzzRoutes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	srv := rest.New(rest.Options{Herder: fakeHerder{}, Registry: testplugins.Registry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q answered %d: %s", r.method, r.path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !bytes.Contains(rec.Body.Bytes(), []byte(`"error_code"`)) {
			t.Fatalf("%s %s: %d without Kafka Connect's error body: %s", r.method, r.path, rec.Code, rec.Body.String())
		}
	})
}
