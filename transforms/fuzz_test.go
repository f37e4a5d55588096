package transforms

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func FuzzDateFormat(f *testing.F) {
	for _, s := range []string{"yyyyMMdd", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "EEE, d MMM yyyy HH:mm:ss Z", "hh 'o''clock' a, zzzz", "DDD", "''", "'P'EEE", "MMM'uary'"} {
		f.Add(s)
	}
	ref := time.Date(2023, 11, 7, 21, 5, 3, 987_000_000, time.UTC)
	f.Fuzz(func(t *testing.T, pattern string) {
		df, err := parseDateFormat(pattern)
		if err != nil {
			return
		}
		// Whatever a translated pattern prints, it must read back.
		s := df.format(ref)
		if _, err := df.parse(s); err != nil {
			t.Fatalf("pattern %q (layout %q): cannot parse its own output %q: %v", pattern, df.layout, s, err)
		}
	})
}

func FuzzCastSpec(f *testing.F) {
	for _, s := range []string{"int8", "a:int32,b:string", "a:float64,b", ":int8", "a:b:c", "A:BOOLEAN"} {
		f.Add(s, `{"a":"12","b":1.5}`)
	}
	f.Fuzz(func(t *testing.T, spec, doc string) {
		parts := strings.Split(spec, ",")
		whole, casts, err := parseCastSpec(parts)
		if err != nil {
			return
		}
		if (whole == "") == (casts == nil) {
			t.Fatalf("spec %q: want either a whole-value type or field casts, got %q and %v", spec, whole, casts)
		}
		v, ok := decodeJSON(doc)
		if !ok {
			return
		}
		c := &Cast{name: "Cast$Value", whole: whole, casts: casts}
		_, _ = c.Apply(rec(v)) // must not panic
	})
}

func FuzzExpression(f *testing.F) {
	for _, s := range []string{"value.speed > 120 && value.throttle_pos > 0.9", "value.a ?? 1", "headers.x == 'y'", "len(value)", "value.speed * (", "topic matches '^c'"} {
		f.Add(s, `{"speed":130,"throttle_pos":0.95,"a":null}`)
	}
	f.Fuzz(func(t *testing.T, src, doc string) {
		p, err := compileExpr(src, false)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty compile error")
			}
			return
		}
		v, ok := decodeJSON(doc)
		if !ok {
			return
		}
		r := rec(v)
		r.Headers = connect.Headers{{Key: "x", Value: []byte("y")}}
		_, _ = p.run(r) // must not panic
	})
}

// FuzzTransformsJSON throws arbitrary JSON at every transform, schemaless
// and, when a schema can be inferred, with a struct schema: none may panic
// or change its input, and every failure must name the transform.
func FuzzTransformsJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":"x","c":{"d":2.5,"e":true},"ts":1700000000000}`, `[1,2]`, `"str"`, `null`, `{"a":null,"c":{}}`, `12`} {
		f.Add(s)
	}
	type step struct {
		class string
		cfg   map[string]string
	}
	steps := []step{
		{"Cast$Value", map[string]string{"spec": "a:int8,b:float64,c:string,ts:boolean"}},
		{"Cast$Value", map[string]string{"spec": "string"}},
		{"DropHeaders", map[string]string{"headers": "a"}},
		{"ExtractField$Value", map[string]string{"field": "c"}},
		{"ExtractField$Value", map[string]string{"field": "c.d", "field.syntax.version": "V2"}},
		{"Filter", map[string]string{}},
		{"Flatten$Value", map[string]string{}},
		{"HeaderFrom$Value", map[string]string{"fields": "a,b", "headers": "a,b", "operation": "move"}},
		{"HoistField$Value", map[string]string{"field": "wrapped"}},
		{"InsertField$Value", map[string]string{"topic.field": "t", "timestamp.field": "ts2", "static.field": "s", "static.value": "v"}},
		{"InsertHeader", map[string]string{"header": "h", "value.literal": "1"}},
		{"MaskField$Value", map[string]string{"fields": "a,b,c"}},
		{"MaskField$Value", map[string]string{"fields": "a,b", "replacement": "7"}},
		{"RegexRouter", map[string]string{"regex": "(c)ars", "replacement": "$1"}},
		{"ReplaceField$Value", map[string]string{"exclude": "b", "renames": "a:x"}},
		{"SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}},
		{"TimestampConverter$Value", map[string]string{"target.type": "string", "field": "ts", "format": "yyyy-MM-dd"}},
		{"TimestampConverter$Value", map[string]string{"target.type": "Timestamp"}},
		{"TimestampRouter", map[string]string{}},
		{"ValueToKey", map[string]string{"fields": "a"}},
		{"Expression$Value", map[string]string{"set.z": "value.a ?? 0", "remove": "b"}},
		{"ExpressionFilter", map[string]string{"expression": "value.a > 0"}},
	}
	ts := make([]connect.Transformation, len(steps))
	for i, s := range steps {
		ts[i] = mustConfigure(f, s.class, s.cfg)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		v, ok := decodeJSON(doc)
		if !ok {
			return
		}
		inputs := []*connect.Record{rec(v)}
		if s := inferSchema(v); s != nil {
			inputs = append(inputs, recS(s, v))
		}
		for _, in := range inputs {
			for i, x := range ts {
				before := snapshot(in)
				_, err := x.Apply(in)
				if !reflect.DeepEqual(snapshot(in), before) {
					t.Fatalf("%s changed its input", steps[i].class)
				}
				name := strings.SplitN(steps[i].class, "$", 2)[0]
				if err != nil && !strings.Contains(err.Error(), name) {
					t.Fatalf("%s: error does not name the transform: %v", steps[i].class, err)
				}
			}
		}
	})
}

// decodeJSON decodes like a schemaless JSON converter here: integers as
// int64, other numbers as float64.
func decodeJSON(doc string) (any, bool) {
	d := json.NewDecoder(bytes.NewReader([]byte(doc)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return fromNumbers(v), true
}

func fromNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromNumbers(e)
		}
	}
	return v
}

// inferSchema gives a JSON object without arrays or nulls a struct schema.
func inferSchema(v any) *connect.Schema {
	switch x := v.(type) {
	case int64:
		return &connect.Schema{Type: connect.Int64}
	case float64:
		return &connect.Schema{Type: connect.Float64}
	case string:
		return &connect.Schema{Type: connect.String}
	case bool:
		return &connect.Schema{Type: connect.Boolean}
	case map[string]any:
		s := &connect.Schema{Type: connect.Struct}
		for k, e := range x {
			fs := inferSchema(e)
			if fs == nil {
				return nil
			}
			s.Fields = append(s.Fields, connect.Field{Name: k, Schema: fs})
		}
		return s
	}
	return nil
}
