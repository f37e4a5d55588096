package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tributary-io/tributary/connect"
)

const (
	sinkMaxBatch    = 500 // consumer.max.poll.records' default
	sinkPollTimeout = 100 * time.Millisecond
)

// sinkRunner is the consume → convert → transform → put loop of one sink
// task. Offsets are committed only as far as the task's PreCommit says its
// external system has accepted.
type sinkRunner struct {
	w        *Worker
	id       ConnectorTaskID
	cfg      connect.Config
	task     connect.SinkTask
	chain    *Chain
	conv     *converters
	errh     *ErrorHandler
	consumer *kafka.Consumer
	dlq      *dlqWriter
	admin    *kafka.AdminClient
	log      *slog.Logger
	ctx      context.Context // the run context, for callbacks from librdkafka

	paused   atomic.Bool
	assigned map[connect.TopicPartition]bool
	current  map[connect.TopicPartition]int64 // next offset to read, per partition
	commited map[connect.TopicPartition]int64
	topics   map[string]bool // reported to TopicUsed already

	// Requests from the task, applied on the loop goroutine.
	reqMu         sync.Mutex
	pauseReq      []connect.TopicPartition
	resumeReq     []connect.TopicPartition
	taskPaused    map[connect.TopicPartition]bool
	commitRequest atomic.Bool

	fatalMu sync.Mutex
	fatal   error

	read, send, commits, commitFails prometheus.Counter
	lag                              prometheus.Gauge
	putTime                          prometheus.Observer
}

func (w *Worker) newSinkRunner(id ConnectorTaskID, cfg connect.Config, task connect.SinkTask) (*sinkRunner, error) {
	conv, err := w.newConverters(cfg)
	if err != nil {
		return nil, err
	}
	chain, err := BuildChain(w.reg, cfg)
	if err != nil {
		return nil, err
	}
	r := &sinkRunner{w: w, id: id, cfg: cfg, task: task, chain: chain, conv: conv,
		log:      w.log.With("connector", id.Connector, "task", id.Task),
		assigned: map[connect.TopicPartition]bool{}, current: map[connect.TopicPartition]int64{},
		commited: map[connect.TopicPartition]int64{}, topics: map[string]bool{}, taskPaused: map[connect.TopicPartition]bool{}}
	l := prometheus.Labels{"connector": id.Connector, "task": itoa(id.Task)}
	m := w.Metrics
	r.read, r.send, r.commits, r.commitFails = m.SinkRead.With(l), m.SinkSend.With(l), m.SinkOffsetCommits.With(l), m.SinkCommitFails.With(l)
	r.lag, r.putTime = m.SinkLagMax.With(l), m.SinkPutBatch.With(l)
	return r, nil
}

func (r *sinkRunner) setPaused(p bool) { r.paused.Store(p) }
func (r *sinkRunner) health() error    { return joinHealth(r.task, r.chain) }

func (r *sinkRunner) setState(s State, err error) {
	r.w.status.TaskState(r.id, StateInfo{State: s, WorkerID: r.w.ID, Trace: trace(err)})
}

func (r *sinkRunner) setFatal(err error) {
	r.fatalMu.Lock()
	defer r.fatalMu.Unlock()
	if r.fatal == nil {
		r.fatal = err
	}
}

func (r *sinkRunner) fatalErr() error {
	r.fatalMu.Lock()
	defer r.fatalMu.Unlock()
	return r.fatal
}

// sinkTaskContext is the task's handle on the runner.
type sinkTaskContext struct {
	taskContext
	r *sinkRunner
}

func (c *sinkTaskContext) Pause(tps ...connect.TopicPartition) {
	c.r.reqMu.Lock()
	c.r.pauseReq = append(c.r.pauseReq, tps...)
	c.r.reqMu.Unlock()
}

func (c *sinkTaskContext) Resume(tps ...connect.TopicPartition) {
	c.r.reqMu.Lock()
	c.r.resumeReq = append(c.r.resumeReq, tps...)
	c.r.reqMu.Unlock()
}

