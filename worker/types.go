package worker

import (
	"errors"
	"fmt"
	"net/http"
)

// State of a connector or task, as Kafka Connect spells it.
type State string

const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
	StateStopped    State = "STOPPED"
	StateDestroyed  State = "DESTROYED"
)

// TargetState is what an operator asked a connector to be.
type TargetState string

const (
	TargetRunning TargetState = "RUNNING"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

// ParseTargetState reads initial_state.
func ParseTargetState(s string) (TargetState, error) {
	switch TargetState(s) {
	case TargetRunning, TargetPaused, TargetStopped:
		return TargetState(s), nil
	}
	return "", BadRequest("invalid initial_state %q: must be RUNNING, PAUSED or STOPPED", s)
}

// ConnectorID names a task.
type ConnectorTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// ConnectorInfo is GET /connectors/{c}.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []ConnectorTaskID `json:"tasks"`
	Type   string            `json:"type"`
}

// StateInfo is the state of a connector or task.
type StateInfo struct {
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskState is one task in a status answer.
type TaskState struct {
	ID int `json:"id"`
	StateInfo
}

// ConnectorStatus is GET /connectors/{c}/status.
type ConnectorStatus struct {
	Name      string      `json:"name"`
	Connector StateInfo   `json:"connector"`
	Tasks     []TaskState `json:"tasks"`
	Type      string      `json:"type"`
}

// TaskInfo is one entry of GET /connectors/{c}/tasks.
type TaskInfo struct {
	ID     ConnectorTaskID   `json:"id"`
	Config map[string]string `json:"config"`
}

// ConnectorOffset is one partition's offset.
type ConnectorOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// ConnectorOffsets is GET /connectors/{c}/offsets.
type ConnectorOffsets struct {
	Offsets []ConnectorOffset `json:"offsets"`
}

// PluginInfo is one entry of GET /connector-plugins.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ServerInfo is GET /.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// RestartRequest is POST /connectors/{c}/restart.
type RestartRequest struct {
	Connector    string
	IncludeTasks bool
	OnlyFailed   bool
}

// Error carries the HTTP status a REST answer should use; the REST layer
// maps it to {"error_code","message"}.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string   { return e.Message }
func (e *Error) HTTPStatus() int { return e.Code }

// NotFound, Conflict and BadRequest build the common errors.
func NotFound(format string, a ...any) error {
	return &Error{Code: http.StatusNotFound, Message: fmt.Sprintf(format, a...)}
}

func Conflict(format string, a ...any) error {
	return &Error{Code: http.StatusConflict, Message: fmt.Sprintf(format, a...)}
}

func BadRequest(format string, a ...any) error {
	return &Error{Code: http.StatusBadRequest, Message: fmt.Sprintf(format, a...)}
}

// IsNotFound reports a 404 error.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == http.StatusNotFound
}
