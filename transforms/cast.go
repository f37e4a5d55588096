package transforms

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Cast casts fields, or the whole key or value, to another primitive type
// (org.apache.kafka.connect.transforms.Cast).
type Cast struct {
	noClose
	side        side
	name        string
	whole       connect.SchemaType // set when the spec is a single type
	casts       map[string]connect.SchemaType
	replaceNull bool
	cache       schemaCache
}

var castDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "spec", Type: connect.TypeList, Importance: connect.High,
		Documentation: "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Binary fields can only be cast to string.",
		Validator:     func(v any) error { _, _, err := parseCastSpec(v.([]string)); return err }},
	replaceNullKey,
)

func init() {
	registerKV("Cast", "Cast fields or the entire key or value to a specific type", castDef,
		func(s side) connect.Transformation { return &Cast{side: s, name: "Cast" + s.suffix()} })
}

var castTargets = map[string]connect.SchemaType{
	"int8": connect.Int8, "int16": connect.Int16, "int32": connect.Int32, "int64": connect.Int64,
	"float32": connect.Float32, "float64": connect.Float64, "boolean": connect.Boolean, "string": connect.String,
}

// parseCastSpec parses Cast's spec: either one type for the whole value or
// field:type pairs. Type names are case-insensitive, as in Kafka.
func parseCastSpec(spec []string) (connect.SchemaType, map[string]connect.SchemaType, error) {
	if len(spec) == 0 {
		return "", nil, errors.New("must specify at least one field to cast")
	}
	parseType := func(s string) (connect.SchemaType, error) {
		t, ok := castTargets[strings.ToLower(strings.TrimSpace(s))]
		if !ok {
			return "", fmt.Errorf("invalid type found in casting spec: %q (valid: int8, int16, int32, int64, float32, float64, boolean, string)", strings.TrimSpace(s))
		}
		return t, nil
	}
	if len(spec) == 1 && !strings.Contains(spec[0], ":") {
		t, err := parseType(spec[0])
		return t, nil, err
	}
	casts := make(map[string]connect.SchemaType, len(spec))
	for _, m := range spec {
		field, typ, ok := strings.Cut(m, ":")
		if !ok {
			return "", nil, fmt.Errorf("cast transformation must either have a single type for the whole value, or field:type mappings, found %q", m)
		}
		if strings.Contains(typ, ":") {
			return "", nil, fmt.Errorf("invalid cast mapping %q: expected field:type", m)
		}
		field = strings.TrimSpace(field)
		if field == "" {
			return "", nil, fmt.Errorf("invalid cast mapping %q: empty field name", m)
		}
		t, err := parseType(typ)
		if err != nil {
			return "", nil, err
		}
		casts[field] = t
	}
	return "", casts, nil
}

func (c *Cast) Configure(cfg connect.Config) error {
	whole, casts, err := parseCastSpec(cfg.List("spec"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	c.whole, c.casts, c.replaceNull = whole, casts, cfg.Bool("replace.null.with.default")
	return nil
}

func (c *Cast) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := c.side.get(rec)
	if schema == nil {
		return c.applySchemaless(rec, v)
	}
	out, err := c.cache.get(schema, c.buildSchema)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return c.side.with(rec, out, nil), nil
	}
	if c.whole != "" {
		nv, err := castValue(v, c.whole)
		if err != nil {
			return nil, errorf(c.name, "%w", err)
		}
		return c.side.with(rec, out, nv), nil
	}
	m, err := requireStruct(c.name, "cast types", schema, v)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(m))
	for _, f := range schema.Fields {
		fv := fieldValue(m, f, c.replaceNull)
		if t, ok := c.casts[f.Name]; ok {
			if fv, err = castValue(fv, t); err != nil {
				return nil, errorf(c.name, "field %q: %w", f.Name, err)
			}
		}
		nm[f.Name] = fv
	}
	return c.side.with(rec, out, nm), nil
}

func (c *Cast) applySchemaless(rec *connect.Record, v any) (*connect.Record, error) {
	if v == nil {
		return rec, nil
	}
	if c.whole != "" {
		nv, err := castValue(v, c.whole)
		if err != nil {
			return nil, errorf(c.name, "%w", err)
		}
		return c.side.with(rec, nil, nv), nil
	}
	m, err := requireMap(c.name, "cast types", v)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(m))
	for k, fv := range m {
		if t, ok := c.casts[k]; ok {
			if fv, err = castValue(fv, t); err != nil {
				return nil, errorf(c.name, "field %q: %w", k, err)
			}
		}
		nm[k] = fv
	}
	return c.side.with(rec, nil, nm), nil
}

