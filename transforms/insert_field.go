package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// InsertField inserts fields from record metadata (topic, partition,
// offset, timestamp) or a static value into the key or value
// (org.apache.kafka.connect.transforms.InsertField). A field name ending
// in "!" is required in the derived schema, "?" (the default) optional.
type InsertField struct {
	noClose
	side                                        side
	name                                        string
	topic, partition, offset, timestamp, static insertSpec
	staticValue                                 string
	replaceNull                                 bool
	cache                                       schemaCache
}

type insertSpec struct {
	name     string
	optional bool
}

func parseInsertSpec(s string) insertSpec {
	switch {
	case s == "":
		return insertSpec{}
	case strings.HasSuffix(s, "!"):
		return insertSpec{name: s[:len(s)-1]}
	case strings.HasSuffix(s, "?"):
		return insertSpec{name: s[:len(s)-1], optional: true}
	}
	return insertSpec{name: s, optional: true}
}

func insertKey(name, what string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.TypeString, Optional: true, Importance: connect.Medium,
		Documentation: "Field name for " + what + ". Suffix with ! to make this a required field, or ? to keep it optional (the default)."}
}

var insertFieldDef = connect.NewConfigDef(
	insertKey("topic.field", "Kafka topic"),
	insertKey("partition.field", "Kafka partition"),
	insertKey("offset.field", "Kafka offset (meaningful for sink connectors)"),
	insertKey("timestamp.field", "record timestamp"),
	insertKey("static.field", "static data field"),
	connect.ConfigKey{Name: "static.value", Type: connect.TypeString, Optional: true, Importance: connect.Medium,
		Documentation: "Static field value, if field name configured."},
	replaceNullKey,
).Check(func(c connect.Config) []connect.FieldError {
	if c.String("static.field") != "" && !c.IsSet("static.value") {
		return []connect.FieldError{{Key: "static.value", Message: "static.value is required when static.field is set"}}
	}
	return nil
})

func init() {
	registerKV("InsertField", "Insert fields from record metadata or a static value", insertFieldDef,
		func(s side) connect.Transformation { return &InsertField{side: s, name: "InsertField" + s.suffix()} })
}

func (t *InsertField) Configure(cfg connect.Config) error {
	t.topic = parseInsertSpec(cfg.String("topic.field"))
	t.partition = parseInsertSpec(cfg.String("partition.field"))
	t.offset = parseInsertSpec(cfg.String("offset.field"))
	t.timestamp = parseInsertSpec(cfg.String("timestamp.field"))
	t.static = parseInsertSpec(cfg.String("static.field"))
	t.staticValue = cfg.String("static.value")
	t.replaceNull = cfg.Bool("replace.null.with.default")
	if t.topic.name == "" && t.partition.name == "" && t.offset.name == "" && t.timestamp.name == "" && t.static.name == "" {
		return fmt.Errorf("%s: no field to insert is configured", t.name)
	}
	return nil
}

func (t *InsertField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil // tombstones pass unchanged, as in Kafka Connect
	}
	if schema == nil {
		m, err := requireMap(t.name, "field insertion", v)
		if err != nil {
			return nil, err
		}
		nm := make(map[string]any, len(m)+5)
		for k, x := range m {
			nm[k] = x
		}
		// Schemaless numbers are int64, like every JSON integer here.
		if t.topic.name != "" {
			nm[t.topic.name] = rec.Topic
		}
		if t.partition.name != "" {
			nm[t.partition.name] = t.partitionValue(rec, false)
		}
		if t.offset.name != "" {
			nm[t.offset.name] = rec.Offset
		}
		if t.timestamp.name != "" {
			var ts any
			if !rec.Timestamp.IsZero() {
				ts = rec.Timestamp.UnixMilli()
			}
			nm[t.timestamp.name] = ts
		}
		if t.static.name != "" {
			nm[t.static.name] = t.staticValue
		}
		return t.side.with(rec, nil, nm), nil
	}
	m, err := requireStruct(t.name, "field insertion", schema, v)
	if err != nil {
		return nil, err
	}
	out, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(out.Fields))
	for _, f := range schema.Fields {
		nm[f.Name] = fieldValue(m, f, t.replaceNull)
	}
	if t.topic.name != "" {
		nm[t.topic.name] = rec.Topic
	}
	if t.partition.name != "" {
		nm[t.partition.name] = t.partitionValue(rec, true)
	}
	if t.offset.name != "" {
		nm[t.offset.name] = rec.Offset
	}
	if t.timestamp.name != "" {
		var ts any
		if !rec.Timestamp.IsZero() {
			ts = rec.Timestamp.UTC()
		}
		nm[t.timestamp.name] = ts
	}
	if t.static.name != "" {
		nm[t.static.name] = t.staticValue
	}
	return t.side.with(rec, out, nm), nil
}

func (t *InsertField) partitionValue(rec *connect.Record, schema bool) any {
	if rec.Partition < 0 {
		return nil // not chosen yet (source record)
	}
	if schema {
		return rec.Partition
	}
	return int64(rec.Partition)
}

func (t *InsertField) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	out := copyBasics(in)
	out.Default = nil
	out.Fields = make([]connect.Field, 0, len(in.Fields)+5)
	added := map[string]bool{}
	add := func(spec insertSpec, s connect.Schema) {
		if spec.name == "" {
			return
		}
		s.Optional = spec.optional
		added[spec.name] = true
		out.Fields = append(out.Fields, connect.Field{Name: spec.name, Schema: &s})
	}
	for _, f := range in.Fields {
		out.Fields = append(out.Fields, f)
	}
	add(t.topic, connect.Schema{Type: connect.String})
	add(t.partition, connect.Schema{Type: connect.Int32})
	add(t.offset, connect.Schema{Type: connect.Int64})
	add(t.timestamp, connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1})
	add(t.static, connect.Schema{Type: connect.String})
	for _, f := range in.Fields {
		if added[f.Name] {
			return nil, errorf(t.name, "field %q already exists in the record %s schema", f.Name, t.side.word())
		}
	}
	return out, nil
}
