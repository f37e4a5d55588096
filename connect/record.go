// Package connect is Tributary's public plugin API: records, the connector,
// task, transformation, predicate and converter interfaces, configuration
// definitions and the plugin registry. Connectors and transforms depend on
// this package only, never on the runtime.
package connect

import (
	"fmt"
	"maps"
	"time"
)

// TopicPartition names one partition of a Kafka topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// Header is one record header. Value is a Connect value described by Schema
// (nil for schemaless values); header converters turn it into bytes.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Headers keeps Kafka's semantics: ordered, keys may repeat.
type Headers []Header

// Get returns the last header with key, as Kafka Connect's lastWithName does.
func (h Headers) Get(key string) (Header, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i], true
		}
	}
	return Header{}, false
}

// Without returns the headers minus every header named key.
func (h Headers) Without(keys ...string) Headers {
	out := make(Headers, 0, len(h))
next:
	for _, x := range h {
		for _, k := range keys {
			if x.Key == k {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// Record is one message flowing through a pipeline. Source tasks fill Topic,
// Key, Value, Headers and SourcePartition/SourceOffset; sink tasks receive
// records with Partition, Offset and Timestamp set from Kafka.
//
// Values are schemaless Go values (map[string]any, []any, string, int64,
// float64, bool, []byte, nil, time.Time) unless ValueSchema is set, in which
// case the value follows that schema (structs are map[string]any).
type Record struct {
	Topic     string
	Partition int32 // -1: let the producer's partitioner decide
	Offset    int64
	Timestamp time.Time

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any
	Headers     Headers

	// Source bookkeeping, opaque to the framework beyond JSON encoding.
	SourcePartition map[string]any
	SourceOffset    map[string]any

	// OriginalTopic, OriginalPartition and OriginalOffset keep where a sink
	// record came from, so topic-renaming transforms cannot break offset
	// commits (a known pain of Kafka Connect's Elasticsearch sink).
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64

	// OriginalKeyBytes and OriginalValueBytes are a sink record's bytes as
	// read from Kafka, before conversion; the runtime dead-letters these, as
	// Kafka Connect does, so a record reported by a sink can be replayed as is.
	OriginalKeyBytes   []byte
	OriginalValueBytes []byte
}

// Clone returns a shallow copy whose header slice and source maps may be
// changed without touching r. Values are shared: transforms that mutate a
// value map must copy it first (CopyValue).
func (r *Record) Clone() *Record {
	c := *r
	c.Headers = append(Headers(nil), r.Headers...)
	c.SourcePartition = maps.Clone(r.SourcePartition)
	c.SourceOffset = maps.Clone(r.SourceOffset)
	return &c
}

// Origin is where a sink record was read from, whatever transforms did.
func (r *Record) Origin() TopicPartition {
	if r.OriginalTopic != "" {
		return TopicPartition{Topic: r.OriginalTopic, Partition: r.OriginalPartition}
	}
	return TopicPartition{Topic: r.Topic, Partition: r.Partition}
}

// CopyValue deep-copies maps and slices so a transform can edit its copy.
func CopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = CopyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = CopyValue(e)
		}
		return s
	default:
		return v
	}
}
