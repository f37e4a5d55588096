package elasticsearch

import "github.com/tributary-io/tributary/connect"

// offsetTracker knows, per source partition, which records handed to Put are
// still waiting for Elasticsearch, so only offsets below the first waiting
// record are committed whatever order bulk requests finish in. It is not
// safe for concurrent use; the task guards it with its mutex.
type offsetTracker struct {
	parts map[connect.TopicPartition]*partitionTrack
	bySeq map[uint64]connect.TopicPartition
	next  uint64
	open  int // records added and not acknowledged, over all partitions
}

// partitionTrack is a queue of one partition's records in Put order; the
// acknowledged prefix is popped as soon as it forms.
type partitionTrack struct {
	offsets []int64
	done    []bool
	first   uint64 // seq of offsets[0]
	seqs    []uint64
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{parts: map[connect.TopicPartition]*partitionTrack{}, bySeq: map[uint64]connect.TopicPartition{}}
}

// add registers a record about to be sent and returns its handle.
func (t *offsetTracker) add(tp connect.TopicPartition, offset int64) uint64 {
	p := t.parts[tp]
	if p == nil {
		p = &partitionTrack{}
		t.parts[tp] = p
	}
	t.next++
	seq := t.next
	p.offsets = append(p.offsets, offset)
	p.done = append(p.done, false)
	p.seqs = append(p.seqs, seq)
	t.bySeq[seq] = tp
	t.open++
	return seq
}

// ack marks a record acknowledged (written, or deliberately dropped).
// Acking an unknown or already acked handle does nothing.
func (t *offsetTracker) ack(seq uint64) {
	tp, ok := t.bySeq[seq]
	if !ok {
		return
	}
	delete(t.bySeq, seq)
	t.open--
	p := t.parts[tp]
	// Handles within a partition are increasing, so a binary search finds it.
	lo, hi := 0, len(p.seqs)
	for lo < hi {
		m := (lo + hi) / 2
		if p.seqs[m] < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(p.seqs) && p.seqs[lo] == seq {
		p.done[lo] = true
	}
	n := 0
	for n < len(p.done) && p.done[n] {
		n++
	}
	if n > 0 {
		p.offsets = p.offsets[n:]
		p.done = p.done[n:]
		p.seqs = p.seqs[n:]
	}
	if len(p.offsets) == 0 {
		delete(t.parts, tp)
	}
}

// committable returns, for each partition in current, the offset safe to
// commit: the first record still waiting, or current itself when nothing
// of that partition waits (records before it were written, dropped on
// purpose or filtered before Put).
func (t *offsetTracker) committable(current map[connect.TopicPartition]int64) map[connect.TopicPartition]int64 {
	out := make(map[connect.TopicPartition]int64, len(current))
	for tp, off := range current {
		if p := t.parts[tp]; p != nil && len(p.offsets) > 0 {
			out[tp] = min(p.offsets[0], off)
			continue
		}
		out[tp] = off
	}
	return out
}

// waiting reports whether any record of tp is unacknowledged.
func (t *offsetTracker) waiting(tp connect.TopicPartition) bool { return t.parts[tp] != nil }

// drop forgets partitions (revoked); their late acks are ignored.
func (t *offsetTracker) drop(tps ...connect.TopicPartition) {
	for _, tp := range tps {
		p := t.parts[tp]
		if p == nil {
			continue
		}
		for i, seq := range p.seqs {
			if !p.done[i] {
				delete(t.bySeq, seq)
				t.open--
			}
		}
		delete(t.parts, tp)
	}
}
