package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	paho "github.com/eclipse/paho.mqtt.golang"
)

const (
	payloadSize  = 200
	pubClients   = 2
	pubWindow    = 512
	idleTimeout  = 8 * time.Second // nothing new arrived for this long after publishing ended: done
	drainTimeout = 90 * time.Second
)

// payload is a 200-byte JSON object carrying its publish time in ns.
func payload(buf []byte, client, seq int, pubNs int64) []byte {
	buf = append(buf[:0], `{"car_id":"car-`...)
	buf = strconv.AppendInt(buf, int64(10000+client), 10)
	buf = append(buf, `","seq":`...)
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, `,"pub_ns":`...)
	buf = strconv.AppendInt(buf, pubNs, 10)
	buf = append(buf, `,"pad":"`...)
	for len(buf) < payloadSize-2 {
		buf = append(buf, 'x')
	}
	return append(buf, '"', '}')
}

var pubKey = []byte(`"pub_ns":`)

func parsePubNs(b []byte) int64 {
	i := bytes.Index(b, pubKey)
	if i < 0 {
		return 0
	}
	var n int64
	for _, c := range b[i+len(pubKey):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// collector gathers arrivals: count, first publish, last arrival, latencies.
type collector struct {
	mu       sync.Mutex
	n        int
	lastArr  int64
	lat      []float64 // ms
	lastSeen atomic.Int64
}

func (c *collector) add(pubNs, arrNs int64) {
	c.mu.Lock()
	c.n++
	if arrNs > c.lastArr {
		c.lastArr = arrNs
	}
	c.lat = append(c.lat, float64(arrNs-pubNs)/1e6)
	c.mu.Unlock()
	c.lastSeen.Store(time.Now().UnixNano())
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait blocks until want arrived, or nothing arrived for idleTimeout, or
// drainTimeout passed.
func (c *collector) wait(ctx context.Context, want int) {
	deadline := time.Now().Add(drainTimeout)
	c.lastSeen.Store(time.Now().UnixNano())
	for c.count() < want && time.Now().Before(deadline) {
		if time.Since(time.Unix(0, c.lastSeen.Load())) > idleTimeout {
			return
		}
		if sleep(ctx, 20*time.Millisecond) != nil {
			return
		}
	}
}

type loadResult struct {
	Kind      string  `json:"kind"` // burst or paced
	QoS       int     `json:"qos"`
	Sent      int     `json:"sent"`
	Received  int     `json:"received"`
	Seconds   float64 `json:"seconds"` // first publish → last arrival
	MsgsPerS  float64 `json:"msgs_per_s"`
	PubPerS   float64 `json:"publish_rate"`
	Latency   latency `json:"latency"`
	RateAsked float64 `json:"rate_asked,omitempty"`
	// Cores used per process (and the machine) from first publish to the
	// last arrival, and the worker's CPU per message.
	Cores          map[string]float64 `json:"cores"`
	WorkerCPUUsMsg float64            `json:"worker_cpu_us_per_msg,omitempty"`
}

func (r *loadResult) meter(m *cpuMeter, worker bool) {
	r.Cores = m.cores()
	if worker && r.Received > 0 {
		r.WorkerCPUUsMsg = round3(m.cpuSeconds("worker") / float64(r.Received) * 1e6)
	}
}

func (c *collector) result(kind string, qos, sent int, firstPub time.Time, pubDur time.Duration, rate float64) loadResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := loadResult{Kind: kind, QoS: qos, Sent: sent, Received: c.n, Latency: summarize(c.lat), RateAsked: rate}
	if c.n > 0 {
		r.Seconds = float64(c.lastArr-firstPub.UnixNano()) / 1e9
		r.MsgsPerS = round3(float64(c.n) / r.Seconds)
		r.Seconds = round3(r.Seconds)
	}
	if pubDur > 0 {
		r.PubPerS = round3(float64(sent) / pubDur.Seconds())
	}
	return r
}

// publish sends n messages (rate 0: as fast as the window allows; else
// paced, absolute schedule) from pubClients connections to prefix/c<i>, and
// returns the count the broker took (acknowledged for QoS 1), the first
// publish time and how long publishing took.
func publish(ctx context.Context, broker, prefix string, qos byte, n int, rate float64) (int, time.Time, time.Duration, error) {
	conns := make([]paho.Client, pubClients)
	for i := range conns {
		opts := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("bench-pub-%d-%d", time.Now().UnixNano()%1e9, i)).
			SetOrderMatters(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second)
		conns[i] = paho.NewClient(opts)
		if tok := conns[i].Connect(); tok.Wait() && tok.Error() != nil {
			return 0, time.Time{}, 0, tok.Error()
		}
		defer conns[i].Disconnect(250)
	}
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i, cl := range conns {
		share := n / pubClients
		if i < n%pubClients {
			share++
		}
		wg.Go(func() {
			window := make(chan paho.Token, pubWindow)
			var drained sync.WaitGroup
			drained.Go(func() {
				for tok := range window {
					if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
						sent.Add(1)
					}
				}
			})
			topic := prefix + "/c" + strconv.Itoa(i)
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * pubClients / rate)
			}
			buf := make([]byte, 0, payloadSize)
			for s := range share {
				if interval > 0 {
					if d := time.Until(start.Add(time.Duration(s) * interval)); d > 0 {
						time.Sleep(d)
					}
				}
				if ctx.Err() != nil {
					break
				}
				buf = payload(buf, i, s, time.Now().UnixNano())
				window <- cl.Publish(topic, qos, false, append([]byte(nil), buf...))
			}
			close(window)
			drained.Wait()
		})
	}
	wg.Wait()
	return int(sent.Load()), start, time.Since(start), ctx.Err()
}