func (c *sinkTaskContext) Assignment() []connect.TopicPartition {
	c.r.reqMu.Lock()
	defer c.r.reqMu.Unlock()
	out := make([]connect.TopicPartition, 0, len(c.r.assigned))
	for tp := range c.r.assigned {
		out = append(out, tp)
	}
	return out
}

func (c *sinkTaskContext) RequestCommit() { c.r.commitRequest.Store(true) }

func (c *sinkTaskContext) ErrantRecordReporter() connect.ErrantRecordReporter { return c.r }

// Report sends a record the task could not deliver through error handling.
// The DLQ gets the bytes the record was read as (re-encoded with the
// connector's converters only for a record built by the task itself); the
// context headers name where it was read from.
func (r *sinkRunner) Report(ctx context.Context, rec *connect.Record, err error) error {
	origin := rec.Origin()
	f := Failure{Stage: StageTaskPut, Class: r.cfg.String(ConnectorClassConfig), Err: err,
		Topic: origin.Topic, Partition: origin.Partition, Offset: rec.Offset, Record: rec}
	if rec.OriginalTopic != "" {
		f.Offset = rec.OriginalOffset
	}
	f.Key, f.Value = rec.OriginalKeyBytes, rec.OriginalValueBytes
	if f.Key == nil && rec.Key != nil {
		f.Key, _ = r.conv.key.FromConnect(rec.Topic, rec.KeySchema, rec.Key)
	}
	if f.Value == nil && rec.Value != nil {
		f.Value, _ = r.conv.value.FromConnect(rec.Topic, rec.ValueSchema, rec.Value)
	}
	if herr := r.errh.Handle(ctx, f); herr != nil {
		r.setFatal(herr)
		return herr
	}
	return nil
}

func (r *sinkRunner) run(ctx context.Context) {
	r.ctx = ctx
	defer r.chain.Close()
	if err := r.start(ctx); err != nil {
		r.setState(StateFailed, err)
		r.closeClients()
		return
	}
	r.reportState(false)
	err := r.loop(ctx)
	r.shutdown(err == nil)
	r.closeClients()
	if err != nil {
		r.setState(StateFailed, err)
	}
}

func (r *sinkRunner) closeClients() {
	if r.consumer != nil {
		if err := r.consumer.Close(); err != nil {
			r.log.Warn("closing consumer", "error", err)
		}
	}
	if r.dlq != nil {
		r.dlq.Close()
	}
	if r.admin != nil {
		r.admin.Close()
	}
}

