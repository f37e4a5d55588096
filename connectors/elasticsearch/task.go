package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/connect"
)

// errNullValue marks tombstones refused by behavior.on.null.values=fail;
// drop.invalid.message does not apply to them (the user asked to fail).
var errNullValue = errors.New("null value")

// maxPutWait bounds how long Put blocks for buffer room before handing the
// batch back to the runtime as retriable; longer would stall the consumer.
const maxPutWait = 5 * time.Second

// Task is the Elasticsearch sink task.
//
// Put converts records on the caller's goroutine and appends them to a
// pending batch. A batch goes to the send queue when it holds batch.size
// records or bulk.size.bytes, or linger.ms after its first record. Up to
// max.in.flight.requests sender goroutines take batches off the queue and
// send them as bulk requests, retrying per item; each acknowledged record is
// marked in the offset tracker, from which PreCommit returns the offsets
// below the first record still waiting.
//
// Backpressure: when more than max.buffered.records are unacknowledged the
// task pauses its partitions and resumes them below half the bound (on the
// next Put or PreCommit). A Put that would still overflow the bound waits up
// to min(flush.timeout.ms, 5 s) for room, then returns a RetriableError
// without keeping any of the batch, so the runtime redelivers it later.
type Task struct {
	s        *settings
	tc       connect.SinkTaskContext
	log      *slog.Logger
	client   *elastic.Client
	tmpl     *template
	reporter connect.ErrantRecordReporter

	ctx    context.Context // lifetime of the goroutines; canceled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	setupMu   sync.Mutex // serializes template and index creation
	setupDone bool
	indices   map[string]bool // indices created from a schema; under setupMu

	mu           sync.Mutex
	tracker      *offsetTracker
	pending      []*op
	pendingBytes int64
	pendingSince time.Time
	queue        [][]*op
	fatal        error
	paused       []connect.TopicPartition
	outageSince  time.Time
	outageErr    error
	outageTries  int
	changed      chan struct{} // closed and replaced whenever state moves

	work       chan struct{} // wakes a sender
	lingerKick chan struct{} // wakes the linger goroutine
}

var (
	_ connect.SinkTask          = (*Task)(nil)
	_ connect.HealthReporter    = (*Task)(nil)
	_ connect.PartitionListener = (*Task)(nil)
)

// Start parses the config and starts the senders. It does not contact
// Elasticsearch: a cluster that is down at start is retried like any outage.
func (t *Task) Start(ctx context.Context, cfg connect.Config, tc connect.SinkTaskContext) error {
	s, err := parseSettings(cfg)
	if err != nil {
		return err
	}
	t.s = s
	t.tc = tc
	t.log = tc.Logger()
	if t.log == nil {
		t.log = slog.Default()
	}
	t.reporter = tc.ErrantRecordReporter()
	if s.templateFile != "" {
		if t.tmpl, err = loadTemplate(s.templateFile); err != nil {
			return err
		}
	}
	if t.client, err = newClient(s); err != nil {
		return err
	}
	t.tracker = newOffsetTracker()
	t.indices = map[string]bool{}
	t.changed = make(chan struct{})
	t.work = make(chan struct{}, 1)
	t.lingerKick = make(chan struct{}, 1)
	// The goroutines outlive Start's ctx (it only covers starting), so
	// they get their own, canceled by Stop.
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range s.maxInFlight {
		t.wg.Go(t.sender)
	}
	t.wg.Go(t.lingerLoop)
	return nil
}

