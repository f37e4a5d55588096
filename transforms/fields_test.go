package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestExtractField(t *testing.T) {
	const ev = "org.apache.kafka.connect.transforms.ExtractField$Value"
	inner := strct("lat", prim(connect.Float64), "lon", prim(connect.Float64))
	s := strct("id", prim(connect.String), "pos", inner, "n", &connect.Schema{Type: connect.Int32, Optional: true, Default: int32(7)})
	runCases(t, []tcase{
		{name: "schemaless", class: ev, cfg: map[string]string{"field": "id"}, in: rec(m{"id": "car1", "x": 1.0}), want: rec("car1")},
		{name: "schemaless missing gives null", class: ev, cfg: map[string]string{"field": "nope"}, in: rec(m{"id": "car1"}), want: rec(nil)},
		{name: "schemaless null passes", class: ev, cfg: map[string]string{"field": "id"}, in: rec(nil), want: rec(nil)},
		{name: "schemaless not a map", class: ev, cfg: map[string]string{"field": "id"}, in: rec([]any{1}),
			wantErr: "ExtractField$Value: only map objects supported in absence of schema for [field extraction], found: []interface {}"},
		{name: "schema", class: ev, cfg: map[string]string{"field": "pos"}, in: recS(s, m{"id": "a", "pos": m{"lat": 1.5, "lon": 2.5}}),
			want: recS(inner, m{"lat": 1.5, "lon": 2.5})},
		{name: "schema default applied", class: ev, cfg: map[string]string{"field": "n"}, in: recS(s, m{"id": "a"}), want: recS(s.Fields[2].Schema, int32(7))},
		{name: "schema default not applied", class: ev, cfg: map[string]string{"field": "n", "replace.null.with.default": "false"}, in: recS(s, m{"id": "a"}), want: recS(s.Fields[2].Schema, nil)},
		{name: "schema unknown field", class: ev, cfg: map[string]string{"field": "nope"}, in: recS(s, m{}), wantErr: "ExtractField$Value: unknown field: nope"},
		{name: "V2 nested schemaless", class: ev, cfg: map[string]string{"field": "pos.lat", "field.syntax.version": "V2"},
			in: rec(m{"pos": m{"lat": 1.5}}), want: rec(1.5)},
		{name: "V2 backticks", class: ev, cfg: map[string]string{"field": "`a.b`.c", "field.syntax.version": "V2"},
			in: rec(m{"a.b": m{"c": "yes"}, "a": m{"b": m{"c": "no"}}}), want: rec("yes")},
		{name: "V2 nested schema", class: ev, cfg: map[string]string{"field": "pos.lon", "field.syntax.version": "V2"},
			in: recS(s, m{"pos": m{"lat": 1.5, "lon": 2.5}}), want: recS(prim(connect.Float64), 2.5)},
		{name: "V1 takes dots literally", class: ev, cfg: map[string]string{"field": "pos.lat"},
			in: rec(m{"pos.lat": 9.0, "pos": m{"lat": 1.5}}), want: rec(9.0)},
		{name: "key", class: "ExtractField$Key", cfg: map[string]string{"field": "id"}, in: keyRec(m{"id": int64(5)}), want: keyRec(int64(5))},
	})
}

func TestParseFieldPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"a", []string{"a"}, false},
		{"a.b.c", []string{"a", "b", "c"}, false},
		{"`a.b`.c", []string{"a.b", "c"}, false},
		{"`a\\`b`", []string{"a`b"}, false},
		{"a.", nil, true},
		{".a", nil, true},
		{"`a", nil, true},
		{"", nil, true},
	} {
		got, err := parseFieldPath(tc.in)
		if (err != nil) != tc.err || (!tc.err && !equalStrings(got, tc.want)) {
			t.Errorf("parseFieldPath(%q) = %q, %v; want %q, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHoistField(t *testing.T) {
	runCases(t, []tcase{
		{name: "schemaless", class: "HoistField$Value", cfg: map[string]string{"field": "line"}, in: rec("hello"), want: rec(m{"line": "hello"})},
		{name: "schema", class: "HoistField$Value", cfg: map[string]string{"field": "n"}, in: recS(prim(connect.Int32), int32(4)),
			want: recS(strct("n", prim(connect.Int32)), m{"n": int32(4)})},
		{name: "key", class: "org.apache.kafka.connect.transforms.HoistField$Key", cfg: map[string]string{"field": "id"}, in: keyRec("k"), want: keyRec(m{"id": "k"})},
	})
}

func TestFlatten(t *testing.T) {
	const fv = "Flatten$Value"
	nested := strct("a", prim(connect.Int32), "b", &connect.Schema{Type: connect.Struct, Optional: true, Fields: []connect.Field{
		{Name: "c", Schema: prim(connect.String)},
		{Name: "d", Schema: strct("e", prim(connect.Boolean))},
		{Name: "arr", Schema: &connect.Schema{Type: connect.Array, Value: prim(connect.Int32)}},
	}})
	flat := strct("a", prim(connect.Int32), "b_c", opt(connect.String), "b_d_e", opt(connect.Boolean),
		"b_arr", &connect.Schema{Type: connect.Array, Value: prim(connect.Int32), Optional: true})
	runCases(t, []tcase{
		{name: "schemaless", class: fv, cfg: map[string]string{},
			in:   rec(m{"a": int64(1), "b": m{"c": "x", "d": m{"e": true}}, "l": []any{int64(1), m{"z": 1.0}}}),
			want: rec(m{"a": int64(1), "b.c": "x", "b.d.e": true, "l": []any{int64(1), m{"z": 1.0}}})},
		{name: "schemaless delimiter", class: fv, cfg: map[string]string{"delimiter": "_"},
			in: rec(m{"b": m{"c": nil}}), want: rec(m{"b_c": nil})},
		{name: "schemaless null", class: fv, cfg: map[string]string{}, in: rec(nil), want: rec(nil)},
		{name: "schema", class: fv, cfg: map[string]string{"delimiter": "_"},
			in:   recS(nested, m{"a": int32(1), "b": m{"c": "x", "d": m{"e": true}, "arr": []any{int32(1)}}}),
			want: recS(flat, m{"a": int32(1), "b_c": "x", "b_d_e": true, "b_arr": []any{int32(1)}})},
		{name: "schema null nested struct", class: fv, cfg: map[string]string{"delimiter": "_"},
			in: recS(nested, m{"a": int32(1), "b": nil}), want: recS(flat, m{"a": int32(1), "b_c": nil, "b_d_e": nil, "b_arr": nil})},
		{name: "schema not struct", class: fv, cfg: map[string]string{}, in: recS(prim(connect.String), "x"),
			wantErr: "Flatten$Value: only struct schemas supported for [flattening], found schema type string"},
		{name: "key", class: "Flatten$Key", cfg: map[string]string{}, in: keyRec(m{"a": m{"b": int64(1)}}), want: keyRec(m{"a.b": int64(1)})},
	})
}

func TestInsertField(t *testing.T) {
	const iv = "InsertField$Value"
	all := map[string]string{"topic.field": "t", "partition.field": "p!", "offset.field": "o", "timestamp.field": "ts?", "static.field": "s", "static.value": "v1"}
	base := strct("id", prim(connect.String))
	want := strct("id", prim(connect.String), "t", opt(connect.String), "p", prim(connect.Int32), "o", opt(connect.Int64),
		"ts", &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1, Optional: true}, "s", opt(connect.String))
	runCases(t, []tcase{
		{name: "schemaless", class: iv, cfg: all, in: rec(m{"id": "a"}),
			want: rec(m{"id": "a", "t": "cars", "p": int64(3), "o": int64(42), "ts": ts0.UnixMilli(), "s": "v1"})},
		{name: "schema", class: iv, cfg: all, in: recS(base, m{"id": "a"}),
			want: recS(want, m{"id": "a", "t": "cars", "p": int32(3), "o": int64(42), "ts": ts0, "s": "v1"})},
		{name: "tombstone passes", class: iv, cfg: all, in: rec(nil), want: rec(nil)},
		{name: "schemaless not a map", class: iv, cfg: all, in: rec("x"), wantErr: "InsertField$Value: only map objects supported"},
		{name: "schema clash", class: iv, cfg: map[string]string{"topic.field": "id"}, in: recS(base, m{"id": "a"}), wantErr: `field "id" already exists`},
		{name: "unknown partition is null", class: iv, cfg: map[string]string{"partition.field": "p"},
			in: &connect.Record{Topic: "x", Partition: -1, Value: m{}}, want: &connect.Record{Topic: "x", Value: m{"p": nil}}},
		{name: "key", class: "InsertField$Key", cfg: map[string]string{"topic.field": "t"}, in: keyRec(m{}), want: keyRec(m{"t": "cars"})},
	})
	if _, err := configure(t, iv, map[string]string{"static.field": "s"}); err == nil || !contains(err.Error(), "static.value") {
		t.Errorf("static.field without static.value: err = %v", err)
	}
	if _, err := configure(t, iv, map[string]string{}); err == nil || !contains(err.Error(), "no field to insert") {
		t.Errorf("no fields: err = %v", err)
	}
}

func TestMaskField(t *testing.T) {
	const mv = "MaskField$Value"
	s := strct("i", prim(connect.Int32), "f", prim(connect.Float32), "s", prim(connect.String), "b", prim(connect.Boolean),
		"t", &connect.Schema{Type: connect.Int64, Name: connect.TimestampName}, "keep", prim(connect.String))
	runCases(t, []tcase{
		{name: "schemaless null values", class: mv, cfg: map[string]string{"fields": "i,f,s,b,l,mm,absent"},
			in:   rec(m{"i": int64(5), "f": 1.5, "s": "secret", "b": true, "l": []any{1}, "mm": m{"a": 1}, "keep": "x"}),
			want: rec(m{"i": int64(0), "f": 0.0, "s": "", "b": false, "l": []any{}, "mm": m{}, "keep": "x"})},
		{name: "schema null values", class: mv, cfg: map[string]string{"fields": "i,f,s,b,t"},
			in:   recS(s, m{"i": int32(5), "f": float32(1.5), "s": "secret", "b": true, "t": ts0, "keep": "x"}),
			want: recS(s, m{"i": int32(0), "f": float32(0), "s": "", "b": false, "t": time.UnixMilli(0).UTC(), "keep": "x"})},
		{name: "replacement", class: mv, cfg: map[string]string{"fields": "i,f,s", "replacement": "9"},
			in:   recS(s, m{"i": int32(5), "f": float32(1.5), "s": "secret"}),
			want: recS(s, m{"i": int32(9), "f": float32(9), "s": "9"})},
		{name: "replacement not numeric", class: mv, cfg: map[string]string{"fields": "i", "replacement": "***"},
			in: rec(m{"i": int64(5)}), wantErr: `MaskField$Value: field "i": unable to convert replacement "***" to int64`},
		{name: "replacement on boolean", class: mv, cfg: map[string]string{"fields": "b", "replacement": "x"},
			in: rec(m{"b": true}), wantErr: "cannot mask value of type bool with custom replacement"},
		{name: "null passes", class: mv, cfg: map[string]string{"fields": "i"}, in: rec(nil), want: rec(nil)},
		{name: "key", class: "MaskField$Key", cfg: map[string]string{"fields": "s"}, in: keyRec(m{"s": "x"}), want: keyRec(m{"s": ""})},
	})
}

func TestReplaceField(t *testing.T) {
	const rv = "ReplaceField$Value"
	s := strct("a", prim(connect.Int32), "b", prim(connect.String), "c", opt(connect.Boolean))
	in := m{"a": int32(1), "b": "x", "c": true}
	runCases(t, []tcase{
		{name: "schemaless exclude+rename", class: rv, cfg: map[string]string{"exclude": "c", "renames": "a:alpha,b:beta"},
			in: rec(m{"a": 1.0, "b": "x", "c": true}), want: rec(m{"alpha": 1.0, "beta": "x"})},
		{name: "schemaless include", class: rv, cfg: map[string]string{"include": "a,zz"}, in: rec(m{"a": 1.0, "b": "x"}), want: rec(m{"a": 1.0})},
		{name: "exclude wins over include", class: rv, cfg: map[string]string{"include": "a,b", "exclude": "b"}, in: rec(m{"a": 1.0, "b": "x"}), want: rec(m{"a": 1.0})},
		{name: "deprecated blacklist", class: rv, cfg: map[string]string{"blacklist": "b"}, in: rec(m{"a": 1.0, "b": "x"}), want: rec(m{"a": 1.0})},
		{name: "deprecated whitelist", class: rv, cfg: map[string]string{"whitelist": "b"}, in: rec(m{"a": 1.0, "b": "x"}), want: rec(m{"b": "x"})},
		{name: "schema", class: rv, cfg: map[string]string{"exclude": "b", "renames": "c:flag"}, in: recS(s, in),
			want: recS(strct("a", prim(connect.Int32), "flag", opt(connect.Boolean)), m{"a": int32(1), "flag": true})},
		{name: "schema null value", class: rv, cfg: map[string]string{"include": "a"}, in: recS(s, nil), want: recS(strct("a", prim(connect.Int32)), nil)},
		{name: "schemaless wrong type", class: rv, cfg: map[string]string{"include": "a"}, in: rec(int64(3)), wantErr: "ReplaceField$Value: only map objects supported"},
		{name: "key", class: "ReplaceField$Key", cfg: map[string]string{"renames": "a:b"}, in: keyRec(m{"a": "x"}), want: keyRec(m{"b": "x"})},
	})
	if _, err := configure(t, rv, map[string]string{"renames": "a"}); err == nil || !contains(err.Error(), "invalid rename mapping") {
		t.Errorf("bad renames: err = %v", err)
	}
}

func TestValueToKey(t *testing.T) {
	s := strct("id", prim(connect.String), "n", prim(connect.Int64))
	runCases(t, []tcase{
		{name: "schemaless", class: "ValueToKey", cfg: map[string]string{"fields": "id,missing"}, in: rec(m{"id": "c1", "n": int64(1)}),
			want: &connect.Record{Topic: "cars", Partition: 3, Offset: 42, Timestamp: ts0, Key: m{"id": "c1", "missing": nil}, Value: m{"id": "c1", "n": int64(1)}}},
		{name: "schema", class: "org.apache.kafka.connect.transforms.ValueToKey", cfg: map[string]string{"fields": "id"}, in: recS(s, m{"id": "c1", "n": int64(1)}),
			want: &connect.Record{Topic: "cars", Timestamp: ts0, KeySchema: strct("id", prim(connect.String)), Key: m{"id": "c1"}, ValueSchema: s, Value: m{"id": "c1", "n": int64(1)}}},
		{name: "schema missing field", class: "ValueToKey", cfg: map[string]string{"fields": "zz"}, in: recS(s, m{}), wantErr: "ValueToKey: field does not exist: zz"},
		{name: "schemaless null", class: "ValueToKey", cfg: map[string]string{"fields": "id"}, in: rec(nil), wantErr: "found: null"},
	})
}

func TestSetSchemaMetadata(t *testing.T) {
	s := strct("a", prim(connect.Int32))
	named := strct("a", prim(connect.Int32))
	named.Name, named.Version = "io.cars.Reading", 3
	runCases(t, []tcase{
		{name: "name and version", class: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "io.cars.Reading", "schema.version": "3"},
			in: recS(s, m{"a": int32(1)}), want: recS(named, m{"a": int32(1)})},
		{name: "schemaless fails", class: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "x"}, in: rec(m{}),
			wantErr: "SetSchemaMetadata$Value: schema required"},
		{name: "key", class: "SetSchemaMetadata$Key", cfg: map[string]string{"schema.version": "2"}, in: keyRecS(prim(connect.String), "k"),
			want: keyRecS(&connect.Schema{Type: connect.String, Version: 2}, "k")},
	})
	if _, err := configure(t, "SetSchemaMetadata$Value", map[string]string{}); err == nil {
		t.Error("no name and no version: want a config error")
	}
}

