package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tributary-io/tributary/connect"
)

// Stage is where in a pipeline an operation failed, named as Kafka Connect
// names it in the __connect.errors.stage header.
type Stage string

const (
	StageKeyConverter    Stage = "KEY_CONVERTER"
	StageValueConverter  Stage = "VALUE_CONVERTER"
	StageHeaderConverter Stage = "HEADER_CONVERTER"
	StageTransformation  Stage = "TRANSFORMATION"
	StageKafkaProduce    Stage = "KAFKA_PRODUCE"
	StageTaskPut         Stage = "TASK_PUT"
	StageTaskPoll        Stage = "TASK_POLL"
)

// Headers added to dead-lettered records.
const (
	HeaderPrefix        = "__connect.errors."
	HeaderTopic         = HeaderPrefix + "topic"
	HeaderPartition     = HeaderPrefix + "partition"
	HeaderOffset        = HeaderPrefix + "offset"
	HeaderConnector     = HeaderPrefix + "connector.name"
	HeaderTaskID        = HeaderPrefix + "task.id"
	HeaderStage         = HeaderPrefix + "stage"
	HeaderClass         = HeaderPrefix + "class.name"
	HeaderExcClass      = HeaderPrefix + "exception.class.name"
	HeaderExcMessage    = HeaderPrefix + "exception.message"
	HeaderExcStacktrace = HeaderPrefix + "exception.stacktrace"
)

// Failure describes one record that failed.
type Failure struct {
	Stage Stage
	Class string // the plugin that failed
	Err   error
	// Where the record came from (sinks) or was headed (sources).
	Topic     string
	Partition int32
	Offset    int64
	// Key and Value as bytes when known: the consumed bytes for sinks, the
	// converted bytes for sources that got that far.
	Key, Value []byte
	Headers    map[string][]byte
	Record     *connect.Record
}

// DeadLetterWriter writes a failed record with its headers and waits for
// Kafka's acknowledgement.
type DeadLetterWriter interface {
	WriteDeadLetter(ctx context.Context, topic string, key, value []byte, headers [][2]string) error
}

// ErrorCounters are the task error metrics of Kafka Connect.
type ErrorCounters struct {
	RecordFailures prometheus.Counter // total-record-failures
	RecordsSkipped prometheus.Counter // total-records-skipped
	Retries        prometheus.Counter // total-retries
	DLQProduced    prometheus.Counter // deadletterqueue-produce-requests
	DLQFailures    prometheus.Counter // deadletterqueue-produce-failures
	ErrorsLogged   prometheus.Counter // total-errors-logged
}

// ToleranceExceededError fails a task: errors.tolerance=none and a record
// failed, or a failure outlived the retries.
type ToleranceExceededError struct{ Failure Failure }

func (e *ToleranceExceededError) Error() string {
	f := e.Failure
	where := ""
	if f.Topic != "" {
		where = fmt.Sprintf(" for record %s-%d@%d", f.Topic, f.Partition, f.Offset)
		if f.Offset < 0 {
			where = fmt.Sprintf(" for a record bound for topic %s", f.Topic)
		}
	}
	return fmt.Sprintf("tolerance exceeded in error handler: stage %s (%s) failed%s: %v", f.Stage, f.Class, where, f.Err)
}

func (e *ToleranceExceededError) Unwrap() error { return e.Failure.Err }

// ErrorHandler applies a connector's errors.* settings: retries with
// exponential backoff and jitter, tolerance, logging and the dead-letter
// queue, for sources and sinks alike.
type ErrorHandler struct {
	connector  string
	task       int
	retryFor   time.Duration // <0: forever
	delayMax   time.Duration
	tolerate   bool
	logErrors  bool
	logRecords bool
	dlqTopic   string
	dlqHeaders bool
	dlq        DeadLetterWriter
	log        *slog.Logger
	Counters   *ErrorCounters
}

// NewErrorHandler reads the errors.* keys of a parsed connector config.
func NewErrorHandler(cfg connect.Config, connector string, task int, dlq DeadLetterWriter, counters *ErrorCounters, log *slog.Logger) *ErrorHandler {
	h := &ErrorHandler{
		connector:  connector,
		task:       task,
		retryFor:   cfg.Duration(ErrorsRetryTimeout),
		delayMax:   cfg.Duration(ErrorsRetryDelayMax),
		tolerate:   cfg.String(ErrorsTolerance) == "all",
		logErrors:  cfg.Bool(ErrorsLogEnable),
		logRecords: cfg.Bool(ErrorsLogIncludeMsgs),
		dlqTopic:   cfg.String(DLQTopicName),
		dlqHeaders: cfg.Bool(DLQContextHeadersEnabl),
		dlq:        dlq,
		log:        log,
		Counters:   counters,
	}
	if cfg.Long(ErrorsRetryTimeout) < 0 {
		h.retryFor = -1
	}
	return h
}

