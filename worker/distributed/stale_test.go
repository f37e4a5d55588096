package distributed

import (
	"testing"

	"github.com/tributary-io/tributary/worker"
)

func TestStaleStatus(t *testing.T) {
	running := func(w string, g int64) statusValue {
		return statusValue{State: worker.StateRunning, WorkerID: w, Generation: g}
	}
	unassigned := func(w string, g int64) statusValue {
		return statusValue{State: worker.StateUnassigned, WorkerID: w, Generation: g}
	}
	tests := []struct {
		name     string
		old, new statusValue
		stale    bool
	}{
		{"older generation", running("a", 5), running("b", 4), true},
		{"newer generation", running("a", 5), unassigned("b", 6), false},
		{"own release overwrites own state", running("a", 5), unassigned("a", 5), false},
		{"old owner's release after new owner reported", running("b", 5), unassigned("a", 5), true},
		{"new owner reports after release", unassigned("a", 5), running("b", 5), false},
		{"same generation, other worker running", running("a", 5), running("b", 5), false},
	}
	for _, tt := range tests {
		if got := stale(tt.old, tt.new); got != tt.stale {
			t.Errorf("%s: stale = %v, want %v", tt.name, got, tt.stale)
		}
	}
}

func TestSameAssignmentIgnoresOrder(t *testing.T) {
	t1, t2 := worker.ConnectorTaskID{Connector: "c", Task: 1}, worker.ConnectorTaskID{Connector: "c", Task: 2}
	a := map[string]WorkerAssignment{"w": {Connectors: []string{"x", "y"}, Tasks: []worker.ConnectorTaskID{t1, t2}}}
	b := map[string]WorkerAssignment{"w": {Connectors: []string{"y", "x"}, Tasks: []worker.ConnectorTaskID{t2, t1}}}
	if !sameAssignment(a, b) {
		t.Fatal("the same items in another order must count as the same assignment")
	}
	c := map[string]WorkerAssignment{"w": {Connectors: []string{"x", "y"}, Tasks: []worker.ConnectorTaskID{t1}}}
	if sameAssignment(a, c) {
		t.Fatal("a missing task must count as a change")
	}
}
