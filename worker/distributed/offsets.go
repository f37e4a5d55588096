package distributed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/worker"
)

// KafkaOffsetStore keeps source offsets in the offset topic, keyed as Kafka
// Connect keys them (["<connector>",{partition}]), and mirrors the whole
// topic in memory. Put returns once the brokers acknowledged the records
// and this worker's reader applied them.
type KafkaOffsetStore struct {
	log     *kafkaLog
	timeout time.Duration

	mu   sync.Mutex
	data map[string]map[string]worker.ConnectorOffset // connector → key → offset
}

var _ worker.OffsetStore = (*KafkaOffsetStore)(nil)

func newOffsetStore(timeout time.Duration) *KafkaOffsetStore {
	return &KafkaOffsetStore{timeout: timeout, data: map[string]map[string]worker.ConnectorOffset{}}
}

// offsetKey is the canonical key of one source partition.
func offsetKey(connector string, partition map[string]any) (string, error) {
	b, err := json.Marshal([]any{connector, partition})
	if err != nil {
		return "", fmt.Errorf("encoding source partition: %w", err)
	}
	return string(b), nil
}

// apply is the reader's callback.
func (s *KafkaOffsetStore) apply(key, value []byte) {
	var k []json.RawMessage
	if err := json.Unmarshal(key, &k); err != nil || len(k) != 2 {
		return // not an offset record of ours
	}
	var conn string
	if json.Unmarshal(k[0], &conn) != nil {
		return
	}
	var part map[string]any
	if err := json.Unmarshal(k[1], &part); err != nil {
		return
	}
	var off map[string]any
	if value != nil {
		dec := json.NewDecoder(bytes.NewReader(value))
		dec.UseNumber()
		if dec.Decode(&off) != nil {
			return
		}
	}
	norm, err := worker.NormalizeOffsets([]worker.ConnectorOffset{{Partition: part, Offset: off}})
	if err != nil {
		return
	}
	// Re-key canonically: other writers (Kafka Connect) may order fields differently.
	ck, err := offsetKey(conn, norm[0].Partition)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data[conn]
	if value == nil {
		delete(m, ck)
		return
	}
	if m == nil {
		m = map[string]worker.ConnectorOffset{}
		s.data[conn] = m
	}
	m[ck] = norm[0]
}

func (s *KafkaOffsetStore) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// Get reads to the end of the topic first: the task asking may just have
// moved here from a worker that committed its offsets a moment ago.
func (s *KafkaOffsetStore) Get(connector string, partition map[string]any) (map[string]any, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.log.readToEnd(ctx); err != nil {
		return nil, err
	}
	norm, err := worker.NormalizeOffsets([]worker.ConnectorOffset{{Partition: partition}})
	if err != nil {
		return nil, err
	}
	k, err := offsetKey(connector, norm[0].Partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[connector][k].Offset, nil
}

func (s *KafkaOffsetStore) Put(connector string, offsets []worker.ConnectorOffset) error {
	offsets, err := worker.NormalizeOffsets(offsets)
	if err != nil {
		return err
	}
	recs := make([]record, 0, len(offsets))
	for _, o := range offsets {
		k, err := offsetKey(connector, o.Partition)
		if err != nil {
			return err
		}
		r := record{key: k, partition: kafka.PartitionAny}
		if o.Offset != nil {
			if r.value, err = json.Marshal(o.Offset); err != nil {
				return fmt.Errorf("encoding source offset: %w", err)
			}
		}
		recs = append(recs, r)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.log.write(ctx, recs...)
}

func (s *KafkaOffsetStore) All(connector string) ([]worker.ConnectorOffset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data[connector]
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]worker.ConnectorOffset, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out, nil
}

// Delete writes a tombstone for every partition of the connector.
func (s *KafkaOffsetStore) Delete(connector string) error {
	all, err := s.All(connector)
	if err != nil {
		return err
	}
	for i := range all {
		all[i].Offset = nil
	}
	return s.Put(connector, all)
}
