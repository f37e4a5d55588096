package converters

import (
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func jsonConv(t testing.TB, raw map[string]string, isKey bool) *JSONConverter {
	t.Helper()
	p, err := connect.Default.Lookup("JsonConverter", connect.KindConverter)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := p.Config.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := p.New().(*JSONConverter)
	if err := c.Configure(cfg, isKey); err != nil {
		t.Fatal(err)
	}
	return c
}

func decimalSchema(scale string) *connect.Schema {
	return &connect.Schema{Type: connect.Bytes, Name: connect.DecimalName, Version: 1, Parameters: map[string]string{connect.DecimalScale: scale}}
}

var (
	int32Schema = &connect.Schema{Type: connect.Int32}
	carSchema   = &connect.Schema{Type: connect.Struct, Name: "io.tributary.Car", Version: 2, Doc: "a car", Fields: []connect.Field{
		{Name: "id", Schema: &connect.Schema{Type: connect.String}},
		{Name: "speed", Schema: &connect.Schema{Type: connect.Float64}},
		{Name: "gear", Schema: &connect.Schema{Type: connect.Int8, Optional: true}},
		{Name: "tags", Schema: &connect.Schema{Type: connect.Array, Value: &connect.Schema{Type: connect.String}}},
		{Name: "seen", Schema: &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1}},
	}}
)

