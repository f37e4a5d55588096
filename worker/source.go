package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tributary-io/tributary/connect"
)

// maxInFlightSource bounds records polled but not yet acknowledged by
// Kafka; beyond it the runner stops polling, so a slow Kafka pushes back on
// the source (an MQTT broker then keeps the rest).
const maxInFlightSource = 10000

// sourceRunner is the poll → transform → convert → produce loop of one
// source task. Offsets and source acknowledgements follow Kafka's
// acknowledgements, never the poll.
type sourceRunner struct {
	w        *Worker
	id       ConnectorTaskID
	cfg      connect.Config
	task     connect.SourceTask
	chain    *Chain
	conv     *converters
	errh     *ErrorHandler
	producer *kafka.Producer
	dlq      *dlqWriter
	admin    *kafka.AdminClient
	tracker  *submitted
	log      *slog.Logger

	slots  chan struct{} // in-flight capacity
	paused atomic.Bool
	wake   chan struct{}

	fatalOnce sync.Once
	fatal     chan error // first fatal error from any goroutine

	poll, write prometheus.Counter
	active      prometheus.Gauge
	batchTime   prometheus.Observer
}

// inflight rides along a produced message as its opaque.
type inflight struct {
	rec   *connect.Record // as polled, for CommitRecord
	entry *submittedRecord
	key   []byte
	value []byte
	topic string
}

func (w *Worker) newSourceRunner(id ConnectorTaskID, cfg connect.Config, task connect.SourceTask) (*sourceRunner, error) {
	conv, err := w.newConverters(cfg)
	if err != nil {
		return nil, err
	}
	chain, err := BuildChain(w.reg, cfg)
	if err != nil {
		return nil, err
	}
	r := &sourceRunner{w: w, id: id, cfg: cfg, task: task, chain: chain, conv: conv, tracker: newSubmitted(),
		log:   w.log.With("connector", id.Connector, "task", id.Task),
		slots: make(chan struct{}, maxInFlightSource), wake: make(chan struct{}, 1), fatal: make(chan error, 1)}
	l := prometheus.Labels{"connector": id.Connector, "task": itoa(id.Task)}
	m := w.Metrics
	r.poll, r.write, r.active, r.batchTime = m.SourcePoll.With(l), m.SourceWrite.With(l), m.SourceActive.With(l), m.SourcePollBatch.With(l)
	return r, nil
}

func (r *sourceRunner) setPaused(p bool) {
	r.paused.Store(p)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *sourceRunner) health() error { return joinHealth(r.task, r.chain) }

func joinHealth(task any, chain *Chain) error {
	var errs []error
	if h, ok := task.(connect.HealthReporter); ok {
		errs = append(errs, h.Health())
	}
	errs = append(errs, chain.Health())
	return errors.Join(errs...)
}

func (r *sourceRunner) fail(err error) {
	r.fatalOnce.Do(func() { r.fatal <- err })
}

func (r *sourceRunner) setState(s State, err error) {
	r.w.status.TaskState(r.id, StateInfo{State: s, WorkerID: r.w.ID, Trace: trace(err)})
}

type sourceTaskContext struct {
	taskContext
	offsets OffsetStore
}

func (c *sourceTaskContext) Offset(partition map[string]any) (map[string]any, error) {
	return c.offsets.Get(c.id.Connector, partition)
}

func (r *sourceRunner) run(ctx context.Context) {
	defer r.chain.Close()
	if err := r.start(ctx); err != nil {
		r.setState(StateFailed, err)
		r.cleanup()
		return
	}
	r.reportState()
	events := make(chan struct{})
	go func() { defer close(events); r.deliveries() }()

	err := r.loop(ctx)
	r.shutdown()
	r.producer.Close() // ends deliveries()
	<-events
	if r.dlq != nil {
		r.dlq.Close()
	}
	if r.admin != nil {
		r.admin.Close()
	}
	if err != nil {
		r.setState(StateFailed, err)
	}
}

func (r *sourceRunner) cleanup() {
	if r.producer != nil {
		r.producer.Close()
	}
	if r.dlq != nil {
		r.dlq.Close()
	}
	if r.admin != nil {
		r.admin.Close()
	}
}

