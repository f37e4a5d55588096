package converters

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tributary-io/tributary/connect"
)

// This file holds the JSON encoding shared by the JSON converter and the
// header converters: Kafka Connect's schema JSON and value conversion with
// and without a schema.
//
// Go forms of logical types: Date, Time and Timestamp are time.Time (UTC);
// Decimal is *big.Rat (exact; the scale is the schema's "scale" parameter).

const millisPerDay = 24 * 60 * 60 * 1000

// appendSchemaJSON appends Kafka Connect's JSON form of s (null for nil).
func appendSchemaJSON(b []byte, s *connect.Schema, decimalNumeric bool) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	if !validType(s.Type) {
		return b, fmt.Errorf("unknown schema type %q", s.Type)
	}
	b = append(b, `{"type":`...)
	b = appendString(b, string(s.Type))
	var err error
	switch s.Type {
	case connect.Struct:
		b = append(b, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			if f.Schema == nil {
				return b, fmt.Errorf("field %q has no schema", f.Name)
			}
			n := len(b)
			if b, err = appendSchemaJSON(b, f.Schema, decimalNumeric); err != nil {
				return b, fmt.Errorf("field %q: %w", f.Name, err)
			}
			// Kafka puts the field name last inside the field's schema object.
			b = b[:len(b)-1]
			if len(b) > n {
				b = append(b, ',')
			}
			b = append(b, `"field":`...)
			b = appendString(b, f.Name)
			b = append(b, '}')
		}
		b = append(b, ']')
	case connect.Array:
		if s.Value == nil {
			return b, errors.New("array schema has no element schema")
		}
		b = append(b, `,"items":`...)
		if b, err = appendSchemaJSON(b, s.Value, decimalNumeric); err != nil {
			return b, err
		}
	case connect.Map:
		if s.Key == nil || s.Value == nil {
			return b, errors.New("map schema needs key and value schemas")
		}
		b = append(b, `,"keys":`...)
		if b, err = appendSchemaJSON(b, s.Key, decimalNumeric); err != nil {
			return b, err
		}
		b = append(b, `,"values":`...)
		if b, err = appendSchemaJSON(b, s.Value, decimalNumeric); err != nil {
			return b, err
		}
	}
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, s.Optional)
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, s.Name)
	}
	if s.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(s.Version), 10)
	}
	if s.Doc != "" {
		b = append(b, `,"doc":`...)
		b = appendString(b, s.Doc)
	}
	if len(s.Parameters) > 0 {
		b = append(b, `,"parameters":{`...)
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, s.Parameters[k])
		}
		b = append(b, '}')
	}
	if s.Default != nil {
		b = append(b, `,"default":`...)
		if b, err = appendValue(b, s, s.Default, decimalNumeric, false); err != nil {
			return b, fmt.Errorf("default value: %w", err)
		}
	}
	return append(b, '}'), nil
}

func validType(t connect.SchemaType) bool {
	switch t {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64, connect.Float32, connect.Float64,
		connect.Boolean, connect.String, connect.Bytes, connect.Array, connect.Map, connect.Struct:
		return true
	}
	return false
}

