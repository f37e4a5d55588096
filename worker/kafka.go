package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// configMap merges base and extra; a nil extra value removes the key.
func configMap(base map[string]string, extra map[string]any) *kafka.ConfigMap {
	// librdkafka's own logs go through a channel to slog instead of stderr.
	m := kafka.ConfigMap{"go.logs.channel.enable": true}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return &m
}

// producerDefaults make produced records durable and ordered: acks from all
// in-sync replicas, idempotence so librdkafka's retries never duplicate.
var producerDefaults = map[string]any{
	"acks":               "all",
	"enable.idempotence": true,
	"linger.ms":          5,
	// librdkafka's default queue (1 GB) would let a slow broker grow the
	// worker without bound; the runtime bounds in-flight records itself.
	"queue.buffering.max.kbytes": 65536,
	"go.delivery.report.fields":  "none",
	// librdkafka's default (1,000,000) is below the broker's default
	// message.max.bytes (1,048,588): a record the broker would take failed.
	"message.max.bytes": 1048588,
}

func (w *Worker) newProducer(clientID string, overrides map[string]string) (*kafka.Producer, error) {
	base := w.cfg.ClientConfig("producer", overrides)
	extra := map[string]any{"client.id": clientID}
	for k, v := range producerDefaults {
		if _, set := base[k]; !set {
			extra[k] = v
		}
	}
	p, err := kafka.NewProducer(configMap(base, extra))
	if err != nil {
		return nil, fmt.Errorf("creating producer: %w", err)
	}
	go drainLogs(p.Logs(), w.log.With("client", clientID))
	return p, nil
}

// drainLogs forwards librdkafka's log lines at debug level: a broker that
// restarts is normal operation, visible in metrics and status, not in logs.
// It ends when the client closes its log channel.
func drainLogs(ch chan kafka.LogEvent, log *slog.Logger) {
	for ev := range ch {
		log.Debug(ev.Message, "facility", ev.Tag, "librdkafka_level", ev.Level)
	}
}

// ensureTopic creates topic when absent, with a replication factor capped at
// the number of brokers (a single dev broker cannot hold 3 replicas).
func ensureTopic(ctx context.Context, admin *kafka.AdminClient, topic string, partitions int, replication int, configs map[string]string) error {
	md, err := admin.GetMetadata(&topic, false, 10000)
	if err == nil {
		if t, ok := md.Topics[topic]; ok && t.Error.Code() == kafka.ErrNoError && len(t.Partitions) > 0 {
			return nil
		}
	}
	all, err := admin.GetMetadata(nil, false, 10000)
	if err != nil {
		return fmt.Errorf("reading cluster metadata: %w", err)
	}
	if replication <= 0 || replication > len(all.Brokers) {
		replication = len(all.Brokers)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: replication, Config: configs}})
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", topic, err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("creating topic %s: %w", topic, r.Error)
		}
	}
	return nil
}

// dlqWriter writes dead letters with its own producer and waits for each.
type dlqWriter struct {
	producer *kafka.Producer
}

func (d *dlqWriter) WriteDeadLetter(ctx context.Context, topic string, key, value []byte, headers [][2]string) error {
	msg := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Key: key, Value: value}
	for _, h := range headers {
		msg.Headers = append(msg.Headers, kafka.Header{Key: h[0], Value: []byte(h[1])})
	}
	done := make(chan kafka.Event, 1)
	if err := d.producer.Produce(msg, done); err != nil {
		return fmt.Errorf("producing dead letter: %w", err)
	}
	select {
	case ev := <-done:
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
			return fmt.Errorf("producing dead letter: %w", m.TopicPartition.Error)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *dlqWriter) Close() {
	d.producer.Flush(5000)
	d.producer.Close()
}

// clusterID asks the brokers for the cluster id, for GET /.
func clusterID(ctx context.Context, admin *kafka.AdminClient) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := admin.ClusterID(ctx)
	if err != nil {
		return "", fmt.Errorf("reading kafka cluster id: %w", err)
	}
	return id, nil
}

func isFatalKafka(err error) bool {
	var ke kafka.Error
	if e, ok := err.(kafka.Error); ok {
		ke = e
		return ke.IsFatal()
	}
	return false
}

func joinTopics(ts []string) string { return strings.Join(ts, ",") }

func (w *Worker) newAdmin() (*kafka.AdminClient, error) {
	// The admin client has no log channel; keep it to critical lines only,
	// its errors come back as returned errors anyway.
	a, err := kafka.NewAdminClient(configMap(w.cfg.ClientConfig("admin", nil), map[string]any{"go.logs.channel.enable": nil, "log_level": 2}))
	if err != nil {
		return nil, fmt.Errorf("creating kafka admin client: %w", err)
	}
	return a, nil
}
