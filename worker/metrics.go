package worker

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are Kafka Connect's metric groups in Prometheus form:
// kafka_connect_<group>_<metric>, labelled by connector and task. Kafka
// Connect's *-rate and *-avg metrics are left to PromQL (rate(), and the
// _sum/_count of histograms).
type Metrics struct {
	Registry *prometheus.Registry

	ConnectorStartupAttempts  prometheus.Counter
	ConnectorStartupSuccesses prometheus.Counter
	ConnectorStartupFailures  prometheus.Counter
	TaskStartupAttempts       prometheus.Counter
	TaskStartupSuccesses      prometheus.Counter
	TaskStartupFailures       prometheus.Counter

	SourcePoll        *prometheus.CounterVec
	SourceWrite       *prometheus.CounterVec
	SourceActive      *prometheus.GaugeVec
	SourcePollBatch   *prometheus.HistogramVec
	SinkRead          *prometheus.CounterVec
	SinkSend          *prometheus.CounterVec
	SinkPutBatch      *prometheus.HistogramVec
	SinkOffsetCommits *prometheus.CounterVec
	SinkCommitFails   *prometheus.CounterVec
	SinkLagMax        *prometheus.GaugeVec

	RecordFailures *prometheus.CounterVec
	RecordsSkipped *prometheus.CounterVec
	Retries        *prometheus.CounterVec
	DLQProduced    *prometheus.CounterVec
	DLQFailures    *prometheus.CounterVec
	ErrorsLogged   *prometheus.CounterVec

	Rebalances        prometheus.Counter
	Rebalancing       prometheus.Gauge
	RebalanceTime     prometheus.Histogram
	Epoch             prometheus.Gauge
	Leader            *prometheus.GaugeVec
	ConnectorStatus   *prometheus.GaugeVec
	TaskStatus        *prometheus.GaugeVec
	TaskHealthProblem *prometheus.GaugeVec
}

var taskLabels = []string{"connector", "task"}

// NewMetrics builds the metric set on a fresh registry with Go runtime and
// process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{r}
	batchBuckets := prometheus.ExponentialBuckets(0.0001, 4, 10)
	return &Metrics{
		Registry:                  r,
		ConnectorStartupAttempts:  f.counter("worker", "connector_startup_attempts_total", "Connector starts attempted."),
		ConnectorStartupSuccesses: f.counter("worker", "connector_startup_success_total", "Connector starts that succeeded."),
		ConnectorStartupFailures:  f.counter("worker", "connector_startup_failure_total", "Connector starts that failed."),
		TaskStartupAttempts:       f.counter("worker", "task_startup_attempts_total", "Task starts attempted."),
		TaskStartupSuccesses:      f.counter("worker", "task_startup_success_total", "Task starts that succeeded."),
		TaskStartupFailures:       f.counter("worker", "task_startup_failure_total", "Task starts that failed."),

		SourcePoll:      f.counterVec("source_task", "source_record_poll_total", "Records polled from the source (before transforms).", taskLabels),
		SourceWrite:     f.counterVec("source_task", "source_record_write_total", "Records written to Kafka and acknowledged.", taskLabels),
		SourceActive:    f.gaugeVec("source_task", "source_record_active_count", "Records polled but not yet acknowledged by Kafka.", taskLabels),
		SourcePollBatch: f.histogramVec("source_task", "poll_batch_time_seconds", "Time to poll and process one batch.", taskLabels, batchBuckets),
		SinkRead:        f.counterVec("sink_task", "sink_record_read_total", "Records read from Kafka.", taskLabels),
		SinkSend:        f.counterVec("sink_task", "sink_record_send_total", "Records handed to the sink after transforms.", taskLabels),
		SinkPutBatch:    f.histogramVec("sink_task", "put_batch_time_seconds", "Time of one put of a batch.", taskLabels, batchBuckets),
		SinkOffsetCommits: f.counterVec("sink_task", "offset_commit_completion_total",
			"Offset commits that completed.", taskLabels),
		SinkCommitFails: f.counterVec("sink_task", "offset_commit_failure_total", "Offset commits that failed.", taskLabels),
		SinkLagMax:      f.gaugeVec("sink_task", "sink_record_lag_max", "Largest lag behind the partition end seen in the last batch.", taskLabels),

		RecordFailures: f.counterVec("task_error", "total_record_failures", "Record processing failures.", taskLabels),
		RecordsSkipped: f.counterVec("task_error", "total_records_skipped", "Records skipped because of errors.", taskLabels),
		Retries:        f.counterVec("task_error", "total_retries", "Retried operations.", taskLabels),
		DLQProduced:    f.counterVec("task_error", "deadletterqueue_produce_requests", "Records written to the dead-letter queue.", taskLabels),
		DLQFailures:    f.counterVec("task_error", "deadletterqueue_produce_failures", "Failed writes to the dead-letter queue.", taskLabels),
		ErrorsLogged:   f.counterVec("task_error", "total_errors_logged", "Errors logged.", taskLabels),

		Rebalances:    f.counter("rebalance", "completed_rebalances_total", "Rebalances this worker completed."),
		Rebalancing:   f.gauge("rebalance", "rebalancing", "1 while a rebalance is in progress."),
		RebalanceTime: f.histogram("rebalance", "rebalance_time_seconds", "Duration of rebalances.", prometheus.ExponentialBuckets(0.01, 2, 14)),
		Epoch:         f.gauge("rebalance", "epoch", "Assignment epoch this worker applied."),
		Leader:        f.gaugeVec("rebalance", "leader_info", "1 for the URL of the cluster's current leader (Kafka Connect's leader-name).", []string{"leader"}),
		ConnectorStatus: f.gaugeVec("connector", "status", "1 for the connector's current state.",
			[]string{"connector", "state"}),
		TaskStatus:        f.gaugeVec("connector_task", "status", "1 for the task's current state.", []string{"connector", "task", "state"}),
		TaskHealthProblem: f.gaugeVec("connector_task", "health_problem", "1 while a running task reports a health problem.", taskLabels),
	}
}

