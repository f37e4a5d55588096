// Package e2e runs the real tributary binary against the real services.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/tributary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "tributary-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tributary")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/tributary")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, rand.IntN(1e6))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a worker started by a test; it is killed at cleanup if still running.
type process struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	url  string
}

// standaloneConfig writes a standalone worker config listening on a free
// port, with extra properties appended; it returns the path and the port.
func standaloneConfig(t *testing.T, bootstrap, extra string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	path := writeFile(t, filepath.Join(dir, "worker.properties"), fmt.Sprintf("bootstrap.servers=%s\nlisteners=http://127.0.0.1:%d\noffset.storage.file.filename=%s\n%s",
		bootstrap, port, filepath.Join(dir, "offsets.json"), extra))
	return path, port
}

// Converter settings the tests use.
const (
	stringConverters = "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n"
	jsonValues       = "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n"
	byteValues       = "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func startWorker(t *testing.T, port int, args ...string) *process {
	t.Helper()
	return startWorkerWith(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d", port), args...)
}

// startWorkerWith starts a worker and waits until base/health answers 200.
func startWorkerWith(t *testing.T, client *http.Client, base string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	level := os.Getenv("TRIBUTARY_E2E_LOG_LEVEL") // DEBUG to see more when a test fails
	if level == "" {
		level = "INFO"
	}
	cmd.Env = append(os.Environ(), "TRIBUTARY_LOG_LEVEL="+level)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &log, done: make(chan struct{}), url: base}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(); p.dumpOnFailure(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := client.Get(p.url + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("worker exited during start:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker not healthy within 60s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *process) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker did not stop within 30s of SIGTERM:\n%s", p.log.String())
	}
}

func (p *process) dumpOnFailure(t *testing.T) {
	if t.Failed() {
		t.Logf("worker log:\n%s", tail(p.log.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// produce writes values to topic with an idempotent producer and waits for every ack.
func produce(t *testing.T, bootstrap, topic string, values []string) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "enable.idempotence": true, "linger.ms": 5})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan kafka.Event, len(values))
	for _, v := range values {
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: []byte(v)}, done); err != nil {
			t.Fatal(err)
		}
	}
	for range values {
		if m := (<-done).(*kafka.Message); m.TopicPartition.Error != nil {
			t.Fatal(m.TopicPartition.Error)
		}
	}
}

// consumeUntil reads a topic from the beginning with an independent
// consumer group until done says so or the timeout passes; done is called
// after every message read, so it should do constant work per call.
func consumeUntil(t *testing.T, bootstrap, topic string, timeout time.Duration, done func([]*kafka.Message) bool) []*kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": uniq("e2e-check"),
		"auto.offset.reset": "earliest", "enable.auto.commit": false})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var out []*kafka.Message
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err != nil {
			continue
		}
		out = append(out, m)
		if done(out) {
			break
		}
	}
	return out
}

// distinctValues counts different message values.
func distinctValues(msgs []*kafka.Message) int {
	seen := make(map[string]struct{}, len(msgs))
	for _, m := range msgs {
		seen[string(m.Value)] = struct{}{}
	}
	return len(seen)
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if v != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return res.StatusCode
}

func sendJSON(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
