package transforms

import (
	"github.com/tributary-io/tributary/connect"
)

// Flatten flattens nested structs (schema) or maps (schemaless) into one
// level, joining field names with a delimiter; arrays are kept as they are
// (org.apache.kafka.connect.transforms.Flatten).
type Flatten struct {
	noClose
	side  side
	name  string
	delim string
	cache schemaCache
}

var flattenDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "delimiter", Type: connect.TypeString, Default: ".", Importance: connect.Medium,
		Documentation: "Delimiter to insert between field names from the input record when generating field names for the output record."},
)

func init() {
	registerKV("Flatten", "Flatten a nested data structure, joining field names with a delimiter", flattenDef,
		func(s side) connect.Transformation { return &Flatten{side: s, name: "Flatten" + s.suffix()} })
}

func (f *Flatten) Configure(cfg connect.Config) error {
	f.delim = cfg.String("delimiter")
	return nil
}

func (f *Flatten) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := f.side.get(rec)
	if schema == nil {
		if v == nil {
			return rec, nil
		}
		m, err := requireMap(f.name, "flattening", v)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		f.flattenMap("", m, out)
		return f.side.with(rec, nil, out), nil
	}
	if schema.Type != connect.Struct {
		return nil, errorf(f.name, "only struct schemas supported for [flattening], found schema type %s", schema.Type)
	}
	out, err := f.cache.get(schema, f.buildSchema)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return f.side.with(rec, out, nil), nil
	}
	m, err := requireStruct(f.name, "flattening", schema, v)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(out.Fields))
	f.flattenStruct("", schema, m, nm)
	return f.side.with(rec, out, nm), nil
}

func (f *Flatten) key(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + f.delim + name
}

func (f *Flatten) flattenMap(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		if nested, ok := v.(map[string]any); ok {
			f.flattenMap(f.key(prefix, k), nested, out)
			continue
		}
		out[f.key(prefix, k)] = v
	}
}

func (f *Flatten) flattenStruct(prefix string, s *connect.Schema, m map[string]any, out map[string]any) {
	for _, fld := range s.Fields {
		v := m[fld.Name]
		if fld.Schema != nil && fld.Schema.Type == connect.Struct {
			nested, _ := v.(map[string]any) // a null struct flattens to null leaves
			f.flattenStruct(f.key(prefix, fld.Name), fld.Schema, nested, out)
			continue
		}
		out[f.key(prefix, fld.Name)] = v
	}
}

func (f *Flatten) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	out := copyBasics(in)
	out.Default = nil
	var walk func(prefix string, s *connect.Schema, optional bool) error
	walk = func(prefix string, s *connect.Schema, optional bool) error {
		for _, fld := range s.Fields {
			if fld.Schema == nil {
				return errorf(f.name, "field %q has no schema", f.key(prefix, fld.Name))
			}
			name := f.key(prefix, fld.Name)
			if fld.Schema.Type == connect.Struct {
				if err := walk(name, fld.Schema, optional || fld.Schema.Optional); err != nil {
					return err
				}
				continue
			}
			fs := fld.Schema
			if optional && !fs.Optional {
				// A field of an optional struct may be missing, so its
				// flattened field must be optional too.
				c := *fs
				c.Optional = true
				fs = &c
			}
			out.Fields = append(out.Fields, connect.Field{Name: name, Schema: fs})
		}
		return nil
	}
	if err := walk("", in, false); err != nil {
		return nil, err
	}
	return out, nil
}
