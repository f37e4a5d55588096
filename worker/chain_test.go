package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tributary-io/tributary/connect"
)

// suffix appends its "suffix" setting to string values.
type suffix struct{ s string }

func (x *suffix) Configure(c connect.Config) error { x.s = c.String("suffix"); return nil }
func (x *suffix) Apply(r *connect.Record) (*connect.Record, error) {
	s, ok := r.Value.(string)
	if !ok {
		return nil, fmt.Errorf("value is %T, not a string", r.Value)
	}
	c := r.Clone()
	c.Value = s + x.s
	return c, nil
}
func (x *suffix) Close() error { return nil }

// upperBatch upper-cases in one batch call and counts its calls.
type upperBatch struct{ calls *int }

func (u upperBatch) Configure(connect.Config) error { return nil }
func (u upperBatch) Apply(r *connect.Record) (*connect.Record, error) {
	return nil, errors.New("batch only")
}
func (u upperBatch) Close() error { return nil }
func (u upperBatch) ApplyBatch(recs []*connect.Record) []connect.BatchResult {
	*u.calls++
	out := make([]connect.BatchResult, len(recs))
	for i, r := range recs {
		if r.Value == "boom" {
			out[i].Err = errors.New("boom")
			continue
		}
		c := r.Clone()
		c.Value = strings.ToUpper(r.Value.(string))
		out[i].Record = c
	}
	return out
}

// topicIs matches records of one topic.
type topicIs struct{ topic string }

func (p *topicIs) Configure(c connect.Config) error { p.topic = c.String("topic"); return nil }
func (p *topicIs) Test(r *connect.Record) (bool, error) {
	return r.Topic == p.topic, nil
}
func (p *topicIs) Close() error { return nil }

func chainRegistry(batchCalls *int) *connect.Registry {
	r := connect.NewRegistry()
	r.Register(connect.Plugin{Class: "t.Suffix", Kind: connect.KindTransformation,
		Config: connect.NewConfigDef(connect.ConfigKey{Name: "suffix", Type: connect.TypeString}), New: func() any { return &suffix{} }})
	r.Register(connect.Plugin{Class: "t.Upper", Kind: connect.KindTransformation, New: func() any { return upperBatch{calls: batchCalls} }})
	r.Register(connect.Plugin{Class: "t.TopicIs", Kind: connect.KindPredicate,
		Config: connect.NewConfigDef(connect.ConfigKey{Name: "topic", Type: connect.TypeString}), New: func() any { return &topicIs{} }})
	r.Register(connect.Plugin{Class: "t.SourceConnector", Kind: connect.KindSource, New: func() any { return nil }})
	return r
}

func TestChainPredicatesNegateAndBatch(t *testing.T) {
	calls := 0
	reg := chainRegistry(&calls)
	raw := map[string]string{
		"name": "c", "connector.class": "t.SourceConnector",
		"transforms": "a,up,b", "transforms.a.type": "t.Suffix", "transforms.a.suffix": "-a",
		"transforms.a.predicate": "isX",
		"transforms.up.type":     "t.Upper",
		"transforms.b.type":      "t.Suffix", "transforms.b.suffix": "-b", "transforms.b.predicate": "isX", "transforms.b.negate": "true",
		"predicates": "isX", "predicates.isX.type": "t.TopicIs", "predicates.isX.topic": "x",
	}
	cd, err := ResolveConnectorDef(reg, raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cd.Def.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := BuildChain(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	in := []*connect.Record{{Topic: "x", Value: "one"}, {Topic: "y", Value: "two"}, {Topic: "y", Value: "boom"}, {Topic: "x", Value: 7}}
	res := chain.ApplyBatch(in)
	tests := []struct {
		want    any
		wantErr string
	}{
		{"ONE-A", ""},         // a applies (x), upper, b negated: skipped
		{"TWO-b", ""},         // a skipped, upper, b applies (not x)
		{nil, "boom"},         // the batch transform failed this record only
		{nil, "not a string"}, // a failed on a non-string
	}
	for i, tt := range tests {
		if tt.wantErr != "" {
			var se *StageError
			if res[i].Err == nil || !strings.Contains(res[i].Err.Error(), tt.wantErr) || !errors.As(res[i].Err, &se) {
				t.Errorf("record %d: err = %v, want a StageError with %q", i, res[i].Err, tt.wantErr)
			}
			continue
		}
		if res[i].Err != nil || res[i].Record.Value != tt.want {
			t.Errorf("record %d: got %v / %v, want %v", i, res[i].Record, res[i].Err, tt.want)
		}
	}
	if in[0].Value != "one" {
		t.Fatal("the chain changed its input record")
	}
	if calls != 1 {
		t.Fatalf("batch transform called %d times for one batch, want 1", calls)
	}
}

func TestChainConfigErrors(t *testing.T) {
	calls := 0
	reg := chainRegistry(&calls)
	tests := []struct {
		name string
		raw  map[string]string
		want string
	}{
		{"unknown transform", map[string]string{"transforms": "a", "transforms.a.type": "Nope"}, "transforms.a.type"},
		{"predicate not listed", map[string]string{"transforms": "a", "transforms.a.type": "t.Suffix", "transforms.a.suffix": "s", "transforms.a.predicate": "p"}, "not listed in predicates"},
		{"missing transform key", map[string]string{"transforms": "a", "transforms.a.type": "t.Suffix"}, "transforms.a.suffix"},
		{"duplicate alias", map[string]string{"transforms": "a,a", "transforms.a.type": "t.Suffix", "transforms.a.suffix": "s"}, "duplicate alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]string{"name": "c", "connector.class": "t.SourceConnector"}
			for k, v := range tt.raw {
				raw[k] = v
			}
			infos, _ := ValidateConnectorConfig(reg, raw)
			if infos.ErrorCount == 0 || !strings.Contains(strings.Join(infos.FieldErrors(), "\n"), tt.want) {
				t.Fatalf("errors %v, want one about %q", infos.FieldErrors(), tt.want)
			}
		})
	}
}

type recordingDLQ struct {
	topic   string
	headers [][2]string
	fail    bool
}

func (d *recordingDLQ) WriteDeadLetter(_ context.Context, topic string, _, _ []byte, h [][2]string) error {
	if d.fail {
		return errors.New("broker down")
	}
	d.topic, d.headers = topic, h
	return nil
}

func testCounters() *ErrorCounters {
	c := func() prometheus.Counter { return prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}) }
	return &ErrorCounters{RecordFailures: c(), RecordsSkipped: c(), Retries: c(), DLQProduced: c(), DLQFailures: c(), ErrorsLogged: c()}
}