// Put buffers records for sending.
func (t *Task) Put(ctx context.Context, records []*connect.Record) error {
	if err := t.failure(); err != nil {
		return err
	}
	t.maybeResume()
	if len(records) == 0 {
		return nil
	}
	if err := t.waitForRoom(ctx, len(records)); err != nil {
		return err
	}
	ops := make([]*op, 0, len(records))
	for _, rec := range records {
		o, err := t.s.toOp(rec)
		if err != nil {
			if err := t.handleInvalid(ctx, rec, err); err != nil {
				return err
			}
			continue
		}
		if o.kind == opSkip {
			continue
		}
		ops = append(ops, o)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range ops {
		o.seq = t.tracker.add(o.rec.Origin(), originOffset(o.rec))
		if len(t.pending) == 0 {
			t.pendingSince = time.Now()
		}
		t.pending = append(t.pending, o)
		t.pendingBytes += o.size()
		if len(t.pending) >= t.s.batchSize || t.pendingBytes >= t.s.bulkSizeBytes {
			t.flushLocked()
		}
	}
	if len(t.pending) > 0 {
		if t.s.linger <= 0 {
			t.flushLocked()
		} else {
			kick(t.lingerKick)
		}
	}
	if t.tracker.open >= t.s.maxBuffered && t.paused == nil {
		t.paused = t.tc.Assignment()
		if len(t.paused) > 0 {
			t.tc.Pause(t.paused...)
			t.log.Debug("paused partitions: buffer full", "buffered", t.tracker.open, "max", t.s.maxBuffered)
		}
	}
	return nil
}

// originOffset is the Kafka offset the record was read at.
func originOffset(rec *connect.Record) int64 {
	if rec.OriginalTopic != "" {
		return rec.OriginalOffset
	}
	return rec.Offset
}

// handleInvalid deals with a record that cannot become a document: drop it
// (drop.invalid.message), hand it to the errant record reporter, or fail.
func (t *Task) handleInvalid(ctx context.Context, rec *connect.Record, cause error) error {
	tp := rec.Origin()
	if t.s.dropInvalid && !errors.Is(cause, errNullValue) {
		t.log.Warn("dropping invalid record", "topic", tp.Topic, "partition", tp.Partition, "offset", originOffset(rec), "error", cause)
		return nil
	}
	err := fmt.Errorf("record %s@%d: %w", tp, originOffset(rec), cause)
	if t.reporter == nil {
		return err
	}
	if rerr := t.reporter.Report(ctx, rec, err); rerr != nil {
		return fmt.Errorf("report invalid record: %w", rerr)
	}
	return nil
}

// waitForRoom blocks until n more records fit under max.buffered.records.
func (t *Task) waitForRoom(ctx context.Context, n int) error {
	deadline := time.NewTimer(min(t.s.flushTimeout, maxPutWait))
	defer deadline.Stop()
	for {
		t.mu.Lock()
		open, fatal, changed := t.tracker.open, t.fatal, t.changed
		t.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		if open == 0 || open+n <= t.s.maxBuffered {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for buffer room: %w", ctx.Err())
		case <-deadline.C:
			return &connect.RetriableError{Err: fmt.Errorf("%d records wait for elasticsearch (%s=%d)", open, cfgMaxBuffered, t.s.maxBuffered)}
		}
	}
}

// maybeResume resumes partitions paused for backpressure once the buffer
// drained below half the bound. It runs on the task's goroutine, as the
// SinkTaskContext calls are meant to.
func (t *Task) maybeResume() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.paused != nil && t.tracker.open <= t.s.maxBuffered/2 {
		t.tc.Resume(t.paused...)
		t.paused = nil
		t.log.Debug("resumed partitions", "buffered", t.tracker.open)
	}
}

// PreCommit sends what is pending at once and waits, up to flush.timeout.ms
// and only while Elasticsearch is reachable, for the records of the
// partitions in current; it returns the offsets below the first record
// still waiting.
func (t *Task) PreCommit(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.failure(); err != nil {
		return nil, err
	}
	t.maybeResume()
	t.mu.Lock()
	t.flushLocked()
	t.mu.Unlock()
	deadline := time.NewTimer(t.s.flushTimeout)
	defer deadline.Stop()
wait:
	for {
		t.mu.Lock()
		fatal, outage, changed := t.fatal, !t.outageSince.IsZero(), t.changed
		busy := false
		for tp := range current {
			if t.tracker.waiting(tp) {
				busy = true
				break
			}
		}
		t.mu.Unlock()
		switch {
		case fatal != nil:
			return nil, fatal
		case !busy || outage:
			break wait
		}
		select {
		case <-changed:
		case <-ctx.Done():
			break wait
		case <-deadline.C:
			t.log.Warn("offset commit did not wait for all records", "flush.timeout.ms", t.s.flushTimeout.Milliseconds())
			break wait
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tracker.committable(current), nil
}

// Open implements connect.PartitionListener; nothing to prepare.
func (t *Task) Open(context.Context, []connect.TopicPartition) error { return nil }

// Close forgets revoked partitions: their records still in flight are
// written (idempotently) but no longer hold any offset back.
func (t *Task) Close(_ context.Context, tps []connect.TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tracker.drop(tps...)
	t.signalLocked()
	return nil
}

// Stop ends the goroutines. Unacknowledged records are simply not
// committed; the next owner of the partitions writes them again.
func (t *Task) Stop() error {
	if t.cancel == nil {
		return nil
	}
	t.cancel()
	t.wg.Wait()
	t.client.Stop()
	return nil
}

// Health reports an ongoing outage; the runtime shows it in the status.
func (t *Task) Health() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.outageSince.IsZero() {
		return nil
	}
	return fmt.Errorf("elasticsearch unreachable since %s (%d attempts, %d records waiting, retrying): %w",
		t.outageSince.Format(time.TimeOnly), t.outageTries, t.tracker.open, t.outageErr)
}

func (t *Task) failure() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fatal
}

