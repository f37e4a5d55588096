package connect

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// ConnectorContext is what the runtime offers a running connector.
type ConnectorContext interface {
	// RequestTaskReconfiguration asks the runtime to call TaskConfigs again,
	// e.g. because the set of inputs changed.
	RequestTaskReconfiguration()
	// RaiseError fails the connector with err.
	RaiseError(err error)
	Logger() *slog.Logger
}

// Connector is the part of a plugin that splits work into task configs.
// Start gets the connector config parsed with the plugin's ConfigDef.
type Connector interface {
	Start(ctx context.Context, cfg Config, cc ConnectorContext) error
	// TaskConfigs returns at most maxTasks task configs; each is handed to
	// a task's Start, parsed with the same ConfigDef.
	TaskConfigs(maxTasks int) ([]map[string]string, error)
	Stop() error
}

// SourceConnector produces data into Kafka.
type SourceConnector interface {
	Connector
	NewTask() SourceTask
}

// SinkConnector delivers Kafka data elsewhere.
type SinkConnector interface {
	Connector
	NewTask() SinkTask
}

// TaskContext is common to source and sink task contexts.
type TaskContext interface {
	ConnectorName() string
	TaskID() int
	Logger() *slog.Logger
}

// SourceTaskContext lets a source task read the offsets committed for it.
type SourceTaskContext interface {
	TaskContext
	// Offset returns the last committed source offset of a source
	// partition, or nil when none was committed.
	Offset(partition map[string]any) (map[string]any, error)
}

// SourceTask polls an external system. The runtime owns the loop, retries,
// conversion, transforms and producing.
type SourceTask interface {
	Start(ctx context.Context, cfg Config, tc SourceTaskContext) error
	// Poll returns the next records. It should block for a short while
	// (about a second at most) when nothing is there, returning nil, and
	// must return promptly when ctx is done.
	Poll(ctx context.Context) ([]*Record, error)
	// CommitRecord is called once per polled record after Kafka
	// acknowledged it (written=true) or after the runtime dropped it on
	// purpose — filtered by a transform, skipped or dead-lettered by error
	// handling (written=false). A task that must acknowledge its source
	// (MQTT) does so here, so nothing is acknowledged before Kafka has it.
	CommitRecord(rec *Record, written bool) error
	Stop() error
}

// ErrantRecordReporter sends a record that failed inside a sink task to the
// connector's error handling (log, dead-letter queue, or failing the task).
type ErrantRecordReporter interface {
	Report(ctx context.Context, rec *Record, err error) error
}

// SinkTaskContext lets a sink task steer consumption.
type SinkTaskContext interface {
	TaskContext
	// Pause stops fetching from the partitions until Resume; the runtime
	// also pauses by itself when Put reports backpressure.
	Pause(tps ...TopicPartition)
	Resume(tps ...TopicPartition)
	// Assignment returns the partitions the task owns now.
	Assignment() []TopicPartition
	// RequestCommit asks for an offset commit soon.
	RequestCommit()
	ErrantRecordReporter() ErrantRecordReporter
}

// SinkTask delivers records. Offsets are Kafka's "next offset to read".
type SinkTask interface {
	Start(ctx context.Context, cfg Config, tc SinkTaskContext) error
	// Put hands over records. It may buffer them. A RetriableError makes
	// the runtime call Put again with the same records after a backoff.
	Put(ctx context.Context, records []*Record) error
	// PreCommit is called before offsets are committed with the offsets
	// consumed so far; it returns those safe to commit, i.e. only offsets
	// whose records (and all before them) the external system accepted.
	PreCommit(ctx context.Context, current map[TopicPartition]int64) (map[TopicPartition]int64, error)
	Stop() error
}

// PartitionListener is an optional SinkTask interface, told about
// partitions assigned to and revoked from the task.
type PartitionListener interface {
	Open(ctx context.Context, tps []TopicPartition) error
	Close(ctx context.Context, tps []TopicPartition) error
}

// Transformation is a single message transform. Apply returns nil to drop
// the record. Implementations must not mutate the input record's value in
// place; return a changed copy (Record.Clone, CopyValue).
type Transformation interface {
	Configure(cfg Config) error
	Apply(rec *Record) (*Record, error)
	Close() error
}

// BatchResult is the outcome for one record of a batch transform.
type BatchResult struct {
	Record *Record // nil: dropped
	Err    error   // this record failed; others are unaffected
}

// BatchTransformation is an optional Transformation interface for
// transforms that are cheaper per batch (one model inference per batch).
// The result has one entry per input record, in order.
type BatchTransformation interface {
	Transformation
	ApplyBatch(recs []*Record) []BatchResult
}

// Predicate decides whether a transform applies to a record.
type Predicate interface {
	Configure(cfg Config) error
	Test(rec *Record) (bool, error)
	Close() error
}

// Converter turns keys or values into bytes and back.
type Converter interface {
	Configure(cfg Config, isKey bool) error
	FromConnect(topic string, schema *Schema, value any) ([]byte, error)
	ToConnect(topic string, data []byte) (*Schema, any, error)
}

// HeaderConverter turns header values into bytes and back.
type HeaderConverter interface {
	Configure(cfg Config) error
	FromHeader(topic, key string, schema *Schema, value any) ([]byte, error)
	ToHeader(topic, key string, data []byte) (*Schema, any, error)
}

// HealthReporter is optional for tasks and transforms: a non-nil error is
// shown in the task's status trace and metrics while the task keeps running
// (e.g. a new model file that failed to load while the old one serves).
type HealthReporter interface {
	Health() error
}

// RetriableError marks a failure worth retrying; the runtime retries with
// exponential backoff.
type RetriableError struct {
	Err        error
	RetryAfter time.Duration // 0: the runtime's backoff decides
}

func (e *RetriableError) Error() string { return "retriable: " + e.Err.Error() }
func (e *RetriableError) Unwrap() error { return e.Err }

// Retriable wraps err as retriable.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return &RetriableError{Err: err}
}

// IsRetriable reports whether err, or an error it wraps, is retriable.
func IsRetriable(err error) bool {
	var r *RetriableError
	return errors.As(err, &r)
}
