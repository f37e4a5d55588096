package distributed

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tributary-io/tributary/worker"
)

func offsetsDone(base, name string, tasks, last int) bool {
	code, b := call(base, http.MethodGet, "/connectors/"+name+"/offsets", nil)
	var offs worker.ConnectorOffsets
	if code != 200 || json.Unmarshal(b, &offs) != nil || len(offs.Offsets) != tasks {
		return false
	}
	for _, o := range offs.Offsets {
		if o.Offset["n"] != float64(last) {
			return false
		}
	}
	return true
}

// TestScaleOutAndFullRestart adds a fourth worker (only the minimum moves,
// nothing else restarts), then stops every worker and starts a new cluster
// on the same topics: connectors, statuses and offsets come back.
func TestScaleOutAndFullRestart(t *testing.T) {
	props := clusterProps(t, nil)
	nodes := []*node{startNode(t, props), startNode(t, props), startNode(t, props)}
	name := uniq("spread")
	mustCall(t, nodes[1].url, http.MethodPost, "/connectors", map[string]any{"name": name, "config": spreadConfig(uniq("t"), 6, 20)}, http.StatusCreated)
	waitFor(t, "2 tasks on each of 3 workers", 30*time.Second, func() bool {
		per, ok := allTasks(nodes[2].url, name, 6, worker.StateRunning)
		return ok && len(per) == 3
	})
	waitFor(t, "every task committed offset 19", 30*time.Second, func() bool { return offsetsDone(nodes[0].url, name, 6, 19) })
	before := starts(name)
	ownersBefore := taskOwners(t, nodes[0].url, name)

	fourth := startNode(t, props)
	var per map[string]int
	waitFor(t, "a task RUNNING on the fourth worker", 30*time.Second, func() bool {
		var ok bool
		per, ok = allTasks(nodes[0].url, name, 6, worker.StateRunning)
		return ok && per[fourth.id] > 0
	})
	time.Sleep(2 * time.Second) // let any further (unwanted) movement happen
	after := starts(name)
	ownersAfter := taskOwners(t, nodes[0].url, name)
	moved := 0
	for i := range 6 {
		restarts := len(after[i]) - len(before[i])
		if ownersAfter[i] == ownersBefore[i] {
			if restarts != 0 {
				t.Errorf("task %d stayed on %s but was restarted %d times", i, ownersAfter[i], restarts)
			}
			continue
		}
		moved++
		if restarts != 1 || ownersAfter[i] != fourth.id {
			t.Errorf("task %d moved %s → %s with %d starts; want one start on the new worker", i, ownersBefore[i], ownersAfter[i], restarts)
		}
		if st := after[i][len(after[i])-1]; st.offset != 19 {
			t.Errorf("moved task %d resumed from offset %d, want 19", i, st.offset)
		}
	}
	if moved != 1 || per[fourth.id] != 1 {
		t.Fatalf("%d tasks moved, %v per worker; want exactly 1 moved to the new worker (6 tasks over 4 workers: 2,2,1,1)", moved, per)
	}
	t.Logf("after scale-out: %v", per)

	// Full stop, then a fresh cluster on the same topics.
	for _, n := range append(nodes, fourth) {
		n.stop()
	}
	preRestart := starts(name)
	again := []*node{startNode(t, props), startNode(t, props), startNode(t, props)}
	var names []string
	if err := json.Unmarshal(mustCall(t, again[0].url, http.MethodGet, "/connectors", nil, 200), &names); err != nil || len(names) != 1 || names[0] != name {
		t.Fatalf("connectors after restart: %v", names)
	}
	waitFor(t, "6 tasks RUNNING on the new workers", 30*time.Second, func() bool {
		per, ok := allTasks(again[1].url, name, 6, worker.StateRunning)
		if !ok {
			return false
		}
		for _, n := range again {
			if per[n.id] != 2 {
				return false
			}
		}
		return true
	})
	if !offsetsDone(again[2].url, name, 6, 19) {
		t.Fatal("offsets did not survive the restart")
	}
	final := starts(name)
	for i := range 6 {
		// Workers join one after another, so a task may start on the first
		// and move once the others arrive; what matters is that it runs and
		// resumed from the committed offset.
		if len(final[i]) <= len(preRestart[i]) {
			t.Fatalf("task %d never started after the restart", i)
		}
		t.Logf("task %d started %d time(s) after the restart", i, len(final[i])-len(preRestart[i]))
		if st := final[i][len(final[i])-1]; st.offset != 19 {
			t.Fatalf("task %d resumed from offset %d after the restart, want 19", i, st.offset)
		}
	}
}
