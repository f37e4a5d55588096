package distributed

import (
	"context"
	"maps"
	"slices"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/worker"
)

// Reads are answered from this worker's mirror of the internal topics;
// writes run on the leader only (Handler forwards them there).

func (h *Herder) ServerInfo(context.Context) (worker.ServerInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return worker.ServerInfo{Version: worker.Version, Commit: worker.Commit, KafkaClusterID: h.clusterID}, nil
}

// Health is ready once the group admitted this worker and an assignment exists.
func (h *Herder) Health(context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started && h.member && h.v.assignment != nil, nil
}

func (h *Herder) Connectors(context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.v.configs)), nil
}

func notFound(name string) error { return worker.NotFound("Connector %s not found", name) }

func (h *Herder) redact(raw map[string]string) map[string]string {
	return worker.RedactConnectorConfig(h.reg, raw)
}

func (h *Herder) ConnectorInfo(_ context.Context, name string) (worker.ConnectorInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.infoLocked(name)
}

func (h *Herder) infoLocked(name string) (worker.ConnectorInfo, error) {
	raw, ok := h.v.configs[name]
	if !ok {
		return worker.ConnectorInfo{}, notFound(name)
	}
	info := worker.ConnectorInfo{Name: name, Config: h.redact(raw), Tasks: []worker.ConnectorTaskID{}, Type: string(worker.KindOf(h.reg, raw))}
	for i := range h.v.taskConfigs[name] {
		info.Tasks = append(info.Tasks, worker.ConnectorTaskID{Connector: name, Task: i})
	}
	return info, nil
}

func (h *Herder) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, ok := h.v.configs[name]
	if !ok {
		return nil, notFound(name)
	}
	return h.redact(raw), nil
}

// owner returns the worker a connector or task is assigned to ("" if none).
func (h *Herder) ownerLocked(conn string, task int) string {
	if h.v.assignment == nil {
		return ""
	}
	for w, a := range h.v.assignment.Assignments {
		if task < 0 && slices.Contains(a.Connectors, conn) {
			return w
		}
		if task >= 0 && slices.Contains(a.Tasks, worker.ConnectorTaskID{Connector: conn, Task: task}) {
			return w
		}
	}
	return ""
}

func (h *Herder) ConnectorStatus(_ context.Context, name string) (worker.ConnectorStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.statusLocked(name)
}

func (h *Herder) statusLocked(name string) (worker.ConnectorStatus, error) {
	raw, ok := h.v.configs[name]
	if !ok {
		return worker.ConnectorStatus{}, notFound(name)
	}
	st := worker.ConnectorStatus{Name: name, Type: string(worker.KindOf(h.reg, raw)), Tasks: []worker.TaskState{}}
	if cs, ok := h.statuses.connector(name); ok {
		st.Connector = cs.info()
	} else {
		st.Connector = worker.StateInfo{State: worker.StateUnassigned, WorkerID: h.ownerLocked(name, -1)}
	}
	for i := range h.v.taskConfigs[name] {
		st.Tasks = append(st.Tasks, h.taskStateLocked(worker.ConnectorTaskID{Connector: name, Task: i}))
	}
	return st, nil
}

func (h *Herder) taskStateLocked(id worker.ConnectorTaskID) worker.TaskState {
	ts := worker.StateInfo{State: worker.StateUnassigned, WorkerID: h.ownerLocked(id.Connector, id.Task)}
	if v, ok := h.statuses.task(id); ok {
		ts = v.info()
	}
	if ts.State == worker.StateRunning && ts.Trace == "" && ts.WorkerID == h.id {
		if err := h.w.TaskHealth(id); err != nil {
			ts.Trace = "running with a problem: " + err.Error()
		}
	}
	return worker.TaskState{ID: id.Task, StateInfo: ts}
}

func (h *Herder) TaskConfigs(_ context.Context, name string) ([]worker.TaskInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.v.configs[name]; !ok {
		return nil, notFound(name)
	}
	out := []worker.TaskInfo{}
	for i, tc := range h.v.taskConfigs[name] {
		out = append(out, worker.TaskInfo{ID: worker.ConnectorTaskID{Connector: name, Task: i}, Config: h.redact(tc)})
	}
	return out, nil
}

func (h *Herder) TaskStatus(_ context.Context, id worker.ConnectorTaskID) (worker.TaskState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.v.configs[id.Connector]; !ok {
		return worker.TaskState{}, notFound(id.Connector)
	}
	if id.Task < 0 || id.Task >= len(h.v.taskConfigs[id.Connector]) {
		return worker.TaskState{}, worker.NotFound("Task %s-%d not found", id.Connector, id.Task)
	}
	return h.taskStateLocked(id), nil
}

