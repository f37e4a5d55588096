package distributed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testenv"
	"github.com/tributary-io/tributary/internal/testplugins"
	"github.com/tributary-io/tributary/rest"
	"github.com/tributary-io/tributary/worker"
)

var _ rest.Herder = (*Herder)(nil)

// spread is a source connector with one task per tasks.max; each task
// writes "count" records under its own source partition {"task": i} and
// records every start, so tests can tell which tasks were restarted.
type spreadConnector struct{}

type spreadTask struct {
	conn  string
	idx   int
	topic string
	next  int
	count int
}

type taskStart struct {
	marker string
	offset int // the committed offset it resumed from, -1 when none
}

var spreadStarts = struct {
	sync.Mutex
	m map[string]map[int][]taskStart
}{m: map[string]map[int][]taskStart{}}

func starts(conn string) map[int][]taskStart {
	spreadStarts.Lock()
	defer spreadStarts.Unlock()
	out := map[int][]taskStart{}
	for k, v := range spreadStarts.m[conn] {
		out[k] = append([]taskStart(nil), v...)
	}
	return out
}

func spreadDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: "topic", Type: connect.TypeString},
		connect.ConfigKey{Name: "count", Type: connect.TypeInt, Default: 0},
		connect.ConfigKey{Name: "marker", Type: connect.TypeString, Default: ""},
	)
}

func (spreadConnector) Start(context.Context, connect.Config, connect.ConnectorContext) error {
	return nil
}
func (spreadConnector) TaskConfigs(n int) ([]map[string]string, error) {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"task.index": strconv.Itoa(i)}
	}
	return out, nil
}
func (spreadConnector) Stop() error                 { return nil }
func (spreadConnector) NewTask() connect.SourceTask { return &spreadTask{} }

func (t *spreadTask) Start(_ context.Context, cfg connect.Config, tc connect.SourceTaskContext) error {
	t.conn, t.topic, t.count = tc.ConnectorName(), cfg.String("topic"), cfg.Int("count")
	t.idx, _ = strconv.Atoi(cfg.Raw()["task.index"])
	off, err := tc.Offset(map[string]any{"task": t.idx})
	if err != nil {
		return err
	}
	st := taskStart{marker: cfg.String("marker"), offset: -1}
	if off != nil {
		st.offset = int(off["n"].(int64))
		t.next = st.offset + 1
	}
	spreadStarts.Lock()
	if spreadStarts.m[t.conn] == nil {
		spreadStarts.m[t.conn] = map[int][]taskStart{}
	}
	spreadStarts.m[t.conn][t.idx] = append(spreadStarts.m[t.conn][t.idx], st)
	spreadStarts.Unlock()
	return nil
}

func (t *spreadTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= t.count {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	for ; t.next < t.count && len(out) < 10; t.next++ {
		out = append(out, &connect.Record{Topic: t.topic, Partition: connect.AnyPartition,
			Key: fmt.Sprintf("%d-%d", t.idx, t.next), Value: map[string]any{"n": t.next},
			SourcePartition: map[string]any{"task": t.idx}, SourceOffset: map[string]any{"n": t.next}})
	}
	return out, nil
}

func (t *spreadTask) CommitRecord(*connect.Record, bool) error { return nil }
func (t *spreadTask) Stop() error                              { return nil }

func testRegistry() *connect.Registry {
	reg := testplugins.Registry()
	reg.Register(connect.Plugin{Class: "test.SpreadSourceConnector", Kind: connect.KindSource, Config: spreadDef(), New: func() any { return spreadConnector{} }})
	return reg
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, rand.IntN(1e6))
}

