package transforms

import "github.com/tributary-io/tributary/connect"

// HoistField wraps the key or value in a struct (schema) or map
// (schemaless) under one field (org.apache.kafka.connect.transforms.HoistField).
type HoistField struct {
	noClose
	side  side
	field string
	cache schemaCache
}

var hoistFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Importance: connect.Medium, Validator: connect.NonEmptyString,
		Documentation: "Field name for the single field that will be created in the resulting Struct or Map."},
)

func init() {
	registerKV("HoistField", "Wrap data in a Struct or Map under a single field", hoistFieldDef,
		func(s side) connect.Transformation { return &HoistField{side: s} })
}

func (h *HoistField) Configure(cfg connect.Config) error {
	h.field = cfg.String("field")
	return nil
}

func (h *HoistField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := h.side.get(rec)
	if schema == nil {
		return h.side.with(rec, nil, map[string]any{h.field: v}), nil
	}
	out, _ := h.cache.get(schema, func(in *connect.Schema) (*connect.Schema, error) {
		return &connect.Schema{Type: connect.Struct, Fields: []connect.Field{{Name: h.field, Schema: in}}}, nil
	})
	return h.side.with(rec, out, map[string]any{h.field: v}), nil
}