func (r *sourceRunner) start(ctx context.Context) error {
	clientID := fmt.Sprintf("connector-producer-%s-%d", r.id.Connector, r.id.Task)
	overrides := r.cfg.Raw()
	p, err := r.w.newProducer(clientID, overrides)
	if err != nil {
		return err
	}
	r.producer = p
	var dlq DeadLetterWriter
	if topic := r.cfg.String(DLQTopicName); topic != "" {
		if err := r.ensureDLQ(ctx, topic); err != nil {
			return err
		}
		dp, err := r.w.newProducer(clientID+"-dlq", overrides)
		if err != nil {
			return err
		}
		r.dlq = &dlqWriter{producer: dp}
		dlq = r.dlq
	}
	r.errh = NewErrorHandler(r.cfg, r.id.Connector, r.id.Task, dlq, r.w.Metrics.errorCounters(r.id), r.log)
	tc := &sourceTaskContext{taskContext: taskContext{id: r.id, log: r.log}, offsets: r.w.offsets}
	if err := safeCall(func() error { return r.task.Start(ctx, r.cfg, tc) }); err != nil {
		return fmt.Errorf("starting task: %w", err)
	}
	return nil
}

func (r *sourceRunner) ensureDLQ(ctx context.Context, topic string) error {
	admin, err := r.w.newAdmin()
	if err != nil {
		return err
	}
	r.admin = admin
	return ensureTopic(ctx, admin, topic, 1, r.cfg.Int(DLQReplicationFactor), nil)
}

func (r *sourceRunner) reportState() {
	if r.paused.Load() {
		r.setState(StatePaused, nil)
	} else {
		r.setState(StateRunning, nil)
	}
}

// loop polls until ctx ends or a fatal error.
func (r *sourceRunner) loop(ctx context.Context) error {
	flush := time.NewTicker(r.w.cfg.FlushInterval())
	defer flush.Stop()
	wasPaused := r.paused.Load()
	pollFailures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-r.fatal:
			return err
		case <-flush.C:
			r.commitOffsets()
			continue
		default:
		}
		if p := r.paused.Load(); p != wasPaused {
			wasPaused = p
			r.reportState()
		}
		if wasPaused {
			select {
			case <-ctx.Done():
			case <-r.wake:
			case <-flush.C:
				r.commitOffsets()
			}
			continue
		}
		start := time.Now()
		var recs []*connect.Record
		err := safeCall(func() error {
			var err error
			recs, err = r.task.Poll(ctx)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !connect.IsRetriable(err) {
				return fmt.Errorf("stage %s: %w", StageTaskPoll, err)
			}
			r.errh.Counters.Retries.Inc()
			if err := sleepCtx(ctx, Backoff(pollFailures, 100*time.Millisecond, 10*time.Second)); err != nil {
				return nil
			}
			pollFailures++
			continue
		}
		pollFailures = 0
		if len(recs) == 0 {
			continue
		}
		r.poll.Add(float64(len(recs)))
		if err := r.process(ctx, recs); err != nil {
			return err
		}
		r.batchTime.Observe(time.Since(start).Seconds())
	}
}

// process transforms, converts and produces one polled batch.
func (r *sourceRunner) process(ctx context.Context, recs []*connect.Record) error {
	in := recs
	if r.chain.Len() > 0 {
		// Transforms get copies: the task's own records stay as polled for
		// CommitRecord, even if a transform breaks the no-mutation rule.
		in = cloneAll(recs)
	}
	results := r.chain.ApplyBatch(in)
	for i, res := range results {
		orig := recs[i]
		if err := r.acquire(ctx); err != nil {
			return nil // stopping
		}
		entry, err := r.tracker.submit(r.id.Connector, orig.SourcePartition, orig.SourceOffset)
		if err != nil {
			r.release()
			return err
		}
		fl := &inflight{rec: orig, entry: entry, topic: orig.Topic}
		if res.Err != nil {
			var se *StageError
			class := ""
			if errors.As(res.Err, &se) {
				class = se.Class
			}
			if err := r.dropFailed(ctx, fl, Failure{Stage: StageTransformation, Class: class, Err: res.Err, Topic: orig.Topic, Partition: -1, Offset: -1, Record: orig}); err != nil {
				return err
			}
			continue
		}
		if res.Record == nil { // filtered out: done with it
			r.done(fl, false)
			continue
		}
		if err := r.produce(ctx, fl, res.Record); err != nil {
			return err
		}
	}
	return nil
}

func cloneAll(recs []*connect.Record) []*connect.Record {
	out := make([]*connect.Record, len(recs))
	for i, r := range recs {
		out[i] = r.Clone()
	}
	return out
}

func (r *sourceRunner) acquire(ctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		r.active.Inc()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *sourceRunner) release() {
	<-r.slots
	r.active.Dec()
}

// dropFailed hands a failed record to error handling; tolerated records
// are done (acknowledged to the source as not written).
func (r *sourceRunner) dropFailed(ctx context.Context, fl *inflight, f Failure) error {
	if f.Key == nil && fl.key != nil {
		f.Key, f.Value = fl.key, fl.value
	}
	if err := r.errh.Handle(ctx, f); err != nil {
		r.release()
		return err
	}
	r.done(fl, false)
	return nil
}