// setFatal records the first error that must fail the task; Put and
// PreCommit return it.
func (t *Task) setFatal(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fatal == nil {
		t.fatal = err
	}
	t.signalLocked()
}

func (t *Task) signalLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// flushLocked moves the pending batch to the send queue.
func (t *Task) flushLocked() {
	if len(t.pending) == 0 {
		return
	}
	t.queue = append(t.queue, t.pending)
	t.pending = nil
	t.pendingBytes = 0
	kick(t.work)
}

// lingerLoop sends a partly filled batch linger.ms after its first record.
func (t *Task) lingerLoop() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.lingerKick:
		case <-timer.C:
		}
		t.mu.Lock()
		if len(t.pending) > 0 {
			if wait := time.Until(t.pendingSince.Add(t.s.linger)); wait > 0 {
				timer.Reset(wait)
			} else {
				t.flushLocked()
			}
		}
		t.mu.Unlock()
	}
}

// sender sends queued batches until Stop.
func (t *Task) sender() {
	for {
		batch := t.nextBatch()
		if batch == nil {
			return
		}
		t.send(batch)
	}
}

func (t *Task) nextBatch() []*op {
	for {
		t.mu.Lock()
		if t.fatal == nil && len(t.queue) > 0 {
			b := t.queue[0]
			t.queue[0] = nil
			t.queue = t.queue[1:]
			if len(t.queue) > 0 {
				kick(t.work) // more for another sender
			}
			t.mu.Unlock()
			return b
		}
		t.mu.Unlock()
		select {
		case <-t.ctx.Done():
			return nil
		case <-t.work:
		}
	}
}

// send writes one batch, retrying what failed temporarily, until every
// record is acknowledged, the task fails or it stops.
func (t *Task) send(ops []*op) {
	ctx := t.ctx
	retries := 0 // item-level retry rounds
	for len(ops) > 0 {
		if err := t.prepare(ctx, ops); err != nil {
			if !t.requestFailed(ctx, err) {
				return
			}
			continue
		}
		bulk := t.client.Bulk()
		for _, o := range ops {
			bulk.Add(bulkRequest(o))
		}
		resp, err := bulk.Do(ctx)
		if err != nil {
			if !t.requestFailed(ctx, err) {
				return
			}
			continue
		}
		t.recovered()
		if len(resp.Items) != len(ops) {
			t.setFatal(fmt.Errorf("elasticsearch answered %d items for a bulk request of %d", len(resp.Items), len(ops)))
			return
		}
		var again []*op
		var lastErr error
		for i, item := range resp.Items {
			o := ops[i]
			var it *elastic.BulkResponseItem
			for _, v := range item {
				it = v
			}
			if it == nil {
				t.setFatal(errors.New("elasticsearch answered an empty bulk item"))
				return
			}
			switch classifyItem(it, o.kind, o.versioned) {
			case classOK:
				t.ack(o)
			case classRetry:
				lastErr = itemError(it, true)
				again = append(again, o)
			case classMalformed:
				if !t.handleMalformed(ctx, o, it) {
					return
				}
			default:
				err := itemError(it, true)
				t.report(ctx, o, err)
				t.setFatal(fmt.Errorf("write to elasticsearch: %w", err))
				return
			}
		}
		ops = again
		if len(ops) == 0 {
			return
		}
		retries++
		if retries > t.s.maxRetries {
			t.setFatal(fmt.Errorf("elasticsearch still rejected %d documents after %s=%d retries: %w", len(ops), cfgMaxRetries, t.s.maxRetries, lastErr))
			return
		}
		t.log.Debug("retrying rejected documents", "count", len(ops), "retry", retries, "error", lastErr)
		if !sleep(ctx, t.backoff(retries)) {
			return
		}
	}
}