// parseSchemaJSON turns a decoded schema object into a Schema.
func parseSchemaJSON(v any) (*connect.Schema, error) {
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema must be a JSON object, not %s", jsonKind(v))
	}
	typ, ok := obj["type"].(string)
	if !ok {
		return nil, errors.New(`schema must contain "type" field`)
	}
	s := &connect.Schema{Type: connect.SchemaType(typ)}
	if !validType(s.Type) {
		return nil, fmt.Errorf("unknown schema type: %s", typ)
	}
	if o, present := obj["optional"]; present && o != nil {
		b, ok := o.(bool)
		if !ok {
			return nil, errors.New(`schema "optional" must be a boolean`)
		}
		s.Optional = b
	}
	if n, present := obj["name"]; present && n != nil {
		if s.Name, ok = n.(string); !ok {
			return nil, errors.New(`schema "name" must be a string`)
		}
	}
	if d, present := obj["doc"]; present && d != nil {
		if s.Doc, ok = d.(string); !ok {
			return nil, errors.New(`schema "doc" must be a string`)
		}
	}
	if ver, present := obj["version"]; present && ver != nil {
		num, ok := ver.(json.Number)
		n, err := num.Int64()
		if !ok || err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			return nil, errors.New(`schema "version" must be a 32-bit integer`)
		}
		s.Version = int(n)
	}
	if p, present := obj["parameters"]; present && p != nil {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, errors.New(`schema "parameters" must be an object`)
		}
		s.Parameters = make(map[string]string, len(pm))
		for k, v := range pm {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("schema parameter %q must be a string", k)
			}
			s.Parameters[k] = str
		}
	}
	var err error
	switch s.Type {
	case connect.Struct:
		fields, ok := obj["fields"].([]any)
		if !ok {
			return nil, errors.New(`struct schema's "fields" argument is not an array`)
		}
		for i, f := range fields {
			fo, ok := f.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("struct field %d is not an object", i)
			}
			name, ok := fo["field"].(string)
			if !ok {
				return nil, fmt.Errorf(`struct field %d has no "field" name`, i)
			}
			fs, err := parseSchemaJSON(fo)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			s.Fields = append(s.Fields, connect.Field{Name: name, Schema: fs})
		}
	case connect.Array:
		if obj["items"] == nil {
			return nil, errors.New("array schema did not specify the element type")
		}
		if s.Value, err = parseSchemaJSON(obj["items"]); err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
	case connect.Map:
		if obj["keys"] == nil || obj["values"] == nil {
			return nil, errors.New("map schema did not specify the key and value types")
		}
		if s.Key, err = parseSchemaJSON(obj["keys"]); err != nil {
			return nil, fmt.Errorf("map keys: %w", err)
		}
		if s.Value, err = parseSchemaJSON(obj["values"]); err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
	}
	if s.Name == connect.DecimalName {
		if _, err := decimalScale(s); err != nil {
			return nil, err
		}
	}
	if d, present := obj["default"]; present && d != nil {
		def, err := toConnect(s, d, true)
		if err != nil {
			return nil, fmt.Errorf("default value: %w", err)
		}
		s.Default = def
	}
	return s, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func decimalScale(s *connect.Schema) (int, error) {
	p, ok := s.Parameters[connect.DecimalScale]
	if !ok {
		return 0, errors.New(`decimal schema has no "scale" parameter`)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < -1000 || n > 1000 {
		return 0, fmt.Errorf("decimal scale %q is not a valid integer", p)
	}
	return n, nil
}

// appendValue appends v as JSON. With a schema, v must fit it; without
// one, the JSON type follows the Go type.
func appendValue(b []byte, s *connect.Schema, v any, decimalNumeric, replaceNull bool) ([]byte, error) {
	if s == nil {
		return appendSchemaless(b, v, 0)
	}
	if v == nil {
		switch {
		case s.Default != nil && replaceNull:
			return appendValue(b, s, s.Default, decimalNumeric, false)
		case s.Optional:
			return append(b, "null"...), nil
		case s.Default != nil:
			return append(b, "null"...), nil
		}
		return b, fmt.Errorf("null value for a required %s field with no default", s.Type)
	}
	switch s.Name {
	case connect.DecimalName:
		if s.Type == connect.Bytes {
			return appendDecimal(b, s, v, decimalNumeric)
		}
	case connect.DateName, connect.TimeName, connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			ms := t.UnixMilli()
			switch s.Name {
			case connect.DateName:
				ms = floorDiv(ms, millisPerDay)
			case connect.TimeName:
				ms -= floorDiv(ms, millisPerDay) * millisPerDay
			}
			return strconv.AppendInt(b, ms, 10), nil
		}
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		n, ok := asInt64(v)
		if !ok {
			return b, typeError(s, v)
		}
		if !intFits(s.Type, n) {
			return b, fmt.Errorf("value %d out of range for %s", n, s.Type)
		}
		return strconv.AppendInt(b, n, 10), nil
	case connect.Float32, connect.Float64:
		switch f := v.(type) {
		case float32:
			return appendFloat(b, float64(f), 32), nil
		case float64:
			if s.Type == connect.Float32 {
				return appendFloat(b, f, 32), nil
			}
			return appendFloat(b, f, 64), nil
		}
		if n, ok := asInt64(v); ok {
			return strconv.AppendInt(b, n, 10), nil
		}
		return b, typeError(s, v)
	case connect.Boolean:
		x, ok := v.(bool)
		if !ok {
			return b, typeError(s, v)
		}
		return strconv.AppendBool(b, x), nil
	case connect.String:
		x, ok := v.(string)
		if !ok {
			return b, typeError(s, v)
		}
		return appendString(b, x), nil
	case connect.Bytes:
		x, ok := v.([]byte)
		if !ok {
			return b, typeError(s, v)
		}
		return appendBase64(b, x), nil
	case connect.Array:
		if s.Value == nil {
			return b, errors.New("array schema has no element schema")
		}
		x, ok := v.([]any)
		if !ok {
			return b, typeError(s, v)
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, s.Value, e, decimalNumeric, replaceNull); err != nil {
				return b, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case connect.Map:
		if s.Key == nil || s.Value == nil {
			return b, errors.New("map schema needs key and value schemas")
		}
		x, ok := v.(map[string]any)
		if !ok {
			return b, typeError(s, v)
		}
		keys := sortedKeys(x)
		var err error
		if s.Key.Type == connect.String {
			b = append(b, '{')
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				if b, err = appendValue(b, s.Value, x[k], decimalNumeric, replaceNull); err != nil {
					return b, fmt.Errorf("map entry %q: %w", k, err)
				}
			}
			return append(b, '}'), nil
		}
		// Non-string keys: an array of [key, value] pairs, as Kafka does.
		// Go maps hold keys as text; they are parsed with the key schema.
		b = append(b, '[')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			kv, err := keyFromString(s.Key, k)
			if err != nil {
				return b, err
			}
			b = append(b, '[')
			if b, err = appendValue(b, s.Key, kv, decimalNumeric, replaceNull); err != nil {
				return b, fmt.Errorf("map key %q: %w", k, err)
			}
			b = append(b, ',')
			if b, err = appendValue(b, s.Value, x[k], decimalNumeric, replaceNull); err != nil {
				return b, fmt.Errorf("map entry %q: %w", k, err)
			}
			b = append(b, ']')
		}
		return append(b, ']'), nil
	case connect.Struct:
		x, ok := v.(map[string]any)
		if !ok {
			return b, typeError(s, v)
		}
		b = append(b, '{')
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, f.Schema, x[f.Name], decimalNumeric, replaceNull); err != nil {
				return b, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("unknown schema type %q", s.Type)
}

