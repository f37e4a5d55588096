package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tributary-io/tributary/connect"
)

// StatusListener hears every state change of connectors and tasks; the
// herder turns them into status records.
type StatusListener interface {
	ConnectorState(name string, s StateInfo)
	TaskState(id ConnectorTaskID, s StateInfo)
	// TopicUsed records a topic a connector wrote or read, for
	// GET /connectors/{c}/topics.
	TopicUsed(connector, topic string)
}

// Worker runs connectors and tasks in this process. Herders decide what
// runs where; the worker only executes.
type Worker struct {
	ID       string
	cfg      *Config
	reg      *connect.Registry
	offsets  OffsetStore
	status   StatusListener
	log      *slog.Logger
	Metrics  *Metrics
	resolver ConfigResolver

	mu         sync.Mutex
	connectors map[string]*connectorRunner
	tasks      map[ConnectorTaskID]*taskHandle
}

// NewWorker returns a worker; id is how statuses name it (host:port).
func NewWorker(id string, cfg *Config, reg *connect.Registry, offsets OffsetStore, status StatusListener, log *slog.Logger) *Worker {
	w := &Worker{ID: id, cfg: cfg, reg: reg, offsets: offsets, status: status, log: log, Metrics: NewMetrics(),
		connectors: map[string]*connectorRunner{}, tasks: map[ConnectorTaskID]*taskHandle{}}
	w.Metrics.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("worker", "connector_count"), Help: "Connectors running in this worker."},
			func() float64 { return float64(len(w.Connectors())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name("worker", "task_count"), Help: "Tasks running in this worker."},
			func() float64 { return float64(len(w.Tasks())) }),
	)
	return w
}

// Config returns the worker configuration.
func (w *Worker) Config() *Config { return w.cfg }

// Registry returns the plugin registry.
func (w *Worker) Registry() *connect.Registry { return w.reg }

// Offsets returns the source offset store.
func (w *Worker) Offsets() OffsetStore { return w.offsets }

// parseConnector validates raw and returns its definition and parsed config.
func (w *Worker) parseConnector(raw map[string]string) (*ConnectorDef, connect.Config, error) {
	cd, err := ResolveConnectorDef(w.reg, raw)
	if err != nil {
		return nil, connect.Config{}, err
	}
	cfg, err := cd.Def.Parse(raw)
	if err != nil {
		return nil, connect.Config{}, err
	}
	return cd, cfg, nil
}

// connectorRunner is one started connector instance.
type connectorRunner struct {
	name      string
	kind      connect.Kind
	conn      connect.Connector
	cancel    context.CancelFunc
	target    TargetState
	onReconf  func()
	failed    error
	startedAt time.Time
}

type connectorContext struct {
	w   *Worker
	r   *connectorRunner
	log *slog.Logger
}

func (c *connectorContext) RequestTaskReconfiguration() {
	if c.r.onReconf != nil {
		go c.r.onReconf()
	}
}

func (c *connectorContext) RaiseError(err error) {
	c.w.status.ConnectorState(c.r.name, StateInfo{State: StateFailed, WorkerID: c.w.ID, Trace: trace(err)})
}

func (c *connectorContext) Logger() *slog.Logger { return c.log }

