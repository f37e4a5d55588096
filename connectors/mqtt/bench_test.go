package mqtt

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tributary-io/tributary/internal/testenv"
)

// BenchmarkTaskThroughput measures MQTT → Poll → CommitRecord for 200-byte
// payloads, without Kafka: the connector's own ceiling on this broker.
func BenchmarkTaskThroughput(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run("qos"+strconv.Itoa(int(qos)), func(b *testing.B) {
			broker := testenv.MQTT(b)
			name := "bench_" + strconv.FormatInt(time.Now().UnixNano(), 36)
			topic := "tributary-test/" + name
			raw := map[string]string{ServerURIConfig: broker, KafkaTopicConfig: "bench", TopicsConfig: topic,
				QoSConfig: strconv.Itoa(int(qos)), CleanSessionConfig: "false"}
			cfg, err := ConfigDef.Parse(maps.Clone(raw))
			if err != nil {
				b.Fatal(err)
			}
			task := NewTask()
			if err := task.Start(context.Background(), cfg, fakeTaskCtx{name, 0, discardLogger()}); err != nil {
				b.Fatal(err)
			}
			defer task.Stop()
			pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(name + "-pub"))
			if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
				b.Fatal(tok.Error())
			}
			defer pub.Disconnect(100)
			payload := []byte(`{"car_id":"car-00001","speed":` + strings.Repeat("1", 170) + `}`)[:200]
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			go func() {
				window := make(chan paho.Token, 512)
				go func() {
					for tok := range window {
						tok.Wait()
					}
				}()
				for i := 0; i < b.N; i++ {
					window <- pub.Publish(topic, qos, false, payload)
				}
				close(window)
			}()
			got := 0
			deadline := time.Now().Add(60 * time.Second)
			for got < b.N && time.Now().Before(deadline) {
				recs, err := task.Poll(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					_ = task.CommitRecord(r, true)
				}
				got += len(recs)
			}
			b.StopTimer()
			if qos > 0 && got < b.N {
				b.Fatalf("received %d of %d", got, b.N)
			}
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