func typeError(s *connect.Schema, v any) error {
	return fmt.Errorf("invalid Go type %T for schema type %s", v, s.Type)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func intFits(t connect.SchemaType, n int64) bool {
	switch t {
	case connect.Int8:
		return n >= math.MinInt8 && n <= math.MaxInt8
	case connect.Int16:
		return n >= math.MinInt16 && n <= math.MaxInt16
	case connect.Int32:
		return n >= math.MinInt32 && n <= math.MaxInt32
	}
	return true
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint:
		if uint64(n) <= math.MaxInt64 {
			return int64(n), true
		}
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func keyFromString(s *connect.Schema, k string) (any, error) {
	var (
		v   any
		err error
	)
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		var n int64
		n, err = strconv.ParseInt(k, 10, 64)
		switch s.Type {
		case connect.Int8:
			v = int8(n)
		case connect.Int16:
			v = int16(n)
		case connect.Int32:
			v = int32(n)
		default:
			v = n
		}
		if err == nil && !intFits(s.Type, n) {
			err = errors.New("out of range")
		}
	case connect.Float32, connect.Float64:
		v, err = strconv.ParseFloat(k, 64)
	case connect.Boolean:
		v, err = strconv.ParseBool(k)
	default:
		return nil, fmt.Errorf("map keys of type %s are not supported", s.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("map key %q does not fit key schema %s", k, s.Type)
	}
	return v, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendSchemaless writes v by its Go type. Map keys are sorted so equal
// values give equal bytes.
func appendSchemaless(b []byte, v any, depth int) ([]byte, error) {
	if depth > 1000 {
		return b, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendFloat(b, x, 64), nil
	case float32:
		return appendFloat(b, float64(x), 32), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return b, fmt.Errorf("invalid number %q", string(x))
		}
		return append(b, x...), nil
	case []byte:
		return appendBase64(b, x), nil
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	case *big.Rat:
		if x == nil {
			return append(b, "null"...), nil
		}
		return append(b, ratString(x)...), nil
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendSchemaless(b, x[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendSchemaless(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	// Typed slices and maps ([]string, map[string]float64, …) from Go code.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		b = append(b, '[')
		for i := range rv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendSchemaless(b, rv.Index(i).Interface(), depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				m[it.Key().String()] = it.Value().Interface()
			}
			return appendSchemaless(b, m, depth)
		}
	}
	return b, fmt.Errorf("cannot convert Go type %T to JSON", v)
}

// appendFloat writes f as encoding/json does, plus ".0" on integral values; NaN and infinities, which
// JSON lacks, become the strings Jackson writes for them.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'f' && !bytes.ContainsRune(b[n:], '.') {
		// Keep floats floats: schemaless readers (this one, Elasticsearch's
		// dynamic mapping) take 32 for an integer but 32.0 for a double.
		b = append(b, '.', '0')
	}
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendBase64(b []byte, x []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, x)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Decimal support.

func toRat(v any) (*big.Rat, error) {
	switch x := v.(type) {
	case *big.Rat:
		if x != nil {
			return x, nil
		}
	case *big.Int:
		if x != nil {
			return new(big.Rat).SetInt(x), nil
		}
	case *big.Float:
		if x != nil && !x.IsInf() {
			r, _ := x.Rat(nil)
			return r, nil
		}
	case float64, float32:
		f, _ := x.(float64)
		bits := 64
		if f32, ok := x.(float32); ok {
			f, bits = float64(f32), 32
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v is not a decimal", f)
		}
		// Via the shortest text, so 0.1 stays 0.1 and not its binary value.
		r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, bits))
		return r, nil
	case string:
		if r, ok := new(big.Rat).SetString(x); ok && isDecimalText(x) {
			return r, nil
		}
		return nil, fmt.Errorf("%q is not a decimal number", x)
	case json.Number:
		return toRat(string(x))
	default:
		if n, ok := asInt64(v); ok {
			return new(big.Rat).SetInt64(n), nil
		}
	}
	return nil, fmt.Errorf("invalid Go type %T for a Decimal", v)
}

// isDecimalText rejects big.Rat's fraction syntax ("1/3").
func isDecimalText(s string) bool {
	for i := range len(s) {
		if s[i] == '/' {
			return false
		}
	}
	return len(s) < 4096
}

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// unscaled returns r × 10^scale, which must be an integer.
func unscaled(r *big.Rat, scale int) (*big.Int, error) {
	x := new(big.Rat).Set(r)
	if scale >= 0 {
		x.Mul(x, new(big.Rat).SetInt(pow10(scale)))
	} else {
		x.Quo(x, new(big.Rat).SetInt(pow10(-scale)))
	}
	if !x.IsInt() {
		return nil, fmt.Errorf("decimal %s has more digits than scale %d allows", ratString(r), scale)
	}
	return new(big.Int).Set(x.Num()), nil
}

func ratFromUnscaled(u *big.Int, scale int) *big.Rat {
	r := new(big.Rat).SetInt(u)
	if scale >= 0 {
		return r.Quo(r, new(big.Rat).SetInt(pow10(scale)))
	}
	return r.Mul(r, new(big.Rat).SetInt(pow10(-scale)))
}

// ratString prints r in plain decimal notation (exact when r is a
// terminating decimal, else 20 decimals).
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// Count the decimals a terminating fraction needs.
	d := new(big.Int).Set(r.Denom())
	n := 0
	two, five := big.NewInt(2), big.NewInt(5)
	m := new(big.Int)
	for n < 1100 {
		if m.Mod(d, two).Sign() == 0 {
			d.Quo(d, two)
		} else if m.Mod(d, five).Sign() == 0 {
			d.Quo(d, five)
		} else {
			break
		}
		n++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return r.FloatString(20)
	}
	// n halvings/fifths bound the decimals needed; trim trailing zeros.
	s := r.FloatString(n)
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s
}