// subscriberRun is the MQTT-side limit: a plain paho subscriber draining
// the same load from Mosquitto (arrival = the handler's clock).
func subscriberRun(ctx context.Context, broker string, workerPID int, qos byte, n int, rate float64, kind string) (loadResult, error) {
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	prefix := "bench/sub-" + id
	var c collector
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID("bench-sub-" + id).SetCleanSession(true)
	sub := paho.NewClient(opts)
	if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
		return loadResult{}, tok.Error()
	}
	defer sub.Disconnect(250)
	if tok := sub.Subscribe(prefix+"/#", qos, func(_ paho.Client, m paho.Message) {
		c.add(parsePubNs(m.Payload()), time.Now().UnixNano())
	}); tok.Wait() && tok.Error() != nil {
		return loadResult{}, tok.Error()
	}
	m := newCPUMeter(workerPID)
	sent, first, dur, err := publish(ctx, broker, prefix, qos, n, rate)
	if err != nil {
		return loadResult{}, err
	}
	c.wait(ctx, sent)
	r := c.result(kind, int(qos), sent, first, dur, rate)
	r.meter(m, false)
	return r, nil
}

func createTopic(ctx context.Context, bootstrap, topic string, partitions int, logAppendTime bool) error {
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	if err != nil {
		return err
	}
	defer a.Close()
	spec := kafka.TopicSpecification{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1, Config: map[string]string{}}
	if logAppendTime {
		spec.Config["message.timestamp.type"] = "LogAppendTime"
	}
	res, err := a.CreateTopics(ctx, []kafka.TopicSpecification{spec}, kafka.SetAdminOperationTimeout(30*time.Second))
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrTopicAlreadyExists {
			return r.Error
		}
	}
	return nil
}

func deleteTopics(bootstrap string, topics ...string) {
	a, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	if err != nil {
		return
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = a.DeleteTopics(ctx, topics)
}

// consumeTopic reads every partition of topic from the beginning until ctx
// ends, calling fn for each message.
func consumeTopic(ctx context.Context, bootstrap, topic string, partitions int, fn func(*kafka.Message)) error {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": "bench-check-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"enable.auto.commit": false, "go.logs.channel.enable": false, "fetch.wait.max.ms": 50})
	if err != nil {
		return err
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for p := range partitions {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: int32(p), Offset: kafka.OffsetBeginning})
	}
	if err := c.Assign(tps); err != nil {
		return err
	}
	for ctx.Err() == nil {
		ev := c.Poll(100)
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error == nil {
			fn(m)
		}
	}
	return nil
}