type factory struct{ r *prometheus.Registry }

func name(group, metric string) string { return "kafka_connect_" + group + "_" + metric }

func (f factory) counter(group, metric, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name(group, metric), Help: help})
	f.r.MustRegister(c)
	return c
}

func (f factory) gauge(group, metric, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name(group, metric), Help: help})
	f.r.MustRegister(g)
	return g
}

func (f factory) histogram(group, metric, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name(group, metric), Help: help, Buckets: buckets})
	f.r.MustRegister(h)
	return h
}

func (f factory) counterVec(group, metric, help string, labels []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name(group, metric), Help: help}, labels)
	f.r.MustRegister(c)
	return c
}

func (f factory) gaugeVec(group, metric, help string, labels []string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name(group, metric), Help: help}, labels)
	f.r.MustRegister(g)
	return g
}

func (f factory) histogramVec(group, metric, help string, labels []string, buckets []float64) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name(group, metric), Help: help, Buckets: buckets}, labels)
	f.r.MustRegister(h)
	return h
}

// errorCounters binds the task error metrics of one task.
func (m *Metrics) errorCounters(id ConnectorTaskID) *ErrorCounters {
	l := prometheus.Labels{"connector": id.Connector, "task": itoa(id.Task)}
	return &ErrorCounters{
		RecordFailures: m.RecordFailures.With(l),
		RecordsSkipped: m.RecordsSkipped.With(l),
		Retries:        m.Retries.With(l),
		DLQProduced:    m.DLQProduced.With(l),
		DLQFailures:    m.DLQFailures.With(l),
		ErrorsLogged:   m.ErrorsLogged.With(l),
	}
}

// forgetTask drops a deleted task's series so /metrics does not grow forever.
func (m *Metrics) forgetTask(id ConnectorTaskID) {
	l := prometheus.Labels{"connector": id.Connector, "task": itoa(id.Task)}
	for _, v := range []*prometheus.CounterVec{m.SourcePoll, m.SourceWrite, m.SinkRead, m.SinkSend, m.SinkOffsetCommits, m.SinkCommitFails,
		m.RecordFailures, m.RecordsSkipped, m.Retries, m.DLQProduced, m.DLQFailures, m.ErrorsLogged} {
		v.Delete(l)
	}
	for _, v := range []*prometheus.GaugeVec{m.SourceActive, m.SinkLagMax, m.TaskHealthProblem} {
		v.Delete(l)
	}
	m.SourcePollBatch.Delete(l)
	m.SinkPutBatch.Delete(l)
	m.TaskStatus.DeletePartialMatch(l)
}

func itoa(n int) string { return strconv.Itoa(n) }
