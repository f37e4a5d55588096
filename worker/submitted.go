package worker

import (
	"sync"
)

// submitted tracks source records from poll to Kafka's acknowledgement so
// that a source offset is committed only once it and every record before it
// of the same source partition has been acknowledged (Kafka Connect's
// SubmittedRecords). Records of one source partition are submitted in order.
type submitted struct {
	mu         sync.Mutex
	partitions map[string]*partitionQueue // by canonical partition JSON
}

type partitionQueue struct {
	partition map[string]any
	entries   []*submittedRecord
}

type submittedRecord struct {
	queue  *partitionQueue
	offset map[string]any
	acked  bool
}

func newSubmitted() *submitted { return &submitted{partitions: map[string]*partitionQueue{}} }

// submit registers a record; records without a source partition are not
// tracked (nil).
func (s *submitted) submit(connector string, partition, offset map[string]any) (*submittedRecord, error) {
	if partition == nil || offset == nil {
		return nil, nil
	}
	key, err := partitionKey(connector, partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.partitions[key]
	if q == nil {
		q = &partitionQueue{partition: partition}
		s.partitions[key] = q
	}
	r := &submittedRecord{queue: q, offset: offset}
	q.entries = append(q.entries, r)
	return r, nil
}

func (s *submitted) ack(r *submittedRecord) {
	if r == nil {
		return
	}
	s.mu.Lock()
	r.acked = true
	s.mu.Unlock()
}

// committable removes the acknowledged prefix of every partition and
// returns the newest offset of each prefix.
func (s *submitted) committable() []ConnectorOffset {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ConnectorOffset
	for key, q := range s.partitions {
		n := 0
		for n < len(q.entries) && q.entries[n].acked {
			n++
		}
		if n == 0 {
			continue
		}
		out = append(out, ConnectorOffset{Partition: q.partition, Offset: q.entries[n-1].offset})
		q.entries = q.entries[n:]
		if len(q.entries) == 0 {
			delete(s.partitions, key)
		}
	}
	return out
}

// pending counts records not yet acknowledged.
func (s *submitted) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.partitions {
		for _, e := range q.entries {
			if !e.acked {
				n++
			}
		}
	}
	return n
}