func TestJSONEnvelopeGolden(t *testing.T) {
	tests := []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"int32", int32Schema, int32(7), `{"schema":{"type":"int32","optional":false},"payload":7}`},
		{"schemaless", nil, map[string]any{"b": int64(1), "a": "x"}, `{"schema":null,"payload":{"a":"x","b":1}}`},
		{"bytes", &connect.Schema{Type: connect.Bytes, Optional: true}, []byte("hi"), `{"schema":{"type":"bytes","optional":true},"payload":"aGk="}`},
		{"struct", carSchema, map[string]any{"id": "car-1", "speed": 12.5, "gear": nil, "tags": []any{"a"}, "seen": time.UnixMilli(1700000000123)},
			`{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"float64","optional":false,"field":"speed"},{"type":"int8","optional":true,"field":"gear"},{"type":"array","items":{"type":"string","optional":false},"optional":false,"field":"tags"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"seen"}],"optional":false,"name":"io.tributary.Car","version":2,"doc":"a car"},"payload":{"id":"car-1","speed":12.5,"gear":null,"tags":["a"],"seen":1700000000123}}`},
		{"decimal base64", decimalSchema("2"), big.NewRat(-12345, 100), `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"z8c="}`},
		{"map int keys", &connect.Schema{Type: connect.Map, Key: int32Schema, Value: &connect.Schema{Type: connect.String}}, map[string]any{"2": "b", "1": "a"},
			`{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false},"payload":[[1,"a"],[2,"b"]]}`},
		{"default replaces null", &connect.Schema{Type: connect.Int32, Optional: true, Default: int32(5)}, nil, `{"schema":{"type":"int32","optional":true,"default":5},"payload":5}`},
	}
	c := jsonConv(t, nil, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.FromConnect("t", tt.schema, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	day := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		config map[string]string
		schema *connect.Schema
		value  any
	}{
		{"int8", nil, &connect.Schema{Type: connect.Int8}, int8(-128)},
		{"int16", nil, &connect.Schema{Type: connect.Int16}, int16(32767)},
		{"int64", nil, &connect.Schema{Type: connect.Int64}, int64(math.MaxInt64)},
		{"float32", nil, &connect.Schema{Type: connect.Float32}, float32(1.25)},
		{"float64 NaN-free", nil, &connect.Schema{Type: connect.Float64}, 1e-9},
		{"bool", nil, &connect.Schema{Type: connect.Boolean}, true},
		{"string escapes", nil, &connect.Schema{Type: connect.String}, "a\"b\\c\n\u0001é"},
		{"optional null", nil, &connect.Schema{Type: connect.String, Optional: true}, nil},
		{"bytes", nil, &connect.Schema{Type: connect.Bytes}, []byte{0, 1, 255}},
		{"struct", nil, carSchema, map[string]any{"id": "c", "speed": 1.5, "gear": int8(3), "tags": []any{}, "seen": time.UnixMilli(1).UTC()}},
		{"map", nil, &connect.Schema{Type: connect.Map, Key: &connect.Schema{Type: connect.String}, Value: &connect.Schema{Type: connect.Float64, Optional: true}},
			map[string]any{"x": 1.5, "y": nil}},
		{"date", nil, &connect.Schema{Type: connect.Int32, Name: connect.DateName, Version: 1}, day},
		{"time", nil, &connect.Schema{Type: connect.Int32, Name: connect.TimeName, Version: 1}, time.UnixMilli(3723004).UTC()},
		{"decimal base64", nil, decimalSchema("3"), big.NewRat(-1000001, 1000)},
		{"decimal numeric", map[string]string{DecimalFormat: "NUMERIC"}, decimalSchema("2"), big.NewRat(314, 100)},
		{"schemaless nested", nil, nil, map[string]any{"a": []any{int64(1), 2.5, "s", nil, true}, "m": map[string]any{"n": int64(-3)}}},
		{"schemas disabled", map[string]string{SchemasEnable: "false"}, nil, map[string]any{"speed": 88.5, "n": int64(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := jsonConv(t, tt.config, false)
			data, err := c.FromConnect("t", tt.schema, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			schema, got, err := c.ToConnect("t", data)
			if err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			if tt.config[SchemasEnable] != "false" && !reflect.DeepEqual(schema, tt.schema) {
				t.Fatalf("schema %+v, want %+v (from %s)", schema, tt.schema, data)
			}
			if r, ok := tt.value.(*big.Rat); ok {
				if g, ok := got.(*big.Rat); !ok || g.Cmp(r) != 0 {
					t.Fatalf("decimal %v, want %v (from %s)", got, r.FloatString(3), data)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.value) {
				t.Fatalf("value %#v, want %#v (from %s)", got, tt.value, data)
			}
		})
	}
}

func TestJSONKafkaInput(t *testing.T) {
	// Written by Kafka Connect's JsonConverter: field order, extra spaces,
	// a Decimal as NUMERIC, a default.
	in := `{"schema": {"type":"struct","fields":[
		{"type":"string","optional":false,"field":"name"},
		{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},
		{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"price"},
		{"type":"int32","optional":true,"default":42,"field":"n"}],
		"optional":false,"name":"rec"},
		"payload": {"name":"a","ts":1700000000000,"price":12.30,"n":null}}`
	s, v, err := jsonConv(t, nil, false).ToConnect("t", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if s.Name != "rec" || len(s.Fields) != 4 || m["name"] != "a" || m["n"] != int32(42) {
		t.Fatalf("schema %+v value %v", s, m)
	}
	if ts := m["ts"].(time.Time); !ts.Equal(time.UnixMilli(1700000000000)) {
		t.Fatalf("ts %v", ts)
	}
	if p := m["price"].(*big.Rat); p.Cmp(big.NewRat(123, 10)) != 0 {
		t.Fatalf("price %v", p)
	}
	if err := connect.ValidateValue(s, v); err != nil {
		t.Fatalf("decoded value does not fit its schema: %v", err)
	}
}

func TestJSONSchemalessNumbers(t *testing.T) {
	c := jsonConv(t, map[string]string{SchemasEnable: "false"}, false)
	_, v, err := c.ToConnect("t", []byte(`{"i":42,"f":42.5,"e":1e3,"big":123456789012345678901234,"neg":-7,"arr":[1,2.0],"null":null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(42), "f": 42.5, "e": 1000.0, "big": 1.2345678901234568e23, "neg": int64(-7), "arr": []any{int64(1), 2.0}, "null": nil}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v\nwant %#v", v, want)
	}
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		isKey  bool
		in     string
		want   []string
	}{
		{"syntax", nil, false, `{"schema":null,"payload":{"a":}}`, []string{"converting value of topic t:", "invalid JSON at offset 30"}},
		{"syntax key", map[string]string{SchemasEnable: "false"}, true, `[1,2`, []string{"converting key of topic t:", "invalid JSON at offset"}},
		{"no envelope", nil, false, `{"a":1}`, []string{`requires "schema" and "payload"`, "schemas.enable=false"}},
		{"extra field", nil, false, `{"schema":null,"payload":1,"x":2}`, []string{"schemas.enable"}},
		{"not object", nil, false, `[1]`, []string{"schemas.enable"}},
		{"trailing", map[string]string{SchemasEnable: "false"}, false, `{} {}`, []string{"offset 2", "after the top-level value"}},
		{"unknown type", nil, false, `{"schema":{"type":"int128"},"payload":1}`, []string{"unknown schema type: int128"}},
		{"type mismatch", nil, false, `{"schema":{"type":"int32"},"payload":"x"}`, []string{"expected an integer for int32"}},
		{"out of range", nil, false, `{"schema":{"type":"int8"},"payload":300}`, []string{"300 is not a valid int8"}},
		{"required null", nil, false, `{"schema":{"type":"string"},"payload":null}`, []string{"null value for required string"}},
		{"bad base64", nil, false, `{"schema":{"type":"bytes"},"payload":"!!"}`, []string{"base64"}},
		{"struct fields", nil, false, `{"schema":{"type":"struct","fields":{}},"payload":{}}`, []string{`"fields" argument is not an array`}},
		{"decimal no scale", nil, false, `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"AA=="}`, []string{"scale"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := jsonConv(t, tt.config, tt.isKey).ToConnect("t", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestJSONFromConnectErrors(t *testing.T) {
	tests := []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"wrong type", int32Schema, "x", "invalid Go type string for schema type int32"},
		{"range", &connect.Schema{Type: connect.Int8}, int64(1000), "out of range"},
		{"required null", int32Schema, nil, "null value for a required int32"},
		{"struct field", carSchema, map[string]any{"id": 1}, `field "id"`},
		{"decimal scale", decimalSchema("1"), big.NewRat(1, 100), "more digits than scale 1"},
		{"unsupported go type", nil, struct{}{}, "cannot convert Go type"},
	}
	c := jsonConv(t, nil, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.FromConnect("t", tt.schema, tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "topic t") {
				t.Fatalf("error %v, want one mentioning %q and the topic", err, tt.want)
			}
		})
	}
}

func TestJSONTombstone(t *testing.T) {
	c := jsonConv(t, nil, false)
	if b, err := c.FromConnect("t", nil, nil); b != nil || err != nil {
		t.Fatalf("FromConnect(nil) = %q, %v", b, err)
	}
	for _, in := range [][]byte{nil, {}, []byte("  ")} {
		if s, v, err := c.ToConnect("t", in); s != nil || v != nil || err != nil {
			t.Fatalf("ToConnect(%q) = %v, %v, %v", in, s, v, err)
		}
	}
}

func TestJSONHeaderConverter(t *testing.T) {
	p, err := connect.Default.Lookup(jsonClass, connect.KindHeaderConverter)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := p.Config.Parse(map[string]string{SchemasEnable: "false"})
	h := p.New().(connect.HeaderConverter)
	h.Configure(cfg)
	b, err := h.FromHeader("t", "h", nil, map[string]any{"a": int64(1)})
	if err != nil || string(b) != `{"a":1}` {
		t.Fatalf("FromHeader = %s, %v", b, err)
	}
	_, _, err = h.ToHeader("t", "h", []byte("{"))
	if err == nil || !strings.Contains(err.Error(), `header "h"`) {
		t.Fatalf("ToHeader error %v", err)
	}
}

func TestDecimalTwosComplement(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, -32768, math.MaxInt64, math.MinInt64} {
		x := big.NewInt(n)
		b := twosComplement(x)
		if got := fromTwosComplement(b); got.Cmp(x) != 0 {
			t.Fatalf("%d → %x → %v", n, b, got)
		}
		if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
			t.Fatalf("%d: %x is not minimal", n, b)
		}
	}
}

const carReading = `{"car_id":"car-00042","timestamp":"2024-01-01T00:00:00.000Z","coolant_temp":88.23,"intake_air_temp":22.83,"speed":100.78,"engine_vibration_amplitude":10281.84,"throttle_pos":0.48,"tire_pressure11":34.02,"control_unit_firmware":1000,"failure_occurred":"false"}`

func FuzzJSONToConnect(f *testing.F) {
	for _, s := range []string{carReading, `{"schema":{"type":"int32"},"payload":1}`, `{"schema":null,"payload":[1,"a"]}`,
		`{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"boolean"}},"payload":[[1,true]]}`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"2"}},"payload":"AQI="}`, `[`, ``} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, schemas bool) {
		c := NewJSONConverter()
		c.schemasEnabled = schemas
		s, v, err := c.ToConnect("t", data)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same thing.
		out, err := c.FromConnect("t", s, v)
		if err != nil {
			if s == nil {
				t.Fatalf("re-encoding schemaless %#v: %v", v, err)
			}
			return // e.g. a default that does not fit its own schema
		}
		s2, v2, err := c.ToConnect("t", out)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		if s == nil && !reflect.DeepEqual(v, v2) && !hasNaN(v) {
			t.Fatalf("round trip changed %#v into %#v", v, v2)
		}
		_ = s2
	})
}

func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case map[string]any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}

func BenchmarkJSONToConnect(b *testing.B) {
	c := NewJSONConverter()
	c.schemasEnabled = false
	data := []byte(carReading)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ToConnect("t", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONFromConnect(b *testing.B) {
	c := NewJSONConverter()
	c.schemasEnabled = false
	_, v, _ := c.ToConnect("t", []byte(carReading))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FromConnect("t", nil, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONEnvelopeToConnect(b *testing.B) {
	c := NewJSONConverter()
	data, _ := c.FromConnect("t", carSchema, map[string]any{"id": "car-00042", "speed": 100.78, "gear": int8(4), "tags": []any{"a", "b"}, "seen": time.UnixMilli(1700000000000)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ToConnect("t", data); err != nil {
			b.Fatal(err)
		}
	}
}