func (r *sinkRunner) start(ctx context.Context) error {
	overrides := r.cfg.Raw()
	base := r.w.cfg.ClientConfig("consumer", overrides)
	extra := map[string]any{
		"group.id":                      "connect-" + r.id.Connector,
		"client.id":                     fmt.Sprintf("connector-consumer-%s-%d", r.id.Connector, r.id.Task),
		"enable.auto.commit":            false,
		"enable.auto.offset.store":      false,
		"auto.offset.reset":             "earliest",
		"partition.assignment.strategy": "cooperative-sticky",
		// Bounds librdkafka's prefetch buffer so memory stays flat when the sink is slow.
		"queued.max.messages.kbytes": 16384,
		// A dead worker's partitions move after 10 s (Kafka Connect's worker
		// default) instead of librdkafka's 45 s.
		"session.timeout.ms":    10000,
		"heartbeat.interval.ms": 3000,
		// librdkafka's rebalance timeout (default 300 s): a member that dies
		// in the middle of a rebalance holds the group for this long. The
		// loop polls while put retries, so 60 s is ample. (Static membership
		// would avoid the wait but a stopped static member stays in the
		// group, so its offsets could not be reset while STOPPED.)
		"max.poll.interval.ms": 60000,
	}
	for k := range base {
		delete(extra, k)
	}
	if _, ok := base["group.id"]; !ok {
		extra["group.id"] = "connect-" + r.id.Connector
	}
	c, err := kafka.NewConsumer(configMap(base, extra))
	if err != nil {
		return fmt.Errorf("creating consumer: %w", err)
	}
	go drainLogs(c.Logs(), r.log)
	r.consumer = c
	var dlq DeadLetterWriter
	if topic := r.cfg.String(DLQTopicName); topic != "" {
		admin, err := r.w.newAdmin()
		if err != nil {
			return err
		}
		r.admin = admin
		if err := ensureTopic(ctx, admin, topic, 1, r.cfg.Int(DLQReplicationFactor), nil); err != nil {
			return err
		}
		p, err := r.w.newProducer(fmt.Sprintf("connector-dlq-producer-%s-%d", r.id.Connector, r.id.Task), overrides)
		if err != nil {
			return err
		}
		r.dlq = &dlqWriter{producer: p}
		dlq = r.dlq
	}
	r.errh = NewErrorHandler(r.cfg, r.id.Connector, r.id.Task, dlq, r.w.Metrics.errorCounters(r.id), r.log)
	tc := &sinkTaskContext{taskContext: taskContext{id: r.id, log: r.log}, r: r}
	if err := safeCall(func() error { return r.task.Start(ctx, r.cfg, tc) }); err != nil {
		return fmt.Errorf("starting task: %w", err)
	}
	if re := r.cfg.String(TopicsRegexConfig); re != "" {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("topics.regex: %w", err)
		}
		err = c.Subscribe("^"+re, r.rebalance)
	} else {
		err = c.SubscribeTopics(r.cfg.List(TopicsConfig), r.rebalance)
	}
	if err != nil {
		return fmt.Errorf("subscribing: %w", err)
	}
	return nil
}

func (r *sinkRunner) reportState(paused bool) {
	if paused {
		r.setState(StatePaused, nil)
	} else {
		r.setState(StateRunning, nil)
	}
}

// rebalance runs inside consumer.Poll on the loop goroutine.
func (r *sinkRunner) rebalance(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		tps := toConnectTPs(e.Partitions)
		r.reqMu.Lock()
		for _, tp := range tps {
			r.assigned[tp] = true
		}
		r.reqMu.Unlock()
		if l, ok := r.task.(connect.PartitionListener); ok {
			if err := safeCall(func() error { return l.Open(r.ctx, tps) }); err != nil {
				r.setFatal(fmt.Errorf("opening partitions: %w", err))
			}
		}
		if r.paused.Load() {
			// Newly assigned partitions of a paused task start paused.
			_ = c.Pause(e.Partitions)
		}
	case kafka.RevokedPartitions:
		tps := toConnectTPs(e.Partitions)
		if !c.AssignmentLost() {
			r.commit(tps) // hand over with everything delivered committed
		}
		if l, ok := r.task.(connect.PartitionListener); ok {
			if err := safeCall(func() error { return l.Close(r.ctx, tps) }); err != nil {
				r.log.Warn("closing partitions", "error", err)
			}
		}
		r.reqMu.Lock()
		for _, tp := range tps {
			delete(r.assigned, tp)
			delete(r.current, tp)
			delete(r.commited, tp)
			delete(r.taskPaused, tp)
		}
		r.reqMu.Unlock()
	}
	return nil
}

func toConnectTPs(ps []kafka.TopicPartition) []connect.TopicPartition {
	out := make([]connect.TopicPartition, len(ps))
	for i, p := range ps {
		out[i] = connect.TopicPartition{Topic: *p.Topic, Partition: p.Partition}
	}
	return out
}

func toKafkaTPs(tps []connect.TopicPartition) []kafka.TopicPartition {
	out := make([]kafka.TopicPartition, len(tps))
	for i, tp := range tps {
		t := tp.Topic
		out[i] = kafka.TopicPartition{Topic: &t, Partition: tp.Partition}
	}
	return out
}