// tributaryRun pushes the load through an MqttSource connector of the
// worker into a fresh LogAppendTime topic; arrival = the record's broker
// append time.
func tributaryRun(ctx context.Context, o options, w *worker, qos byte, n int, rate float64, kind string) (loadResult, error) {
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	topic := "bench-mqtt-" + id
	prefix := "bench/trib-" + id
	if err := createTopic(ctx, o.kafka, topic, 1, true); err != nil {
		return loadResult{}, err
	}
	defer deleteTopics(o.kafka, topic)
	var c collector
	var badTS atomic.Int64
	cctx, cancel := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() {
		consumed <- consumeTopic(cctx, o.kafka, topic, 1, func(m *kafka.Message) {
			if m.TimestampType != kafka.TimestampLogAppendTime {
				badTS.Add(1)
			}
			c.add(parsePubNs(m.Value), m.Timestamp.UnixNano())
		})
	}()
	defer func() { cancel(); <-consumed }()
	clean := "true"
	if qos > 0 {
		clean = "false"
	}
	name := "bench-mqtt-" + id
	err := w.createConnector(ctx, name, map[string]string{
		"connector.class": "io.confluent.connect.mqtt.MqttSourceConnector", "tasks.max": "1",
		"mqtt.server.uri": o.mqtt, "mqtt.topics": prefix + "/#", "kafka.topic": topic,
		"mqtt.qos": strconv.Itoa(int(qos)), "mqtt.clean.session.enabled": clean,
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	})
	if err != nil {
		return loadResult{}, err
	}
	defer w.deleteConnector(context.Background(), name)
	time.Sleep(500 * time.Millisecond) // subscription settles
	m := newCPUMeter(w.pid())
	sent, first, dur, err := publish(ctx, o.mqtt, prefix, qos, n, rate)
	if err != nil {
		return loadResult{}, err
	}
	c.wait(ctx, sent)
	r := c.result(kind, int(qos), sent, first, dur, rate)
	r.meter(m, true)
	if err := w.checkConnector(ctx, name); err != nil {
		return loadResult{}, err
	}
	if b := badTS.Load(); b > 0 {
		return loadResult{}, fmt.Errorf("%d records without LogAppendTime", b)
	}
	return r, nil
}

