package distributed

import (
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/worker"
)

func tasksOf(conn string, n int) []worker.ConnectorTaskID {
	var out []worker.ConnectorTaskID
	for i := range n {
		out = append(out, worker.ConnectorTaskID{Connector: conn, Task: i})
	}
	return out
}

func owners(a map[string]WorkerAssignment) map[worker.ConnectorTaskID]string {
	out := map[worker.ConnectorTaskID]string{}
	for w, wa := range a {
		for _, t := range wa.Tasks {
			out[t] = w
		}
	}
	return out
}

func TestPlan(t *testing.T) {
	six := tasksOf("c", 6)
	even := func(ws ...string) map[string]WorkerAssignment {
		// c-0,c-1 → ws[0]; c-2,c-3 → ws[1]; …
		out := map[string]WorkerAssignment{}
		for i, w := range ws {
			out[w] = WorkerAssignment{Tasks: six[2*i : 2*i+2]}
		}
		return out
	}
	tests := []struct {
		name      string
		prev      map[string]WorkerAssignment
		active    []string
		held      map[string]bool
		tasks     []worker.ConnectorTaskID
		wantLoads map[string]int
		maxMoves  int // tasks whose owner changed among those whose owner stayed alive
		wantLost  int
	}{
		{name: "fresh cluster spreads evenly", active: []string{"a", "b", "c"}, tasks: six,
			wantLoads: map[string]int{"a": 2, "b": 2, "c": 2}},
		{name: "stable cluster moves nothing", prev: even("a", "b", "c"), active: []string{"a", "b", "c"}, tasks: six,
			wantLoads: map[string]int{"a": 2, "b": 2, "c": 2}},
		{name: "dead worker's tasks go to survivors only", prev: even("a", "b", "c"), active: []string{"b", "c"}, tasks: six,
			wantLoads: map[string]int{"b": 3, "c": 3}, wantLost: 2},
		{name: "new worker takes the minimum", prev: even("a", "b", "c"), active: []string{"a", "b", "c", "d"}, tasks: six,
			wantLoads: map[string]int{"a": 2, "b": 2, "c": 1, "d": 1}, maxMoves: 1},
		{name: "held worker keeps its tasks while it may return", prev: even("a", "b", "c"), active: []string{"a", "b"},
			held: map[string]bool{"c": true}, tasks: six, wantLoads: map[string]int{"a": 2, "b": 2, "c": 2}},
		{name: "grown connector fills the least loaded", prev: even("a", "b", "c"), active: []string{"a", "b", "c"},
			tasks: tasksOf("c", 9), wantLoads: map[string]int{"a": 3, "b": 3, "c": 3}},
		{name: "no workers assigns nothing", prev: even("a", "b", "c"), tasks: six, wantLoads: map[string]int{}, wantLost: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, _, lost := plan(tt.prev, tt.active, tt.held, []string{"c"}, tt.tasks)
			loads := map[string]int{}
			for w, a := range next {
				if len(a.Tasks) > 0 {
					loads[w] = len(a.Tasks)
				}
			}
			if fmt.Sprint(loads) != fmt.Sprint(tt.wantLoads) {
				t.Fatalf("loads = %v, want %v (assignment %+v)", loads, tt.wantLoads, next)
			}
			if len(lost) != tt.wantLost {
				t.Fatalf("lost = %v, want %d", lost, tt.wantLost)
			}
			before, after := owners(tt.prev), owners(next)
			assigned := 0
			moves := 0
			alive := map[string]bool{}
			for _, w := range tt.active {
				alive[w] = true
			}
			for id, w := range after {
				assigned++
				if old, ok := before[id]; ok && alive[old] && old != w {
					moves++
				}
			}
			if assigned != len(tt.tasks) && len(tt.active) > 0 {
				t.Fatalf("%d of %d tasks assigned", assigned, len(tt.tasks))
			}
			if moves > tt.maxMoves {
				t.Fatalf("%d tasks of live workers moved, want at most %d", moves, tt.maxMoves)
			}
			connOwners := 0
			for _, a := range next {
				connOwners += len(a.Connectors)
			}
			if want := min(1, len(tt.active)+len(tt.held)); connOwners != want {
				t.Fatalf("connector assigned %d times, want %d", connOwners, want)
			}
		})
	}
}

func TestParseTaskKey(t *testing.T) {
	tests := []struct {
		in   string
		want worker.ConnectorTaskID
		ok   bool
	}{
		{"my-conn-3", worker.ConnectorTaskID{Connector: "my-conn", Task: 3}, true},
		{"c-0", worker.ConnectorTaskID{Connector: "c", Task: 0}, true},
		{"c-x", worker.ConnectorTaskID{}, false},
		{"-1", worker.ConnectorTaskID{}, false},
		{"c--1", worker.ConnectorTaskID{Connector: "c-", Task: 1}, true},
	}
	for _, tt := range tests {
		got, ok := parseTaskKey(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseTaskKey(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestElectLeader(t *testing.T) {
	a := groupMember{clientID: "http://a:1#x"}
	b := groupMember{clientID: "http://b:1#x", ownsP0: true}
	if l, _ := electLeader([]groupMember{a, b}); l.clientID != b.clientID {
		t.Fatalf("leader = %s, want the owner of partition 0", l.clientID)
	}
	b.ownsP0 = false
	if l, _ := electLeader([]groupMember{b, a}); l.clientID != a.clientID {
		t.Fatalf("leader = %s, want the smallest client id while partition 0 has no owner", l.clientID)
	}
	if _, ok := electLeader(nil); ok {
		t.Fatal("a leader without members")
	}
}