func (h *Herder) ConnectorTopics(_ context.Context, name string) ([]string, error) {
	h.mu.Lock()
	_, ok := h.v.configs[name]
	h.mu.Unlock()
	if !ok {
		return nil, notFound(name)
	}
	return slices.Sorted(maps.Keys(h.statuses.topicKeys(name))), nil
}

func (h *Herder) Offsets(ctx context.Context, name string) (worker.ConnectorOffsets, error) {
	h.mu.Lock()
	raw, ok := h.v.configs[name]
	h.mu.Unlock()
	if !ok {
		return worker.ConnectorOffsets{}, notFound(name)
	}
	if worker.KindOf(h.reg, raw) == connect.KindSink {
		return worker.SinkOffsets(ctx, h.admin, name)
	}
	if err := h.offsets.log.readToEnd(ctx); err != nil {
		return worker.ConnectorOffsets{}, err
	}
	offs, err := h.offsets.All(name)
	if err != nil {
		return worker.ConnectorOffsets{}, err
	}
	return worker.ConnectorOffsets{Offsets: offs}, nil
}

// --- writes (leader) ---

// leaderOp admits one write on the leader and serialises it with the others.
func (h *Herder) leaderOp(ctx context.Context) (func(), error) {
	if !h.leaderReady() {
		return nil, conflictRebalance()
	}
	h.writeMu.Lock()
	if err := h.configLog.readToEnd(ctx); err != nil {
		h.writeMu.Unlock()
		return nil, err
	}
	return h.writeMu.Unlock, nil
}

func (h *Herder) exists(name string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, ok := h.v.configs[name]
	return raw, ok
}

func (h *Herder) CreateConnector(ctx context.Context, name string, raw map[string]string, initial worker.TargetState) (worker.ConnectorInfo, error) {
	raw = maps.Clone(raw)
	if raw == nil {
		raw = map[string]string{}
	}
	raw[worker.NameConfig] = name
	if err := worker.ValidateForWrite(h.reg, name, raw, worker.WithResolver(h.w.Resolver())); err != nil {
		return worker.ConnectorInfo{}, err
	}
	release, err := h.leaderOp(ctx)
	if err != nil {
		return worker.ConnectorInfo{}, err
	}
	defer release()
	if _, ok := h.exists(name); ok {
		return worker.ConnectorInfo{}, worker.Conflict("Connector %s already exists", name)
	}
	if initial == "" {
		initial = worker.TargetRunning
	}
	// The target state first: the connector must never run before it.
	if err := h.configLog.write(ctx, configRecord(targetPrefix+name, targetValue{State: initial}),
		configRecord(connectorPrefix+name, propsValue{Properties: raw})); err != nil {
		return worker.ConnectorInfo{}, err
	}
	return h.ConnectorInfo(ctx, name)
}

func (h *Herder) PutConnectorConfig(ctx context.Context, name string, raw map[string]string) (worker.ConnectorInfo, bool, error) {
	raw = maps.Clone(raw)
	if raw == nil {
		raw = map[string]string{}
	}
	if raw[worker.NameConfig] == "" {
		raw[worker.NameConfig] = name
	}
	if err := worker.ValidateForWrite(h.reg, name, raw, worker.WithResolver(h.w.Resolver())); err != nil {
		return worker.ConnectorInfo{}, false, err
	}
	release, err := h.leaderOp(ctx)
	if err != nil {
		return worker.ConnectorInfo{}, false, err
	}
	defer release()
	old, exists := h.exists(name)
	var recs []record
	if exists {
		raw = worker.RestoreHidden(old, raw)
	} else {
		recs = append(recs, configRecord(targetPrefix+name, targetValue{State: worker.TargetRunning}))
	}
	recs = append(recs, configRecord(connectorPrefix+name, propsValue{Properties: raw}))
	if err := h.configLog.write(ctx, recs...); err != nil {
		return worker.ConnectorInfo{}, false, err
	}
	info, err := h.ConnectorInfo(ctx, name)
	return info, !exists, err
}

func (h *Herder) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (worker.ConnectorInfo, error) {
	if !h.leaderReady() {
		return worker.ConnectorInfo{}, conflictRebalance()
	}
	old, ok := h.exists(name)
	if !ok {
		return worker.ConnectorInfo{}, notFound(name)
	}
	merged := worker.ApplyPatch(old, patch)
	if merged[worker.NameConfig] != name {
		return worker.ConnectorInfo{}, worker.BadRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", merged[worker.NameConfig], name)
	}
	info, _, err := h.PutConnectorConfig(ctx, name, merged)
	return info, err
}