func (c *Cast) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	if c.whole != "" {
		if !in.Type.IsPrimitive() {
			return nil, errorf(c.name, "cannot cast a whole value of schema type %s; only primitive types can be cast", in.Type)
		}
		return castSchema(in, c.whole)
	}
	if in.Type != connect.Struct {
		return nil, errorf(c.name, "field casts need a struct schema, found %s", in.Type)
	}
	out := copyBasics(in)
	out.Default = nil
	for _, f := range in.Fields {
		if t, ok := c.casts[f.Name]; ok {
			fs, err := castSchema(f.Schema, t)
			if err != nil {
				return nil, errorf(c.name, "field %q: %w", f.Name, err)
			}
			f = connect.Field{Name: f.Name, Schema: fs}
		}
		out.Fields = append(out.Fields, f)
	}
	return out, nil
}

// castSchema returns the schema of a value cast to t: the target type,
// keeping optionality and a cast default; logical names are dropped
// because the cast value no longer has the logical meaning.
func castSchema(in *connect.Schema, t connect.SchemaType) (*connect.Schema, error) {
	if in == nil {
		return &connect.Schema{Type: t, Optional: true}, nil
	}
	if !in.Type.IsPrimitive() {
		return nil, fmt.Errorf("cannot cast schema type %s to %s", in.Type, t)
	}
	if in.Type == connect.Bytes && in.Name != connect.DecimalName && t != connect.String {
		return nil, fmt.Errorf("bytes can only be cast to string, not %s", t)
	}
	out := &connect.Schema{Type: t, Optional: in.Optional, Doc: in.Doc}
	if in.Default != nil {
		d, err := castValue(in.Default, t)
		if err != nil {
			return nil, fmt.Errorf("default value: %w", err)
		}
		out.Default = d
	}
	return out, nil
}

// castValue casts one primitive value to t with Java's conversion rules:
// integer narrowing wraps, floats truncate toward zero, numbers are true
// when non-zero, and strings parse strictly.
func castValue(v any, t connect.SchemaType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case connect.String:
		return castToString(v)
	case connect.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return strings.EqualFold(x, "true"), nil
		}
		if n, ok := asInt(v); ok {
			return n != 0, nil
		}
		if f, ok := asFloat(v); ok {
			return f != 0, nil
		}
	case connect.Float32, connect.Float64:
		var f float64
		switch x := v.(type) {
		case bool:
			if x {
				f = 1
			}
		case string:
			p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("cannot cast string %q to %s", x, t)
			}
			f = p
		case time.Time:
			f = float64(x.UnixMilli())
		default:
			n, isInt := asInt(v)
			g, isFloat := asFloat(v)
			switch {
			case isInt:
				f = float64(n)
			case isFloat:
				f = g
			default:
				return nil, fmt.Errorf("cannot cast value of type %s to %s", typeName(v), t)
			}
		}
		if t == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		var n int64
		switch x := v.(type) {
		case bool:
			if x {
				n = 1
			}
		case string:
			bits := map[connect.SchemaType]int{connect.Int8: 8, connect.Int16: 16, connect.Int32: 32, connect.Int64: 64}[t]
			p, err := strconv.ParseInt(x, 10, bits)
			if err != nil {
				return nil, fmt.Errorf("cannot cast string %q to %s", x, t)
			}
			n = p
		case time.Time:
			n = x.UnixMilli()
		default:
			i, isInt := asInt(v)
			f, isFloat := asFloat(v)
			switch {
			case isInt:
				n = i
			case isFloat:
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, fmt.Errorf("cannot cast %v to %s", f, t)
				}
				n = int64(math.Trunc(max(min(f, math.MaxInt64), math.MinInt64)))
			default:
				return nil, fmt.Errorf("cannot cast value of type %s to %s", typeName(v), t)
			}
		}
		switch t {
		case connect.Int8:
			return int8(n), nil
		case connect.Int16:
			return int16(n), nil
		case connect.Int32:
			return int32(n), nil
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot cast value of type %s to %s", typeName(v), t)
}

func castToString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case float32:
		return javaDouble(float64(x), 32), nil
	case float64:
		return javaDouble(x, 64), nil
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	}
	if n, ok := asInt(v); ok {
		return strconv.FormatInt(n, 10), nil
	}
	return nil, fmt.Errorf("cannot cast value of type %s to string", typeName(v))
}

// javaDouble formats like Java's Double.toString, so a cast to string gives
// the text a Kafka Connect pipeline would produce ("1.0", "1.0E10").
func javaDouble(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, bits)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	if neg := strings.HasPrefix(exp, "-"); neg {
		exp = "-" + strings.TrimLeft(exp[1:], "0")
	} else {
		exp = strings.TrimLeft(exp, "0")
	}
	return mant + "E" + exp
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint:
		return int64(x), true
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
