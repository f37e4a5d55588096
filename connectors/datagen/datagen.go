// Package datagen is a source connector producing simulated connected-car
// readings (package carsim), rate-limited and deterministic per seed, so
// the runtime can be exercised without any external system.
package datagen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/connect"
)

// Class is the connector's class name; DatagenSource and Datagen are aliases.
const Class = "io.tributary.connect.datagen.DatagenSourceConnector"

// Config keys.
const (
	KafkaTopic  = "kafka.topic"
	Cars        = "cars"
	Rate        = "rate"
	MaxRecords  = "max.records"
	Seed        = "seed"
	FailureRate = "failure.rate"
	Format      = "format"
	Key         = "key"
	BatchSize   = "batch.size"
	TaskIndex   = "task.index"
	TaskCount   = "task.count"
)

// ConfigDef is the connector's one config declaration.
var ConfigDef = connect.NewConfigDef(
	connect.ConfigKey{Name: KafkaTopic, Type: connect.TypeString, Importance: connect.High, Validator: connect.NonEmptyString,
		Group: "Output", OrderInGroup: 1, DisplayName: "Kafka topic", Documentation: "The Kafka topic to write readings to."},
	connect.ConfigKey{Name: Format, Type: connect.TypeString, Default: "json", Allowed: []string{"json", "delimited"},
		Group: "Output", OrderInGroup: 2, DisplayName: "Format",
		Documentation: "json: one schemaless map per reading (car_id, timestamp, sensor fields, failure_mode, failure_occurred); " +
			"delimited: the original demo's ECG-like string \"eventid,v1# v2# … v210\"."},
	connect.ConfigKey{Name: Key, Type: connect.TypeString, Default: "car_id", Allowed: []string{"car_id", "none"},
		Group: "Output", OrderInGroup: 3, DisplayName: "Record key",
		Documentation: "car_id: the car id as a string key (the event id for the delimited format); none: a null key."},
	connect.ConfigKey{Name: Cars, Type: connect.TypeInt, Default: 100, Validator: connect.AtLeast(1), Importance: connect.High,
		Group: "Simulation", OrderInGroup: 1, DisplayName: "Cars",
		Documentation: "Number of simulated cars, split across tasks; readings go round-robin over a task's cars."},
	connect.ConfigKey{Name: Rate, Type: connect.TypeDouble, Default: 1000.0, Validator: connect.AtLeast(0), Importance: connect.High,
		Group: "Simulation", OrderInGroup: 2, DisplayName: "Rate",
		Documentation: "Records per second for the whole connector, split evenly across tasks; 0 means as fast as possible."},
	connect.ConfigKey{Name: MaxRecords, Type: connect.TypeLong, Default: int64(0), Validator: connect.AtLeast(0),
		Group: "Simulation", OrderInGroup: 3, DisplayName: "Maximum records",
		Documentation: "Total records across all tasks, after which the tasks idle; 0 means unlimited."},
	connect.ConfigKey{Name: Seed, Type: connect.TypeLong, Default: int64(1),
		Group: "Simulation", OrderInGroup: 4, DisplayName: "Seed",
		Documentation: "Random seed: the same seed, cars and task count give the same readings."},
	connect.ConfigKey{Name: FailureRate, Type: connect.TypeDouble, Default: 0.05, Validator: connect.Between(0, 1),
		Group: "Simulation", OrderInGroup: 5, DisplayName: "Failure rate",
		Documentation: "Expected fraction of readings carrying an injected failure (anomalous windows for the delimited format)."},
	connect.ConfigKey{Name: BatchSize, Type: connect.TypeInt, Default: 500, Validator: connect.Between(1, 100000), Importance: connect.Low,
		Group: "Simulation", OrderInGroup: 6, DisplayName: "Batch size", Documentation: "Maximum records returned by one poll."},
	connect.ConfigKey{Name: TaskIndex, Type: connect.TypeInt, Optional: true, Importance: connect.Low, Validator: connect.AtLeast(0),
		Group: "Internal", Documentation: "Set by the connector for each task: the task's index."},
	connect.ConfigKey{Name: TaskCount, Type: connect.TypeInt, Optional: true, Importance: connect.Low, Validator: connect.AtLeast(1),
		Group: "Internal", Documentation: "Set by the connector for each task: the number of tasks."},
)

