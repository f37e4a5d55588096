package distributed

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/worker"
)

const childEnv = "TRIBUTARY_DIST_CHILD_PROPS"

// TestMain doubles as a worker process for the kill test: with childEnv set,
// the test binary runs one worker with the test plugins until killed.
func TestMain(m *testing.M) {
	if props := os.Getenv(childEnv); props != "" {
		os.Exit(runChild(props))
	}
	os.Exit(m.Run())
}

func runChild(propsJSON string) int {
	var props map[string]string
	if err := json.Unmarshal([]byte(propsJSON), &props); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	n, err := runWorker(ctx, props, testRegistry(), log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Printf("URL=%s\n", n.url)
	<-ctx.Done()
	n.stop()
	return 0
}

// startChild runs a worker in a child process (the test binary itself).
func startChild(t *testing.T, props map[string]string, logPath string) *node {
	t.Helper()
	b, _ := json.Marshal(props)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL="); ok {
				urlc <- u
			}
		}
	}()
	select {
	case u := <-urlc:
		n := &node{url: u, id: strings.TrimPrefix(u, "http://"), proc: cmd.Process}
		waitFor(t, "child "+n.id+" healthy", 30*time.Second, func() bool {
			code, _ := call(n.url, http.MethodGet, "/health", nil)
			return code == 200
		})
		return n
	case <-time.After(60 * time.Second):
		t.Fatalf("child worker did not start; see %s", logPath)
	}
	return nil
}

// TestSIGKILLFailover kills -9 the leader, which also runs tasks, and
// measures how long until all of its tasks run on the survivors. It uses
// Kafka Connect's default session.timeout.ms (10 s) and heartbeat (3 s).
func TestSIGKILLFailover(t *testing.T) {
	props := clusterProps(t, map[string]string{SessionTimeoutConfig: "10000", HeartbeatIntervalConfig: "3000"})
	dir := t.TempDir()
	var nodes []*node
	for i := range 3 { // started in turn: the first one leads
		nodes = append(nodes, startChild(t, props, filepath.Join(dir, fmt.Sprintf("worker-%d.log", i))))
	}
	victim, survivors := nodes[0], nodes[1:]
	name := uniq("spread")
	mustCall(t, survivors[0].url, http.MethodPost, "/connectors", map[string]any{"name": name, "config": spreadConfig(uniq("t"), 6, 0)}, http.StatusCreated)
	waitFor(t, "2 tasks on each worker", 30*time.Second, func() bool {
		per, ok := allTasks(survivors[1].url, name, 6, worker.StateRunning)
		return ok && per[victim.id] == 2 && per[survivors[0].id] == 2 && per[survivors[1].id] == 2
	})
	logb, _ := os.ReadFile(filepath.Join(dir, "worker-0.log"))
	if !strings.Contains(string(logb), "published assignment") {
		t.Fatalf("worker 0 is not the leader; its log:\n%s", logb)
	}

	killed := time.Now()
	if err := victim.proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var elapsed time.Duration
	waitFor(t, "all tasks RUNNING on the survivors", 40*time.Second, func() bool {
		per, ok := allTasks(survivors[0].url, name, 6, worker.StateRunning)
		if ok && per[victim.id] == 0 {
			elapsed = time.Since(killed)
			return true
		}
		return false
	})
	t.Logf("failover after SIGKILL of the leader: all 6 tasks RUNNING on the survivors %.1f s after the kill (session.timeout.ms=10000)", elapsed.Seconds())
	per, _ := allTasks(survivors[1].url, name, 6, worker.StateRunning)
	if per[survivors[0].id] != 3 || per[survivors[1].id] != 3 {
		t.Fatalf("tasks per worker after failover %v, want 3 and 3", per)
	}
	// Writes work again through the new leader, from either survivor.
	mustCall(t, survivors[1].url, http.MethodPut, "/connectors/"+name+"/pause", nil, http.StatusAccepted)
	waitFor(t, "PAUSED after failover", 20*time.Second, func() bool { _, ok := allTasks(survivors[0].url, name, 6, worker.StatePaused); return ok })
}
