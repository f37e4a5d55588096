// Command tributary-bench is `make bench`: it measures Tributary on loopback
// against the real services (Kafka, Mosquitto, Elasticsearch, ONNX Runtime)
// and puts every figure beside its limit measured in the same run:
//
//   - MQTT → Kafka msgs/s and latency, QoS 0 and 1, 200-byte JSON payloads
//     (limits: a plain paho subscriber draining the same load; a raw
//     librdkafka producer, acks=all);
//   - Kafka → Elasticsearch docs/s through the ES sink (limit: the same
//     documents as raw bulk requests, same batch size and concurrency);
//   - the transform chain ns/record and batched anomaly scoring rows/s
//     (limit: a bare ONNX Runtime session), from the packages' go test
//     benchmarks;
//   - the demo pipeline at a fixed rate: MQTT publish → searchable in
//     Elasticsearch, p50/p99;
//   - worker RSS idle and under load, and start → REST ready.
//
// Results: <out>/<UTC timestamp>.json and <out>/latest.json, the table in
// <out>/latest.md and, with --readme, between the result markers of that file.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin      string
	root     string
	out      string
	readme   string
	kafka    string
	mqtt     string
	es       string
	only     string
	msgs     int
	esDocs   int
	latRate  float64
	latDur   time.Duration
	pipeRate float64
	pipeDur  time.Duration
	noScore  bool
	starts   int
	command  string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/tributary", "the tributary binary")
	flag.StringVar(&o.root, "root", ".", "repository root (for go test and models/)")
	flag.StringVar(&o.out, "out", "bench/results", "results directory")
	flag.StringVar(&o.readme, "readme", "", "README to update between the result markers (empty: none)")
	flag.StringVar(&o.kafka, "kafka", envOr("TRIBUTARY_KAFKA", "127.0.0.1:9092"), "Kafka bootstrap servers")
	flag.StringVar(&o.mqtt, "mqtt", envOr("TRIBUTARY_MQTT", "tcp://127.0.0.1:1883"), "MQTT broker")
	flag.StringVar(&o.es, "es", envOr("TRIBUTARY_ES", "http://127.0.0.1:9200"), "Elasticsearch URL")
	flag.StringVar(&o.only, "only", "", "comma-separated sections to run (startup,gotest,mqtt,es,pipeline); empty = all")
	flag.IntVar(&o.msgs, "msgs", 60000, "messages per MQTT throughput run")
	flag.IntVar(&o.esDocs, "es-docs", 100000, "documents per Kafka → Elasticsearch run")
	flag.Float64Var(&o.latRate, "latency-rate", 1000, "msgs/s of the paced MQTT → Kafka latency runs")
	flag.DurationVar(&o.latDur, "latency-duration", 10*time.Second, "length of the paced MQTT → Kafka latency runs")
	flag.Float64Var(&o.pipeRate, "pipeline-rate", 1000, "msgs/s of the demo pipeline run")
	flag.DurationVar(&o.pipeDur, "pipeline-duration", 20*time.Second, "length of the demo pipeline run")
	flag.BoolVar(&o.noScore, "pipeline-no-score", false, "leave the anomaly transform out of the pipeline (diagnosis)")
	flag.IntVar(&o.starts, "starts", 5, "worker starts timed for start → REST ready")
	flag.StringVar(&o.command, "command", "make bench", "the command recorded in the results")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (o options) want(section string) bool {
	if o.only == "" {
		return true
	}
	for _, s := range strings.Split(o.only, ",") {
		if strings.TrimSpace(s) == section {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options) error {
	var err error
	if o.root, err = filepath.Abs(o.root); err != nil {
		return err
	}
	if o.bin, err = filepath.Abs(o.bin); err != nil {
		return err
	}
	res := &Results{StartedAt: time.Now().UTC(), Command: o.command, Details: map[string]any{}}
	res.Machine = machine()
	res.Versions = versions(ctx, o)
	log.Printf("machine: %s; load average %s", res.Machine.CPU, res.Machine.LoadAvgStart)

	if err := os.MkdirAll(filepath.Join(o.root, "bench", "tmp"), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Join(o.root, "bench", "tmp"), "run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if o.want("gotest") {
		if err := benchGoTest(ctx, o, res); err != nil {
			return fmt.Errorf("go test benchmarks: %w", err)
		}
	}
	if o.want("startup") {
		if err := benchStartup(ctx, o, tmp, res); err != nil {
			return fmt.Errorf("startup: %w", err)
		}
	}
	// Every load section gets a fresh worker, so each phase's RSS is its own
	// (Go keeps freed heap for minutes) and one section cannot slow the next.
	peaks := map[string]float64{}
	peak := 0.0
	section := func(name string, fn func(*worker, *rssSampler) error) error {
		if !o.want(name) {
			return nil
		}
		w, err := startWorker(ctx, o, tmp, name)
		if err != nil {
			return err
		}
		defer w.stop()
		rss := newRSSSampler(w.pid())
		defer rss.stop()
		if name == "mqtt" || len(peaks) == 0 && !o.want("mqtt") {
			rss.phase("idle")
			time.Sleep(3 * time.Second)
			res.add(Figure{Section: "worker", Name: "worker RSS, idle (no connectors, 3 s after ready)", Value: rss.now(), Unit: "MB",
				Note: "VmRSS from /proc/<pid>/status"})
		}
		rss.phase("")
		if err := fn(w, rss); err != nil {
			res.WorkerLogTail = w.logTail(3000)
			return fmt.Errorf("%s: %w", name, err)
		}
		rss.phase("")
		p, byPhase := rss.peaks()
		peak = max(peak, p)
		for k, v := range byPhase {
			peaks[k] = v
		}
		res.WorkerLogTail = w.logTail(3000)
		return nil
	}
	if err := section("mqtt", func(w *worker, rss *rssSampler) error { return benchMQTTKafka(ctx, o, w, rss, res) }); err != nil {
		return err
	}
	if err := section("es", func(w *worker, rss *rssSampler) error { return benchKafkaES(ctx, o, w, rss, res) }); err != nil {
		return err
	}
	if err := section("pipeline", func(w *worker, rss *rssSampler) error { return benchPipeline(ctx, o, w, rss, res) }); err != nil {
		return err
	}
	if len(peaks) > 0 {
		res.Details["worker_rss_peak_mb_by_phase"] = peaks
		met := "met"
		if peak >= 150 {
			met = "NOT met"
		}
		res.add(Figure{Section: "worker", Name: "worker RSS, peak under load (worst load phase)", Value: peak, Unit: "MB",
			Target: "< 150 MB: " + met, Note: fmt.Sprintf("sampled every 200 ms; fresh worker per section; peak per phase: %s", mustJSON(peaks))})
	}
	res.FinishedAt = time.Now().UTC()
	res.Machine.LoadAvgEnd = loadavg()
	return res.write(o)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
