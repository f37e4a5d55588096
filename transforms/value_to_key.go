package transforms

import (
	"github.com/tributary-io/tributary/connect"
)

// ValueToKey replaces the record key with a struct (schema) or map
// (schemaless) of fields taken from the value
// (org.apache.kafka.connect.transforms.ValueToKey).
type ValueToKey struct {
	noClose
	fields      []string
	replaceNull bool
	cache       schemaCache
}

var valueToKeyDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Importance: connect.High, Validator: connect.NonEmptyList,
		Documentation: "Field names on the record value to extract as the record key."},
	replaceNullKey,
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "ValueToKey", Kind: connect.KindTransformation, Version: Version,
		Summary: "Replace the record key with a new key formed from a subset of fields in the record value", Config: valueToKeyDef,
		New: func() any { return &ValueToKey{} }})
}

func (t *ValueToKey) Configure(cfg connect.Config) error {
	t.fields, t.replaceNull = cfg.List("fields"), cfg.Bool("replace.null.with.default")
	return nil
}

func (t *ValueToKey) Apply(rec *connect.Record) (*connect.Record, error) {
	const name = "ValueToKey"
	if rec.ValueSchema == nil {
		m, err := requireMap(name, "copying fields from value to key", rec.Value)
		if err != nil {
			return nil, err
		}
		key := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		return keySide.with(rec, nil, key), nil
	}
	if rec.Value == nil {
		return nil, errorf(name, "the record value is null; cannot copy fields %v to the key", t.fields)
	}
	m, err := requireStruct(name, "copying fields from value to key", rec.ValueSchema, rec.Value)
	if err != nil {
		return nil, err
	}
	ks, err := t.cache.get(rec.ValueSchema, func(in *connect.Schema) (*connect.Schema, error) {
		out := &connect.Schema{Type: connect.Struct}
		for _, f := range t.fields {
			fld, ok := in.Field(f)
			if !ok {
				return nil, errorf(name, "field does not exist: %s", f)
			}
			out.Fields = append(out.Fields, fld)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	key := make(map[string]any, len(ks.Fields))
	for _, f := range ks.Fields {
		key[f.Name] = fieldValue(m, f, t.replaceNull)
	}
	return keySide.with(rec, ks, key), nil
}
