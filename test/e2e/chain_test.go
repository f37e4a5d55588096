package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/internal/testenv"
)

// A chain configured exactly as for Kafka Connect — class names, predicates,
// negate — runs through the MQTT source against real Kafka.
func TestKafkaConnectChainThroughRealConnector(t *testing.T) {
	bootstrap, broker := testenv.Kafka(t), testenv.MQTT(t)
	id := uniq("chain")
	dir := t.TempDir()
	props, port := standaloneConfig(t, bootstrap, jsonValues)
	connector := writeFile(t, filepath.Join(dir, "chain.properties"), fmt.Sprintf(`name=%[1]s
connector.class=io.confluent.connect.mqtt.MqttSourceConnector
mqtt.server.uri=%[2]s
mqtt.topics=chain/%[1]s/#
mqtt.qos=1
mqtt.payload.format=json
kafka.topic=%[1]s-other
mqtt.topic.regex.list=%[1]s-keep:chain/%[1]s/keep/.*,%[1]s-drop:chain/%[1]s/drop/.*
transforms=dropTest,rename,stamp,tag,route
transforms.dropTest.type=org.apache.kafka.connect.transforms.Filter
transforms.dropTest.predicate=isDrop
transforms.rename.type=org.apache.kafka.connect.transforms.ReplaceField$Value
transforms.rename.renames=speed:vehicle_speed
transforms.rename.exclude=battery_voltage
transforms.stamp.type=org.apache.kafka.connect.transforms.InsertField$Value
transforms.stamp.static.field=pipeline
transforms.stamp.static.value=tributary
transforms.stamp.predicate=hasQos
transforms.tag.type=org.apache.kafka.connect.transforms.InsertHeader
transforms.tag.header=untouched
transforms.tag.value.literal=yes
transforms.tag.predicate=hasQos
transforms.tag.negate=true
transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
transforms.route.regex=(.*)-keep
transforms.route.replacement=$1-routed
predicates=isDrop,hasQos
predicates.isDrop.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
predicates.isDrop.pattern=.*-drop
predicates.hasQos.type=org.apache.kafka.connect.transforms.predicates.HasHeaderKey
predicates.hasQos.name=mqtt.qos
`, id, broker))
	w := startWorker(t, port, "standalone", props, connector)
	waitRunning(t, w.url, id)

	for _, pub := range []struct {
		sub   string
		count int
	}{{"keep", 100}, {"drop", 50}} {
		out, err := exec.Command(binary(t), "simulate", "--broker", broker, "--topic-prefix", "chain/"+id+"/"+pub.sub,
			"--count", fmt.Sprint(pub.count), "--rate", "0", "--cars", "10", "--summary-json").CombinedOutput()
		if err != nil {
			t.Fatalf("simulate: %v\n%s", err, out)
		}
	}
	routed := consumeUntil(t, bootstrap, id+"-routed", 60*time.Second, func(ms []*kafka.Message) bool { return len(ms) >= 100 })
	if len(routed) != 100 {
		t.Fatalf("routed topic holds %d records, want 100", len(routed))
	}
	for _, m := range routed {
		var v map[string]any
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("value %q: %v", m.Value, err)
		}
		_, hasSpeed := v["speed"]
		_, hasVolt := v["battery_voltage"]
		if v["vehicle_speed"] == nil || hasSpeed || hasVolt || v["pipeline"] != "tributary" || v["car_id"] == nil {
			t.Fatalf("record not transformed as configured: %s", m.Value)
		}
		if _, tagged := headerMap(m)["untouched"]; tagged {
			t.Fatalf("negated predicate applied InsertHeader anyway: %v", headerMap(m))
		}
	}
	// Drop-topic records were filtered: acknowledged to MQTT, never written.
	if hw := highWatermark(t, bootstrap, id+"-drop"); hw != 0 {
		t.Fatalf("filtered records reached Kafka: %d", hw)
	}
	if hw := highWatermark(t, bootstrap, id+"-keep"); hw != 0 {
		t.Fatalf("RegexRouter did not rename the topic: %d records on -keep", hw)
	}
}
