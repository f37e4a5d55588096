package transforms

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// MaskField replaces fields with the null value of their type (0, false,
// "", empty list or map, the epoch) or with a replacement
// (org.apache.kafka.connect.transforms.MaskField).
type MaskField struct {
	noClose
	side           side
	name           string
	fields         map[string]bool
	replacement    string
	hasReplacement bool
}

var maskFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "fields", Type: connect.TypeList, Importance: connect.High, Validator: connect.NonEmptyList,
		Documentation: "Names of fields to mask."},
	connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Optional: true, Importance: connect.Low,
		Validator:     connect.NonEmptyString,
		Documentation: "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."},
)

func init() {
	registerKV("MaskField", "Mask fields with a valid null value for their type, or a replacement", maskFieldDef,
		func(s side) connect.Transformation { return &MaskField{side: s, name: "MaskField" + s.suffix()} })
}

func (t *MaskField) Configure(cfg connect.Config) error {
	t.fields = map[string]bool{}
	for _, f := range cfg.List("fields") {
		t.fields[f] = true
	}
	t.replacement, t.hasReplacement = cfg.String("replacement"), cfg.IsSet("replacement")
	return nil
}

func (t *MaskField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil
	}
	var m map[string]any
	var err error
	if schema == nil {
		m, err = requireMap(t.name, "masking fields", v)
	} else {
		m, err = requireStruct(t.name, "masking fields", schema, v)
	}
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(m))
	for k, x := range m {
		if f, ok := schema.Field(k); ok && t.fields[k] && x != nil && f.Schema != nil && f.Schema.Type == connect.Struct {
			return nil, errorf(t.name, "field %q: cannot mask a struct", k)
		}
		if t.fields[k] {
			if x, err = t.mask(x); err != nil {
				return nil, errorf(t.name, "field %q: %w", k, err)
			}
		}
		nm[k] = x
	}
	return t.side.with(rec, schema, nm), nil
}

func (t *MaskField) mask(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t.hasReplacement {
		return maskWith(v, t.replacement)
	}
	switch x := v.(type) {
	case bool:
		return false, nil
	case string:
		return "", nil
	case []byte:
		return []byte{}, nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case time.Time:
		return time.UnixMilli(0).UTC(), nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case int:
		return 0, nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	default:
		return nil, fmt.Errorf("cannot mask value of type %T", x)
	}
}

// maskWith parses the replacement into the value's type, as Kafka's
// MaskField does for numbers and strings.
func maskWith(v any, r string) (any, error) {
	bad := func(err error) error {
		return fmt.Errorf("unable to convert replacement %q to %T: %w", r, v, err)
	}
	switch v.(type) {
	case string:
		return r, nil
	case int8, int16, int32, int64, int:
		bits := map[string]int{"int8": 8, "int16": 16, "int32": 32}[fmt.Sprintf("%T", v)]
		if bits == 0 {
			bits = 64
		}
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, bits)
		if err != nil {
			return nil, bad(err)
		}
		switch v.(type) {
		case int8:
			return int8(n), nil
		case int16:
			return int16(n), nil
		case int32:
			return int32(n), nil
		case int:
			return int(n), nil
		}
		return n, nil
	case float32:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 32)
		if err != nil {
			return nil, bad(err)
		}
		return float32(f), nil
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil {
			return nil, bad(err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("cannot mask value of type %s with custom replacement", typeName(v))
}
