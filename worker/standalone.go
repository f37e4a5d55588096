package worker

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/configprovider"
	"github.com/tributary-io/tributary/connect"
)

// Version is set at build time.
var (
	Version = "0.1.0"
	Commit  = "dev"
)

// Standalone is the herder of a single-process worker: connector configs
// come from files and REST, offsets live in a local file.
type Standalone struct {
	w      *Worker
	status *MemoryStatus
	admin  *kafka.AdminClient
	log    *slog.Logger

	mu          sync.Mutex // serialises every change
	configs     map[string]map[string]string
	targets     map[string]TargetState
	taskConfigs map[string][]map[string]string
	ready       bool
	clusterID   string
}

// NewStandalone builds the worker and herder from a worker config.
func NewStandalone(cfg *Config, reg *connect.Registry, workerID string, log *slog.Logger) (*Standalone, error) {
	path := cfg.String(OffsetFileConfig)
	if path == "" {
		return nil, fmt.Errorf("worker config: %s is required in standalone mode", OffsetFileConfig)
	}
	offsets, err := OpenFileOffsetStore(path)
	if err != nil {
		return nil, err
	}
	resolver, err := configprovider.New(cfg.Props)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	h := &Standalone{log: log, configs: map[string]map[string]string{},
		targets: map[string]TargetState{}, taskConfigs: map[string][]map[string]string{}}
	h.w = NewWorker(workerID, cfg, reg, offsets, nil, log)
	h.w.SetConfigResolver(resolver)
	if h.admin, err = h.w.newAdmin(); err != nil {
		return nil, err
	}
	h.status = NewMemoryStatus(h.w.Metrics)
	h.w.status = h.status
	return h, nil
}

// Worker returns the herder's worker.
func (h *Standalone) Worker() *Worker { return h.w }

// Start connects to Kafka (so GET / can name the cluster) and marks the
// herder ready.
func (h *Standalone) Start(ctx context.Context) error {
	id, err := clusterID(ctx, h.admin)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.clusterID, h.ready = id, true
	h.mu.Unlock()
	return nil
}

// Stop stops every connector and task.
func (h *Standalone) Stop() {
	h.w.Stop()
	h.admin.Close()
}

func (h *Standalone) ServerInfo(context.Context) (ServerInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return ServerInfo{Version: Version, Commit: Commit, KafkaClusterID: h.clusterID}, nil
}

// Health is nil once the herder started.
func (h *Standalone) Health(context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready, nil
}

func (h *Standalone) Connectors(context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sortedKeys(h.configs), nil
}

func (h *Standalone) notFound(name string) error { return NotFound("Connector %s not found", name) }

func (h *Standalone) ConnectorInfo(_ context.Context, name string) (ConnectorInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infoLocked(name)
}

func (h *Standalone) infoLocked(name string) (ConnectorInfo, error) {
	raw, ok := h.configs[name]
	if !ok {
		return ConnectorInfo{}, h.notFound(name)
	}
	info := ConnectorInfo{Name: name, Config: h.redact(raw), Tasks: []ConnectorTaskID{}, Type: string(kindOf(h.w.reg, raw))}
	for i := range h.taskConfigs[name] {
		info.Tasks = append(info.Tasks, ConnectorTaskID{Connector: name, Task: i})
	}
	return info, nil
}

// redact hides secret values from every answer.
func (h *Standalone) redact(raw map[string]string) map[string]string {
	return RedactConnectorConfig(h.w.reg, raw)
}

// RedactConnectorConfig hides the values of keys any involved plugin marks
// secret.
func RedactConnectorConfig(reg *connect.Registry, raw map[string]string) map[string]string {
	cd, err := ResolveConnectorDef(reg, raw)
	if err != nil {
		return maps.Clone(raw)
	}
	return connect.Redact(cd.Def, raw)
}

