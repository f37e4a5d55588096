package converters

import (
	"bytes"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestRegistrations(t *testing.T) {
	tests := []struct {
		name  string
		kinds []connect.Kind
	}{
		{"JsonConverter", []connect.Kind{connect.KindConverter, connect.KindHeaderConverter}},
		{"org.apache.kafka.connect.storage.StringConverter", []connect.Kind{connect.KindConverter, connect.KindHeaderConverter}},
		{"ByteArray", []connect.Kind{connect.KindConverter, connect.KindHeaderConverter}},
		{"SimpleHeaderConverter", []connect.Kind{connect.KindHeaderConverter}},
	}
	for _, tt := range tests {
		for _, k := range tt.kinds {
			p, err := connect.Default.Lookup(tt.name, k)
			if err != nil {
				t.Fatalf("%s as %s: %v", tt.name, k, err)
			}
			obj := p.New()
			switch k {
			case connect.KindConverter:
				if _, ok := obj.(connect.Converter); !ok {
					t.Fatalf("%s converter is %T", tt.name, obj)
				}
			case connect.KindHeaderConverter:
				if _, ok := obj.(connect.HeaderConverter); !ok {
					t.Fatalf("%s header converter is %T", tt.name, obj)
				}
			}
		}
	}
	if _, err := connect.Default.Lookup("SimpleHeaderConverter", connect.KindConverter); err == nil {
		t.Fatal("SimpleHeaderConverter registered as a record converter")
	}
}

func stringConv(t testing.TB, enc string) *StringConverter {
	t.Helper()
	raw := map[string]string{}
	if enc != "" {
		raw[ConverterEncoding] = enc
	}
	cfg, err := stringConfigDef().Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := &StringConverter{}
	if err := c.Configure(cfg, false); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStringConverterEncodings(t *testing.T) {
	tests := []struct {
		enc  string
		in   string
		want []byte
	}{
		{"", "héllo", []byte("héllo")},
		{"UTF8", "héllo", []byte("héllo")},
		{"ISO-8859-1", "héllo", []byte{'h', 0xe9, 'l', 'l', 'o'}},
		{"US-ASCII", "hé", []byte("h?")},
		{"UTF-16BE", "hé", []byte{0, 'h', 0, 0xe9}},
		{"UTF-16LE", "h😀", []byte{'h', 0, 0x3d, 0xd8, 0x00, 0xde}},
		{"UTF-16", "h", []byte{0xfe, 0xff, 0, 'h'}},
	}
	for _, tt := range tests {
		t.Run(tt.enc, func(t *testing.T) {
			c := stringConv(t, tt.enc)
			b, err := c.FromConnect("t", nil, tt.in)
			if err != nil || !bytes.Equal(b, tt.want) {
				t.Fatalf("FromConnect = %x, %v; want %x", b, err, tt.want)
			}
			s, v, err := c.ToConnect("t", b)
			if err != nil || s.Type != connect.String || !s.Optional {
				t.Fatalf("ToConnect: %v %v", s, err)
			}
			if tt.enc != "US-ASCII" && v != tt.in {
				t.Fatalf("round trip %q → %q", tt.in, v)
			}
		})
	}
	if _, err := stringConfigDef().Parse(map[string]string{ConverterEncoding: "EBCDIC"}); err == nil {
		t.Fatal("unsupported encoding accepted")
	}
}

func TestStringConverterValues(t *testing.T) {
	c := stringConv(t, "")
	tests := []struct {
		v    any
		want string
	}{
		{"s", "s"},
		{int32(5), "5"},
		{2.5, "2.5"},
		{true, "true"},
		{[]byte("raw"), "raw"},
		{map[string]any{"b": int64(1), "a": []any{"x"}}, `{"a":["x"],"b":1}`},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "2024-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		b, err := c.FromConnect("t", nil, tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("FromConnect(%#v) = %q, %v; want %q", tt.v, b, err, tt.want)
		}
	}
	if b, err := c.FromConnect("t", nil, nil); b != nil || err != nil {
		t.Fatalf("nil value → %q, %v", b, err)
	}
	if s, v, err := c.ToConnect("t", nil); v != nil || err != nil || s.Type != connect.String {
		t.Fatalf("nil data → %v, %v, %v", s, v, err)
	}
	if _, _, err := stringConv(t, "UTF-16BE").ToConnect("top", []byte{1}); err == nil || !strings.Contains(err.Error(), "topic top") {
		t.Fatalf("odd UTF-16 input: %v", err)
	}
}

func TestByteArrayConverter(t *testing.T) {
	c := &ByteArrayConverter{what: "value"}
	if b, err := c.FromConnect("t", nil, []byte{1, 2}); err != nil || !bytes.Equal(b, []byte{1, 2}) {
		t.Fatalf("bytes: %x %v", b, err)
	}
	if _, err := c.FromConnect("t", nil, int64(1)); err == nil || !strings.Contains(err.Error(), "not compatible with objects of type int64") {
		t.Fatalf("int64 accepted: %v", err)
	}
	if _, err := c.FromConnect("t", &connect.Schema{Type: connect.String}, []byte("x")); err == nil {
		t.Fatal("string schema accepted")
	}
	s, v, err := c.ToConnect("t", []byte("abc"))
	if err != nil || s.Type != connect.Bytes || !bytes.Equal(v.([]byte), []byte("abc")) {
		t.Fatalf("ToConnect: %v %v %v", s, v, err)
	}
}

func TestSimpleHeaderParse(t *testing.T) {
	tests := []struct {
		in    string
		typ   connect.SchemaType
		name  string
		value any
	}{
		{"", connect.String, "", ""},
		{"hello world", connect.String, "", "hello world"},
		{"true", connect.Boolean, "", true},
		{"42", connect.Int8, "", int8(42)},
		{"-300", connect.Int16, "", int16(-300)},
		{"70000", connect.Int32, "", int32(70000)},
		{"5000000000", connect.Int64, "", int64(5000000000)},
		{"1.0", connect.Int8, "", int8(1)},
		{"2.5", connect.Float32, "", float32(2.5)},
		{"12abc", connect.String, "", "12abc"},
		{"2024-03-04", connect.Int32, connect.DateName, time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)},
		{"01:02:03.004Z", connect.Int32, connect.TimeName, time.Date(1970, 1, 1, 1, 2, 3, 4e6, time.UTC)},
		{"2024-03-04T01:02:03.004Z", connect.Int64, connect.TimestampName, time.Date(2024, 3, 4, 1, 2, 3, 4e6, time.UTC)},
		{"[1,2,300]", connect.Array, "", []any{int16(1), int16(2), int16(300)}},
		{`["a","b"]`, connect.Array, "", []any{"a", "b"}},
		{`{"a":1,"b":2.5}`, connect.Map, "", map[string]any{"a": float32(1), "b": float32(2.5)}},
		{"[1,", connect.String, "", "[1,"},
		{"{oops}", connect.String, "", "{oops}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, v := ParseHeaderString(tt.in)
			if s == nil || s.Type != tt.typ || s.Name != tt.name {
				t.Fatalf("schema %+v, want %s %s", s, tt.typ, tt.name)
			}
			if !reflect.DeepEqual(v, tt.value) {
				t.Fatalf("value %#v, want %#v", v, tt.value)
			}
		})
	}
	if s, v := ParseHeaderString("null"); s != nil || v != nil {
		t.Fatalf("null → %v %v", s, v)
	}
	if s, v := ParseHeaderString("123456789012345678901234567890"); s.Name != connect.DecimalName || v.(*big.Rat).Num().String() != "123456789012345678901234567890" {
		t.Fatalf("big integer → %v %v", s, v)
	}
}

