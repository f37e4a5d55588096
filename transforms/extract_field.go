package transforms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// ExtractField replaces the key or value with one of its fields
// (org.apache.kafka.connect.transforms.ExtractField). With
// field.syntax.version=V2 the field may be a dotted path into nested
// structs or maps; backticks quote a name that itself contains dots.
type ExtractField struct {
	noClose
	side        side
	name        string
	path        []string
	replaceNull bool
	cache       schemaCache
}

var extractFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Importance: connect.Medium, Validator: connect.NonEmptyString,
		Documentation: "Field name to extract."},
	connect.ConfigKey{Name: "field.syntax.version", Type: connect.TypeString, Default: "V1", Importance: connect.High, Allowed: []string{"V1", "V2"},
		Documentation: "Defines the version of the syntax to access fields. V1 accesses root-level fields only. V2 supports nested fields with dotted notation; names containing dots can be wrapped in backticks."},
	replaceNullKey,
).Check(func(c connect.Config) []connect.FieldError {
	if strings.EqualFold(c.String("field.syntax.version"), "V2") {
		if _, err := parseFieldPath(c.String("field")); err != nil {
			return []connect.FieldError{{Key: "field", Message: err.Error()}}
		}
	}
	return nil
})

func init() {
	registerKV("ExtractField", "Replace the key or value with one of its fields", extractFieldDef,
		func(s side) connect.Transformation { return &ExtractField{side: s, name: "ExtractField" + s.suffix()} })
}

// parseFieldPath parses a V2 field path: segments separated by dots; a
// segment wrapped in backticks may contain dots, and \` is a literal
// backtick inside it.
func parseFieldPath(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty field path")
	}
	var out []string
	i := 0
	for {
		var seg strings.Builder
		if i < len(s) && s[i] == '`' {
			i++
			closed := false
			for i < len(s) {
				switch {
				case s[i] == '\\' && i+1 < len(s) && s[i+1] == '`':
					seg.WriteByte('`')
					i += 2
				case s[i] == '`' && (i+1 == len(s) || s[i+1] == '.'):
					closed = true
					i++
				default:
					seg.WriteByte(s[i])
					i++
				}
				if closed {
					break
				}
			}
			if !closed {
				return nil, fmt.Errorf("unclosed backtick in field path %q", s)
			}
		} else {
			j := strings.IndexByte(s[i:], '.')
			if j < 0 {
				j = len(s) - i
			}
			seg.WriteString(s[i : i+j])
			i += j
		}
		if seg.Len() == 0 {
			return nil, fmt.Errorf("empty field name in field path %q", s)
		}
		out = append(out, seg.String())
		if i == len(s) {
			return out, nil
		}
		i++ // the dot
		if i == len(s) {
			return nil, fmt.Errorf("field path %q ends with a dot", s)
		}
	}
}

func (e *ExtractField) Configure(cfg connect.Config) error {
	e.replaceNull = cfg.Bool("replace.null.with.default")
	f := cfg.String("field")
	if !strings.EqualFold(cfg.String("field.syntax.version"), "V2") {
		e.path = []string{f}
		return nil
	}
	p, err := parseFieldPath(f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.name, err)
	}
	e.path = p
	return nil
}

func (e *ExtractField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := e.side.get(rec)
	if schema == nil {
		if v == nil {
			return rec, nil
		}
		for i, f := range e.path {
			m, err := requireMap(e.name, "field extraction", v)
			if err != nil {
				return nil, err
			}
			v = m[f]
			if v == nil && i < len(e.path)-1 {
				break
			}
		}
		return e.side.with(rec, nil, v), nil
	}
	out, err := e.cache.get(schema, func(in *connect.Schema) (*connect.Schema, error) {
		s := in
		for _, f := range e.path {
			if s.Type != connect.Struct {
				return nil, errorf(e.name, "field %q: schema type %s has no fields", f, s.Type)
			}
			fld, ok := s.Field(f)
			if !ok {
				return nil, errorf(e.name, "unknown field: %s", strings.Join(e.path, "."))
			}
			s = fld.Schema
		}
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	s := schema
	for _, f := range e.path {
		if v == nil {
			break
		}
		m, err := requireStruct(e.name, "field extraction", s, v)
		if err != nil {
			return nil, err
		}
		fld, _ := s.Field(f)
		v, s = fieldValue(m, fld, e.replaceNull), fld.Schema
	}
	return e.side.with(rec, out, v), nil
}