// rawProduce is the Kafka-side limit: librdkafka (confluent-kafka-go)
// producing n 200-byte messages, acks=all, the worker's producer settings
// (idempotence, linger.ms 5), to a fresh one-partition topic.
func rawProduce(ctx context.Context, bootstrap string, n int) (float64, error) {
	topic := "bench-raw-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if err := createTopic(ctx, bootstrap, topic, 1, false); err != nil {
		return 0, err
	}
	defer deleteTopics(bootstrap, topic)
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": true,
		"linger.ms": 5, "queue.buffering.max.kbytes": 65536, "go.delivery.report.fields": "none"})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	done := make(chan error, 1)
	go func() {
		got := 0
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				if m.TopicPartition.Error != nil {
					done <- m.TopicPartition.Error
					return
				}
				if got++; got == n {
					done <- nil
					return
				}
			}
		}
	}()
	buf := make([]byte, 0, payloadSize)
	start := time.Now()
	for i := range n {
		buf = payload(buf, 0, i, time.Now().UnixNano())
		for {
			err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: append([]byte(nil), buf...)}, nil)
			if err == nil {
				break
			}
			if e, ok := err.(kafka.Error); ok && e.Code() == kafka.ErrQueueFull {
				time.Sleep(time.Millisecond)
				continue
			}
			return 0, err
		}
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, err
		}
	case <-time.After(60 * time.Second):
		return 0, fmt.Errorf("raw produce: not all %d delivered within 60 s", n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func benchMQTTKafka(ctx context.Context, o options, w *worker, rss *rssSampler, res *Results) error {
	rawN := max(o.msgs*3, 100000)
	rss.phase("")
	raw, err := rawProduce(ctx, o.kafka, rawN)
	if err != nil {
		return err
	}
	res.Details["raw_produce"] = map[string]any{"messages": rawN, "msgs_per_s": round3(raw)}
	log.Printf("raw librdkafka produce: %.0f msgs/s", raw)
	paced := int(o.latRate * o.latDur.Seconds())
	var runs []loadResult
	for _, qos := range []byte{0, 1} {
		rss.phase("")
		sub, err := subscriberRun(ctx, o.mqtt, w.pid(), qos, o.msgs, 0, "burst")
		if err != nil {
			return err
		}
		subLat, err := subscriberRun(ctx, o.mqtt, w.pid(), qos, paced, o.latRate, "paced")
		if err != nil {
			return err
		}
		rss.phase(fmt.Sprintf("mqtt-kafka-qos%d", qos))
		trib, err := tributaryRun(ctx, o, w, qos, o.msgs, 0, "burst")
		if err != nil {
			return err
		}
		tribLat, err := tributaryRun(ctx, o, w, qos, paced, o.latRate, "paced")
		if err != nil {
			return err
		}
		rss.phase("")
		for _, r := range []*loadResult{&sub, &subLat, &trib, &tribLat} {
			log.Printf("  qos %d %s: %+v", qos, r.Kind, *r)
		}
		runs = append(runs, sub, subLat, trib, tribLat)
		q := strconv.Itoa(int(qos))
		lossNote := func(r loadResult) string {
			if r.Received < r.Sent {
				return fmt.Sprintf("; %d of %d arrived (QoS 0 is best effort)", r.Received, r.Sent)
			}
			return ""
		}
		// The limit is the lower of the two sides: what Mosquitto delivers
		// to a plain subscriber, and what librdkafka produces.
		limName, lim := "paho subscriber draining the same load", sub.MsgsPerS
		other := fmt.Sprintf("%.0f %% of raw librdkafka produce (%.0f msgs/s)", trib.MsgsPerS/raw*100, raw)
		if raw < lim {
			limName, lim = "raw librdkafka produce", raw
			other = fmt.Sprintf("%.0f %% of the paho subscriber (%.0f msgs/s)", trib.MsgsPerS/sub.MsgsPerS*100, sub.MsgsPerS)
		}
		res.add(Figure{Section: "MQTT → Kafka", Name: "QoS " + q + " msgs/s (burst of " + strconv.Itoa(o.msgs) + ")", Value: trib.MsgsPerS, Unit: "msgs/s",
			LimitName: limName, LimitValue: lim,
			Note: fmt.Sprintf("first publish → last Kafka append; %s%s; worker %.0f µs CPU/msg (%.2f cores), Kafka %.2f, Mosquitto %.2f cores, machine busy %.2f of %d cores (subscriber run: %.2f)",
				other, lossNote(trib), trib.WorkerCPUUsMsg, trib.Cores["worker"], trib.Cores["kafka"], trib.Cores["mosquitto"], trib.Cores["machine"], res.Machine.Cores, sub.Cores["machine"])})
		res.add(Figure{Section: "MQTT → Kafka", Name: fmt.Sprintf("QoS %s latency p50 at %.0f msgs/s", q, o.latRate), Value: tribLat.Latency.P50, Unit: "ms",
			Note: fmt.Sprintf("publish → Kafka LogAppendTime; paho subscriber p50 %.2f ms%s", subLat.Latency.P50, lossNote(tribLat))})
		res.add(Figure{Section: "MQTT → Kafka", Name: fmt.Sprintf("QoS %s latency p99 at %.0f msgs/s", q, o.latRate), Value: tribLat.Latency.P99, Unit: "ms",
			Note: fmt.Sprintf("paho subscriber p99 %.2f ms; burst p50/p99 %.0f/%.0f ms (queueing)", subLat.Latency.P99, trib.Latency.P50, trib.Latency.P99)})
	}
	res.add(Figure{Section: "MQTT → Kafka", Name: "raw librdkafka produce, 200 B, acks=all (limit)", Value: raw, Unit: "msgs/s",
		Note: fmt.Sprintf("%d messages, idempotent, linger.ms 5, one partition", rawN)})
	res.Details["mqtt_kafka_runs"] = runs
	return nil
}
