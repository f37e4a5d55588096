// Package transforms holds Tributary's built-in single message transforms
// and predicates: every SMT Apache Kafka ships, under the same class names
// and option names, plus expression-based plugins (see expression.go).
//
// Values follow the connect package's conventions: schemaless values are
// map[string]any / []any / int64 / float64 / string / bool / []byte / nil;
// values with a schema use the Go type of each schema type and structs are
// map[string]any keyed by field name. A transform that changes the shape of
// a schema'd value derives the new schema and sets it on the record.
package transforms

import (
	"fmt"
	"sync"

	"github.com/tributary-io/tributary/connect"
)

// Version is reported for every plugin of this package.
const Version = "0.1.0"

const (
	kafkaPkg     = "org.apache.kafka.connect.transforms."
	kafkaPredPkg = "org.apache.kafka.connect.transforms.predicates."
)

// side says whether a transform works on the record key or on its value,
// Kafka Connect's $Key and $Value variants.
type side bool

const (
	keySide   side = true
	valueSide side = false
)

func (s side) suffix() string {
	if s == keySide {
		return "$Key"
	}
	return "$Value"
}

func (s side) word() string {
	if s == keySide {
		return "key"
	}
	return "value"
}

func (s side) get(r *connect.Record) (*connect.Schema, any) {
	if s == keySide {
		return r.KeySchema, r.Key
	}
	return r.ValueSchema, r.Value
}

// with returns a copy of r with the key or value replaced. The copy shares
// r's headers, capped so that an append on the copy never writes into r's
// backing array.
func (s side) with(r *connect.Record, schema *connect.Schema, v any) *connect.Record {
	c := shallow(r)
	if s == keySide {
		c.KeySchema, c.Key = schema, v
	} else {
		c.ValueSchema, c.Value = schema, v
	}
	return c
}

func shallow(r *connect.Record) *connect.Record {
	c := *r
	c.Headers = r.Headers[:len(r.Headers):len(r.Headers)]
	return &c
}

// registerKV registers the $Key and $Value variants of a Kafka transform.
func registerKV(name, summary string, def *connect.ConfigDef, mk func(side) connect.Transformation) {
	for _, s := range []side{keySide, valueSide} {
		connect.Register(connect.Plugin{
			Class:   kafkaPkg + name + s.suffix(),
			Kind:    connect.KindTransformation,
			Version: Version,
			Summary: summary + " (record " + s.word() + ")",
			Config:  def,
			New:     func() any { return mk(s) },
		})
	}
}

// noClose gives transforms without resources their Close.
type noClose struct{}

func (noClose) Close() error { return nil }

// errorf prefixes a failure with the transform's name, so the error trace
// in a task status says which step of the chain failed.
func errorf(name, format string, args ...any) error {
	return fmt.Errorf(name+": "+format, args...)
}

// requireMap returns a schemaless value as a map or a typed error.
func requireMap(name, purpose string, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(name, "only map objects supported in absence of schema for [%s], found: %s", purpose, typeName(v))
	}
	return m, nil
}

// requireStruct checks that a schema'd value is a struct.
func requireStruct(name, purpose string, s *connect.Schema, v any) (map[string]any, error) {
	if s.Type != connect.Struct {
		return nil, errorf(name, "only struct schemas supported for [%s], found schema type %s", purpose, s.Type)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(name, "struct value for [%s] must be a map, found: %s", purpose, typeName(v))
	}
	return m, nil
}

func typeName(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// fieldValue reads a struct field the way Struct.get (default applied) or
// Struct.getWithoutDefault does, per replace.null.with.default.
func fieldValue(m map[string]any, f connect.Field, useDefault bool) any {
	v := m[f.Name]
	if v == nil && useDefault && f.Schema != nil {
		return f.Schema.Default
	}
	return v
}

// schemaCache remembers derived schemas per input schema, as Kafka
// Connect's SMTs do, so the same output schema pointer is reused for a
// stream of records and schema derivation is not paid per record.
type schemaCache struct {
	mu sync.Mutex
	m  map[*connect.Schema]*connect.Schema
}

const schemaCacheSize = 16

func (c *schemaCache) get(in *connect.Schema, build func(*connect.Schema) (*connect.Schema, error)) (*connect.Schema, error) {
	c.mu.Lock()
	out, ok := c.m[in]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := build(in)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= schemaCacheSize {
		c.m = make(map[*connect.Schema]*connect.Schema)
	}
	c.m[in] = out
	c.mu.Unlock()
	return out, nil
}

// copyBasics copies a schema's type, name, version, doc, parameters,
// optionality and default, but not its fields (SchemaUtil.copySchemaBasics).
func copyBasics(s *connect.Schema) *connect.Schema {
	c := *s
	c.Fields = nil
	return &c
}

// replaceNullKey is the replace.null.with.default option of Kafka 3.8+.
var replaceNullKey = connect.ConfigKey{
	Name:          "replace.null.with.default",
	Type:          connect.TypeBoolean,
	Default:       true,
	Importance:    connect.Medium,
	Documentation: "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.",
}