func (r *sinkRunner) loop(ctx context.Context) error {
	flush := time.NewTicker(r.w.cfg.FlushInterval())
	defer flush.Stop()
	paused := false
	for {
		if err := r.fatalErr(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-flush.C:
			r.commit(nil)
		default:
		}
		if r.commitRequest.Swap(false) {
			r.commit(nil)
		}
		if p := r.paused.Load(); p != paused {
			paused = p
			r.setAllPaused(p)
			r.reportState(p)
		}
		r.applyTaskRequests()
		batch, err := r.pollBatch(ctx)
		if err != nil {
			return err
		}
		// Like Kafka Connect, put is called even with nothing new: a task
		// that paused its partitions resumes them from there.
		if err := r.deliver(ctx, batch); err != nil {
			return err
		}
	}
}

func (r *sinkRunner) setAllPaused(p bool) {
	a, err := r.consumer.Assignment()
	if err != nil || len(a) == 0 {
		return
	}
	if p {
		_ = r.consumer.Pause(a)
		return
	}
	// Resume all but what the task itself paused.
	var res []kafka.TopicPartition
	r.reqMu.Lock()
	for _, tp := range a {
		if !r.taskPaused[connect.TopicPartition{Topic: *tp.Topic, Partition: tp.Partition}] {
			res = append(res, tp)
		}
	}
	r.reqMu.Unlock()
	_ = r.consumer.Resume(res)
}

func (r *sinkRunner) applyTaskRequests() {
	r.reqMu.Lock()
	pause, resume := r.pauseReq, r.resumeReq
	r.pauseReq, r.resumeReq = nil, nil
	for _, tp := range pause {
		r.taskPaused[tp] = true
	}
	for _, tp := range resume {
		delete(r.taskPaused, tp)
	}
	r.reqMu.Unlock()
	if len(pause) > 0 {
		_ = r.consumer.Pause(toKafkaTPs(pause))
	}
	if len(resume) > 0 && !r.paused.Load() {
		_ = r.consumer.Resume(toKafkaTPs(resume))
	}
}

