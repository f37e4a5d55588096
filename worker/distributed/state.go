package distributed

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/worker"
)

// Config topic keys, as Kafka Connect writes them, plus two of ours.
const (
	connectorPrefix    = "connector-"
	taskPrefix         = "task-"
	commitPrefix       = "commit-"
	targetPrefix       = "target-state-"
	restartConnPrefix  = "restart-connector-"
	restartTaskPrefix  = "restart-task-" // ours: Connect forwards task restarts over REST instead
	assignmentKey      = "tributary-assignment"
	statusConnPrefix   = "status-connector-"
	statusTaskPrefix   = "status-task-"
	statusTopicPrefix  = "topic-"
	configTopicPartNum = 0
)

func taskKey(prefix string, id worker.ConnectorTaskID) string {
	return prefix + id.Connector + "-" + strconv.Itoa(id.Task)
}

// parseTaskKey splits "<c>-<n>"; connector names may contain '-'.
func parseTaskKey(s string) (worker.ConnectorTaskID, bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return worker.ConnectorTaskID{}, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return worker.ConnectorTaskID{}, false
	}
	return worker.ConnectorTaskID{Connector: s[:i], Task: n}, true
}

type propsValue struct {
	Properties map[string]string `json:"properties"`
}

type commitValue struct {
	Tasks int `json:"tasks"`
}

type targetValue struct {
	State worker.TargetState `json:"state"`
}

type restartValue struct {
	IncludeTasks bool `json:"include-tasks"`
	OnlyFailed   bool `json:"only-failed"`
}

type statusValue struct {
	State      worker.State `json:"state"`
	Trace      string       `json:"trace,omitempty"`
	WorkerID   string       `json:"worker_id"`
	Generation int64        `json:"generation"`
}

type topicValue struct {
	Topic struct {
		Name      string `json:"name"`
		Connector string `json:"connector"`
		Task      int    `json:"task"`
		Discover  int64  `json:"discoverTimestamp"`
	} `json:"topic"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are encoded
	}
	return b
}

func configRecord(key string, v any) record {
	r := record{key: key, partition: configTopicPartNum}
	if v != nil {
		r.value = mustJSON(v)
	}
	return r
}

func statusRecord(key string, v any) record {
	r := record{key: key, partition: kafka.PartitionAny}
	if v != nil {
		r.value = mustJSON(v)
	}
	return r
}

// restartReq is a restart request read from the config topic.
type restartReq struct {
	connector    string
	task         int // -1: the connector (and maybe its tasks)
	includeTasks bool
	onlyFailed   bool
}

// view is the cluster state read from the config topic.
type view struct {
	configs     map[string]map[string]string
	targets     map[string]worker.TargetState
	taskConfigs map[string][]map[string]string // committed
	pending     map[string]map[int]map[string]string
	assignment  *Assignment
}

func newView() *view {
	return &view{configs: map[string]map[string]string{}, targets: map[string]worker.TargetState{},
		taskConfigs: map[string][]map[string]string{}, pending: map[string]map[int]map[string]string{}}
}

// applyConfig applies one config topic record; it returns a restart
// request when the record is one. Malformed records are skipped, as Kafka
// Connect does, so one bad record cannot stop the cluster.
func (v *view) applyConfig(key string, value []byte) (*restartReq, bool) {
	switch {
	case key == assignmentKey:
		var a Assignment
		if value == nil || json.Unmarshal(value, &a) != nil {
			return nil, false
		}
		// Newest in log order wins; epochs never go back.
		if v.assignment == nil || a.Epoch >= v.assignment.Epoch {
			v.assignment = &a
		}
	case strings.HasPrefix(key, restartConnPrefix):
		var r restartValue
		if value == nil || json.Unmarshal(value, &r) != nil {
			return nil, false
		}
		return &restartReq{connector: key[len(restartConnPrefix):], task: -1, includeTasks: r.IncludeTasks, onlyFailed: r.OnlyFailed}, false
	case strings.HasPrefix(key, restartTaskPrefix):
		id, ok := parseTaskKey(key[len(restartTaskPrefix):])
		if !ok || value == nil {
			return nil, false
		}
		return &restartReq{connector: id.Connector, task: id.Task}, false
	case strings.HasPrefix(key, targetPrefix):
		name := key[len(targetPrefix):]
		var t targetValue
		if value == nil {
			delete(v.targets, name)
		} else if json.Unmarshal(value, &t) == nil {
			v.targets[name] = t.State
		}
	case strings.HasPrefix(key, connectorPrefix):
		name := key[len(connectorPrefix):]
		var p propsValue
		if value == nil {
			delete(v.configs, name)
			delete(v.targets, name)
			delete(v.taskConfigs, name)
			delete(v.pending, name)
		} else if json.Unmarshal(value, &p) == nil && p.Properties != nil {
			v.configs[name] = p.Properties
		}
	case strings.HasPrefix(key, taskPrefix):
		id, ok := parseTaskKey(key[len(taskPrefix):])
		if !ok {
			return nil, false
		}
		var p propsValue
		if value == nil {
			delete(v.pending[id.Connector], id.Task)
		} else if json.Unmarshal(value, &p) == nil {
			if v.pending[id.Connector] == nil {
				v.pending[id.Connector] = map[int]map[string]string{}
			}
			v.pending[id.Connector][id.Task] = p.Properties
		}
	case strings.HasPrefix(key, commitPrefix):
		name := key[len(commitPrefix):]
		var c commitValue
		if value == nil {
			delete(v.taskConfigs, name)
			return nil, true
		}
		if json.Unmarshal(value, &c) != nil {
			return nil, false
		}
		// Task configs take effect only with their commit, all at once.
		tcs := make([]map[string]string, 0, c.Tasks)
		for i := range c.Tasks {
			tc, ok := v.pending[name][i]
			if !ok {
				return nil, false // incomplete: keep the previous commit
			}
			tcs = append(tcs, tc)
		}
		v.taskConfigs[name] = tcs
	}
	return nil, true
}

// items lists what there is to assign: every connector, and every
// committed task of a connector that is not stopped.
func (v *view) items() ([]string, []worker.ConnectorTaskID) {
	conns := make([]string, 0, len(v.configs))
	var tasks []worker.ConnectorTaskID
	for c := range v.configs {
		conns = append(conns, c)
		if v.targets[c] == worker.TargetStopped {
			continue
		}
		for i := range v.taskConfigs[c] {
			tasks = append(tasks, worker.ConnectorTaskID{Connector: c, Task: i})
		}
	}
	return conns, tasks
}

func (v *view) target(name string) worker.TargetState {
	if t, ok := v.targets[name]; ok {
		return t
	}
	return worker.TargetRunning
}

// taskExists reports whether id is a committed task of a live connector.
func (v *view) taskExists(id worker.ConnectorTaskID) bool {
	_, ok := v.configs[id.Connector]
	return ok && id.Task >= 0 && id.Task < len(v.taskConfigs[id.Connector]) && v.target(id.Connector) != worker.TargetStopped
}