func (h *Herder) DeleteConnector(ctx context.Context, name string) error {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, ok := h.exists(name); !ok {
		return notFound(name)
	}
	h.mu.Lock()
	n := max(len(h.v.taskConfigs[name]), len(h.v.pending[name]))
	h.mu.Unlock()
	recs := []record{configRecord(connectorPrefix+name, nil), configRecord(targetPrefix+name, nil), configRecord(commitPrefix+name, nil)}
	for i := range n {
		recs = append(recs, configRecord(taskKey(taskPrefix, worker.ConnectorTaskID{Connector: name, Task: i}), nil))
	}
	if err := h.configLog.write(ctx, recs...); err != nil {
		return err
	}
	var tomb []record
	for _, k := range h.statuses.statusKeys(name) {
		tomb = append(tomb, statusRecord(k, nil))
	}
	return h.statusLog.write(ctx, tomb...)
}

func (h *Herder) PauseConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, worker.TargetPaused)
}

func (h *Herder) ResumeConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, worker.TargetRunning)
}

func (h *Herder) StopConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, worker.TargetStopped)
}

func (h *Herder) setTarget(ctx context.Context, name string, target worker.TargetState) error {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, ok := h.exists(name); !ok {
		return notFound(name)
	}
	recs := []record{configRecord(targetPrefix+name, targetValue{State: target})}
	if target == worker.TargetStopped {
		// As Kafka Connect: a stopped connector has no tasks at all.
		recs = append(recs, configRecord(commitPrefix+name, commitValue{Tasks: 0}))
	}
	return h.configLog.write(ctx, recs...)
}

// RestartConnector writes a restart request; the workers running the
// connector and its tasks act on it. Answers follow Kafka Connect (see
// worker.Standalone.RestartConnector).
func (h *Herder) RestartConnector(ctx context.Context, req worker.RestartRequest) (*worker.ConnectorStatus, error) {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	name := req.Connector
	h.mu.Lock()
	st, err := h.statusLocked(name)
	h.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := h.configLog.write(ctx, configRecord(restartConnPrefix+name, restartValue{IncludeTasks: req.IncludeTasks, OnlyFailed: req.OnlyFailed})); err != nil {
		return nil, err
	}
	if !req.IncludeTasks && !req.OnlyFailed {
		return nil, nil
	}
	if !req.OnlyFailed || st.Connector.State == worker.StateFailed {
		st.Connector.State, st.Connector.Trace = worker.StateRestarting, ""
	}
	if req.IncludeTasks {
		for i := range st.Tasks {
			if !req.OnlyFailed || st.Tasks[i].State == worker.StateFailed {
				st.Tasks[i].State, st.Tasks[i].Trace = worker.StateRestarting, ""
			}
		}
	}
	return &st, nil
}

func (h *Herder) RestartTask(ctx context.Context, id worker.ConnectorTaskID) error {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return err
	}
	defer release()
	h.mu.Lock()
	_, ok := h.v.configs[id.Connector]
	n := len(h.v.taskConfigs[id.Connector])
	h.mu.Unlock()
	if !ok {
		return notFound(id.Connector)
	}
	if id.Task < 0 || id.Task >= n {
		return worker.NotFound("Task %s-%d not found", id.Connector, id.Task)
	}
	return h.configLog.write(ctx, configRecord(taskKey(restartTaskPrefix, id), struct{}{}))
}

func (h *Herder) ResetConnectorTopics(ctx context.Context, name string) error {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, ok := h.exists(name); !ok {
		return notFound(name)
	}
	var recs []record
	for _, k := range h.statuses.topicKeys(name) {
		recs = append(recs, statusRecord(k, nil))
	}
	return h.statusLog.write(ctx, recs...)
}

func (h *Herder) requireStopped(name string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	raw, ok := h.v.configs[name]
	if !ok {
		return nil, notFound(name)
	}
	if h.v.target(name) != worker.TargetStopped {
		return nil, worker.BadRequest("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", name)
	}
	return raw, nil
}

func (h *Herder) AlterOffsets(ctx context.Context, name string, offs worker.ConnectorOffsets) (string, error) {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	raw, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	if len(offs.Offsets) == 0 {
		return "", worker.BadRequest("The offsets to be altered must not be empty")
	}
	if worker.KindOf(h.reg, raw) == connect.KindSink {
		if err := worker.AlterSinkOffsets(ctx, h.admin, name, offs.Offsets); err != nil {
			return "", err
		}
	} else {
		if err := worker.ValidateSourceOffsets(offs.Offsets); err != nil {
			return "", err
		}
		if err := h.offsets.Put(name, offs.Offsets); err != nil {
			return "", err
		}
	}
	return "The offsets for this connector have been altered successfully", nil
}

func (h *Herder) ResetOffsets(ctx context.Context, name string) (string, error) {
	release, err := h.leaderOp(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	raw, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	if worker.KindOf(h.reg, raw) == connect.KindSink {
		err = worker.ResetSinkOffsets(ctx, h.admin, name)
	} else {
		err = h.offsets.Delete(name)
	}
	if err != nil {
		return "", err
	}
	return "The offsets for this connector have been reset successfully", nil
}