func TestErrorHandler(t *testing.T) {
	def := baseConnectorDef(connect.KindSink)
	parse := func(extra map[string]string) connect.Config {
		raw := map[string]string{"name": "c", "connector.class": "x", "topics": "t"}
		for k, v := range extra {
			raw[k] = v
		}
		c, err := def.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := Failure{Stage: StageValueConverter, Class: "JsonConverter", Err: fmt.Errorf("converting value: %w", errors.New("bad json")), Topic: "in", Partition: 2, Offset: 41}

	h := NewErrorHandler(parse(nil), "c", 0, nil, testCounters(), log)
	var te *ToleranceExceededError
	if err := h.Handle(context.Background(), f); !errors.As(err, &te) || !strings.Contains(err.Error(), "in-2@41") || !strings.Contains(err.Error(), "VALUE_CONVERTER") {
		t.Fatalf("tolerance none: %v", err)
	}

	dlq := &recordingDLQ{}
	counters := testCounters()
	h = NewErrorHandler(parse(map[string]string{ErrorsTolerance: "all", DLQTopicName: "dlq", DLQContextHeadersEnabl: "true"}), "c", 3, dlq, counters, log)
	if err := h.Handle(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range dlq.headers {
		got[kv[0]] = kv[1]
	}
	want := map[string]string{HeaderTopic: "in", HeaderPartition: "2", HeaderOffset: "41", HeaderConnector: "c", HeaderTaskID: "3",
		HeaderStage: "VALUE_CONVERTER", HeaderClass: "JsonConverter", HeaderExcMessage: "converting value: bad json"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.Contains(got[HeaderExcStacktrace], "Caused by") || dlq.topic != "dlq" {
		t.Errorf("stacktrace %q topic %q", got[HeaderExcStacktrace], dlq.topic)
	}
	if testutil.ToFloat64(counters.DLQProduced) != 1 || testutil.ToFloat64(counters.RecordsSkipped) != 1 || testutil.ToFloat64(counters.RecordFailures) != 1 {
		t.Error("counters not updated")
	}
	// A record that can neither be processed nor parked must not vanish.
	h = NewErrorHandler(parse(map[string]string{ErrorsTolerance: "all", DLQTopicName: "dlq"}), "c", 0, &recordingDLQ{fail: true}, testCounters(), log)
	if err := h.Handle(context.Background(), f); err == nil || !strings.Contains(err.Error(), "dead letter queue") {
		t.Fatalf("failed DLQ write was swallowed: %v", err)
	}
}

func TestRetryHonoursTimeoutAndOnlyRetriesRetriable(t *testing.T) {
	def := baseConnectorDef(connect.KindSource)
	c, err := def.Parse(map[string]string{"name": "c", "connector.class": "x", ErrorsRetryTimeout: "300", ErrorsRetryDelayMax: "20"})
	if err != nil {
		t.Fatal(err)
	}
	counters := testCounters()
	h := NewErrorHandler(c, "c", 0, nil, counters, slog.New(slog.NewTextHandler(io.Discard, nil)))
	n := 0
	err = h.Retry(context.Background(), func() error {
		n++
		if n < 3 {
			return connect.Retriable(errors.New("flaky"))
		}
		return nil
	})
	if err != nil || n != 3 || testutil.ToFloat64(counters.Retries) != 2 {
		t.Fatalf("retry: err %v after %d calls", err, n)
	}
	n = 0
	err = h.Retry(context.Background(), func() error { n++; return errors.New("permanent") })
	if err == nil || n != 1 {
		t.Fatalf("non-retriable error retried %d times", n)
	}
	start := time.Now()
	err = h.Retry(context.Background(), func() error { return connect.Retriable(errors.New("always")) })
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("retry did not give up: %v", err)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for n := range 20 {
		d := Backoff(n, 100*time.Millisecond, 2*time.Second)
		if d <= 0 || d > 2*time.Second {
			t.Fatalf("backoff(%d) = %s outside (0, 2s]", n, d)
		}
	}
	if Backoff(10, 100*time.Millisecond, 2*time.Second) < time.Second {
		t.Fatal("capped backoff with equal jitter must be at least half the cap")
	}
}
