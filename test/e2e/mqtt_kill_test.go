package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/internal/testenv"
)

// highWatermark sums the end offsets of a topic's partitions.
func highWatermark(t *testing.T, bootstrap, topic string) int64 {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": uniq("hw")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md, err := c.GetMetadata(&topic, false, 5000)
	if err != nil || md.Topics[topic].Error.Code() != kafka.ErrNoError {
		return 0
	}
	var sum int64
	for _, p := range md.Topics[topic].Partitions {
		_, high, err := c.QueryWatermarkOffsets(topic, p.ID, 5000)
		if err == nil {
			sum += high
		}
	}
	return sum
}

// A worker SIGKILLed while cars publish 20,000 QoS 1 messages loses none of
// them: nothing is acknowledged to Mosquitto before Kafka has it, and the
// persistent session keeps the rest until the task comes back.
func TestMQTTSourceSurvivesSIGKILL(t *testing.T) {
	bootstrap, broker := testenv.Kafka(t), testenv.MQTT(t)
	const n = 20000
	id := uniq("kill")
	topic := "mqtt-" + id
	dir := t.TempDir()
	workerProps, port := standaloneConfig(t, bootstrap, byteValues)
	conn := writeFile(t, filepath.Join(dir, "mqtt.json"), fmt.Sprintf(`{"name": "cars-%s", "config": {
		"connector.class": "io.confluent.connect.mqtt.MqttSourceConnector",
		"mqtt.server.uri": %q, "mqtt.topics": "e2e/%s/#", "kafka.topic": %q,
		"mqtt.qos": "1", "mqtt.clean.session.enabled": "false"}}`, id, broker, id, topic))

	w := startWorker(t, port, "standalone", workerProps, conn)
	waitRunning(t, w.url, "cars-"+id)

	sim := exec.Command(binary(t), "simulate", "--broker", broker, "--topic-prefix", "e2e/"+id, "--count", fmt.Sprint(n),
		"--rate", "2500", "--qos", "1", "--cars", "50", "--seed", "7", "--summary-json")
	var simOut strings.Builder
	sim.Stdout = &simOut
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()
	t.Cleanup(func() { _ = sim.Process.Kill() })

	waitUntil(t, "records flowing into Kafka", 60*time.Second, func() bool { return highWatermark(t, bootstrap, topic) >= 3000 })
	w.kill()
	atKill := highWatermark(t, bootstrap, topic)
	select {
	case err := <-simDone:
		if err != nil {
			t.Fatalf("simulator failed: %v\n%s", err, simOut.String())
		}
	case <-time.After(120 * time.Second):
		t.Fatal("simulator did not finish")
	}
	var summary struct {
		Sent   int64 `json:"sent"`
		Errors int64 `json:"errors"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(simOut.String())), &summary); err != nil || summary.Sent != n || summary.Errors != 0 {
		t.Fatalf("simulator summary %q: %v", simOut.String(), err)
	}

	w2 := startWorker(t, port, "standalone", workerProps, conn)
	waitRunning(t, w2.url, "cars-"+id)
	// Every reading is unique (car id + timestamp), so distinct values count
	// what arrived; stop once all are there and the topic's end is reached.
	seen := map[string]struct{}{}
	msgs := consumeUntil(t, bootstrap, topic, 90*time.Second, func(ms []*kafka.Message) bool {
		if len(ms) > 0 {
			seen[string(ms[len(ms)-1].Value)] = struct{}{}
		}
		return len(seen) >= n && int64(len(ms)) >= highWatermark(t, bootstrap, topic)
	})
	distinct := distinctValues(msgs)
	if distinct != n {
		t.Fatalf("Kafka holds %d distinct readings of %d published (%d records in all; %d when killed)", distinct, n, len(msgs), atKill)
	}
	t.Logf("killed at %d records in Kafka; after restart %d records, %d distinct, %d duplicates", atKill, len(msgs), distinct, len(msgs)-distinct)
}

func waitRunning(t *testing.T, base, name string) {
	t.Helper()
	waitUntil(t, name+" RUNNING", 60*time.Second, func() bool {
		var st struct {
			Connector struct{ State string }
			Tasks     []struct{ State string }
		}
		if getJSON(t, base+"/connectors/"+name+"/status", &st) != 200 || st.Connector.State != "RUNNING" || len(st.Tasks) == 0 {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State != "RUNNING" {
				return false
			}
		}
		return true
	})
}
