package connect

import (
	"fmt"
	"slices"
)

// SchemaType is a Kafka Connect schema type.
type SchemaType string

const (
	Int8    SchemaType = "int8"
	Int16   SchemaType = "int16"
	Int32   SchemaType = "int32"
	Int64   SchemaType = "int64"
	Float32 SchemaType = "float32"
	Float64 SchemaType = "float64"
	Boolean SchemaType = "boolean"
	String  SchemaType = "string"
	Bytes   SchemaType = "bytes"
	Array   SchemaType = "array"
	Map     SchemaType = "map"
	Struct  SchemaType = "struct"
)

// Logical type names, as Kafka Connect spells them.
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"
	DateName      = "org.apache.kafka.connect.data.Date"
	TimeName      = "org.apache.kafka.connect.data.Time"
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
	DecimalScale  = "scale"
)

// Schema mirrors Kafka Connect's Schema. Struct values are map[string]any
// keyed by field name; Fields gives their order.
type Schema struct {
	Type       SchemaType
	Optional   bool
	Default    any
	Name       string
	Version    int
	Doc        string
	Parameters map[string]string
	Fields     []Field // struct
	Key        *Schema // map
	Value      *Schema // map and array elements
}

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Schema *Schema
}

// Field returns the named field of a struct schema.
func (s *Schema) Field(name string) (Field, bool) {
	if s == nil {
		return Field{}, false
	}
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Copy returns a deep copy, for transforms that derive a schema.
func (s *Schema) Copy() *Schema {
	if s == nil {
		return nil
	}
	c := *s
	if s.Parameters != nil {
		c.Parameters = make(map[string]string, len(s.Parameters))
		for k, v := range s.Parameters {
			c.Parameters[k] = v
		}
	}
	c.Fields = slices.Clone(s.Fields)
	for i := range c.Fields {
		c.Fields[i].Schema = c.Fields[i].Schema.Copy()
	}
	c.Key = s.Key.Copy()
	c.Value = s.Value.Copy()
	return &c
}

// IsPrimitive reports whether the type holds a single scalar.
func (t SchemaType) IsPrimitive() bool {
	switch t {
	case Array, Map, Struct:
		return false
	}
	return true
}

// ValidateValue checks that v fits s, the way ConnectSchema.validateValue does.
func ValidateValue(s *Schema, v any) error {
	if s == nil {
		return nil
	}
	if v == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return fmt.Errorf("invalid value: null used for required field of type %s", s.Type)
	}
	ok := false
	switch s.Type {
	case Int8:
		_, ok = v.(int8)
	case Int16:
		_, ok = v.(int16)
	case Int32:
		switch s.Name {
		case DateName, TimeName:
			_, ok = timeValue(v)
		default:
			_, ok = v.(int32)
		}
	case Int64:
		if s.Name == TimestampName {
			_, ok = timeValue(v)
		} else {
			_, ok = v.(int64)
		}
	case Float32:
		_, ok = v.(float32)
	case Float64:
		_, ok = v.(float64)
	case Boolean:
		_, ok = v.(bool)
	case String:
		_, ok = v.(string)
	case Bytes:
		switch v.(type) {
		case []byte:
			ok = true
		default:
			ok = s.Name == DecimalName
		}
	case Array:
		var a []any
		a, ok = v.([]any)
		for _, e := range a {
			if err := ValidateValue(s.Value, e); err != nil {
				return err
			}
		}
	case Map:
		var m map[string]any
		m, ok = v.(map[string]any)
		for _, e := range m {
			if err := ValidateValue(s.Value, e); err != nil {
				return err
			}
		}
	case Struct:
		var m map[string]any
		m, ok = v.(map[string]any)
		for _, f := range s.Fields {
			if err := ValidateValue(f.Schema, m[f.Name]); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
	}
	if !ok {
		return fmt.Errorf("invalid Go type %T for schema type %s", v, s.Type)
	}
	return nil
}