func init() {
	connect.Register(connect.Plugin{
		Class: Class, Kind: connect.KindSource, Version: "1.0.0",
		Summary: "generates simulated connected-car sensor readings, rate-limited and deterministic per seed",
		Aliases: []string{"datagen"},
		Config:  ConfigDef,
		New:     func() any { return &Connector{} },
	})
}

// Connector splits the cars, rate and record budget across tasks.
type Connector struct {
	raw map[string]string
}

func (c *Connector) Start(ctx context.Context, cfg connect.Config, cc connect.ConnectorContext) error {
	c.raw = cfg.Raw()
	return nil
}

// TaskConfigs gives each task its index and the task count; the tasks
// derive their share from them. JSON readings never use more tasks than
// cars.
func (c *Connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	if c.raw == nil {
		return nil, errors.New("datagen connector not started")
	}
	n := max(1, maxTasks)
	if c.raw[Format] != "delimited" {
		cars := 100
		if s, ok := c.raw[Cars]; ok {
			v, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", Cars, err)
			}
			cars = v
		}
		n = max(1, min(n, cars))
	}
	out := make([]map[string]string, n)
	for i := range out {
		m := make(map[string]string, len(c.raw)+2)
		for k, v := range c.raw {
			m[k] = v
		}
		m[TaskIndex] = strconv.Itoa(i)
		m[TaskCount] = strconv.Itoa(n)
		out[i] = m
	}
	return out, nil
}

func (c *Connector) Stop() error { return nil }

func (c *Connector) NewTask() connect.SourceTask { return &Task{} }

// share splits total over n parts; part i gets the remainder first.
func share(total int64, i, n int) int64 {
	s := total / int64(n)
	if int64(i) < total%int64(n) {
		s++
	}
	return s
}

// Task produces one share of the readings. Its source partition names its
// share; its offset {"seq": n} counts records produced, so a restarted
// task skips exactly the committed ones and continues the sequence.
type Task struct {
	topic     string
	keyed     bool
	delimited bool
	gen       *carsim.Generator
	ecg       *carsim.ECG
	partition map[string]any
	seq       uint64
	limit     uint64 // 0: unlimited
	batch     int
	log       *slog.Logger

	rate   float64 // records/s; 0: unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time

	reading carsim.Reading
	ecgR    carsim.ECGReading
	buf     []byte
}

func (t *Task) Start(ctx context.Context, cfg connect.Config, tc connect.SourceTaskContext) error {
	if t.now == nil {
		t.now = time.Now
	}
	t.log = slog.Default()
	if tc != nil && tc.Logger() != nil {
		t.log = tc.Logger()
	}
	idx, count := 0, 1
	if cfg.IsSet(TaskCount) {
		idx, count = cfg.Int(TaskIndex), cfg.Int(TaskCount)
	}
	if idx >= count {
		return fmt.Errorf("datagen: task.index %d not below task.count %d", idx, count)
	}
	t.topic = cfg.String(KafkaTopic)
	t.keyed = cfg.String(Key) == "car_id"
	t.delimited = cfg.String(Format) == "delimited"
	t.batch = cfg.Int(BatchSize)
	t.limit = uint64(share(cfg.Long(MaxRecords), idx, count))
	if t.rate = cfg.Double(Rate) / float64(count); t.rate > 0 {
		t.burst = max(1, min(float64(t.batch), t.rate/10))
		t.tokens = t.burst
	}
	t.last = t.now()
	seed := cfg.Long(Seed)
	if t.delimited {
		// One independent ECG stream per task.
		var err error
		if t.ecg, err = carsim.NewECG(seed+int64(idx)*1_000_003, cfg.Double(FailureRate)); err != nil {
			return fmt.Errorf("datagen: %w", err)
		}
		t.partition = map[string]any{"format": "delimited", "task": int64(idx), "tasks": int64(count)}
	} else {
		cars := cfg.Int(Cars)
		first, end := cars*idx/count, cars*(idx+1)/count
		if end <= first {
			return fmt.Errorf("datagen: task %d of %d has no cars (cars=%d)", idx, count, cars)
		}
		var err error
		t.gen, err = carsim.New(carsim.Options{Cars: end - first, FirstCar: first, Seed: seed, FailureRate: cfg.Double(FailureRate)})
		if err != nil {
			return fmt.Errorf("datagen: %w", err)
		}
		// The partition names the car range, so a resumed task continues
		// the sequence of the same cars.
		t.partition = map[string]any{"first_car": int64(first), "cars": int64(end - first)}
	}
	if tc != nil {
		off, err := tc.Offset(t.partition)
		if err != nil {
			return fmt.Errorf("datagen: reading committed offset: %w", err)
		}
		if seq, ok := seqOf(off); ok {
			t.skip(seq)
			t.log.Info("datagen resuming", "partition", t.partition, "seq", seq)
		}
	}
	return nil
}