// pollBatch reads up to sinkMaxBatch messages, waiting at most one poll
// timeout for the first.
func (r *sinkRunner) pollBatch(ctx context.Context) ([]*kafka.Message, error) {
	var batch []*kafka.Message
	timeout := int(sinkPollTimeout / time.Millisecond)
	for len(batch) < sinkMaxBatch {
		ev := r.consumer.Poll(timeout)
		if ev == nil {
			break
		}
		timeout = 0
		switch e := ev.(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				r.log.Warn("consumer error", "error", e.TopicPartition.Error)
				continue
			}
			batch = append(batch, e)
		case kafka.Error:
			if e.IsFatal() {
				return nil, fmt.Errorf("kafka consumer: %w", e)
			}
			// Transient errors (broker down, …): librdkafka reconnects by itself.
			r.log.Debug("consumer error", "error", e)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return batch, nil
}

// deliver converts, transforms and puts one batch, retrying retriable put
// failures with backoff while the consumer stays in the group.
func (r *sinkRunner) deliver(ctx context.Context, batch []*kafka.Message) error {
	r.read.Add(float64(len(batch)))
	recs := make([]*connect.Record, 0, len(batch))
	srcIdx := make([]int, 0, len(batch))
	for i, m := range batch {
		rec, err := r.toRecord(ctx, m)
		if err != nil {
			return err
		}
		if rec != nil {
			recs = append(recs, rec)
			srcIdx = append(srcIdx, i)
		}
	}
	results := r.chain.ApplyBatch(recs)
	out := make([]*connect.Record, 0, len(results))
	for i, res := range results {
		if res.Err != nil {
			m := batch[srcIdx[i]]
			var se *StageError
			class := ""
			if errors.As(res.Err, &se) {
				class = se.Class
			}
			if err := r.errh.Handle(ctx, r.failure(StageTransformation, class, res.Err, m, recs[i])); err != nil {
				return err
			}
			continue
		}
		if res.Record != nil {
			out = append(out, res.Record)
		}
	}
	if len(batch) > 0 {
		r.updateLag(batch)
	}
	if err := r.put(ctx, out); err != nil {
		return err
	}
	r.send.Add(float64(len(out)))
	r.reqMu.Lock()
	for _, m := range batch {
		tp := connect.TopicPartition{Topic: *m.TopicPartition.Topic, Partition: m.TopicPartition.Partition}
		if !r.topics[tp.Topic] {
			r.topics[tp.Topic] = true
			r.w.status.TopicUsed(r.id.Connector, tp.Topic)
		}
		if r.assigned[tp] {
			r.current[tp] = int64(m.TopicPartition.Offset) + 1
		}
	}
	r.reqMu.Unlock()
	return nil
}

func (r *sinkRunner) updateLag(batch []*kafka.Message) {
	var maxLag int64
	last := map[string]*kafka.Message{}
	for _, m := range batch {
		last[fmt.Sprintf("%s/%d", *m.TopicPartition.Topic, m.TopicPartition.Partition)] = m
	}
	for _, m := range last {
		if _, high, err := r.consumer.GetWatermarkOffsets(*m.TopicPartition.Topic, m.TopicPartition.Partition); err == nil {
			maxLag = max(maxLag, high-int64(m.TopicPartition.Offset)-1)
		}
	}
	r.lag.Set(float64(maxLag))
}

func (r *sinkRunner) put(ctx context.Context, recs []*connect.Record) error {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := safeCall(func() error { return r.task.Put(ctx, recs) })
		r.putTime.Observe(time.Since(start).Seconds())
		if err == nil {
			if attempt > 0 && !r.paused.Load() {
				r.setAllPaused(false)
			}
			return nil
		}
		if ferr := r.fatalErr(); ferr != nil {
			return ferr
		}
		if !connect.IsRetriable(err) {
			return fmt.Errorf("stage %s: %w", StageTaskPut, err)
		}
		r.errh.Counters.Retries.Inc()
		if attempt == 0 {
			r.log.Warn("sink put failed; retrying with backoff", "error", err)
			r.setAllPaused(true) // keep the group membership, stop fetching
		}
		wait := Backoff(attempt, 100*time.Millisecond, 10*time.Second)
		var re *connect.RetriableError
		if errors.As(err, &re) && re.RetryAfter > 0 {
			wait = re.RetryAfter
		}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			if ctx.Err() != nil {
				return nil
			}
			// Serve rebalances and heartbeats meanwhile; partitions are paused.
			if ev := r.consumer.Poll(50); ev != nil {
				if m, ok := ev.(*kafka.Message); ok {
					// Fetched before the pause took effect: rewind to it.
					_ = r.consumer.Seek(m.TopicPartition, 0)
				}
			}
		}
		recs = r.stillAssigned(recs)
		if len(recs) == 0 {
			return nil
		}
	}
}

// stillAssigned drops records of partitions revoked meanwhile; their new
// owner reads them from the last commit.
func (r *sinkRunner) stillAssigned(recs []*connect.Record) []*connect.Record {
	r.reqMu.Lock()
	defer r.reqMu.Unlock()
	out := recs[:0]
	for _, rec := range recs {
		if r.assigned[rec.Origin()] {
			out = append(out, rec)
		}
	}
	return out
}

func (r *sinkRunner) failure(stage Stage, class string, err error, m *kafka.Message, rec *connect.Record) Failure {
	f := Failure{Stage: stage, Class: class, Err: err, Topic: *m.TopicPartition.Topic, Partition: m.TopicPartition.Partition,
		Offset: int64(m.TopicPartition.Offset), Key: m.Key, Value: m.Value, Record: rec, Headers: map[string][]byte{}}
	for _, h := range m.Headers {
		f.Headers[h.Key] = h.Value
	}
	return f
}

