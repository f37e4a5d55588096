package worker

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// MemoryStatus keeps connector and task states and the topics each
// connector used. Standalone mode uses it directly; distributed mode
// mirrors the status topic into it.
type MemoryStatus struct {
	mu         sync.Mutex
	connectors map[string]StateInfo
	tasks      map[ConnectorTaskID]StateInfo
	topics     map[string]map[string]bool
	metrics    *Metrics
	onChange   func()
}

func NewMemoryStatus(m *Metrics) *MemoryStatus {
	return &MemoryStatus{connectors: map[string]StateInfo{}, tasks: map[ConnectorTaskID]StateInfo{},
		topics: map[string]map[string]bool{}, metrics: m}
}

var allStates = []State{StateUnassigned, StateRunning, StatePaused, StateFailed, StateRestarting, StateStopped}

func (s *MemoryStatus) ConnectorState(name string, st StateInfo) {
	s.mu.Lock()
	s.connectors[name] = st
	s.mu.Unlock()
	if s.metrics != nil {
		for _, x := range allStates {
			s.metrics.ConnectorStatus.With(prometheus.Labels{"connector": name, "state": string(x)}).Set(b2f(x == st.State))
		}
	}
}

func (s *MemoryStatus) TaskState(id ConnectorTaskID, st StateInfo) {
	s.mu.Lock()
	s.tasks[id] = st
	s.mu.Unlock()
	if s.metrics != nil {
		for _, x := range allStates {
			s.metrics.TaskStatus.With(prometheus.Labels{"connector": id.Connector, "task": itoa(id.Task), "state": string(x)}).Set(b2f(x == st.State))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TopicUsed records that a connector read or wrote topic.
func (s *MemoryStatus) TopicUsed(connector, topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.topics[connector]
	if m == nil {
		m = map[string]bool{}
		s.topics[connector] = m
	}
	m[topic] = true
}

// Topics lists the topics a connector used.
func (s *MemoryStatus) Topics(connector string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.topics[connector])
}

// ResetTopics forgets them.
func (s *MemoryStatus) ResetTopics(connector string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.topics, connector)
}

func (s *MemoryStatus) Connector(name string) (StateInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.connectors[name]
	return st, ok
}

func (s *MemoryStatus) Task(id ConnectorTaskID) (StateInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[id]
	return st, ok
}

// Forget removes a deleted connector and its tasks.
func (s *MemoryStatus) Forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.connectors, name)
	for id := range s.tasks {
		if id.Connector == name {
			delete(s.tasks, id)
			if s.metrics != nil {
				s.metrics.forgetTask(id)
			}
		}
	}
	if s.metrics != nil {
		s.metrics.ConnectorStatus.DeletePartialMatch(prometheus.Labels{"connector": name})
	}
	delete(s.topics, name)
}

// ForgetTask removes one task (after a connector shrank).
func (s *MemoryStatus) ForgetTask(id ConnectorTaskID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
	if s.metrics != nil {
		s.metrics.forgetTask(id)
	}
}