func (h *Standalone) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, ok := h.configs[name]
	if !ok {
		return nil, h.notFound(name)
	}
	return h.redact(raw), nil
}

func (h *Standalone) ConnectorStatus(_ context.Context, name string) (ConnectorStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statusLocked(name)
}

func (h *Standalone) statusLocked(name string) (ConnectorStatus, error) {
	raw, ok := h.configs[name]
	if !ok {
		return ConnectorStatus{}, h.notFound(name)
	}
	st := ConnectorStatus{Name: name, Type: string(kindOf(h.w.reg, raw)), Tasks: []TaskState{}}
	cs, ok := h.status.Connector(name)
	if !ok {
		cs = StateInfo{State: StateUnassigned, WorkerID: h.w.ID}
	}
	st.Connector = cs
	for i := range h.taskConfigs[name] {
		st.Tasks = append(st.Tasks, h.taskStateLocked(ConnectorTaskID{Connector: name, Task: i}))
	}
	return st, nil
}

func (h *Standalone) taskStateLocked(id ConnectorTaskID) TaskState {
	ts, ok := h.status.Task(id)
	if !ok {
		ts = StateInfo{State: StateUnassigned, WorkerID: h.w.ID}
	}
	if ts.State == StateRunning && ts.Trace == "" {
		// A running task may still report a problem it works around
		// (e.g. an unreachable sink it keeps retrying).
		if err := h.w.TaskHealth(id); err != nil {
			ts.Trace = "running with a problem: " + err.Error()
		}
	}
	return TaskState{ID: id.Task, StateInfo: ts}
}

func (h *Standalone) TaskConfigs(_ context.Context, name string) ([]TaskInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return nil, h.notFound(name)
	}
	out := []TaskInfo{}
	for i, tc := range h.taskConfigs[name] {
		out = append(out, TaskInfo{ID: ConnectorTaskID{Connector: name, Task: i}, Config: h.redact(tc)})
	}
	return out, nil
}

func (h *Standalone) TaskStatus(_ context.Context, id ConnectorTaskID) (TaskState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[id.Connector]; !ok {
		return TaskState{}, h.notFound(id.Connector)
	}
	if id.Task < 0 || id.Task >= len(h.taskConfigs[id.Connector]) {
		return TaskState{}, NotFound("Task %s-%d not found", id.Connector, id.Task)
	}
	return h.taskStateLocked(id), nil
}

// ValidateForWrite checks a config before create or update; the error is a
// 400 listing every field error, as Kafka Connect's.
func ValidateForWrite(reg *connect.Registry, name string, raw map[string]string, opts ...ValidateOption) error {
	if raw[NameConfig] != "" && raw[NameConfig] != name {
		return BadRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", raw[NameConfig], name)
	}
	infos, _ := ValidateConnectorConfig(reg, raw, opts...)
	if infos.ErrorCount > 0 {
		errs := infos.FieldErrors()
		return BadRequest("Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
			len(errs), strings.Join(errs, "\n"))
	}
	return nil
}