// requestFailed handles a failed request: an outage is retried after a
// backoff (true), anything else fails the task (false).
func (t *Task) requestFailed(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if classifyRequestErr(err) != classOutage {
		t.setFatal(fmt.Errorf("write to elasticsearch: %w", err))
		return false
	}
	t.mu.Lock()
	if t.outageSince.IsZero() {
		t.outageSince = time.Now()
		t.log.Warn("elasticsearch unreachable; holding offsets back and retrying", "error", err)
		t.signalLocked() // PreCommit stops waiting
	}
	t.outageErr = err
	t.outageTries++
	tries := t.outageTries
	t.mu.Unlock()
	return sleep(ctx, t.backoff(tries))
}

func (t *Task) recovered() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.outageSince.IsZero() {
		t.log.Info("elasticsearch reachable again", "down_for", time.Since(t.outageSince).Round(time.Millisecond).String(), "attempts", t.outageTries)
		t.outageSince, t.outageErr, t.outageTries = time.Time{}, nil, 0
		t.signalLocked()
	}
}

// backoff is retry.backoff.ms doubled per attempt with jitter in [d/2, d],
// capped at retry.backoff.ms × 2^max.retries clamped to [1 s, 30 s].
func (t *Task) backoff(attempt int) time.Duration {
	ceiling := min(max(t.s.retryBackoff<<min(t.s.maxRetries, 20), time.Second), 30*time.Second)
	d := t.s.retryBackoff << min(max(attempt-1, 0), 20)
	d = min(d, ceiling)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func (t *Task) ack(o *op) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tracker.ack(o.seq)
	t.signalLocked()
}

// handleMalformed applies behavior.on.malformed.documents; false means the
// task failed.
func (t *Task) handleMalformed(ctx context.Context, o *op, it *elastic.BulkResponseItem) bool {
	err := itemError(it, true)
	rerr := t.report(ctx, o, err)
	tp := o.rec.Origin()
	attrs := []any{"topic", tp.Topic, "partition", tp.Partition, "offset", originOffset(o.rec), "index", o.index, "error", itemError(it, t.s.logSensitive)}
	if rerr != nil {
		attrs = append(attrs, "report_error", rerr)
	}
	switch t.s.malformed {
	case malformedIgnore:
		t.log.Debug("dropping malformed document", attrs...)
	case malformedWarn:
		t.log.Warn("dropping malformed document", attrs...)
	default:
		t.setFatal(fmt.Errorf("malformed document for %s@%d (set %s=warn or ignore to drop such documents): %w",
			tp, originOffset(o.rec), cfgMalformed, err))
		return false
	}
	t.ack(o)
	return true
}

// report hands a record to the errant record reporter, if there is one.
func (t *Task) report(ctx context.Context, o *op, err error) error {
	if t.reporter == nil {
		return nil
	}
	return t.reporter.Report(ctx, o.rec, err)
}

// prepare installs the index template once and creates indices whose
// mapping comes from the value schema.
func (t *Task) prepare(ctx context.Context, ops []*op) error {
	t.setupMu.Lock()
	defer t.setupMu.Unlock()
	if !t.setupDone && t.tmpl != nil {
		if err := installTemplate(ctx, t.client, t.s.templateName, t.tmpl); err != nil {
			return err
		}
		t.log.Info("installed index template", "name", t.s.templateName, "composable", t.tmpl.composable)
	}
	t.setupDone = true
	if t.s.schemaIgnore {
		return nil
	}
	for _, o := range ops {
		if o.schema == nil || t.indices[o.index] {
			continue
		}
		if m := schemaMapping(o.schema); m != nil {
			if err := createIndex(ctx, t.client, o.index, m); err != nil {
				return err
			}
		}
		t.indices[o.index] = true
	}
	return nil
}

func bulkRequest(o *op) elastic.BulkableRequest {
	switch o.kind {
	case opUpdate:
		// retry_on_conflict absorbs concurrent upserts of one id.
		return elastic.NewBulkUpdateRequest().Index(o.index).Id(o.id).Doc(o.doc).DocAsUpsert(true).RetryOnConflict(3)
	case opDelete:
		r := elastic.NewBulkDeleteRequest().Index(o.index).Id(o.id)
		if o.versioned {
			r.Version(o.version).VersionType("external")
		}
		return r
	default:
		r := elastic.NewBulkIndexRequest().Index(o.index).Id(o.id).Doc(o.doc)
		if o.versioned {
			r.Version(o.version).VersionType("external")
		}
		return r
	}
}