// seqOf reads {"seq": n} whatever numeric type the offset store gave back.
func seqOf(off map[string]any) (uint64, bool) {
	switch v := off["seq"].(type) {
	case int64:
		return uint64(max(v, 0)), true
	case int:
		return uint64(max(v, 0)), true
	case int32:
		return uint64(max(v, 0)), true
	case uint64:
		return v, true
	case float64:
		if v >= 0 && v < math.MaxInt64 {
			return uint64(v), true
		}
	case string:
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	case interface{ Int64() (int64, error) }: // json.Number
		n, err := v.Int64()
		return uint64(max(n, 0)), err == nil
	}
	return 0, false
}

func (t *Task) skip(n uint64) {
	if t.delimited {
		t.ecg.Skip(n)
	} else {
		t.gen.Skip(n)
	}
	t.seq = n
}

// Poll returns up to batch.size records, blocking at most ~100 ms while
// rate-limited and up to a second once max.records is reached.
func (t *Task) Poll(ctx context.Context) ([]*connect.Record, error) {
	n := t.batch
	if t.limit > 0 {
		if t.seq >= t.limit {
			return nil, sleep(ctx, time.Second)
		}
		n = int(min(uint64(n), t.limit-t.seq))
	}
	if t.rate > 0 {
		t.refill()
		if t.tokens < 1 {
			wait := time.Duration((1 - t.tokens) / t.rate * float64(time.Second))
			if err := sleep(ctx, min(wait, 100*time.Millisecond)); err != nil {
				return nil, err
			}
			t.refill()
		}
		n = min(n, int(t.tokens))
		if n <= 0 {
			return nil, nil
		}
		t.tokens -= float64(n)
	}
	now := t.now()
	recs := make([]*connect.Record, n)
	for i := range recs {
		recs[i] = t.next(now)
	}
	return recs, nil
}

func (t *Task) refill() {
	now := t.now()
	t.tokens = min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	t.last = now
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil // shutting down: an empty poll, not a failure
	case <-timer.C:
		return nil
	}
}

func (t *Task) next(now time.Time) *connect.Record {
	t.seq++
	rec := &connect.Record{
		Topic:           t.topic,
		Partition:       -1,
		Timestamp:       now,
		SourcePartition: t.partition,
		SourceOffset:    map[string]any{"seq": int64(t.seq)},
	}
	if t.delimited {
		t.ecg.NextInto(&t.ecgR)
		t.buf = t.ecgR.AppendDelimited(t.buf[:0])
		rec.Value = string(t.buf)
		if t.keyed {
			rec.Key = strconv.FormatInt(t.ecgR.EventID, 10)
		}
		return rec
	}
	t.gen.NextInto(&t.reading, now)
	rec.Value = t.reading.Map()
	if t.keyed {
		rec.Key = t.reading.CarID
	}
	return rec
}

// CommitRecord has nothing to acknowledge: the runtime commits offsets.
func (t *Task) CommitRecord(rec *connect.Record, written bool) error { return nil }

func (t *Task) Stop() error { return nil }

var (
	_ connect.SourceConnector = (*Connector)(nil)
	_ connect.SourceTask      = (*Task)(nil)
)
