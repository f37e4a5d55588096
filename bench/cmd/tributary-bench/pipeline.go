package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/simulate"
)

// readingTime is the publish time a carsim reading carries: the simulator
// stamps each reading with time.Now() just before publishing it
// (millisecond precision, truncated).
func readingTime(b []byte) (string, time.Time, error) {
	var v struct {
		CarID     string `json:"car_id"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", time.Time{}, err
	}
	t, err := time.Parse(carsim.TimestampLayout, v.Timestamp)
	return v.CarID + "@" + v.Timestamp, t, err
}

// seqWatcher finds documents as they become searchable in a one-shard
// index: every poll asks for _seq_no above the highest number below which
// everything was already seen (so a document that became visible after a
// later one is still found), and records the first time each was seen.
type seqWatcher struct {
	es        *elastic.Client
	index     string
	contig    int64 // every seq_no ≤ contig was seen
	seen      map[int64]bool
	firstSeen map[string]sighting // reading id → when published and first seen
	dups      int
}

type sighting struct{ pub, seen time.Time }

func (s *seqWatcher) poll(ctx context.Context) error {
	for {
		res, err := s.es.Search(s.index).Query(elastic.NewRangeQuery("_seq_no").Gt(s.contig)).
			Sort("_seq_no", true).Size(5000).FetchSourceContext(elastic.NewFetchSourceContext(true).Include("car_id", "timestamp")).
			SeqNoAndPrimaryTerm(true).Do(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, h := range res.Hits.Hits {
			if h.SeqNo == nil || s.seen[*h.SeqNo] {
				continue
			}
			s.seen[*h.SeqNo] = true
			id, pub, err := readingTime(h.Source)
			if err != nil {
				return fmt.Errorf("document %s: %w", h.Id, err)
			}
			if _, ok := s.firstSeen[id]; ok {
				s.dups++
				continue
			}
			s.firstSeen[id] = sighting{pub, now}
		}
		for s.seen[s.contig+1] {
			delete(s.seen, s.contig+1)
			s.contig++
		}
		if len(res.Hits.Hits) < 5000 {
			return nil
		}
	}
}

func benchPipeline(ctx context.Context, o options, w *worker, rss *rssSampler, res *Results) error {
	es, err := esClient(o.es)
	if err != nil {
		return err
	}
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	topic := "bench-pipe-" + id
	index := topic
	prefix := "bench/pipe-" + id
	const partitions = 2
	if err := createTopic(ctx, o.kafka, topic, partitions, true); err != nil {
		return err
	}
	defer deleteTopics(o.kafka, topic)
	if err := createIndex(ctx, es, o.root, index); err != nil {
		return err
	}
	defer func() { _, _ = es.DeleteIndex(index).Do(context.Background()) }()

	model := filepath.Join(o.root, "models", "car_autoencoder.onnx")
	sinkCfg := map[string]string{
		"connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector", "tasks.max": "1",
		"topics": topic, "connection.url": o.es, "key.ignore": "true", "schema.ignore": "true",
		"transforms": "score", "transforms.score.type": "io.tributary.connect.transforms.AnomalyScore$Value",
		"transforms.score.model.path": model,
	}
	if o.noScore {
		delete(sinkCfg, "transforms")
	}
	if lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH"); lib != "" && !o.noScore {
		sinkCfg["transforms.score.onnxruntime.library.path"] = lib
	}
	srcName, sinkName := "bench-pipe-src-"+id, "bench-pipe-sink-"+id
	rss.phase("pipeline")
	defer rss.phase("")
	if err := w.createConnector(ctx, sinkName, sinkCfg); err != nil {
		return err
	}
	defer w.deleteConnector(context.Background(), sinkName)
	if err := w.createConnector(ctx, srcName, map[string]string{
		"connector.class": "io.confluent.connect.mqtt.MqttSourceConnector", "tasks.max": "1",
		"mqtt.server.uri": o.mqtt, "mqtt.topics": prefix + "/#", "kafka.topic": topic,
		"mqtt.qos": "1", "mqtt.clean.session.enabled": "false",
		"mqtt.payload.format": "json", "mqtt.key.source": "field", "mqtt.key.field": "car_id",
	}); err != nil {
		return err
	}
	defer w.deleteConnector(context.Background(), srcName)
	time.Sleep(time.Second) // subscription and consumer group settle

	// publish → Kafka (LogAppendTime), by an independent consumer.
	var kmu sync.Mutex
	var kafkaLat []float64
	kafkaAt := map[string]time.Time{}
	cctx, cancel := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() {
		consumed <- consumeTopic(cctx, o.kafka, topic, partitions, func(m *kafka.Message) {
			rid, pub, err := readingTime(m.Value)
			if err != nil {
				return
			}
			kmu.Lock()
			if _, dup := kafkaAt[rid]; !dup {
				kafkaAt[rid] = m.Timestamp
				kafkaLat = append(kafkaLat, float64(m.Timestamp.Sub(pub).Microseconds())/1000)
			}
			kmu.Unlock()
		})
	}()
	stopConsumer := sync.OnceFunc(func() { cancel(); <-consumed })
	defer stopConsumer()

	// publish → searchable in Elasticsearch.
	watch := &seqWatcher{es: es, index: index, contig: -1, seen: map[int64]bool{}, firstSeen: map[string]sighting{}}
	type pubOut struct {
		s   simulate.Summary
		err error
	}
	pubDone := make(chan pubOut, 1)
	meter := newCPUMeter(w.pid())
	go func() {
		s, err := simulate.Run(ctx, simulate.Options{Broker: o.mqtt, TopicPrefix: prefix, Format: simulate.FormatJSON,
			Cars: 100, Rate: o.pipeRate, Duration: o.pipeDur, QoS: 1, FailureRate: 0.05, Seed: 1, Clients: 2, Window: 256}, nil)
		pubDone <- pubOut{s, err}
	}()
	var sum simulate.Summary
	published := false
	var lastNew time.Time
	for {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
		before := len(watch.firstSeen)
		if err := watch.poll(ctx); err != nil {
			return err
		}
		if len(watch.firstSeen) > before || lastNew.IsZero() {
			lastNew = time.Now()
		}
		if !published {
			select {
			case p := <-pubDone:
				if p.err != nil {
					return p.err
				}
				sum, published = p.s, true
				lastNew = time.Now()
			default:
			}
			continue
		}
		if int64(len(watch.firstSeen)) >= sum.Sent || time.Since(lastNew) > 20*time.Second {
			break
		}
		if err := w.checkConnector(ctx, sinkName); err != nil {
			return err
		}
	}
	cores := meter.cores()
	if err := w.checkConnector(ctx, srcName); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // let the checker consumer catch up
	stopConsumer()

	// Latencies: first seen in ES − reading timestamp; and the split at Kafka.
	var e2e, kafkaToES []float64
	// p50 per 2 s of publish time: flat = a constant delay, rising = a
	// backlog (the pipeline falls behind the rate).
	var t0 time.Time
	for _, s := range watch.firstSeen {
		if t0.IsZero() || s.pub.Before(t0) {
			t0 = s.pub
		}
	}
	buckets := map[int][]float64{}
	kmu.Lock()
	for rid, s := range watch.firstSeen {
		ms := float64(s.seen.Sub(s.pub).Microseconds()) / 1000
		e2e = append(e2e, ms)
		b := int(s.pub.Sub(t0) / (2 * time.Second))
		buckets[b] = append(buckets[b], ms)
		if at, ok := kafkaAt[rid]; ok {
			kafkaToES = append(kafkaToES, float64(s.seen.Sub(at).Microseconds())/1000)
		}
	}
	pubToKafka := summarize(kafkaLat)
	kmu.Unlock()
	e2eL, k2e := summarize(e2e), summarize(kafkaToES)
	var series []float64
	for i := 0; i < len(buckets); i++ {
		series = append(series, summarize(buckets[i]).P50)
	}
	lost := sum.Sent - int64(len(watch.firstSeen))
	res.Details["pipeline"] = map[string]any{"published": sum, "searchable": len(watch.firstSeen), "duplicates_in_es": watch.dups,
		"missing": lost, "publish_to_searchable": e2eL, "publish_to_kafka": pubToKafka, "kafka_to_searchable": k2e,
		"poll_interval_ms": 100, "cores": cores, "e2e_p50_ms_per_2s_of_publish_time": series, "es_refresh_interval": "1s (default)", "anomaly_model": "models/car_autoencoder.onnx"}
	log.Printf("  pipeline: sent %d (%.0f/s), searchable %d, dups %d; e2e %+v; pub→kafka %+v; kafka→es %+v; e2e p50 per 2 s %v; cores %v",
		sum.Sent, sum.AvgRate, len(watch.firstSeen), watch.dups, e2eL, pubToKafka, k2e, series, cores)
	if lost != 0 {
		log.Printf("  pipeline: %d published readings not found in Elasticsearch", lost)
	}
	desc := fmt.Sprintf("at %.0f msgs/s for %s (QoS 1, 100 cars, anomaly SMT on the sink)", o.pipeRate, o.pipeDur)
	note := fmt.Sprintf("%d sent, %d searchable, %d missing; ES polled every 100 ms (`_seq_no` > seen), index refresh 1 s; worker %.2f cores", sum.Sent, len(watch.firstSeen), lost, cores["worker"])
	res.add(Figure{Section: "demo pipeline", Name: "MQTT publish → searchable in ES, p50 " + desc, Value: e2eL.P50, Unit: "ms", Note: note})
	res.add(Figure{Section: "demo pipeline", Name: "MQTT publish → searchable in ES, p99", Value: e2eL.P99, Unit: "ms",
		Note: fmt.Sprintf("split: publish → Kafka append p50/p99 %.1f/%.1f ms; Kafka append → searchable p50/p99 %.0f/%.0f ms",
			pubToKafka.P50, pubToKafka.P99, k2e.P50, k2e.P99)})
	return nil
}
