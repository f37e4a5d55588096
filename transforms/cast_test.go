package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestCast(t *testing.T) {
	const cv = "org.apache.kafka.connect.transforms.Cast$Value"
	carS := strct("id", prim(connect.Int64), "speed", prim(connect.Float64), "ok", opt(connect.String), "raw", prim(connect.Bytes))
	runCases(t, []tcase{
		{name: "schemaless fields", class: "Cast$Value", cfg: map[string]string{"spec": "speed:int32,ok:boolean,id:string,f:float32"},
			in:   rec(m{"speed": 99.9, "ok": "TRUE", "id": int64(7), "f": int64(3), "other": "x"}),
			want: rec(m{"speed": int32(99), "ok": true, "id": "7", "f": float32(3), "other": "x"})},
		{name: "schemaless whole value", class: cv, cfg: map[string]string{"spec": "int8"},
			in: rec("42"), want: rec(int8(42))},
		{name: "int narrowing wraps as in Java", class: cv, cfg: map[string]string{"spec": "int8"},
			in: rec(int64(300)), want: rec(int8(44))},
		{name: "string out of range fails", class: cv, cfg: map[string]string{"spec": "int8"},
			in: rec("300"), wantErr: `Cast$Value: cannot cast string "300" to int8`},
		{name: "float to string like Java", class: cv, cfg: map[string]string{"spec": "x:string,y:string,z:string"},
			in: rec(m{"x": 1.0, "y": 1e10, "z": 0.5}), want: rec(m{"x": "1.0", "y": "1.0E10", "z": "0.5"})},
		{name: "bool to number and back", class: cv, cfg: map[string]string{"spec": "a:int64,b:boolean,c:boolean"},
			in: rec(m{"a": true, "b": int64(0), "c": 2.5}), want: rec(m{"a": int64(1), "b": false, "c": true})},
		{name: "null passes", class: cv, cfg: map[string]string{"spec": "a:int64"},
			in: rec(nil), want: rec(nil)},
		{name: "schemaless map required for field casts", class: cv, cfg: map[string]string{"spec": "a:int64"},
			in: rec("str"), wantErr: "Cast$Value: only map objects supported in absence of schema for [cast types], found: string"},
		{name: "unparsable string names the field", class: cv, cfg: map[string]string{"spec": "a:int64"},
			in: rec(m{"a": "x1"}), wantErr: `Cast$Value: field "a": cannot cast string "x1" to int64`},
		{name: "schema fields", class: cv, cfg: map[string]string{"spec": "speed:int32,ok:boolean,raw:string"},
			in: recS(carS, m{"id": int64(1), "speed": 12.7, "ok": "true", "raw": []byte("hi")}),
			want: recS(strct("id", prim(connect.Int64), "speed", prim(connect.Int32), "ok", opt(connect.Boolean), "raw", prim(connect.String)),
				m{"id": int64(1), "speed": int32(12), "ok": true, "raw": "aGk="})},
		{name: "schema whole value", class: cv, cfg: map[string]string{"spec": "float64"},
			in: recS(opt(connect.Int32), int32(5)), want: recS(opt(connect.Float64), 5.0)},
		{name: "schema bytes only to string", class: cv, cfg: map[string]string{"spec": "raw:int32"},
			in: recS(carS, m{"id": int64(1), "speed": 1.0, "raw": []byte{}}), wantErr: `field "raw": bytes can only be cast to string`},
		{name: "schema whole struct rejected", class: cv, cfg: map[string]string{"spec": "string"},
			in: recS(carS, m{}), wantErr: "cannot cast a whole value of schema type struct"},
		{name: "timestamp to int64 millis", class: cv, cfg: map[string]string{"spec": "int64"},
			in:   recS(&connect.Schema{Type: connect.Int64, Name: connect.TimestampName}, time.UnixMilli(1700000000123)),
			want: recS(prim(connect.Int64), int64(1700000000123))},
		{name: "default is cast too", class: cv, cfg: map[string]string{"spec": "n:string"},
			in:   recS(strct("n", &connect.Schema{Type: connect.Int32, Default: int32(5)}), m{"n": nil}),
			want: recS(strct("n", &connect.Schema{Type: connect.String, Default: "5"}), m{"n": "5"})},
		{name: "key variant", class: "Cast$Key", cfg: map[string]string{"spec": "string"},
			in: keyRec(int64(12)), want: keyRec("12")},
	})
}

func TestCastSpecErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "at least one field"},
		{"int9", `invalid type found in casting spec: "int9"`},
		{"a:int8,int16", "must either have a single type for the whole value, or field:type"},
		{"a:int8:x", "expected field:type"},
		{":int8", "empty field name"},
		{"a:bytes", `invalid type found in casting spec: "bytes"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := configure(t, "Cast$Value", map[string]string{"spec": tc.spec})
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
