package mqtt

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
)

// ownBroker is a Mosquitto this test starts on a spare port, so restarting
// it does not disturb other tests on the shared broker.
type ownBroker struct {
	t    *testing.T
	conf string
	addr string
	cmd  *exec.Cmd
}

func startOwnBroker(t *testing.T) *ownBroker {
	t.Helper()
	testenv.MQTT(t) // same prerequisites as the shared broker
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Fatal("mosquitto binary not found (apt package mosquitto)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
user %s
persistence true
persistence_location %s/
persistence_file mosquitto.db
max_queued_messages 100000
max_inflight_messages 1000
log_dest file %s/mosquitto.log
`, port, u.Username, dir, dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &ownBroker{t: t, conf: conf, addr: "127.0.0.1:" + strconv.Itoa(port)}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *ownBroker) uri() string { return "tcp://" + b.addr }

func (b *ownBroker) start() {
	b.t.Helper()
	b.cmd = exec.Command(mosquittoPath(), "-c", b.conf)
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("start mosquitto: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto on %s did not come up: %v", b.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the broker by its pid with SIGTERM, on which Mosquitto writes
// its persistence file.
func (b *ownBroker) stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

func mosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return "/usr/sbin/mosquitto"
}

// TestBrokerRestart: the task reconnects by itself, its persistent session
// survives the restart (Mosquitto persistence), messages it held
// unacknowledged are redelivered, and new messages keep flowing.
func TestBrokerRestart(t *testing.T) {
	b := startOwnBroker(t)
	name := unique(t)
	topic := "tributary-test/" + name + "/data"
	task := startTask(t, b.uri(), name, 0, map[string]string{TopicsConfig: topic, QoSConfig: "1",
		CleanSessionConfig: "false", ReconnectMaxConfig: "500", ConnectTimeoutConfig: "2"})

	pub := publisher(t, b.uri())
	publish(t, pub, topic, 1, false, numbered("before", 0, 40)...)
	got := collect(t, task, 40, false, 20*time.Second)
	if len(got) != 40 {
		t.Fatalf("got %d records before the restart, want 40", len(got))
	}
	for _, r := range got[:25] {
		_ = task.CommitRecord(r, true)
	}
	task.flushAcks() // the broker must have the 25 acks before it goes down
	unacked := payloads(got[25:])

	b.stop()
	b.start()

	deadline := time.Now().Add(20 * time.Second)
	for !task.client.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("task did not reconnect after the broker restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Kafka confirms the old records late; their acks are for a dead
	// connection, which is why the broker redelivers them.
	for _, r := range got[25:] {
		_ = task.CommitRecord(r, true)
	}
	pub2 := publisher(t, b.uri())
	after := numbered("after", 0, 40)
	publish(t, pub2, topic, 1, false, after...)

	want := map[string]bool{}
	for p := range unacked {
		want[p] = true
	}
	for _, p := range after {
		want[p] = true
	}
	seen := map[string]int{}
	deadline = time.Now().Add(30 * time.Second)
	for len(seen) < len(want) && time.Now().Before(deadline) {
		for p, n := range payloads(collect(t, task, 1, true, time.Second)) {
			seen[p] += n
		}
	}
	for p := range want {
		if seen[p] == 0 {
			t.Errorf("%s lost across the broker restart", p)
		}
	}
	for p := range seen {
		if !want[p] {
			t.Errorf("%s redelivered although acknowledged before the restart", p)
		}
	}
	if task.InFlight() != 0 {
		t.Errorf("%d messages still in flight", task.InFlight())
	}
}