// CreateConnector creates a new connector; 409 when it exists.
func (h *Standalone) CreateConnector(_ context.Context, name string, raw map[string]string, initial TargetState) (ConnectorInfo, error) {
	raw = maps.Clone(raw)
	if raw == nil {
		raw = map[string]string{}
	}
	raw[NameConfig] = name
	if err := ValidateForWrite(h.w.reg, name, raw, WithResolver(h.w.resolver)); err != nil {
		return ConnectorInfo{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, exists := h.configs[name]; exists {
		return ConnectorInfo{}, Conflict("Connector %s already exists", name)
	}
	if initial == "" {
		initial = TargetRunning
	}
	h.configs[name] = raw
	h.targets[name] = initial
	h.startLocked(name)
	return h.infoLocked(name)
}

// PutConnectorConfig creates or replaces a connector's config.
func (h *Standalone) PutConnectorConfig(_ context.Context, name string, raw map[string]string) (ConnectorInfo, bool, error) {
	raw = maps.Clone(raw)
	if raw == nil {
		raw = map[string]string{}
	}
	if raw[NameConfig] == "" {
		raw[NameConfig] = name
	}
	if err := ValidateForWrite(h.w.reg, name, raw, WithResolver(h.w.resolver)); err != nil {
		return ConnectorInfo{}, false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, exists := h.configs[name]
	if exists {
		raw = restoreHidden(h.configs[name], raw)
		h.stopLocked(name)
	} else {
		h.targets[name] = TargetRunning
	}
	h.configs[name] = raw
	h.startLocked(name)
	info, err := h.infoLocked(name)
	return info, !exists, err
}

// restoreHidden keeps a stored secret when a client sends back the
// "[hidden]" placeholder it was shown, so GET-modify-PUT round trips work.
func restoreHidden(old, updated map[string]string) map[string]string {
	for k, v := range updated {
		if v == connect.HiddenValue {
			if o, ok := old[k]; ok {
				updated[k] = o
			}
		}
	}
	return updated
}

// PatchConnectorConfig merges patch into the config; a nil value removes a key.
func (h *Standalone) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (ConnectorInfo, error) {
	h.mu.Lock()
	old, ok := h.configs[name]
	h.mu.Unlock()
	if !ok {
		return ConnectorInfo{}, h.notFound(name)
	}
	merged := ApplyPatch(old, patch)
	if merged[NameConfig] != name {
		return ConnectorInfo{}, BadRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", merged[NameConfig], name)
	}
	info, _, err := h.PutConnectorConfig(ctx, name, merged)
	return info, err
}

// ApplyPatch returns old with patch applied (nil values remove keys).
func ApplyPatch(old map[string]string, patch map[string]*string) map[string]string {
	merged := maps.Clone(old)
	for k, v := range patch {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = *v
		}
	}
	return merged
}

func (h *Standalone) DeleteConnector(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return h.notFound(name)
	}
	h.stopLocked(name)
	delete(h.configs, name)
	delete(h.targets, name)
	delete(h.taskConfigs, name)
	h.status.Forget(name)
	return nil
}

func (h *Standalone) taskIDs(name string) []ConnectorTaskID {
	ids := make([]ConnectorTaskID, len(h.taskConfigs[name]))
	for i := range ids {
		ids[i] = ConnectorTaskID{Connector: name, Task: i}
	}
	return ids
}

// stopLocked stops a connector's tasks and the connector itself.
func (h *Standalone) stopLocked(name string) {
	h.w.StopTasks(h.taskIDs(name))
	h.w.StopConnector(name)
}

// startLocked starts a connector and, unless stopped, its tasks.
func (h *Standalone) startLocked(name string) {
	raw := h.configs[name]
	target := h.targets[name]
	if err := h.w.StartConnector(name, raw, target, func() { h.reconfigure(name) }); err != nil {
		h.log.Warn("connector failed to start", "connector", name, "error", err)
		return
	}
	if target == TargetStopped {
		for _, id := range h.taskIDs(name) {
			h.status.ForgetTask(id)
		}
		h.taskConfigs[name] = nil
		return
	}
	h.startTasksLocked(name)
}

func (h *Standalone) startTasksLocked(name string) {
	tcs, err := h.w.TaskConfigs(name, h.configs[name])
	if err != nil {
		h.status.ConnectorState(name, StateInfo{State: StateFailed, WorkerID: h.w.ID, Trace: trace(err)})
		return
	}
	for i := len(tcs); i < len(h.taskConfigs[name]); i++ {
		h.status.ForgetTask(ConnectorTaskID{Connector: name, Task: i})
	}
	h.taskConfigs[name] = tcs
	for i, tc := range tcs {
		id := ConnectorTaskID{Connector: name, Task: i}
		if err := h.w.StartTask(id, tc, h.targets[name]); err != nil {
			h.log.Warn("task failed to start", "connector", name, "task", i, "error", err)
		}
	}
}

// reconfigure answers a connector's RequestTaskReconfiguration.
func (h *Standalone) reconfigure(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok || h.targets[name] == TargetStopped {
		return
	}
	tcs, err := h.w.TaskConfigs(name, h.configs[name])
	if err != nil || reflect.DeepEqual(tcs, h.taskConfigs[name]) {
		return
	}
	h.w.StopTasks(h.taskIDs(name))
	h.startTasksLocked(name)
}

func (h *Standalone) PauseConnector(_ context.Context, name string) error {
	return h.setTarget(name, TargetPaused)
}

func (h *Standalone) ResumeConnector(_ context.Context, name string) error {
	return h.setTarget(name, TargetRunning)
}

func (h *Standalone) StopConnector(_ context.Context, name string) error {
	return h.setTarget(name, TargetStopped)
}

func (h *Standalone) setTarget(name string, target TargetState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return h.notFound(name)
	}
	prev := h.targets[name]
	h.targets[name] = target
	switch {
	case prev == target:
	case target == TargetStopped || prev == TargetStopped:
		h.stopLocked(name)
		h.startLocked(name)
	default: // running ↔ paused: tasks keep their state, only stop working
		for _, id := range h.taskIDs(name) {
			h.w.SetTaskPaused(id, target == TargetPaused)
		}
		if cs, ok := h.status.Connector(name); ok && cs.State != StateFailed {
			st := StateRunning
			if target == TargetPaused {
				st = StatePaused
			}
			h.status.ConnectorState(name, StateInfo{State: st, WorkerID: h.w.ID})
		}
	}
	return nil
}

