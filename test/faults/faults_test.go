// Package faults is the fault-injection suite (`make test-faults`): it
// restarts the shared Kafka, Mosquitto and Elasticsearch, so it runs alone,
// after the other tests, and only when TRIBUTARY_FAULTS=1.
package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/internal/testenv"
)

var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

func services(t *testing.T, args ...string) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("bash", append([]string{filepath.Join(root, "scripts/services.sh")}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh %v: %v\n%s", args, err, out)
	}
	t.Logf("services.sh %s took %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

type worker struct {
	cmd  *exec.Cmd
	log  bytes.Buffer
	done chan struct{}
	url  string
}

func startWorker(t *testing.T, bin string, port int, args ...string) *worker {
	t.Helper()
	w := &worker{cmd: exec.Command(bin, args...), done: make(chan struct{}), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(w.url + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return w
			}
		}
		select {
		case <-w.done:
			t.Fatalf("worker exited during start:\n%s", w.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker not healthy:\n%s", w.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *worker) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

func (w *worker) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// publisher sends readings with unique ids at a steady rate; a message
// counts as published only once the broker acknowledged it, and is retried
// until then (a broker restart in between is expected).
type publisher struct {
	client    paho.Client
	topic     string
	published sync.Map // id → true
	count     atomic.Int64
	bad       atomic.Int64
	stop      chan struct{}
	done      chan struct{}
}

var idPattern = regexp.MustCompile(`(?:good|bad)-\d+`)

func malformed(i int64) []byte {
	id := fmt.Sprintf("bad-%d", i)
	switch (i / 100) % 5 { // every 100th message is malformed, in turn each kind
	case 0: // invalid JSON
		return []byte(fmt.Sprintf(`{"id": %q, "speed": `, id))
	case 1: // wrong types for the index template's numeric fields
		return []byte(fmt.Sprintf(`{"id": %q, "speed": "fast", "coolant_temp": {"x": 1}}`, id))
	case 2: // invalid UTF-8 inside a string
		return append(append([]byte(fmt.Sprintf(`{"id": %q, "car_id": "`, id)), 0xff, 0xfe, 0xfd), []byte(`"}`)...)
	case 3: // about 1 MB
		return []byte(fmt.Sprintf(`{"id": %q, "blob": %q}`, id, strings.Repeat("x", 1000*1000)))
	default: // 1,000 levels deep
		return []byte(fmt.Sprintf(`{"id": %q, "n": %s1%s}`, id, strings.Repeat(`{"a":`, 1000), strings.Repeat("}", 1000)))
	}
}

func startPublisher(t *testing.T, broker, topic string, rate int) *publisher {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("faults-pub-%d", rand.IntN(1e9))).
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(time.Second).SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	p := &publisher{client: c, topic: topic, stop: make(chan struct{}), done: make(chan struct{})}
	gen, err := carsim.New(carsim.Options{Cars: 50, Seed: 11, FailureRate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			var id string
			var payload []byte
			if i%100 == 99 { // 1 % malformed
				id, payload = fmt.Sprintf("bad-%d", i), malformed(i)
				p.bad.Add(1)
			} else {
				r := gen.Next(time.Now())
				m := r.Map()
				id = fmt.Sprintf("good-%d", i)
				m["id"] = id
				payload, _ = json.Marshal(m)
			}
			for {
				tok := c.Publish(fmt.Sprintf("%s/%d", topic, i%50), 1, false, payload)
				if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
					break
				}
				select {
				case <-p.stop:
					return // unacknowledged: not counted as published
				case <-time.After(200 * time.Millisecond):
				}
			}
			p.published.Store(id, true)
			p.count.Add(1)
		}
	}()
	t.Cleanup(func() { p.halt(); c.Disconnect(100) })
	return p
}

func (p *publisher) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// esIDs returns the ids of every document of an index.
func esIDs(t *testing.T, es, index string) map[string]bool {
	t.Helper()
	if res, err := http.Post(es+"/"+index+"/_refresh", "application/json", nil); err == nil {
		res.Body.Close()
	}
	ids := map[string]bool{}
	body := `{"size": 10000, "_source": false, "sort": ["_doc"]}`
	res, err := http.Post(es+"/"+index+"/_search?scroll=1m", "application/json", strings.NewReader(body))
	if err != nil {
		return ids
	}
	for {
		var out struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					ID string `json:"_id"`
				} `json:"hits"`
			} `json:"hits"`
		}
		err := json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err != nil || len(out.Hits.Hits) == 0 {
			return ids
		}
		for _, h := range out.Hits.Hits {
			ids[h.ID] = true
		}
		res, err = http.Post(es+"/_search/scroll", "application/json", strings.NewReader(fmt.Sprintf(`{"scroll": "1m", "scroll_id": %q}`, out.ScrollID)))
		if err != nil {
			return ids
		}
	}
}

// dlqIDs reads dead-letter topics and returns the ids found in the values.
type dlqReader struct {
	c   *kafka.Consumer
	ids map[string]bool
}

func newDLQReader(t *testing.T, bootstrap string, topics ...string) *dlqReader {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": fmt.Sprintf("faults-dlq-%d", rand.IntN(1e9)),
		"auto.offset.reset": "earliest", "enable.auto.commit": false, "topic.metadata.refresh.interval.ms": 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SubscribeTopics(topics, nil); err != nil {
		t.Fatal(err)
	}
	return &dlqReader{c: c, ids: map[string]bool{}}
}

func (d *dlqReader) drain() map[string]bool {
	for {
		m, err := d.c.ReadMessage(300 * time.Millisecond)
		if err != nil {
			return d.ids
		}
		if id := idPattern.Find(m.Value); id != nil {
			d.ids[string(id)] = true
		}
	}
}

