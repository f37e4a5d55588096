package transforms

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// TimestampConverter converts timestamps between Unix epoch numbers,
// strings, and Connect's Date, Time and Timestamp logical types, for the
// whole key or value or for one field
// (org.apache.kafka.connect.transforms.TimestampConverter).
//
// Unlike Kafka Connect, whose intermediate java.util.Date keeps
// milliseconds only, conversions keep nanoseconds when the input has them.
type TimestampConverter struct {
	noClose
	side        side
	name        string
	field       string
	target      string
	format      dateFormat
	hasFormat   bool
	precision   string
	replaceNull bool
	cache       schemaCache
}

const (
	tsString    = "string"
	tsUnix      = "unix"
	tsDate      = "Date"
	tsTime      = "Time"
	tsTimestamp = "Timestamp"
)

var timestampConverterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "field", Type: connect.TypeString, Default: "", Importance: connect.High,
		Documentation: "The field containing the timestamp, or empty if the entire value is a timestamp."},
	connect.ConfigKey{Name: "target.type", Type: connect.TypeString, Importance: connect.High,
		Allowed:       []string{tsString, tsUnix, tsDate, tsTime, tsTimestamp},
		Documentation: "The desired timestamp representation: string, unix, Date, Time, or Timestamp."},
	connect.ConfigKey{Name: "format", Type: connect.TypeString, Default: "", Importance: connect.Medium,
		Validator: func(v any) error {
			if s := v.(string); s != "" {
				_, err := parseDateFormat(s)
				return err
			}
			return nil
		},
		Documentation: "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when target.type=string or used to parse the input if the input is a string."},
	connect.ConfigKey{Name: "unix.precision", Type: connect.TypeString, Default: "milliseconds", Importance: connect.Low,
		Allowed:       []string{"nanoseconds", "microseconds", "milliseconds", "seconds"},
		Documentation: "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when target.type=unix or used to parse the input if the input is a Long."},
	replaceNullKey,
).Check(func(c connect.Config) []connect.FieldError {
	if c.String("target.type") == tsString && c.String("format") == "" {
		return []connect.FieldError{{Key: "format", Message: "TimestampConverter requires format option to be specified when using string timestamps"}}
	}
	return nil
})

func init() {
	registerKV("TimestampConverter", "Convert timestamps between Unix epoch, strings, and Connect Date/Time/Timestamp types", timestampConverterDef,
		func(s side) connect.Transformation {
			return &TimestampConverter{side: s, name: "TimestampConverter" + s.suffix()}
		})
}

func (t *TimestampConverter) Configure(cfg connect.Config) error {
	t.field = cfg.String("field")
	t.precision = cfg.String("unix.precision")
	t.replaceNull = cfg.Bool("replace.null.with.default")
	// Allowed values match case-insensitively; keep the canonical spelling.
	for _, n := range []string{tsString, tsUnix, tsDate, tsTime, tsTimestamp} {
		if strings.EqualFold(n, cfg.String("target.type")) {
			t.target = n
		}
	}
	if f := cfg.String("format"); f != "" {
		df, err := parseDateFormat(f)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		t.format, t.hasFormat = df, true
	}
	if t.target == tsString && !t.hasFormat {
		return fmt.Errorf("%s: format is required when target.type is string", t.name)
	}
	return nil
}

func (t *TimestampConverter) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		return t.applySchemaless(rec, v)
	}
	out, err := t.cache.get(schema, t.buildSchema)
	if err != nil {
		return nil, err
	}
	if t.field == "" {
		nv, err := t.convert(v, schemaTimestampType(schema))
		if err != nil {
			return nil, err
		}
		return t.side.with(rec, out, nv), nil
	}
	if v == nil {
		return t.side.with(rec, out, nil), nil
	}
	m, err := requireStruct(t.name, "converting timestamp formats", schema, v)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(m))
	for _, f := range schema.Fields {
		fv := fieldValue(m, f, t.replaceNull)
		if f.Name == t.field {
			if fv, err = t.convert(fv, schemaTimestampType(f.Schema)); err != nil {
				return nil, err
			}
		}
		nm[f.Name] = fv
	}
	return t.side.with(rec, out, nm), nil
}

func (t *TimestampConverter) applySchemaless(rec *connect.Record, v any) (*connect.Record, error) {
	if t.field == "" {
		nv, err := t.convert(v, "")
		if err != nil {
			return nil, err
		}
		return t.side.with(rec, nil, nv), nil
	}
	if v == nil {
		return rec, nil
	}
	m, err := requireMap(t.name, "converting timestamp formats", v)
	if err != nil {
		return nil, err
	}
	fv, ok := m[t.field]
	if !ok {
		return nil, errorf(t.name, "field %q not found in the record %s", t.field, t.side.word())
	}
	nv, err := t.convert(fv, "")
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(m))
	for k, x := range m {
		nm[k] = x
	}
	nm[t.field] = nv
	return t.side.with(rec, nil, nm), nil
}