// StartConnector starts (or restarts) a connector in target state. A
// connector whose Start fails is reported FAILED and kept, so that its
// status shows why; the error is returned as well.
func (w *Worker) StartConnector(name string, raw map[string]string, target TargetState, onReconf func()) error {
	w.StopConnector(name)
	w.Metrics.ConnectorStartupAttempts.Inc()
	resolved, err := w.resolve(raw)
	if err != nil {
		w.Metrics.ConnectorStartupFailures.Inc()
		w.status.ConnectorState(name, StateInfo{State: StateFailed, WorkerID: w.ID, Trace: trace(err)})
		return err
	}
	cd, cfg, err := w.parseConnector(resolved)
	if err != nil {
		w.Metrics.ConnectorStartupFailures.Inc()
		w.status.ConnectorState(name, StateInfo{State: StateFailed, WorkerID: w.ID, Trace: trace(err)})
		return err
	}
	conn, ok := cd.Plugin.New().(connect.Connector)
	if !ok {
		err := fmt.Errorf("plugin %s is not a connector", cd.Plugin.Class)
		w.status.ConnectorState(name, StateInfo{State: StateFailed, WorkerID: w.ID, Trace: trace(err)})
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &connectorRunner{name: name, kind: cd.Plugin.Kind, conn: conn, cancel: cancel, target: target, onReconf: onReconf, startedAt: time.Now()}
	w.mu.Lock()
	w.connectors[name] = r
	w.mu.Unlock()
	if target == TargetStopped {
		w.status.ConnectorState(name, StateInfo{State: StateStopped, WorkerID: w.ID})
		return nil
	}
	cc := &connectorContext{w: w, r: r, log: w.log.With("connector", name)}
	if err := safeCall(func() error { return conn.Start(ctx, cfg, cc) }); err != nil {
		r.failed = err
		w.Metrics.ConnectorStartupFailures.Inc()
		w.status.ConnectorState(name, StateInfo{State: StateFailed, WorkerID: w.ID, Trace: trace(err)})
		return fmt.Errorf("starting connector %s: %w", name, err)
	}
	w.Metrics.ConnectorStartupSuccesses.Inc()
	state := StateRunning
	if target == TargetPaused {
		state = StatePaused
	}
	w.status.ConnectorState(name, StateInfo{State: state, WorkerID: w.ID})
	return nil
}

// ConnectorKind returns source or sink for a config, without starting it.
func (w *Worker) ConnectorKind(raw map[string]string) (connect.Kind, error) {
	cd, err := ResolveConnectorDef(w.reg, raw)
	if err != nil {
		return "", err
	}
	return cd.Plugin.Kind, nil
}

// TaskConfigs asks a running connector for its task configs. Each comes
// back as the connector config overlaid with the task's own keys, so a task
// sees the framework keys (converters, transforms, errors.*) too.
func (w *Worker) TaskConfigs(name string, connRaw map[string]string) ([]map[string]string, error) {
	w.mu.Lock()
	r := w.connectors[name]
	w.mu.Unlock()
	if r == nil || r.failed != nil {
		return nil, fmt.Errorf("connector %s is not running", name)
	}
	maxTasks, err := strconv.Atoi(connRaw[TasksMaxConfig])
	if err != nil || maxTasks < 1 {
		maxTasks = 1
	}
	var cfgs []map[string]string
	err = safeCall(func() error {
		var err error
		cfgs, err = r.conn.TaskConfigs(maxTasks)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connector %s task configs: %w", name, err)
	}
	if len(cfgs) > maxTasks {
		return nil, fmt.Errorf("connector %s returned %d task configs, more than tasks.max=%d", name, len(cfgs), maxTasks)
	}
	out := make([]map[string]string, len(cfgs))
	for i, tc := range cfgs {
		m := maps.Clone(connRaw)
		maps.Copy(m, tc)
		out[i] = m
	}
	return unresolveTaskConfigs(connRaw, out), nil
}

// StopConnector stops a connector if it runs here.
func (w *Worker) StopConnector(name string) {
	w.mu.Lock()
	r := w.connectors[name]
	delete(w.connectors, name)
	w.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	if r.failed == nil && r.target != TargetStopped {
		if err := safeCall(r.conn.Stop); err != nil {
			w.log.Warn("connector stop failed", "connector", name, "error", err)
		}
	}
}

// ConnectorRunning reports whether a connector runs in this worker.
func (w *Worker) ConnectorRunning(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.connectors[name]
	return r != nil && r.failed == nil
}

// Connectors lists connectors started here.
func (w *Worker) Connectors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return sortedKeys(w.connectors)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// taskHandle is a running task seen from the worker.
type taskHandle struct {
	id      ConnectorTaskID
	cancel  context.CancelFunc
	done    chan struct{}
	control taskControl
}

// taskControl is what both runners implement.
type taskControl interface {
	run(ctx context.Context)
	setPaused(bool)
	health() error
}

// StartTask starts one task with its (merged) config.
func (w *Worker) StartTask(id ConnectorTaskID, taskRaw map[string]string, target TargetState) error {
	w.StopTasks([]ConnectorTaskID{id})
	w.Metrics.TaskStartupAttempts.Inc()
	fail := func(err error) error {
		w.Metrics.TaskStartupFailures.Inc()
		w.status.TaskState(id, StateInfo{State: StateFailed, WorkerID: w.ID, Trace: trace(err)})
		return err
	}
	resolved, err := w.resolve(taskRaw)
	if err != nil {
		return fail(err)
	}
	cd, cfg, err := w.parseConnector(resolved)
	if err != nil {
		return fail(err)
	}
	var ctl taskControl
	switch c := cd.Plugin.New().(type) {
	case connect.SourceConnector:
		ctl, err = w.newSourceRunner(id, cfg, c.NewTask())
	case connect.SinkConnector:
		ctl, err = w.newSinkRunner(id, cfg, c.NewTask())
	default:
		err = fmt.Errorf("plugin %s is neither a source nor a sink connector", cd.Plugin.Class)
	}
	if err != nil {
		return fail(err)
	}
	ctl.setPaused(target == TargetPaused)
	ctx, cancel := context.WithCancel(context.Background())
	h := &taskHandle{id: id, cancel: cancel, done: make(chan struct{}), control: ctl}
	w.mu.Lock()
	w.tasks[id] = h
	w.mu.Unlock()
	w.Metrics.TaskStartupSuccesses.Inc()
	go func() {
		defer close(h.done)
		ctl.run(ctx)
	}()
	return nil
}

// SetTaskPaused pauses or resumes a task running here.
func (w *Worker) SetTaskPaused(id ConnectorTaskID, paused bool) {
	w.mu.Lock()
	h := w.tasks[id]
	w.mu.Unlock()
	if h != nil {
		h.control.setPaused(paused)
	}
}

// StopTasks stops tasks concurrently and waits, bounded by the graceful
// shutdown timeout (plus the time to flush and commit).
func (w *Worker) StopTasks(ids []ConnectorTaskID) {
	var hs []*taskHandle
	w.mu.Lock()
	for _, id := range ids {
		if h := w.tasks[id]; h != nil {
			hs = append(hs, h)
			delete(w.tasks, id)
		}
	}
	w.mu.Unlock()
	for _, h := range hs {
		h.cancel()
	}
	deadline := time.After(w.cfg.GracefulTimeout() + w.cfg.Duration(OffsetFlushTimeoutConfig) + 5*time.Second)
	for _, h := range hs {
		select {
		case <-h.done:
		case <-deadline:
			w.log.Error("task did not stop in time; abandoning it", "connector", h.id.Connector, "task", h.id.Task)
		}
	}
}

// Tasks lists the tasks running here.
func (w *Worker) Tasks() []ConnectorTaskID {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]ConnectorTaskID, 0, len(w.tasks))
	for id := range w.tasks {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Connector != out[j].Connector {
			return out[i].Connector < out[j].Connector
		}
		return out[i].Task < out[j].Task
	})
	return out
}

// TaskHealth returns a running task's health problem, if any.
func (w *Worker) TaskHealth(id ConnectorTaskID) error {
	w.mu.Lock()
	h := w.tasks[id]
	w.mu.Unlock()
	if h == nil {
		return nil
	}
	return h.control.health()
}

// Stop stops every task and connector.
func (w *Worker) Stop() {
	w.StopTasks(w.Tasks())
	for _, name := range w.Connectors() {
		w.StopConnector(name)
	}
}

// trace renders an error for a status trace.
func trace(err error) string {
	if err == nil {
		return ""
	}
	var b []byte
	b = append(b, err.Error()...)
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		b = append(b, "\nCaused by: "...)
		b = append(b, u.Error()...)
	}
	return string(b)
}

// safeCall runs plugin code, turning a panic into an error with its stack:
// a plugin bug fails its connector or task, not the worker.
func safeCall(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

type taskContext struct {
	id  ConnectorTaskID
	log *slog.Logger
}

func (t *taskContext) ConnectorName() string { return t.id.Connector }
func (t *taskContext) TaskID() int           { return t.id.Task }
func (t *taskContext) Logger() *slog.Logger  { return t.log }