func TestFaultInjection(t *testing.T) {
	if os.Getenv("TRIBUTARY_FAULTS") == "" {
		t.Skip("restarts the shared services; run with `make test-faults` (TRIBUTARY_FAULTS=1)")
	}
	bootstrap, broker, es := testenv.Kafka(t), testenv.MQTT(t), testenv.Elasticsearch(t)
	bin := filepath.Join(t.TempDir(), "tributary")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd/tributary")).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	id := fmt.Sprintf("f%d", rand.IntN(1e9))
	topic, index := "sensor-data-faults-"+id, "sensor-data-faults-"+id
	srcDLQ, sinkDLQ := "faults-src-dlq-"+id, "faults-sink-dlq-"+id
	t.Cleanup(func() {
		req, _ := http.NewRequest("DELETE", es+"/"+index, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	})
	dir := t.TempDir()
	port := freePort(t)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	props := write("worker.properties", fmt.Sprintf(`bootstrap.servers=%s
listeners=http://127.0.0.1:%d
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename=%s
offset.flush.interval.ms=1000
`, bootstrap, port, filepath.Join(dir, "offsets.json")))
	source := write("source.json", fmt.Sprintf(`{"name": "faults-src-%[1]s", "config": {
  "connector.class": "MqttSource", "mqtt.server.uri": %[2]q, "mqtt.topics": "faults/%[1]s/#", "kafka.topic": %[3]q,
  "mqtt.qos": "1", "mqtt.clean.session.enabled": "false", "mqtt.payload.format": "bytes",
  "mqtt.key.source": "field", "mqtt.key.field": "id", "mqtt.payload.invalid.behavior": "bytes",
  "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
  "errors.tolerance": "all", "errors.deadletterqueue.topic.name": %[4]q, "errors.deadletterqueue.topic.replication.factor": "1",
  "errors.deadletterqueue.context.headers.enable": "true"}}`, id, broker, topic, srcDLQ))
	sink := write("sink.json", fmt.Sprintf(`{"name": "faults-sink-%[1]s", "config": {
  "connector.class": "ElasticsearchSink", "topics": %[2]q, "connection.url": %[3]q, "schema.ignore": "true",
  "index.template.file": %[5]q, "index.template.name": "car-sensors",
  "behavior.on.malformed.documents": "warn", "drop.invalid.message": "false", "read.timeout.ms": "10000",
  "errors.tolerance": "all", "errors.deadletterqueue.topic.name": %[4]q, "errors.deadletterqueue.topic.replication.factor": "1",
  "errors.deadletterqueue.context.headers.enable": "true"}}`, id, topic, es, sinkDLQ, filepath.Join(root, "config-examples/elasticsearch/car-sensors-template.json")))

	w := startWorker(t, bin, port, "standalone", props, source, sink)
	var maxRSS float64
	var rssMu sync.Mutex
	sample := func(w *worker) {
		rssMu.Lock()
		defer rssMu.Unlock()
		maxRSS = max(maxRSS, w.rssMB())
	}
	time.Sleep(2 * time.Second)
	pub := startPublisher(t, broker, "faults/"+id, 300)
	watch := func(w *worker, d time.Duration) {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			if !w.alive() {
				t.Fatalf("worker crashed:\n%s", w.log.String())
			}
			sample(w)
			time.Sleep(time.Second)
		}
	}
	watch(w, 8*time.Second)
	services(t, "restart", "kafka")
	watch(w, 10*time.Second)
	services(t, "restart", "mqtt")
	watch(w, 10*time.Second)
	services(t, "down", "es")
	watch(w, 60*time.Second)
	services(t, "up", "es")
	watch(w, 10*time.Second)
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
	t.Logf("worker SIGKILLed with %d published", pub.count.Load())
	w = startWorker(t, bin, port, "standalone", props, source, sink)
	watch(w, 10*time.Second)
	pub.halt()
	published := pub.count.Load()
	t.Logf("published %d messages (%d malformed); waiting for every one to be indexed or dead-lettered", published, pub.bad.Load())

	dlq := newDLQReader(t, bootstrap, srcDLQ, sinkDLQ)
	var indexed, dead map[string]bool
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if !w.alive() {
			t.Fatalf("worker crashed:\n%s", w.log.String())
		}
		sample(w)
		indexed, dead = esIDs(t, es, index), dlq.drain()
		if int64(len(indexed)+len(dead)) >= published || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	var missing []string
	pub.published.Range(func(k, _ any) bool {
		if !indexed[k.(string)] && !dead[k.(string)] {
			missing = append(missing, k.(string))
		}
		return len(missing) < 20
	})
	both := 0
	for k := range dead {
		if indexed[k] {
			both++
		}
	}
	t.Logf("published %d = indexed %d + dead-lettered %d (in both: %d); worker max RSS %.0f MB", published, len(indexed), len(dead), both, maxRSS)
	if len(missing) > 0 {
		t.Fatalf("published messages neither indexed nor dead-lettered (first %d): %v", len(missing), missing)
	}
	if int64(len(indexed)+len(dead)-both) != published {
		t.Fatalf("published %d, accounted for %d", published, len(indexed)+len(dead)-both)
	}
	if maxRSS > 400 {
		t.Fatalf("worker memory grew to %.0f MB", maxRSS)
	}
	var st struct {
		Tasks []struct{ State string } `json:"tasks"`
	}
	for _, c := range []string{"faults-src-" + id, "faults-sink-" + id} {
		res, err := http.Get(w.url + "/connectors/" + c + "/status")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if len(st.Tasks) == 0 || st.Tasks[0].State != "RUNNING" {
			t.Fatalf("%s not RUNNING after the faults: %+v", c, st)
		}
	}
}