// toRecord converts a message; nil with nil error means it failed and was
// tolerated.
func (r *sinkRunner) toRecord(ctx context.Context, m *kafka.Message) (*connect.Record, error) {
	topic := *m.TopicPartition.Topic
	rec := &connect.Record{Topic: topic, Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset),
		Timestamp: m.Timestamp, OriginalTopic: topic, OriginalPartition: m.TopicPartition.Partition, OriginalOffset: int64(m.TopicPartition.Offset),
		OriginalKeyBytes: m.Key, OriginalValueBytes: m.Value}
	var err error
	var stage Stage
	var class string
	if rec.KeySchema, rec.Key, err = r.conv.key.ToConnect(topic, m.Key); err != nil {
		stage, class, err = StageKeyConverter, r.conv.keyClass, fmt.Errorf("converting key: %w", err)
	} else if rec.ValueSchema, rec.Value, err = r.conv.value.ToConnect(topic, m.Value); err != nil {
		stage, class, err = StageValueConverter, r.conv.valueClass, fmt.Errorf("converting value: %w", err)
	} else {
		for _, h := range m.Headers {
			s, v, herr := r.conv.header.ToHeader(topic, h.Key, h.Value)
			if herr != nil {
				stage, class, err = StageHeaderConverter, r.conv.headerClass, fmt.Errorf("converting header %s: %w", h.Key, herr)
				break
			}
			rec.Headers = append(rec.Headers, connect.Header{Key: h.Key, Schema: s, Value: v})
		}
	}
	if err == nil {
		return rec, nil
	}
	if herr := r.errh.Handle(ctx, r.failure(stage, class, err, m, nil)); herr != nil {
		return nil, herr
	}
	return nil, nil
}

// commit asks the task what is safe and commits it (only partitions in
// only, when given).
func (r *sinkRunner) commit(only []connect.TopicPartition) {
	r.reqMu.Lock()
	current := maps.Clone(r.current)
	r.reqMu.Unlock()
	if only != nil {
		keep := map[connect.TopicPartition]int64{}
		for _, tp := range only {
			if o, ok := current[tp]; ok {
				keep[tp] = o
			}
		}
		current = keep
	}
	if len(current) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.w.cfg.Duration(OffsetFlushTimeoutConfig))
	defer cancel()
	var safe map[connect.TopicPartition]int64
	err := safeCall(func() error {
		var err error
		safe, err = r.task.PreCommit(ctx, maps.Clone(current))
		return err
	})
	if err != nil {
		r.commitFails.Inc()
		r.log.Warn("offset commit skipped: task preCommit failed", "error", err)
		return
	}
	var tps []kafka.TopicPartition
	r.reqMu.Lock()
	for tp, off := range safe {
		cur, ok := current[tp]
		if !ok || !r.assigned[tp] || off > cur || off <= r.commited[tp] {
			continue // never commit past what was consumed, nor unassigned partitions
		}
		t := tp.Topic
		tps = append(tps, kafka.TopicPartition{Topic: &t, Partition: tp.Partition, Offset: kafka.Offset(off)})
	}
	r.reqMu.Unlock()
	if len(tps) == 0 {
		return
	}
	if _, err := r.consumer.CommitOffsets(tps); err != nil {
		r.commitFails.Inc()
		r.log.Warn("offset commit failed; retried at the next interval", "error", err)
		return
	}
	r.reqMu.Lock()
	for _, tp := range tps {
		r.commited[connect.TopicPartition{Topic: *tp.Topic, Partition: tp.Partition}] = int64(tp.Offset)
	}
	r.reqMu.Unlock()
	r.commits.Inc()
}

// shutdown commits what the task delivered and stops it.
func (r *sinkRunner) shutdown(clean bool) {
	if clean {
		r.commit(nil)
	}
	if err := safeCall(r.task.Stop); err != nil {
		r.log.Warn("task stop failed", "error", err)
	}
}