func TestSimpleHeaderFromHeader(t *testing.T) {
	h := &SimpleHeaderConverter{}
	tests := []struct {
		schema *connect.Schema
		v      any
		want   string
	}{
		{nil, "plain", "plain"},
		{nil, int64(7), "7"},
		{nil, 1.0, "1.0"},
		{nil, 1.5e21, "1.5E21"},
		{nil, float32(0.25), "0.25"},
		{nil, true, "true"},
		{nil, []byte("hi"), "aGk="},
		{dateSchema, time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC), "2024-03-04"},
		{timestampSchema, time.Date(2024, 3, 4, 1, 2, 3, 4e6, time.UTC), "2024-03-04T01:02:03.004Z"},
		{nil, []any{int64(1), "a\"b"}, `[1,"a\"b"]`},
		{nil, map[string]any{"b": int64(2), "a": true}, `{"a":true,"b":2}`},
	}
	for _, tt := range tests {
		b, err := h.FromHeader("t", "k", tt.schema, tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("FromHeader(%#v) = %q, %v; want %q", tt.v, b, err, tt.want)
		}
	}
	// What it writes, it reads back with the same meaning.
	for _, v := range []any{int64(7), true, "text", []any{int64(1), int64(2)}} {
		b, _ := h.FromHeader("t", "k", nil, v)
		_, got, _ := h.ToHeader("t", "k", b)
		if n, ok := v.(int64); ok {
			if g, _ := asInt64(got); g != n {
				t.Errorf("%v → %q → %#v", v, b, got)
			}
			continue
		}
		if l, ok := v.([]any); ok {
			if gl, _ := got.([]any); len(gl) != len(l) {
				t.Errorf("%v → %q → %#v", v, b, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%v → %q → %#v", v, b, got)
		}
	}
	if _, err := h.FromHeader("t", "k", nil, struct{}{}); err == nil {
		t.Fatal("unsupported type accepted")
	}
	if b, _ := h.FromHeader("t", "k", nil, math.Inf(1)); string(b) != "Infinity" {
		t.Fatalf("Inf → %q", b)
	}
}

func FuzzStringToConnect(f *testing.F) {
	f.Add([]byte("hello"), 0)
	f.Add([]byte{0xff, 0xfe, 'a', 0}, 4)
	encs := []string{"UTF-8", "US-ASCII", "ISO-8859-1", "UTF-16", "UTF-16BE", "UTF-16LE"}
	f.Fuzz(func(t *testing.T, data []byte, e int) {
		enc := encs[uint(e)%uint(len(encs))]
		c := &StringConverter{encoding: enc, what: "value"}
		_, v, err := c.ToConnect("t", data)
		if err != nil {
			return
		}
		b, err := c.FromConnect("t", nil, v)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", v, err)
		}
		if enc == "UTF-8" && !bytes.Equal(b, data) {
			t.Fatalf("UTF-8 not lossless: %x → %x", data, b)
		}
	})
}

func FuzzByteArrayToConnect(f *testing.F) {
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &ByteArrayConverter{}
		_, v, err := c.ToConnect("t", data)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.FromConnect("t", nil, v)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("pass-through changed %x into %x (%v)", data, b, err)
		}
	})
}

func FuzzSimpleHeaderToHeader(f *testing.F) {
	for _, s := range []string{"", "true", "42", "2.5", "2024-03-04", `[1,"a",{"k":[true,null]}]`, `{"a":1}`, "[[[[", "-", "1e400"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &SimpleHeaderConverter{}
		s, v, err := h.ToHeader("t", "k", data)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			return
		}
		if err := connect.ValidateValue(s, v); err != nil && s.Type.IsPrimitive() {
			t.Fatalf("%q: value %#v does not fit schema %+v: %v", data, v, s, err)
		}
		if _, err := h.FromHeader("t", "k", s, v); err != nil {
			t.Fatalf("%q: re-encoding %#v: %v", data, v, err)
		}
	})
}
