package converters

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

const simpleHeaderClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"

func init() {
	connect.Register(connect.Plugin{Class: simpleHeaderClass, Kind: connect.KindHeaderConverter, Version: pluginVersion,
		Summary: "header values as text, parsed back to booleans, numbers, dates, arrays and maps as Kafka's Values class does",
		Config:  connect.NewConfigDef(), New: func() any { return &SimpleHeaderConverter{} }})
}

// SimpleHeaderConverter is Kafka Connect's default header converter. It
// writes values as UTF-8 text (strings as they are) and infers a schema
// when reading: true/false → boolean; integers → the smallest of int8,
// int16, int32, int64 (larger ones → Decimal); other numbers → float32
// (as Kafka does); "yyyy-MM-dd", "HH:mm:ss.SSSZ" and
// "yyyy-MM-ddTHH:mm:ss.SSSZ" → Date, Time, Timestamp; [..] and {..} →
// array and map; anything else → string.
type SimpleHeaderConverter struct{}

func (*SimpleHeaderConverter) Configure(cfg connect.Config) error { return nil }

func (*SimpleHeaderConverter) FromHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	if value == nil {
		return nil, nil
	}
	b, err := appendHeaderText(nil, schema, value, false)
	if err != nil {
		return nil, fmt.Errorf("converting header %q of topic %s: %w", key, topic, err)
	}
	return b, nil
}

func (*SimpleHeaderConverter) ToHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	s, v := ParseHeaderString(string(data))
	return s, v, nil
}

const (
	isoDate      = "2006-01-02"
	isoTime      = "15:04:05.000Z"
	isoTimestamp = "2006-01-02T15:04:05.000Z"
)

func appendHeaderText(b []byte, s *connect.Schema, v any, embedded bool) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if !embedded {
			return append(b, x...), nil
		}
		b = append(b, '"')
		for i := range len(x) {
			if x[i] == '"' || x[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, x[i])
		}
		return append(b, '"'), nil
	case []byte:
		if embedded {
			return appendBase64(b, x), nil
		}
		return base64.StdEncoding.AppendEncode(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendJavaDouble(b, x, 64), nil
	case float32:
		return appendJavaDouble(b, float64(x), 32), nil
	case *big.Rat:
		if x != nil {
			return append(b, ratString(x)...), nil
		}
		return append(b, "null"...), nil
	case time.Time:
		t := x.UTC()
		name := ""
		if s != nil {
			name = s.Name
		}
		switch {
		case name == connect.DateName:
			return t.AppendFormat(b, isoDate), nil
		case name == connect.TimeName:
			return t.AppendFormat(b, isoTime), nil
		case name == connect.TimestampName:
			return t.AppendFormat(b, isoTimestamp), nil
		}
		ms := t.UnixMilli()
		switch { // Kafka's dateFormatFor
		case ms >= 0 && ms < millisPerDay:
			return t.AppendFormat(b, isoTime), nil
		case ms%millisPerDay == 0:
			return t.AppendFormat(b, isoDate), nil
		}
		return t.AppendFormat(b, isoTimestamp), nil
	case []any:
		var es *connect.Schema
		if s != nil {
			es = s.Value
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendHeaderText(b, es, e, true); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		keys := sortedKeys(x)
		var vs func(k string) *connect.Schema
		if s != nil && s.Type == connect.Struct {
			keys = keys[:0]
			for _, f := range s.Fields {
				keys = append(keys, f.Name)
			}
			vs = func(k string) *connect.Schema { f, _ := s.Field(k); return f.Schema }
		} else {
			vs = func(string) *connect.Schema {
				if s != nil {
					return s.Value
				}
				return nil
			}
		}
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = appendHeaderText(b, nil, k, true)
			b = append(b, ':')
			var err error
			if b, err = appendHeaderText(b, vs(k), x[k], true); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	if n, ok := asInt64(v); ok {
		return strconv.AppendInt(b, n, 10), nil
	}
	return b, fmt.Errorf("unsupported header value type %T", v)
}

// appendJavaDouble prints f as Java's Double.toString / Float.toString:
// always a decimal point, scientific notation outside [1e-3, 1e7).
func appendJavaDouble(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return append(b, s...)
	}
	s := strconv.FormatFloat(f, 'E', -1, bits) // 1.5E+21
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return append(append(append(b, mant...), 'E'), exp...)
}

