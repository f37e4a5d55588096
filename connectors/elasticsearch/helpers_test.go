package elasticsearch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testenv"
)

// fakeContext is a SinkTaskContext that records what the task asks for.
type fakeContext struct {
	mu         sync.Mutex
	assignment []connect.TopicPartition
	paused     map[connect.TopicPartition]bool
	pauses     int
	resumes    int
	reporter   *recordingReporter // nil: no errant record reporter
}

func (f *fakeContext) ConnectorName() string { return "es-test" }
func (f *fakeContext) TaskID() int           { return 0 }
func (f *fakeContext) Logger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
func (f *fakeContext) Pause(tps ...connect.TopicPartition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pauses++
	for _, tp := range tps {
		f.paused[tp] = true
	}
}
func (f *fakeContext) Resume(tps ...connect.TopicPartition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumes++
	for _, tp := range tps {
		delete(f.paused, tp)
	}
}
func (f *fakeContext) Assignment() []connect.TopicPartition { return f.assignment }
func (f *fakeContext) RequestCommit()                       {}
func (f *fakeContext) ErrantRecordReporter() connect.ErrantRecordReporter {
	if f.reporter == nil {
		return nil // a typed nil would look like a reporter
	}
	return f.reporter
}
func (f *fakeContext) pausedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.paused)
}

// recordingReporter keeps reported records; err is returned from Report,
// as a runtime with errors.tolerance=none would.
type recordingReporter struct {
	mu   sync.Mutex
	err  error
	recs []*connect.Record
	errs []error
}

func (r *recordingReporter) Report(_ context.Context, rec *connect.Record, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	r.errs = append(r.errs, err)
	return r.err
}

func (r *recordingReporter) reported() ([]*connect.Record, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connect.Record(nil), r.recs...), append([]error(nil), r.errs...)
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// esEnv is one test's handle on the real Elasticsearch.
type esEnv struct {
	t      *testing.T
	url    string
	client *elastic.Client
	prefix string // unique index prefix of the test
}

func newESEnv(t *testing.T) *esEnv {
	t.Helper()
	u := testenv.Elasticsearch(t)
	c, err := elastic.NewClient(elastic.SetURL(u), elastic.SetSniff(false), elastic.SetHealthcheck(false))
	if err != nil {
		t.Fatal(err)
	}
	e := &esEnv{t: t, url: u, client: c, prefix: "tribtest-" + randomSuffix()}
	t.Cleanup(func() {
		// Twice: a bulk request cut off by a task's Stop may still be
		// applied after the first delete and recreate an index.
		for i := range 2 {
			if i > 0 {
				time.Sleep(300 * time.Millisecond)
			}
			_, _ = c.PerformRequest(context.Background(), elastic.PerformRequestOptions{Method: "DELETE", Path: "/" + e.prefix + "*", Params: url.Values{"expand_wildcards": {"all"}}})
		}
	})
	return e
}

// start starts a task against url with extra config; the task stops on cleanup.
func (e *esEnv) start(esURL string, extra map[string]string, fc *fakeContext) *Task {
	e.t.Helper()
	// A generous read timeout: the shared cluster may be busy with other
	// tests, and a timeout would only make the tests slower to converge.
	raw := map[string]string{cfgURL: esURL, cfgLinger: "5", cfgReadTimeout: "20000"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	if fc.paused == nil {
		fc.paused = map[connect.TopicPartition]bool{}
	}
	task := (&Connector{}).NewTask().(*Task)
	if err := task.Start(context.Background(), cfg, fc); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = task.Stop() })
	return task
}

func (e *esEnv) refresh() {
	e.t.Helper()
	if _, err := e.client.Refresh(e.prefix + "*").Do(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// count returns the documents in index (a name or pattern).
func (e *esEnv) count(index string) int64 {
	e.t.Helper()
	e.refresh()
	n, err := e.client.Count(index).Do(context.Background())
	if err != nil {
		e.t.Fatalf("count %s: %v", index, err)
	}
	return n
}

// get returns a document, or nil when missing.
func (e *esEnv) get(index, id string) *elastic.GetResult {
	e.t.Helper()
	r, err := e.client.Get().Index(index).Id(id).Do(context.Background())
	if elastic.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("get %s/%s: %v", index, id, err)
	}
	return r
}

// commitAll puts records and asserts that PreCommit returns every offset
// soon. It polls because PreCommit stops waiting while Elasticsearch is
// unavailable, and the shared test cluster can be slow for a moment.
func commitAll(t *testing.T, task *Task, recs []*connect.Record) {
	t.Helper()
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatalf("Put: %v", err)
	}
	current := consumed(recs)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := task.PreCommit(context.Background(), current)
		if err != nil {
			t.Fatalf("PreCommit: %v", err)
		}
		done := true
		for tp, off := range current {
			if got[tp] > off {
				t.Fatalf("PreCommit[%s] = %d beyond the consumed %d", tp, got[tp], off)
			}
			done = done && got[tp] == off
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PreCommit = %v, want %v (all acknowledged); health: %v", got, current, task.Health())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consumed is the runtime's "next offset to read" after recs.
func consumed(recs []*connect.Record) map[connect.TopicPartition]int64 {
	out := map[connect.TopicPartition]int64{}
	for _, r := range recs {
		tp := r.Origin()
		out[tp] = max(out[tp], originOffset(r)+1)
	}
	return out
}

// sensorRecords builds n keyed records on topic partition 0 from offset first.
func sensorRecords(topic string, first int64, n int, ts time.Time) []*connect.Record {
	recs := make([]*connect.Record, n)
	for i := range recs {
		off := first + int64(i)
		recs[i] = &connect.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: ts,
			Key: "car-" + itoa(off), Value: map[string]any{"car_id": "car-" + itoa(off), "speed": float64(off), "failure_occurred": "false"}}
	}
	return recs
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// proxy forwards TCP to Elasticsearch and can be cut and restored, to
// simulate an outage without stopping the shared cluster.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, esURL string) *proxy {
	t.Helper()
	u, err := url.Parse(esURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u.Host, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() { p.down(); p.wg.Wait() })
	return p
}

func (p *proxy) url() string { return "http://" + p.addr }

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
}

// down closes the listener and every open connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// up listens again on the same address.
func (p *proxy) up() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

var errReporterRefuses = errors.New("tolerance exceeded")
