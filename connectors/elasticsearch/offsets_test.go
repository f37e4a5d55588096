package elasticsearch

import (
	"maps"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestOffsetTrackerContiguous(t *testing.T) {
	a := connect.TopicPartition{Topic: "a", Partition: 0}
	b := connect.TopicPartition{Topic: "b", Partition: 1}
	// Records a@10..14 and b@100..101 are added; acks arrive out of order.
	tests := []struct {
		name string
		acks []int // indexes into the added records
		want map[connect.TopicPartition]int64
	}{
		{name: "nothing acked", acks: nil, want: map[connect.TopicPartition]int64{a: 10, b: 100}},
		{name: "later acked first", acks: []int{1, 2, 3}, want: map[connect.TopicPartition]int64{a: 10, b: 100}},
		{name: "gap closes", acks: []int{1, 2, 0}, want: map[connect.TopicPartition]int64{a: 13, b: 100}},
		{name: "all of a", acks: []int{4, 3, 2, 1, 0}, want: map[connect.TopicPartition]int64{a: 20, b: 100}},
		{name: "b tail only", acks: []int{6}, want: map[connect.TopicPartition]int64{a: 10, b: 100}},
		{name: "b all", acks: []int{6, 5}, want: map[connect.TopicPartition]int64{a: 10, b: 150}},
		{name: "double ack harmless", acks: []int{0, 0, 1}, want: map[connect.TopicPartition]int64{a: 12, b: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newOffsetTracker()
			var seqs []uint64
			for off := int64(10); off < 15; off++ {
				seqs = append(seqs, tr.add(a, off))
			}
			seqs = append(seqs, tr.add(b, 100), tr.add(b, 101))
			for _, i := range tt.acks {
				tr.ack(seqs[i])
			}
			// The runtime has consumed up to 20 on a (15..19 filtered) and 150 on b.
			got := tr.committable(map[connect.TopicPartition]int64{a: 20, b: 150})
			if !maps.Equal(got, tt.want) {
				t.Fatalf("committable = %v, want %v", got, tt.want)
			}
			open := len(seqs) - len(uniq(tt.acks))
			if tr.open != open {
				t.Fatalf("open = %d, want %d", tr.open, open)
			}
		})
	}
}

func TestOffsetTrackerDrop(t *testing.T) {
	a := connect.TopicPartition{Topic: "a"}
	tr := newOffsetTracker()
	s1 := tr.add(a, 5)
	tr.add(a, 6)
	tr.drop(a)
	tr.ack(s1) // late ack of a revoked partition
	if tr.open != 0 || tr.waiting(a) {
		t.Fatalf("after drop: open=%d waiting=%v", tr.open, tr.waiting(a))
	}
	if got := tr.committable(map[connect.TopicPartition]int64{a: 7}); got[a] != 7 {
		t.Fatalf("committable = %v", got)
	}
}

func uniq(xs []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}
