package worker

import (
	"testing"
)

func TestSubmittedCommitsOnlyContiguousAcks(t *testing.T) {
	s := newSubmitted()
	pa := map[string]any{"p": "a"}
	pb := map[string]any{"p": "b"}
	var ra, rb []*submittedRecord
	for i := range 3 {
		r, err := s.submit("c", pa, map[string]any{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		ra = append(ra, r)
		r, _ = s.submit("c", pb, map[string]any{"n": i})
		rb = append(rb, r)
	}
	s.ack(ra[1]) // out of order: nothing of a is committable yet
	s.ack(rb[0])
	got := s.committable()
	if len(got) != 1 || got[0].Partition["p"] != "b" || got[0].Offset["n"] != 0 {
		t.Fatalf("after acks a1,b0: got %v, want only b@0", got)
	}
	s.ack(ra[0])
	got = s.committable()
	if len(got) != 1 || got[0].Partition["p"] != "a" || got[0].Offset["n"] != 1 {
		t.Fatalf("after ack a0: got %v, want a@1", got)
	}
	if n := s.pending(); n != 3 {
		t.Fatalf("pending = %d, want 3 (a2, b1, b2)", n)
	}
	if len(s.committable()) != 0 {
		t.Fatal("nothing new was acked, yet something is committable")
	}
	if r, err := s.submit("c", nil, nil); r != nil || err != nil {
		t.Fatalf("records without source partition must not be tracked, got %v %v", r, err)
	}
}
