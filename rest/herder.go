// Package rest serves Kafka Connect's REST API with gin. It talks to the
// runtime only through the Herder interface below, so standalone and
// distributed modes share every handler.
package rest

import (
	"context"

	"github.com/tributary-io/tributary/worker"
)

// Herder is what the REST API needs from a worker's herder.
type Herder interface {
	ServerInfo(ctx context.Context) (worker.ServerInfo, error)
	Health(ctx context.Context) (ready bool, err error)
	Connectors(ctx context.Context) ([]string, error)
	ConnectorInfo(ctx context.Context, name string) (worker.ConnectorInfo, error)
	ConnectorConfig(ctx context.Context, name string) (map[string]string, error)
	ConnectorStatus(ctx context.Context, name string) (worker.ConnectorStatus, error)
	TaskConfigs(ctx context.Context, name string) ([]worker.TaskInfo, error)
	TaskStatus(ctx context.Context, id worker.ConnectorTaskID) (worker.TaskState, error)
	CreateConnector(ctx context.Context, name string, config map[string]string, initial worker.TargetState) (worker.ConnectorInfo, error)
	PutConnectorConfig(ctx context.Context, name string, config map[string]string) (info worker.ConnectorInfo, created bool, err error)
	PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (worker.ConnectorInfo, error)
	DeleteConnector(ctx context.Context, name string) error
	RestartConnector(ctx context.Context, req worker.RestartRequest) (*worker.ConnectorStatus, error)
	RestartTask(ctx context.Context, id worker.ConnectorTaskID) error
	PauseConnector(ctx context.Context, name string) error
	ResumeConnector(ctx context.Context, name string) error
	StopConnector(ctx context.Context, name string) error
	ConnectorTopics(ctx context.Context, name string) ([]string, error)
	ResetConnectorTopics(ctx context.Context, name string) error
	Offsets(ctx context.Context, name string) (worker.ConnectorOffsets, error)
	AlterOffsets(ctx context.Context, name string, offsets worker.ConnectorOffsets) (string, error)
	ResetOffsets(ctx context.Context, name string) (string, error)
}
