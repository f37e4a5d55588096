package distributed

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/worker"
)

// TestClusterOperations runs every REST operation against a three-worker
// cluster, each time through a different worker than the leader.
func TestClusterOperations(t *testing.T) {
	props := clusterProps(t, nil)
	nodes := []*node{startNode(t, props), startNode(t, props), startNode(t, props)}
	leader, followers := leaderAndFollowers(t, nodes)
	f1, f2 := followers[0], followers[1]
	name := uniq("spread")

	// Create through a follower: forwarded to the leader.
	b := mustCall(t, f1.url, http.MethodPost, "/connectors", map[string]any{"name": name, "config": spreadConfig(uniq("t"), 6, 0)}, http.StatusCreated)
	var info worker.ConnectorInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Name != name || info.Type != "source" {
		t.Fatalf("create answered %s", b)
	}
	mustCall(t, f2.url, http.MethodPost, "/connectors", map[string]any{"name": name, "config": spreadConfig("x", 1, 0)}, http.StatusConflict)

	// Read status through another worker: two tasks on each.
	var per map[string]int
	waitFor(t, "6 tasks RUNNING, 2 per worker", 30*time.Second, func() bool {
		var ok bool
		per, ok = allTasks(f2.url, name, 6, worker.StateRunning)
		return ok && len(per) == 3 && per[nodes[0].id] == 2 && per[nodes[1].id] == 2 && per[nodes[2].id] == 2
	})
	for _, n := range nodes { // every worker answers reads from its own view
		waitFor(t, "status on "+n.id, 10*time.Second, func() bool {
			_, ok := allTasks(n.url, name, 6, worker.StateRunning)
			return ok
		})
	}

	// A config update reaches every task.
	cfg := spreadConfig(info.Config["topic"], 6, 0)
	cfg["marker"] = "v2"
	mustCall(t, f2.url, http.MethodPut, "/connectors/"+name+"/config", cfg, http.StatusOK)
	waitFor(t, "all tasks restarted with marker v2", 30*time.Second, func() bool {
		s := starts(name)
		for i := range 6 {
			if l := s[i]; len(l) == 0 || l[len(l)-1].marker != "v2" {
				return false
			}
		}
		_, ok := allTasks(leader.url, name, 6, worker.StateRunning)
		return ok
	})
	var tasks []worker.TaskInfo
	if err := json.Unmarshal(mustCall(t, f1.url, http.MethodGet, "/connectors/"+name+"/tasks", nil, 200), &tasks); err != nil || len(tasks) != 6 || tasks[5].Config["marker"] != "v2" {
		t.Fatalf("task configs %+v", tasks)
	}

	// Pause from one follower, resume from the other.
	mustCall(t, f1.url, http.MethodPut, "/connectors/"+name+"/pause", nil, http.StatusAccepted)
	waitFor(t, "PAUSED", 20*time.Second, func() bool { _, ok := allTasks(f2.url, name, 6, worker.StatePaused); return ok })
	mustCall(t, f2.url, http.MethodPut, "/connectors/"+name+"/resume", nil, http.StatusAccepted)
	waitFor(t, "RUNNING again", 20*time.Second, func() bool { _, ok := allTasks(f1.url, name, 6, worker.StateRunning); return ok })

	// Restart with tasks: every task starts once more.
	before := starts(name)
	b = mustCall(t, f1.url, http.MethodPost, "/connectors/"+name+"/restart?includeTasks=true", nil, http.StatusAccepted)
	if !strings.Contains(string(b), "RESTARTING") {
		t.Fatalf("restart answered %s", b)
	}
	waitFor(t, "every task restarted", 20*time.Second, func() bool {
		s := starts(name)
		for i := range 6 {
			if len(s[i]) != len(before[i])+1 {
				return false
			}
		}
		return true
	})
	mustCall(t, f2.url, http.MethodPost, "/connectors/"+name+"/tasks/4/restart", nil, http.StatusNoContent)
	waitFor(t, "task 4 restarted", 20*time.Second, func() bool { return len(starts(name)[4]) == len(before[4])+2 })
	mustCall(t, f2.url, http.MethodPost, "/connectors/"+name+"/tasks/9/restart", nil, http.StatusNotFound)

	// Offsets: only while STOPPED; altered from one worker, read from another,
	// used by the tasks when they resume.
	code, _ := call(f1.url, http.MethodPatch, "/connectors/"+name+"/offsets", map[string]any{"offsets": []any{}})
	if code != http.StatusBadRequest {
		t.Fatalf("altering offsets while running = %d, want 400", code)
	}
	mustCall(t, f1.url, http.MethodPut, "/connectors/"+name+"/stop", nil, http.StatusNoContent)
	waitFor(t, "STOPPED without tasks", 20*time.Second, func() bool {
		st, ok := status(f2.url, name)
		return ok && st.Connector.State == worker.StateStopped && len(st.Tasks) == 0
	})
	mustCall(t, f2.url, http.MethodPatch, "/connectors/"+name+"/offsets", map[string]any{"offsets": []any{
		map[string]any{"partition": map[string]any{"task": 3}, "offset": map[string]any{"n": 41}}}}, http.StatusOK)
	var offs worker.ConnectorOffsets
	if err := json.Unmarshal(mustCall(t, f1.url, http.MethodGet, "/connectors/"+name+"/offsets", nil, 200), &offs); err != nil ||
		len(offs.Offsets) != 1 || offs.Offsets[0].Offset["n"] != float64(41) {
		t.Fatalf("offsets read through another worker: %+v", offs)
	}
	before = starts(name)
	mustCall(t, leader.url, http.MethodPut, "/connectors/"+name+"/resume", nil, http.StatusAccepted)
	waitFor(t, "RUNNING after stop", 30*time.Second, func() bool { _, ok := allTasks(f2.url, name, 6, worker.StateRunning); return ok })
	waitFor(t, "task 3 resumed from the altered offset", 10*time.Second, func() bool {
		l := starts(name)[3]
		return len(l) > len(before[3]) && l[len(l)-1].offset == 41
	})
	mustCall(t, f2.url, http.MethodPut, "/connectors/"+name+"/stop", nil, http.StatusNoContent)
	mustCall(t, f1.url, http.MethodDelete, "/connectors/"+name+"/offsets", nil, http.StatusOK)
	if err := json.Unmarshal(mustCall(t, f2.url, http.MethodGet, "/connectors/"+name+"/offsets", nil, 200), &offs); err != nil || len(offs.Offsets) != 0 {
		t.Fatalf("offsets after reset: %+v", offs)
	}

	// Delete from a follower: gone everywhere.
	mustCall(t, f2.url, http.MethodDelete, "/connectors/"+name, nil, http.StatusNoContent)
	for _, n := range nodes {
		waitFor(t, "deleted on "+n.id, 10*time.Second, func() bool {
			code, _ := call(n.url, http.MethodGet, "/connectors/"+name, nil)
			return code == http.StatusNotFound
		})
	}
	waitFor(t, "no task left running", 20*time.Second, func() bool {
		for _, n := range nodes {
			if len(n.h.Worker().Tasks()) > 0 {
				return false
			}
		}
		return true
	})
}