// RestartConnector follows Kafka Connect: without includeTasks/onlyFailed
// only the connector restarts and nil is returned (204); otherwise the
// status with RESTARTING marks is returned (202) and the restart runs in
// the background.
func (h *Standalone) RestartConnector(_ context.Context, req RestartRequest) (*ConnectorStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := req.Connector
	if _, ok := h.configs[name]; !ok {
		return nil, h.notFound(name)
	}
	if !req.IncludeTasks && !req.OnlyFailed {
		h.restartConnectorOnlyLocked(name)
		return nil, nil
	}
	st, _ := h.statusLocked(name)
	restartConn := !req.OnlyFailed || st.Connector.State == StateFailed
	var tasks []ConnectorTaskID
	if restartConn {
		st.Connector.State = StateRestarting
		st.Connector.Trace = ""
		h.status.ConnectorState(name, StateInfo{State: StateRestarting, WorkerID: h.w.ID})
	}
	if req.IncludeTasks {
		for i := range st.Tasks {
			if !req.OnlyFailed || st.Tasks[i].State == StateFailed {
				st.Tasks[i].State, st.Tasks[i].Trace = StateRestarting, ""
				id := ConnectorTaskID{Connector: name, Task: st.Tasks[i].ID}
				tasks = append(tasks, id)
				h.status.TaskState(id, StateInfo{State: StateRestarting, WorkerID: h.w.ID})
			}
		}
	}
	go h.doRestart(name, restartConn, tasks)
	return &st, nil
}

func (h *Standalone) doRestart(name string, conn bool, tasks []ConnectorTaskID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return
	}
	if conn {
		h.restartConnectorOnlyLocked(name)
	}
	for _, id := range tasks {
		h.restartTaskLocked(id)
	}
}

func (h *Standalone) restartConnectorOnlyLocked(name string) {
	if err := h.w.StartConnector(name, h.configs[name], h.targets[name], func() { h.reconfigure(name) }); err != nil {
		h.log.Warn("connector failed to restart", "connector", name, "error", err)
		return
	}
	if len(h.taskConfigs[name]) == 0 && h.targets[name] != TargetStopped {
		h.startTasksLocked(name) // it had failed before producing task configs
	}
}

