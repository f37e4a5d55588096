package distributed

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/worker"
)

// kafkaLog reads every partition of a compacted topic from the beginning,
// forever, handing each record to apply in order; writers can wait until
// the reader has passed their own record (read-your-writes).
type kafkaLog struct {
	topic    string
	consumer *kafka.Consumer
	producer *kafka.Producer
	apply    func(key, value []byte)
	log      *slog.Logger

	mu      sync.Mutex
	pos     map[int32]int64 // next offset to read, per partition
	advance chan struct{}   // closed and replaced whenever pos moves
	done    chan struct{}
}

func newKafkaLog(cfg *worker.Config, topic string, partitions int, producer *kafka.Producer, clientID string,
	apply func(key, value []byte), log *slog.Logger) (*kafkaLog, error) {
	// A group.id is required by librdkafka even for assign(); nothing is
	// ever committed or subscribed under it.
	c, err := kafka.NewConsumer(worker.KafkaConfigMap(cfg.ClientConfig("consumer", nil), map[string]any{
		"group.id":             clientID,
		"client.id":            clientID,
		"enable.auto.commit":   false,
		"enable.partition.eof": true,
		"auto.offset.reset":    "earliest",
		"isolation.level":      "read_committed",
		// Idle fetches return quickly so a reader notices new records soon.
		"fetch.wait.max.ms": 100,
	}))
	if err != nil {
		return nil, fmt.Errorf("creating reader of %s: %w", topic, err)
	}
	go worker.DrainKafkaLogs(c.Logs(), log.With("client", clientID))
	l := &kafkaLog{topic: topic, consumer: c, producer: producer, apply: apply, log: log,
		pos: map[int32]int64{}, advance: make(chan struct{}), done: make(chan struct{})}
	var tps []kafka.TopicPartition
	for p := range partitions {
		l.pos[int32(p)] = 0
		tps = append(tps, kafka.TopicPartition{Topic: &l.topic, Partition: int32(p), Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(tps); err != nil {
		c.Close()
		return nil, fmt.Errorf("assigning %s: %w", topic, err)
	}
	return l, nil
}

// run reads until ctx ends; the caller owns the goroutine.
func (l *kafkaLog) run(ctx context.Context) {
	defer close(l.done)
	for ctx.Err() == nil {
		switch ev := l.consumer.Poll(100).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				continue
			}
			l.apply(ev.Key, ev.Value)
			l.moved(ev.TopicPartition.Partition, int64(ev.TopicPartition.Offset)+1)
		case kafka.PartitionEOF:
			// The end may lie past the last record (compaction, markers).
			l.moved(ev.Partition, int64(ev.Offset))
		case kafka.Error:
			l.log.Debug("reader error", "topic", l.topic, "error", ev)
		}
	}
}

func (l *kafkaLog) moved(p int32, next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if next > l.pos[p] {
		l.pos[p] = next
		close(l.advance)
		l.advance = make(chan struct{})
	}
}

// waitFor blocks until the reader has passed offset-1 in partition p.
func (l *kafkaLog) waitFor(ctx context.Context, p int32, offset int64) error {
	for {
		l.mu.Lock()
		reached, ch := l.pos[p] >= offset, l.advance
		l.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("reading %s back to offset %d: %w", l.topic, offset, ctx.Err())
		case <-l.done:
			return fmt.Errorf("reader of %s closed", l.topic)
		}
	}
}

// readToEnd waits until everything written before the call has been applied.
func (l *kafkaLog) readToEnd(ctx context.Context) error {
	l.mu.Lock()
	parts := make([]int32, 0, len(l.pos))
	for p := range l.pos {
		parts = append(parts, p)
	}
	l.mu.Unlock()
	for _, p := range parts {
		high, err := l.end(ctx, p)
		if err != nil {
			return err
		}
		if err := l.waitFor(ctx, p, high); err != nil {
			return err
		}
	}
	return nil
}

// end asks for a partition's high watermark, retrying while the cluster
// settles (a just-created topic has no leader for a moment).
func (l *kafkaLog) end(ctx context.Context, p int32) (int64, error) {
	for attempt := 0; ; attempt++ {
		_, high, err := l.consumer.QueryWatermarkOffsets(l.topic, p, 10000)
		if err == nil {
			return high, nil
		}
		if attempt == 20 {
			return 0, fmt.Errorf("reading end of %s-%d: %w", l.topic, p, err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("reading end of %s-%d: %w", l.topic, p, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// record is one key/value to write; a nil value is a tombstone.
type record struct {
	key       string
	value     []byte
	partition int32 // kafka.PartitionAny: by key hash
}

// write produces records, waits for the brokers' acks and then for the
// reader to have applied them, so the writer's next read sees them.
func (l *kafkaLog) write(ctx context.Context, recs ...record) error {
	if len(recs) == 0 {
		return nil
	}
	done := make(chan kafka.Event, len(recs))
	for _, r := range recs {
		msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &l.topic, Partition: r.partition}, Key: []byte(r.key), Value: r.value}
		if err := l.producer.Produce(msg, done); err != nil {
			return fmt.Errorf("writing %s to %s: %w", r.key, l.topic, err)
		}
	}
	last := map[int32]int64{}
	for range recs {
		select {
		case ev := <-done:
			m, ok := ev.(*kafka.Message)
			if !ok {
				return fmt.Errorf("writing to %s: unexpected event %v", l.topic, ev)
			}
			if m.TopicPartition.Error != nil {
				return fmt.Errorf("writing to %s: %w", l.topic, m.TopicPartition.Error)
			}
			if o := int64(m.TopicPartition.Offset) + 1; o > last[m.TopicPartition.Partition] {
				last[m.TopicPartition.Partition] = o
			}
		case <-ctx.Done():
			return fmt.Errorf("writing to %s: %w", l.topic, ctx.Err())
		}
	}
	for p, o := range last {
		if err := l.waitFor(ctx, p, o); err != nil {
			return err
		}
	}
	return nil
}

// writeAsync produces without waiting; failures are logged by the
// herder's delivery loop (statuses are rewritten on the next change).
func (l *kafkaLog) writeAsync(r record, events chan kafka.Event) {
	msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &l.topic, Partition: r.partition}, Key: []byte(r.key), Value: r.value}
	if err := l.producer.Produce(msg, events); err != nil {
		l.log.Warn("status write failed", "key", r.key, "error", err)
	}
}

// close stops the consumer; run must have returned (or never started).
func (l *kafkaLog) close() {
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
	}
	_ = l.consumer.Close()
}