func twosComplement(x *big.Int) []byte {
	if x.Sign() >= 0 {
		b := x.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	n := new(big.Int).Not(x).BitLen()/8 + 1
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	return m.Add(m, x).Bytes()
}

func fromTwosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}

func appendDecimal(b []byte, s *connect.Schema, v any, numeric bool) ([]byte, error) {
	scale, err := decimalScale(s)
	if err != nil {
		return b, err
	}
	if raw, ok := v.([]byte); ok { // already the unscaled bytes
		v = ratFromUnscaled(fromTwosComplement(raw), scale)
	}
	r, err := toRat(v)
	if err != nil {
		return b, err
	}
	u, err := unscaled(r, scale)
	if err != nil {
		return b, err
	}
	if numeric {
		if scale <= 0 {
			return append(b, ratFromUnscaled(u, scale).Num().String()...), nil
		}
		return append(b, ratFromUnscaled(u, scale).FloatString(scale)...), nil
	}
	return appendBase64(b, twosComplement(u)), nil
}

// toConnect converts a decoded JSON value (numbers as json.Number) to the
// Go form of schema s; s nil means schemaless.
func toConnect(s *connect.Schema, v any, replaceNull bool) (any, error) {
	if s == nil {
		return schemalessToConnect(v, 0)
	}
	if v == nil {
		switch {
		case s.Default != nil && replaceNull:
			return s.Default, nil
		case s.Optional || s.Default != nil:
			return nil, nil
		}
		return nil, fmt.Errorf("invalid null value for required %s field", s.Type)
	}
	switch s.Name {
	case connect.DecimalName:
		if s.Type == connect.Bytes {
			scale, err := decimalScale(s)
			if err != nil {
				return nil, err
			}
			switch x := v.(type) {
			case string: // BASE64
				raw, err := base64.StdEncoding.DecodeString(x)
				if err != nil {
					return nil, fmt.Errorf("decimal is not valid base64: %w", err)
				}
				return ratFromUnscaled(fromTwosComplement(raw), scale), nil
			case json.Number: // NUMERIC
				return toRat(x)
			}
			return nil, fmt.Errorf("decimal must be a base64 string or a number, not %s", jsonKind(v))
		}
	case connect.DateName, connect.TimeName, connect.TimestampName:
		num, ok := v.(json.Number)
		n, err := num.Int64()
		if !ok || err != nil {
			return nil, fmt.Errorf("%s must be an integer, not %s", s.Name, jsonKind(v))
		}
		switch s.Name {
		case connect.DateName:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, fmt.Errorf("date %d out of range", n)
			}
			return time.UnixMilli(n * millisPerDay).UTC(), nil
		case connect.TimeName:
			if n < 0 || n >= millisPerDay {
				return nil, fmt.Errorf("time %d ms is not within one day", n)
			}
		}
		return time.UnixMilli(n).UTC(), nil
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("expected an integer for %s, got %s", s.Type, jsonKind(v))
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || !intFits(s.Type, n) {
			return nil, fmt.Errorf("%s is not a valid %s", num, s.Type)
		}
		switch s.Type {
		case connect.Int8:
			return int8(n), nil
		case connect.Int16:
			return int16(n), nil
		case connect.Int32:
			return int32(n), nil
		}
		return n, nil
	case connect.Float32, connect.Float64:
		var f float64
		switch x := v.(type) {
		case json.Number:
			var err error
			if f, err = strconv.ParseFloat(string(x), 64); err != nil {
				return nil, fmt.Errorf("%s is not a valid %s", x, s.Type)
			}
		case string:
			switch x {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return nil, fmt.Errorf("expected a number for %s, got a string", s.Type)
			}
		default:
			return nil, fmt.Errorf("expected a number for %s, got %s", s.Type, jsonKind(v))
		}
		if s.Type == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	case connect.Boolean:
		x, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("expected a boolean, got %s", jsonKind(v))
		}
		return x, nil
	case connect.String:
		x, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected a string, got %s", jsonKind(v))
		}
		return x, nil
	case connect.Bytes:
		x, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("expected base64 bytes, got %s", jsonKind(v))
		}
		raw, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return nil, fmt.Errorf("bytes are not valid base64: %w", err)
		}
		return raw, nil
	case connect.Array:
		x, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array, got %s", jsonKind(v))
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, err := toConnect(s.Value, e, replaceNull)
			if err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
			out[i] = c
		}
		return out, nil
	case connect.Map:
		if s.Key != nil && s.Key.Type == connect.String {
			x, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("expected an object for a map with string keys, got %s", jsonKind(v))
			}
			out := make(map[string]any, len(x))
			for k, e := range x {
				c, err := toConnect(s.Value, e, replaceNull)
				if err != nil {
					return nil, fmt.Errorf("map entry %q: %w", k, err)
				}
				out[k] = c
			}
			return out, nil
		}
		x, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array of [key, value] pairs for a map, got %s", jsonKind(v))
		}
		out := make(map[string]any, len(x))
		for i, e := range x {
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("map entry %d is not a [key, value] pair", i)
			}
			k, err := toConnect(s.Key, pair[0], replaceNull)
			if err != nil {
				return nil, fmt.Errorf("map key %d: %w", i, err)
			}
			val, err := toConnect(s.Value, pair[1], replaceNull)
			if err != nil {
				return nil, fmt.Errorf("map entry %d: %w", i, err)
			}
			out[fmt.Sprint(k)] = val
		}
		return out, nil
	case connect.Struct:
		x, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object for a struct, got %s", jsonKind(v))
		}
		out := make(map[string]any, len(s.Fields))
		for _, f := range s.Fields {
			c, err := toConnect(f.Schema, x[f.Name], replaceNull)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			out[f.Name] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown schema type %q", s.Type)
}

// schemalessToConnect turns json.Number into int64 (integers) or float64,
// in place.
func schemalessToConnect(v any, depth int) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("invalid number %q", string(x))
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			if _, scalar := e.(json.Number); scalar || isContainer(e) {
				c, err := schemalessToConnect(e, depth+1)
				if err != nil {
					return nil, err
				}
				x[k] = c
			}
		}
		return x, nil
	case []any:
		for i, e := range x {
			c, err := schemalessToConnect(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	}
	return v, nil
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}