func (h *Standalone) restartTaskLocked(id ConnectorTaskID) {
	tcs := h.taskConfigs[id.Connector]
	if id.Task >= len(tcs) {
		return
	}
	if err := h.w.StartTask(id, tcs[id.Task], h.targets[id.Connector]); err != nil {
		h.log.Warn("task failed to restart", "connector", id.Connector, "task", id.Task, "error", err)
	}
}

func (h *Standalone) RestartTask(_ context.Context, id ConnectorTaskID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[id.Connector]; !ok {
		return h.notFound(id.Connector)
	}
	if id.Task < 0 || id.Task >= len(h.taskConfigs[id.Connector]) {
		return NotFound("Task %s-%d not found", id.Connector, id.Task)
	}
	h.restartTaskLocked(id)
	return nil
}

func (h *Standalone) ConnectorTopics(_ context.Context, name string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return nil, h.notFound(name)
	}
	return h.status.Topics(name), nil
}

func (h *Standalone) ResetConnectorTopics(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs[name]; !ok {
		return h.notFound(name)
	}
	h.status.ResetTopics(name)
	return nil
}

func (h *Standalone) Offsets(ctx context.Context, name string) (ConnectorOffsets, error) {
	h.mu.Lock()
	raw, ok := h.configs[name]
	h.mu.Unlock()
	if !ok {
		return ConnectorOffsets{}, h.notFound(name)
	}
	if kindOf(h.w.reg, raw) == connect.KindSink {
		return sinkOffsets(ctx, h.admin, name)
	}
	offs, err := h.w.offsets.All(name)
	if err != nil {
		return ConnectorOffsets{}, err
	}
	if offs == nil {
		offs = []ConnectorOffset{}
	}
	return ConnectorOffsets{Offsets: offs}, nil
}

func (h *Standalone) requireStopped(name string) (map[string]string, error) {
	raw, ok := h.configs[name]
	if !ok {
		return nil, h.notFound(name)
	}
	if h.targets[name] != TargetStopped {
		return nil, BadRequest("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", name)
	}
	return raw, nil
}

func (h *Standalone) AlterOffsets(ctx context.Context, name string, offs ConnectorOffsets) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	if len(offs.Offsets) == 0 {
		return "", BadRequest("The offsets to be altered must not be empty")
	}
	if kindOf(h.w.reg, raw) == connect.KindSink {
		if err := alterSinkOffsets(ctx, h.admin, name, offs.Offsets); err != nil {
			return "", err
		}
		return "The offsets for this connector have been altered successfully", nil
	}
	if err := validateSourceOffsets(offs.Offsets); err != nil {
		return "", err
	}
	if err := h.w.offsets.Put(name, offs.Offsets); err != nil {
		return "", err
	}
	return "The offsets for this connector have been altered successfully", nil
}

func (h *Standalone) ResetOffsets(ctx context.Context, name string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	if kindOf(h.w.reg, raw) == connect.KindSink {
		err = resetSinkOffsets(ctx, h.admin, name)
	} else {
		err = h.w.offsets.Delete(name)
	}
	if err != nil {
		return "", err
	}
	return "The offsets for this connector have been reset successfully", nil
}

// TaskIDString renders a task id as Kafka Connect does in messages.
func TaskIDString(id ConnectorTaskID) string { return id.Connector + "-" + strconv.Itoa(id.Task) }

// WaitRunning blocks until every task of name is RUNNING or ctx ends; for
// tests and tools.
func (h *Standalone) WaitRunning(ctx context.Context, name string) error {
	for {
		st, err := h.ConnectorStatus(ctx, name)
		if err == nil && st.Connector.State == StateRunning && len(st.Tasks) > 0 {
			all := true
			for _, t := range st.Tasks {
				all = all && t.State == StateRunning
			}
			if all {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to run (last status %+v): %w", name, st, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
