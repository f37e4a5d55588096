package distributed

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/worker"
)

// statusView mirrors the status topic. A record from an older generation
// than the one shown is ignored: a zombie worker cannot overwrite the
// status its successor wrote.
type statusView struct {
	mu     sync.Mutex
	conns  map[string]statusValue
	tasks  map[worker.ConnectorTaskID]statusValue
	topics map[string]map[string]string // connector → topic → record key
	mem    *worker.MemoryStatus         // keeps the status gauges of /metrics
}

func newStatusView(m *worker.Metrics) *statusView {
	return &statusView{conns: map[string]statusValue{}, tasks: map[worker.ConnectorTaskID]statusValue{},
		topics: map[string]map[string]string{}, mem: worker.NewMemoryStatus(m)}
}

func (s *statusView) apply(key, value []byte) {
	k := string(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(k, statusConnPrefix):
		name := k[len(statusConnPrefix):]
		if value == nil {
			delete(s.conns, name)
			s.mem.Forget(name)
			return
		}
		var v statusValue
		if json.Unmarshal(value, &v) != nil {
			return
		}
		if old, ok := s.conns[name]; ok && stale(old, v) {
			return
		}
		s.conns[name] = v
		s.mem.ConnectorState(name, v.info())
	case strings.HasPrefix(k, statusTaskPrefix):
		id, ok := parseTaskKey(k[len(statusTaskPrefix):])
		if !ok {
			return
		}
		if value == nil {
			delete(s.tasks, id)
			s.mem.ForgetTask(id)
			return
		}
		var v statusValue
		if json.Unmarshal(value, &v) != nil {
			return
		}
		if old, ok := s.tasks[id]; ok && stale(old, v) {
			return
		}
		s.tasks[id] = v
		s.mem.TaskState(id, v.info())
	case strings.HasPrefix(k, statusTopicPrefix):
		if value == nil {
			for c, m := range s.topics {
				for t, key := range m {
					if key == k {
						delete(m, t)
					}
				}
				if len(m) == 0 {
					delete(s.topics, c)
				}
			}
			return
		}
		var v topicValue
		if json.Unmarshal(value, &v) != nil || v.Topic.Connector == "" {
			return
		}
		m := s.topics[v.Topic.Connector]
		if m == nil {
			m = map[string]string{}
			s.topics[v.Topic.Connector] = m
		}
		m[v.Topic.Name] = k
	}
}

func (v statusValue) info() worker.StateInfo {
	return worker.StateInfo{State: v.State, WorkerID: v.WorkerID, Trace: v.Trace}
}

func (s *statusView) connector(name string) (statusValue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.conns[name]
	return v, ok
}

func (s *statusView) task(id worker.ConnectorTaskID) (statusValue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.tasks[id]
	return v, ok
}

func (s *statusView) topicKeys(connector string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for t, k := range s.topics[connector] {
		out[t] = k
	}
	return out
}

// statusKeys lists every status record key of a connector, for deletion.
func (s *statusView) statusKeys(connector string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []string{statusConnPrefix + connector}
	for id := range s.tasks {
		if id.Connector == connector {
			keys = append(keys, taskKey(statusTaskPrefix, id))
		}
	}
	for _, k := range s.topics[connector] {
		keys = append(keys, k)
	}
	return keys
}

// stale reports whether v must not replace old: it is from an older
// generation, or it is another worker's release (UNASSIGNED) of the same
// generation arriving after the new owner already reported — the two are
// written concurrently when work moves, and log order must not decide.
func stale(old, v statusValue) bool {
	if v.Generation != old.Generation {
		return v.Generation < old.Generation
	}
	return v.State == worker.StateUnassigned && old.State != worker.StateUnassigned && old.WorkerID != v.WorkerID
}
