package transforms

import (
	"github.com/tributary-io/tributary/connect"
)

// SetSchemaMetadata sets the name and/or version of the key or value
// schema (org.apache.kafka.connect.transforms.SetSchemaMetadata).
type SetSchemaMetadata struct {
	noClose
	side       side
	name       string
	schemaName string
	version    int
	hasVersion bool
	cache      schemaCache
}

var setSchemaMetadataDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "schema.name", Type: connect.TypeString, Optional: true, Importance: connect.High,
		Documentation: "Schema name to set."},
	connect.ConfigKey{Name: "schema.version", Type: connect.TypeInt, Optional: true, Importance: connect.High,
		Documentation: "Schema version to set."},
	replaceNullKey,
).Check(func(c connect.Config) []connect.FieldError {
	if c.String("schema.name") == "" && !c.IsSet("schema.version") {
		return []connect.FieldError{{Key: "schema.name", Message: "Neither schema name nor version configured"}}
	}
	return nil
})

func init() {
	registerKV("SetSchemaMetadata", "Set the schema name, version or both on the record's key or value schema", setSchemaMetadataDef,
		func(s side) connect.Transformation {
			return &SetSchemaMetadata{side: s, name: "SetSchemaMetadata" + s.suffix()}
		})
}

func (t *SetSchemaMetadata) Configure(cfg connect.Config) error {
	t.schemaName = cfg.String("schema.name")
	t.hasVersion = cfg.IsSet("schema.version")
	t.version = cfg.Int("schema.version")
	return nil
}

func (t *SetSchemaMetadata) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		return nil, errorf(t.name, "schema required for [updating schema metadata], the record %s has none", t.side.word())
	}
	out, _ := t.cache.get(schema, func(in *connect.Schema) (*connect.Schema, error) {
		c := *in
		if t.schemaName != "" {
			c.Name = t.schemaName
		}
		if t.hasVersion {
			c.Version = t.version
		}
		return &c, nil
	})
	return t.side.with(rec, out, v), nil
}