// clusterProps are the worker properties of one test cluster.
func clusterProps(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	id := uniq("dist")
	p := map[string]string{
		worker.BootstrapServersConfig: testenv.Kafka(t),
		worker.GroupIDConfig:          id,
		ConfigTopicConfig:             id + "-configs",
		OffsetTopicConfig:             id + "-offsets",
		OffsetPartitionsConfig:        "5",
		StatusTopicConfig:             id + "-status",
		worker.KeyConverterConfig:     "test.TestConverter",
		worker.ValueConverterConfig:   "test.TestConverter",
		worker.HeaderConverterConfig:  "test.TestHeaderConverter",
		worker.OffsetFlushIntervalCfg: "200",
		SessionTimeoutConfig:          "6000",
		HeartbeatIntervalConfig:       "1000",
		worker.ListenersConfig:        "http://127.0.0.1:0",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// node is one worker with its REST server, in this process or a child.
type node struct {
	url  string
	id   string
	h    *Herder
	srv  *http.Server
	proc *os.Process
}

// runWorker starts a herder and its REST server on a free loopback port.
func runWorker(ctx context.Context, props map[string]string, reg *connect.Registry, log *slog.Logger) (*node, error) {
	cfg, err := ParseConfig(props)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	id := lis.Addr().String()
	n := &node{id: id, url: "http://" + id}
	n.h, err = New(Options{Config: cfg, Registry: reg, WorkerID: id, URL: n.url, Log: log.With("worker", id)})
	if err != nil {
		lis.Close()
		return nil, err
	}
	srv := rest.New(rest.Options{Herder: n.h, Registry: reg, Log: log})
	n.srv = &http.Server{Handler: n.h.Handler(srv.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = n.srv.Serve(lis) }()
	if err := n.h.Start(ctx); err != nil {
		n.srv.Close()
		n.h.Stop()
		return nil, err
	}
	return n, nil
}

func testLog() *slog.Logger {
	if os.Getenv("TRIBUTARY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startNode(t *testing.T, props map[string]string) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := runWorker(ctx, props, testRegistry(), testLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	waitFor(t, "worker "+n.id+" healthy", 30*time.Second, func() bool {
		code, _ := call(n.url, http.MethodGet, "/health", nil)
		return code == 200
	})
	return n
}

func (n *node) stop() {
	if n.h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
	n.h.Stop()
	n.h = nil
}

func call(base, method, path string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustCall(t *testing.T, base, method, path string, body any, want int) []byte {
	t.Helper()
	code, b := call(base, method, path, body)
	if code != want {
		t.Fatalf("%s %s%s = %d %s, want %d", method, base, path, code, b, want)
	}
	return b
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(base, name string) (worker.ConnectorStatus, bool) {
	code, b := call(base, http.MethodGet, "/connectors/"+name+"/status", nil)
	var st worker.ConnectorStatus
	if code != 200 || json.Unmarshal(b, &st) != nil {
		return st, false
	}
	return st, true
}

// allTasks reports whether the connector and its n tasks are in state, and
// how many tasks each worker runs.
func allTasks(base, name string, n int, state worker.State) (map[string]int, bool) {
	st, ok := status(base, name)
	if !ok || st.Connector.State != state || len(st.Tasks) != n {
		return nil, false
	}
	per := map[string]int{}
	for _, ts := range st.Tasks {
		if ts.State != state {
			return nil, false
		}
		per[ts.WorkerID]++
	}
	return per, true
}

func taskOwners(t *testing.T, base, name string) map[int]string {
	t.Helper()
	st, ok := status(base, name)
	if !ok {
		t.Fatalf("no status for %s", name)
	}
	out := map[int]string{}
	for _, ts := range st.Tasks {
		out[ts.ID] = ts.WorkerID
	}
	return out
}

func leaderAndFollowers(t *testing.T, nodes []*node) (*node, []*node) {
	t.Helper()
	var leader *node
	var followers []*node
	waitFor(t, "one leader", 20*time.Second, func() bool {
		leader, followers = nil, nil
		for _, n := range nodes {
			if _, self, _ := n.h.leader(); self && n.h.leaderReady() {
				leader = n
			} else {
				followers = append(followers, n)
			}
		}
		return leader != nil && len(followers) == len(nodes)-1
	})
	return leader, followers
}

func spreadConfig(topic string, tasks, count int) map[string]any {
	return map[string]any{"connector.class": "test.SpreadSourceConnector", "topic": topic,
		"tasks.max": strconv.Itoa(tasks), "count": strconv.Itoa(count)}
}
