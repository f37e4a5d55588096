// Package testplugins holds in-process plugins for the runtime's own tests:
// fakes of Tributary's plugin interfaces (never of Kafka's protocol), in a
// private registry.
package testplugins

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
)

type testConverter struct{}

func (testConverter) Configure(connect.Config, bool) error { return nil }
func (testConverter) FromConnect(_ string, _ *connect.Schema, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	return json.Marshal(v)
}
func (testConverter) ToConnect(_ string, b []byte) (*connect.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	if len(b) > 0 && b[0] == '!' {
		return nil, nil, fmt.Errorf("bytes starting with ! are invalid")
	}
	return nil, string(b), nil
}

type testHeaderConverter struct{}

func (testHeaderConverter) Configure(connect.Config) error { return nil }
func (testHeaderConverter) FromHeader(_, _ string, _ *connect.Schema, v any) ([]byte, error) {
	return []byte(fmt.Sprint(v)), nil
}
func (testHeaderConverter) ToHeader(_, _ string, b []byte) (*connect.Schema, any, error) {
	return nil, string(b), nil
}

// countingSource emits "count" records numbered from its committed offset.
type countingSource struct{ cfg connect.Config }

func countingDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: "topic", Type: connect.TypeString},
		connect.ConfigKey{Name: "count", Type: connect.TypeInt, Default: 100},
		connect.ConfigKey{Name: "secret", Type: connect.TypePassword, Optional: true},
	)
}

func (c *countingSource) Start(_ context.Context, cfg connect.Config, _ connect.ConnectorContext) error {
	c.cfg = cfg
	return nil
}
func (c *countingSource) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{{"task.kind": "counting"}}, nil
}
func (c *countingSource) Stop() error                 { return nil }
func (c *countingSource) NewTask() connect.SourceTask { return &countingTask{} }

// committed is what every countingTask acknowledged, by connector.
var committed = struct {
	sync.Mutex
	written map[string]int
	dropped map[string]int
}{written: map[string]int{}, dropped: map[string]int{}}

type countingTask struct {
	name  string
	topic string
	next  int
	count int
}

func (t *countingTask) Start(_ context.Context, cfg connect.Config, tc connect.SourceTaskContext) error {
	t.name, t.topic, t.count = tc.ConnectorName(), cfg.String("topic"), cfg.Int("count")
	off, err := tc.Offset(map[string]any{"src": "counter"})
	if err != nil {
		return err
	}
	if off != nil {
		t.next = int(off["n"].(int64)) + 1
	}
	return nil
}

func (t *countingTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.next >= t.count {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	for ; t.next < t.count && len(out) < 50; t.next++ {
		out = append(out, &connect.Record{Topic: t.topic, Partition: connect.AnyPartition,
			Key: strconv.Itoa(t.next), Value: map[string]any{"n": t.next},
			Headers:         connect.Headers{{Key: "origin", Value: "counting"}},
			SourcePartition: map[string]any{"src": "counter"}, SourceOffset: map[string]any{"n": t.next}})
	}
	return out, nil
}

func (t *countingTask) CommitRecord(_ *connect.Record, written bool) error {
	committed.Lock()
	defer committed.Unlock()
	if written {
		committed.written[t.name]++
	} else {
		committed.dropped[t.name]++
	}
	return nil
}
func (t *countingTask) Stop() error { return nil }

// collectingSink keeps what it was given, per connector; PreCommit
// returns the consumed offsets (everything is "durable" at once).
type collectingSink struct{}

var collected = struct {
	sync.Mutex
	records map[string][]*connect.Record
}{records: map[string][]*connect.Record{}}

func (collectingSink) Start(context.Context, connect.Config, connect.ConnectorContext) error {
	return nil
}
func (collectingSink) TaskConfigs(n int) ([]map[string]string, error) {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{}
	}
	return out, nil
}
func (collectingSink) Stop() error               { return nil }
func (collectingSink) NewTask() connect.SinkTask { return &collectingTask{} }

type collectingTask struct{ name string }

func (t *collectingTask) Start(_ context.Context, _ connect.Config, tc connect.SinkTaskContext) error {
	t.name = tc.ConnectorName()
	return nil
}
func (t *collectingTask) Put(_ context.Context, recs []*connect.Record) error {
	collected.Lock()
	defer collected.Unlock()
	collected.records[t.name] = append(collected.records[t.name], recs...)
	return nil
}
func (t *collectingTask) PreCommit(_ context.Context, cur map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	return cur, nil
}
func (t *collectingTask) Stop() error { return nil }

// Collected returns a copy of what a collecting sink connector received.
func Collected(name string) []*connect.Record {
	collected.Lock()
	defer collected.Unlock()
	return append([]*connect.Record(nil), collected.records[name]...)
}

// Acknowledged returns how many records of a counting source connector were
// committed as written and as dropped.
func Acknowledged(name string) (written, dropped int) {
	committed.Lock()
	defer committed.Unlock()
	return committed.written[name], committed.dropped[name]
}

// ResetAcknowledged forgets a connector's counts.
func ResetAcknowledged(name string) {
	committed.Lock()
	defer committed.Unlock()
	delete(committed.written, name)
	delete(committed.dropped, name)
}

// failOnOdd fails records whose value field "n" is odd; a plain transform.
type failOnOdd struct{}

func (failOnOdd) Configure(connect.Config) error { return nil }
func (failOnOdd) Apply(r *connect.Record) (*connect.Record, error) {
	if m, ok := r.Value.(map[string]any); ok {
		if n, ok := m["n"].(int); ok && n%2 == 1 {
			return nil, fmt.Errorf("odd number %d", n)
		}
	}
	return r, nil
}
func (failOnOdd) Close() error { return nil }

// dropAll drops every record.
type dropAll struct{}

func (dropAll) Configure(connect.Config) error                 { return nil }
func (dropAll) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }
func (dropAll) Close() error                                   { return nil }

// Registry returns a fresh registry with every test plugin.
func Registry() *connect.Registry {
	reg := connect.NewRegistry()
	reg.Register(connect.Plugin{Class: "test.CountingSourceConnector", Kind: connect.KindSource, Config: countingDef(), New: func() any { return &countingSource{} }})
	reg.Register(connect.Plugin{Class: "test.CollectingSinkConnector", Kind: connect.KindSink, New: func() any { return collectingSink{} }})
	reg.Register(connect.Plugin{Class: "test.TestConverter", Kind: connect.KindConverter, New: func() any { return testConverter{} }})
	reg.Register(connect.Plugin{Class: "test.TestHeaderConverter", Kind: connect.KindHeaderConverter, New: func() any { return testHeaderConverter{} }})
	reg.Register(connect.Plugin{Class: "test.FailOnOdd", Kind: connect.KindTransformation, New: func() any { return failOnOdd{} }})
	reg.Register(connect.Plugin{Class: "test.DropAll", Kind: connect.KindTransformation, New: func() any { return dropAll{} }})
	return reg
}