// schemaTimestampType names the timestamp representation a schema holds,
// or "" when it holds none.
func schemaTimestampType(s *connect.Schema) string {
	switch {
	case s == nil:
		return ""
	case s.Name == connect.TimestampName:
		return tsTimestamp
	case s.Name == connect.DateName:
		return tsDate
	case s.Name == connect.TimeName:
		return tsTime
	case s.Type == connect.Int64:
		return tsUnix
	case s.Type == connect.String:
		return tsString
	}
	return ""
}

func (t *TimestampConverter) buildSchema(in *connect.Schema) (*connect.Schema, error) {
	if t.field == "" {
		if schemaTimestampType(in) == "" {
			return nil, errorf(t.name, "schema %s (%s) is not a timestamp type", in.Type, in.Name)
		}
		return t.targetSchema(in.Optional), nil
	}
	if in.Type != connect.Struct {
		return nil, errorf(t.name, "field %q: the record %s schema is %s, not a struct", t.field, t.side.word(), in.Type)
	}
	out := copyBasics(in)
	out.Default = nil
	found := false
	for _, f := range in.Fields {
		if f.Name == t.field {
			if schemaTimestampType(f.Schema) == "" {
				return nil, errorf(t.name, "field %q: schema %s (%s) is not a timestamp type", f.Name, f.Schema.Type, f.Schema.Name)
			}
			f = connect.Field{Name: f.Name, Schema: t.targetSchema(f.Schema.Optional)}
			found = true
		}
		out.Fields = append(out.Fields, f)
	}
	if !found {
		return nil, errorf(t.name, "field %q not found in the record %s schema", t.field, t.side.word())
	}
	return out, nil
}

func (t *TimestampConverter) targetSchema(optional bool) *connect.Schema {
	switch t.target {
	case tsDate:
		return &connect.Schema{Type: connect.Int32, Name: connect.DateName, Version: 1, Optional: optional}
	case tsTime:
		return &connect.Schema{Type: connect.Int32, Name: connect.TimeName, Version: 1, Optional: optional}
	case tsTimestamp:
		return &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1, Optional: optional}
	case tsUnix:
		return &connect.Schema{Type: connect.Int64, Optional: optional}
	}
	return &connect.Schema{Type: connect.String, Optional: optional}
}

// convert turns v, of the representation from ("" to infer it from the Go
// type, as for schemaless data), into the target representation.
func (t *TimestampConverter) convert(v any, from string) (any, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := t.toTime(v, from)
	if err != nil {
		return nil, err
	}
	switch t.target {
	case tsString:
		return t.format.format(raw), nil
	case tsUnix:
		return fromTime(raw, t.precision), nil
	case tsDate:
		y, m, d := raw.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case tsTime:
		return time.Date(1970, 1, 1, raw.Hour(), raw.Minute(), raw.Second(), raw.Nanosecond(), time.UTC), nil
	}
	return raw, nil
}

func (t *TimestampConverter) toTime(v any, from string) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		if from != "" && from != tsString {
			break
		}
		if !t.hasFormat {
			return time.Time{}, errorf(t.name, "format is required to parse string timestamp %q", x)
		}
		tm, err := t.format.parse(x)
		if err != nil {
			return time.Time{}, errorf(t.name, "%w", err)
		}
		return tm, nil
	case float64:
		// JSON numbers may arrive as float64; accept integral ones.
		if from == "" && x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return toTime(int64(x), t.precision), nil
		}
	default:
		if n, ok := asInt(v); ok && (from == "" || from == tsUnix) {
			return toTime(n, t.precision), nil
		}
	}
	return time.Time{}, errorf(t.name, "expected a timestamp (Unix number, string or Timestamp), found %s", typeName(v))
}

func toTime(n int64, precision string) time.Time {
	switch precision {
	case "seconds":
		return time.Unix(n, 0).UTC()
	case "microseconds":
		return time.UnixMicro(n).UTC()
	case "nanoseconds":
		return time.Unix(0, n).UTC()
	}
	return time.UnixMilli(n).UTC()
}

func fromTime(t time.Time, precision string) int64 {
	switch precision {
	case "seconds":
		return t.Unix()
	case "microseconds":
		return t.UnixMicro()
	case "nanoseconds":
		return t.UnixNano()
	}
	return t.UnixMilli()
}