// done finishes a record: the task may acknowledge its source now, and its
// offset becomes committable.
func (r *sourceRunner) done(fl *inflight, written bool) {
	if err := safeCall(func() error { return r.task.CommitRecord(fl.rec, written) }); err != nil {
		r.log.Warn("commitRecord failed", "error", err)
	}
	r.tracker.ack(fl.entry)
	if written {
		r.write.Inc()
	}
	r.release()
}

func (r *sourceRunner) produce(ctx context.Context, fl *inflight, rec *connect.Record) error {
	topic := rec.Topic
	fl.topic = topic
	fail := func(stage Stage, class string, err error) error {
		return r.dropFailed(ctx, fl, Failure{Stage: stage, Class: class, Err: err, Topic: topic, Partition: -1, Offset: -1, Record: rec})
	}
	key, err := r.conv.key.FromConnect(topic, rec.KeySchema, rec.Key)
	if err != nil {
		return fail(StageKeyConverter, r.conv.keyClass, fmt.Errorf("converting key: %w", err))
	}
	value, err := r.conv.value.FromConnect(topic, rec.ValueSchema, rec.Value)
	if err != nil {
		return fail(StageValueConverter, r.conv.valueClass, fmt.Errorf("converting value: %w", err))
	}
	fl.key, fl.value = key, value
	msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Key: key, Value: value, Opaque: fl}
	if rec.Partition >= 0 { // connect.AnyPartition (-1) lets the partitioner pick
		msg.TopicPartition.Partition = rec.Partition
	}
	if !rec.Timestamp.IsZero() {
		msg.Timestamp = rec.Timestamp
	}
	for _, h := range rec.Headers {
		b, err := r.conv.header.FromHeader(topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return fail(StageHeaderConverter, r.conv.headerClass, fmt.Errorf("converting header %s: %w", h.Key, err))
		}
		msg.Headers = append(msg.Headers, kafka.Header{Key: h.Key, Value: b})
	}
	for {
		err := r.producer.Produce(msg, nil)
		if err == nil {
			return nil
		}
		var ke kafka.Error
		if errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull {
			// librdkafka's queue is full: wait for deliveries to drain it.
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				r.release()
				return nil
			}
			continue
		}
		return fail(StageKafkaProduce, "producer", fmt.Errorf("producing to %s: %w", topic, err))
	}
}

// deliveries handles Kafka's acknowledgements until the producer closes.
func (r *sourceRunner) deliveries() {
	seen := map[string]bool{}
	for ev := range r.producer.Events() {
		m, ok := ev.(*kafka.Message)
		if !ok {
			if ke, ok := ev.(kafka.Error); ok && ke.IsFatal() {
				r.fail(fmt.Errorf("kafka producer: %w", ke))
			}
			continue
		}
		fl, ok := m.Opaque.(*inflight)
		if !ok {
			continue
		}
		if err := m.TopicPartition.Error; err != nil {
			// librdkafka already retried within delivery.timeout.ms.
			f := Failure{Stage: StageKafkaProduce, Class: "producer", Err: fmt.Errorf("producing to %s: %w", fl.topic, err),
				Topic: fl.topic, Partition: -1, Offset: -1, Record: fl.rec}
			if err := r.dropFailed(context.Background(), fl, f); err != nil {
				r.fail(err)
			}
			continue
		}
		if !seen[fl.topic] {
			seen[fl.topic] = true
			r.w.status.TopicUsed(r.id.Connector, fl.topic)
		}
		r.done(fl, true)
	}
}

// commitOffsets writes the offsets of every acknowledged prefix.
func (r *sourceRunner) commitOffsets() {
	offs := r.tracker.committable()
	if len(offs) == 0 {
		return
	}
	if err := r.w.offsets.Put(r.id.Connector, offs); err != nil {
		r.log.Error("committing source offsets failed; they will be retried", "error", err)
		// Put them back in line: a later commit writes newer offsets anyway,
		// and losing this one only widens the replay window.
	}
}

// shutdown stops the task and flushes what is in flight, bounded by the
// graceful timeout, then commits the final offsets.
func (r *sourceRunner) shutdown() {
	if err := safeCall(r.task.Stop); err != nil {
		r.log.Warn("task stop failed", "error", err)
	}
	deadline := time.Now().Add(r.w.cfg.GracefulTimeout())
	for r.tracker.pending() > 0 && time.Now().Before(deadline) {
		r.producer.Flush(100)
	}
	r.commitOffsets()
}