var (
	boolSchema      = &connect.Schema{Type: connect.Boolean}
	stringSchema    = &connect.Schema{Type: connect.String}
	dateSchema      = &connect.Schema{Type: connect.Int32, Name: connect.DateName, Version: 1}
	timeSchema      = &connect.Schema{Type: connect.Int32, Name: connect.TimeName, Version: 1}
	timestampSchema = &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1}
)

// ParseHeaderString infers a schema and value from header text the way
// Kafka's Values.parseString does for the common cases. "null" gives no
// schema and a nil value; text that is nothing else is a string.
func ParseHeaderString(str string) (*connect.Schema, any) {
	if str == "" {
		return stringSchema, ""
	}
	trimmed := strings.TrimSpace(str)
	switch trimmed {
	case "true":
		return boolSchema, true
	case "false":
		return boolSchema, false
	case "null":
		return nil, nil
	}
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		p := &headerParser{s: trimmed}
		if s, v, err := p.value(0); err == nil && p.atEnd() {
			return s, v
		}
	}
	if s, v, ok := parseScalar(trimmed); ok {
		return s, v
	}
	return stringSchema, str
}

func parseScalar(tok string) (*connect.Schema, any, bool) {
	if tok == "" {
		return nil, nil, false
	}
	c := tok[0]
	if c >= '0' && c <= '9' {
		for _, f := range []struct {
			layout string
			schema *connect.Schema
		}{{isoTimestamp, timestampSchema}, {isoTime, timeSchema}, {isoDate, dateSchema}} {
			if len(tok) == len(f.layout) {
				if t, err := time.Parse(f.layout, tok); err == nil {
					if f.schema == timeSchema { // Connect's Time lives on 1970-01-01
						t = t.AddDate(1970, 0, 0)
					}
					return f.schema, t.UTC(), true
				}
			}
		}
	}
	if !(c >= '0' && c <= '9' || c == '+' || c == '-') || len(tok) > 1000 {
		return nil, nil, false
	}
	r, ok := new(big.Rat).SetString(tok)
	if !ok || !isDecimalText(tok) {
		return nil, nil, false
	}
	if r.IsInt() {
		n := r.Num()
		if n.IsInt64() {
			i := n.Int64()
			switch {
			case i >= math.MinInt8 && i <= math.MaxInt8:
				return &connect.Schema{Type: connect.Int8}, int8(i), true
			case i >= math.MinInt16 && i <= math.MaxInt16:
				return &connect.Schema{Type: connect.Int16}, int16(i), true
			case i >= math.MinInt32 && i <= math.MaxInt32:
				return &connect.Schema{Type: connect.Int32}, int32(i), true
			}
			return &connect.Schema{Type: connect.Int64}, i, true
		}
		return &connect.Schema{Type: connect.Bytes, Name: connect.DecimalName, Version: 1,
			Parameters: map[string]string{connect.DecimalScale: "0"}}, r, true
	}
	f, _ := r.Float32()
	if !math.IsInf(float64(f), 0) {
		return &connect.Schema{Type: connect.Float32}, f, true
	}
	d, _ := r.Float64()
	return &connect.Schema{Type: connect.Float64}, d, true
}

// headerParser reads the embedded syntax of arrays and maps.
type headerParser struct {
	s   string
	pos int
}

var errHeaderSyntax = errors.New("not an embedded value")

func (p *headerParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *headerParser) atEnd() bool { p.skipSpace(); return p.pos == len(p.s) }