// DLQTopic is the configured dead-letter topic ("" when none).
func (h *ErrorHandler) DLQTopic() string { return h.dlqTopic }

// Retry runs op until it succeeds, fails with a non-retriable error, or
// errors.retry.timeout has passed. Only connect.RetriableError is retried.
func (h *ErrorHandler) Retry(ctx context.Context, op func() error) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !connect.IsRetriable(err) {
			return err
		}
		if h.retryFor == 0 || (h.retryFor > 0 && time.Since(start) >= h.retryFor) {
			return err
		}
		h.Counters.Retries.Inc()
		wait := Backoff(attempt, 300*time.Millisecond, h.delayMax)
		if h.retryFor > 0 {
			wait = min(wait, h.retryFor-time.Since(start))
		}
		if err := sleepCtx(ctx, max(wait, 0)); err != nil {
			return err
		}
	}
}

// Backoff returns the delay before retry attempt n (0-based): exponential
// from base, capped, with "equal jitter" so retries of many tasks spread out.
func Backoff(n int, base, capDelay time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < capDelay; i++ {
		d *= 2
	}
	d = min(d, capDelay)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Handle deals with a record that failed for good. It returns nil when the
// record may be skipped (tolerance all; dead-lettered first when a DLQ is
// configured) and a *ToleranceExceededError when the task must fail.
func (h *ErrorHandler) Handle(ctx context.Context, f Failure) error {
	h.Counters.RecordFailures.Inc()
	if h.logErrors {
		h.Counters.ErrorsLogged.Inc()
		attrs := []any{"stage", f.Stage, "class", f.Class, "topic", f.Topic, "partition", f.Partition, "offset", f.Offset, "error", f.Err}
		if h.logRecords && f.Record != nil {
			attrs = append(attrs, "key", fmt.Sprint(f.Record.Key), "value", fmt.Sprint(f.Record.Value))
		}
		h.log.Error("record failed", attrs...)
	}
	if !h.tolerate {
		return &ToleranceExceededError{Failure: f}
	}
	if h.dlqTopic != "" && h.dlq != nil {
		if err := h.dlq.WriteDeadLetter(ctx, h.dlqTopic, f.Key, f.Value, h.dlqHeaderList(f)); err != nil {
			h.Counters.DLQFailures.Inc()
			// A record we can neither process nor park must not vanish.
			return fmt.Errorf("writing to dead letter queue %s: %w", h.dlqTopic, err)
		}
		h.Counters.DLQProduced.Inc()
	}
	h.Counters.RecordsSkipped.Inc()
	return nil
}

func (h *ErrorHandler) dlqHeaderList(f Failure) [][2]string {
	var out [][2]string
	for k, v := range f.Headers {
		out = append(out, [2]string{k, string(v)})
	}
	if !h.dlqHeaders {
		return out
	}
	root := f.Err
	for u := errors.Unwrap(root); u != nil; u = errors.Unwrap(root) {
		root = u
	}
	out = append(out,
		[2]string{HeaderTopic, f.Topic},
		[2]string{HeaderPartition, strconv.Itoa(int(f.Partition))},
		[2]string{HeaderOffset, strconv.FormatInt(f.Offset, 10)},
		[2]string{HeaderConnector, h.connector},
		[2]string{HeaderTaskID, strconv.Itoa(h.task)},
		[2]string{HeaderStage, string(f.Stage)},
		[2]string{HeaderClass, f.Class},
		[2]string{HeaderExcClass, fmt.Sprintf("%T", root)},
		[2]string{HeaderExcMessage, f.Err.Error()},
		[2]string{HeaderExcStacktrace, errorChain(f.Err)},
	)
	return out
}

// errorChain is Go's stand-in for a Java stack trace: every wrapped cause.
func errorChain(err error) string {
	var b strings.Builder
	for i := 0; err != nil; i++ {
		if i > 0 {
			b.WriteString("\nCaused by: ")
		}
		fmt.Fprintf(&b, "%T: %s", err, err.Error())
		err = errors.Unwrap(err)
	}
	return b.String()
}