func TestHeaderFrom(t *testing.T) {
	s := strct("id", prim(connect.String), "n", prim(connect.Int64))
	cfg := func(op string) map[string]string {
		return map[string]string{"fields": "id,n", "headers": "h_id,h_n", "operation": op}
	}
	withH := func(r *connect.Record, h ...connect.Header) *connect.Record { r.Headers = h; return r }
	orig := connect.Header{Key: "pre", Value: "kept"}
	runCases(t, []tcase{
		{name: "schemaless copy", class: "HeaderFrom$Value", cfg: cfg("copy"), in: withH(rec(m{"id": "c1", "n": int64(2)}), orig),
			want: withH(rec(m{"id": "c1", "n": int64(2)}), orig, connect.Header{Key: "h_id", Value: "c1"}, connect.Header{Key: "h_n", Value: int64(2)})},
		{name: "schemaless move", class: "HeaderFrom$Value", cfg: cfg("move"), in: rec(m{"id": "c1", "n": int64(2), "x": 1.0}),
			want: withH(rec(m{"x": 1.0}), connect.Header{Key: "h_id", Value: "c1"}, connect.Header{Key: "h_n", Value: int64(2)})},
		{name: "schema move", class: "HeaderFrom$Value", cfg: map[string]string{"fields": "n", "headers": "h", "operation": "move"}, in: recS(s, m{"id": "c1", "n": int64(2)}),
			want: withH(recS(strct("id", prim(connect.String)), m{"id": "c1"}), connect.Header{Key: "h", Schema: prim(connect.Int64), Value: int64(2)})},
		{name: "schema missing field", class: "HeaderFrom$Value", cfg: map[string]string{"fields": "zz", "headers": "h", "operation": "copy"}, in: recS(s, m{}),
			wantErr: `HeaderFrom$Value: field "zz" not found`},
		{name: "key", class: "HeaderFrom$Key", cfg: map[string]string{"fields": "id", "headers": "h", "operation": "copy"}, in: keyRec(m{"id": "k"}),
			want: withH(keyRec(m{"id": "k"}), connect.Header{Key: "h", Value: "k"})},
	})
	if _, err := configure(t, "HeaderFrom$Value", map[string]string{"fields": "a,b", "headers": "h", "operation": "copy"}); err == nil || !contains(err.Error(), "same number of elements") {
		t.Errorf("mismatched lists: err = %v", err)
	}
}