func (p *headerParser) consume(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *headerParser) value(depth int) (*connect.Schema, any, error) {
	if depth > 100 {
		return nil, nil, errHeaderSyntax
	}
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, nil, errHeaderSyntax
	}
	switch p.s[p.pos] {
	case '"':
		p.pos++
		var sb strings.Builder
		for p.pos < len(p.s) {
			c := p.s[p.pos]
			p.pos++
			switch c {
			case '\\':
				if p.pos < len(p.s) {
					sb.WriteByte(p.s[p.pos])
					p.pos++
				}
			case '"':
				str := sb.String()
				// Quoted temporal literals keep their logical type.
				if s, v, ok := parseScalar(str); ok && s.Name != "" && s.Name != connect.DecimalName {
					return s, v, nil
				}
				return stringSchema, str, nil
			default:
				sb.WriteByte(c)
			}
		}
		return nil, nil, errHeaderSyntax
	case '[':
		p.pos++
		var (
			out  = []any{}
			elem *connect.Schema
			mix  bool
		)
		if p.consume(']') {
			return &connect.Schema{Type: connect.Array, Optional: true}, out, nil
		}
		for {
			s, v, err := p.value(depth + 1)
			if err != nil {
				return nil, nil, err
			}
			elem, mix = commonSchema(elem, s, mix)
			out = append(out, v)
			if p.consume(']') {
				break
			}
			if !p.consume(',') {
				return nil, nil, errHeaderSyntax
			}
		}
		if mix {
			elem = nil
		} else {
			for i := range out {
				out[i] = widen(out[i], elem)
			}
		}
		return &connect.Schema{Type: connect.Array, Value: elem}, out, nil
	case '{':
		p.pos++
		out := map[string]any{}
		var (
			ks, vs     *connect.Schema
			kmix, vmix bool
			vals       []string
		)
		if p.consume('}') {
			return &connect.Schema{Type: connect.Map, Optional: true}, out, nil
		}
		for {
			k, kv, err := p.value(depth + 1)
			if err != nil || kv == nil {
				return nil, nil, errHeaderSyntax
			}
			if !p.consume(':') {
				return nil, nil, errHeaderSyntax
			}
			s, v, err := p.value(depth + 1)
			if err != nil {
				return nil, nil, err
			}
			ks, kmix = commonSchema(ks, k, kmix)
			vs, vmix = commonSchema(vs, s, vmix)
			key := fmt.Sprint(kv)
			if t, ok := kv.(time.Time); ok {
				b, _ := appendHeaderText(nil, k, t, false)
				key = string(b)
			}
			out[key] = v
			vals = append(vals, key)
			if p.consume('}') {
				break
			}
			if !p.consume(',') {
				return nil, nil, errHeaderSyntax
			}
		}
		if kmix {
			ks = nil
		}
		if vmix {
			vs = nil
		} else {
			for _, k := range vals {
				out[k] = widen(out[k], vs)
			}
		}
		return &connect.Schema{Type: connect.Map, Key: ks, Value: vs}, out, nil
	}
	// An unquoted literal up to the next delimiter.
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(",]}:", rune(p.s[p.pos])) {
		p.pos++
	}
	tok := strings.TrimSpace(p.s[start:p.pos])
	if tok == "null" {
		return nil, nil, nil
	}
	if tok == "true" || tok == "false" {
		return boolSchema, tok == "true", nil
	}
	if s, v, ok := parseScalar(tok); ok && s.Name == "" {
		return s, v, nil
	}
	return nil, nil, errHeaderSyntax
}

var numericRank = map[connect.SchemaType]int{connect.Int8: 1, connect.Int16: 2, connect.Int32: 3, connect.Int64: 4, connect.Float32: 5, connect.Float64: 6}

// commonSchema merges element schemas; numbers widen, other mixes give up.
func commonSchema(prev, next *connect.Schema, mixed bool) (*connect.Schema, bool) {
	switch {
	case mixed:
		return nil, true
	case next == nil: // null element
		if prev != nil {
			c := *prev
			c.Optional = true
			return &c, false
		}
		return nil, false
	case prev == nil:
		return next, false
	case prev.Type == next.Type && prev.Name == next.Name:
		return prev, false
	}
	rp, okp := numericRank[prev.Type]
	rn, okn := numericRank[next.Type]
	if okp && okn && prev.Name == "" && next.Name == "" {
		if rn > rp {
			return next, false
		}
		return prev, false
	}
	return nil, true
}

func widen(v any, s *connect.Schema) any {
	if s == nil || v == nil {
		return v
	}
	var f float64
	switch x := v.(type) {
	case int8:
		f = float64(x)
	case int16:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case float32:
		f = float64(x)
	default:
		return v
	}
	n, _ := asInt64(v)
	switch s.Type {
	case connect.Int16:
		return int16(n)
	case connect.Int32:
		return int32(n)
	case connect.Int64:
		return n
	case connect.Float32:
		return float32(f)
	case connect.Float64:
		return f
	}
	return v
}

var _ connect.HeaderConverter = (*SimpleHeaderConverter)(nil)
