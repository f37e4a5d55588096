package transforms

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// HeaderFrom copies or moves fields of the key or value into headers
// (org.apache.kafka.connect.transforms.HeaderFrom).
type HeaderFrom struct {
	noClose
	side        side
	name        string
	fields      []string
	headers     []string
	move        bool
	replaceNull bool
	cache       schemaCache
}

var headerFromDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Importance: connect.High, Validator: connect.NonEmptyList,
		Documentation: "Field names in the record whose values are to be copied or moved to headers."},
	connect.ConfigKey{Name: "headers", Type: connect.TypeList, Importance: connect.High, Validator: connect.NonEmptyList,
		Documentation: "Header names, in the same order as the field names listed in the fields configuration property."},
	connect.ConfigKey{Name: "operation", Type: connect.TypeString, Importance: connect.High, Allowed: []string{"move", "copy"},
		Documentation: "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value)."},
	replaceNullKey,
).Check(func(c connect.Config) []connect.FieldError {
	if len(c.List("fields")) != len(c.List("headers")) {
		return []connect.FieldError{{Key: "headers", Message: "'fields' config must have the same number of elements as 'headers' config."}}
	}
	return nil
})

func init() {
	registerKV("HeaderFrom", "Move or copy fields in the key or value of a record into its headers", headerFromDef,
		func(s side) connect.Transformation { return &HeaderFrom{side: s, name: "HeaderFrom" + s.suffix()} })
}

func (h *HeaderFrom) Configure(cfg connect.Config) error {
	h.fields, h.headers = cfg.List("fields"), cfg.List("headers")
	if len(h.fields) != len(h.headers) {
		return fmt.Errorf("%s: 'fields' config must have the same number of elements as 'headers' config", h.name)
	}
	h.move = strings.EqualFold(cfg.String("operation"), "move")
	h.replaceNull = cfg.Bool("replace.null.with.default")
	return nil
}

func (h *HeaderFrom) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := h.side.get(rec)
	if v == nil {
		return rec, nil
	}
	c := shallow(rec)
	c.Headers = slices.Grow(c.Headers, len(h.fields))
	if schema == nil {
		m, err := requireMap(h.name, "header "+"extraction", v)
		if err != nil {
			return nil, err
		}
		for i, f := range h.fields {
			c.Headers = append(c.Headers, connect.Header{Key: h.headers[i], Value: m[f]})
		}
		if !h.move {
			return c, nil
		}
		nm := make(map[string]any, len(m))
		for k, x := range m {
			if !slices.Contains(h.fields, k) {
				nm[k] = x
			}
		}
		return h.side.with(c, nil, nm), nil
	}
	m, err := requireStruct(h.name, "header extraction", schema, v)
	if err != nil {
		return nil, err
	}
	for i, f := range h.fields {
		fld, ok := schema.Field(f)
		if !ok {
			return nil, errorf(h.name, "field %q not found in the record %s schema", f, h.side.word())
		}
		c.Headers = append(c.Headers, connect.Header{Key: h.headers[i], Schema: fld.Schema, Value: fieldValue(m, fld, h.replaceNull)})
	}
	if !h.move {
		return c, nil
	}
	out, _ := h.cache.get(schema, func(in *connect.Schema) (*connect.Schema, error) {
		o := copyBasics(in)
		o.Default = nil
		for _, f := range in.Fields {
			if !slices.Contains(h.fields, f.Name) {
				o.Fields = append(o.Fields, f)
			}
		}
		return o, nil
	})
	nm := make(map[string]any, len(out.Fields))
	for _, f := range out.Fields {
		nm[f.Name] = fieldValue(m, f, h.replaceNull)
	}
	return h.side.with(c, out, nm), nil
}
