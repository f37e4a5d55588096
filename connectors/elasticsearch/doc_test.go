package elasticsearch

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestDocID(t *testing.T) {
	tests := []struct {
		key     any
		want    string
		invalid bool
	}{
		{key: "car-1", want: "car-1"},
		{key: int64(-42), want: "-42"},
		{key: int32(7), want: "7"},
		{key: int8(3), want: "3"},
		{key: float64(12), want: "12"},
		{key: []byte("abc"), want: "abc"},
		{key: nil, invalid: true},
		{key: "", invalid: true},
		{key: 1.5, invalid: true},
		{key: math.Inf(1), invalid: true},
		{key: []byte{0xff, 0xfe}, invalid: true},
		{key: map[string]any{"id": 1}, invalid: true},
		{key: []any{1}, invalid: true},
		{key: strings.Repeat("k", 513), invalid: true},
	}
	for _, tt := range tests {
		got, err := docID(tt.key)
		if tt.invalid {
			if !errors.Is(err, errInvalid) {
				t.Errorf("docID(%#v) = %q, %v; want an invalid-record error", tt.key, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("docID(%#v) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
}

func TestVersionFromHeader(t *testing.T) {
	tests := []struct {
		v       any
		want    int64
		invalid bool
	}{
		{v: int64(9), want: 9},
		{v: int32(9), want: 9},
		{v: "123", want: 123},
		{v: []byte(" 5 "), want: 5},
		{v: float64(77), want: 77},
		{v: "x", invalid: true},
		{v: int64(-1), invalid: true},
		{v: 1.25, invalid: true},
		{v: true, invalid: true},
	}
	for _, tt := range tests {
		got, err := versionFromHeader(tt.v)
		if tt.invalid != (err != nil) || (!tt.invalid && got != tt.want) {
			t.Errorf("versionFromHeader(%#v) = %d, %v; want %d (invalid=%v)", tt.v, got, err, tt.want, tt.invalid)
		}
	}
}

func TestToOp(t *testing.T) {
	ts := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	base := func() *connect.Record {
		return &connect.Record{Topic: "Cars", Partition: 2, Offset: 40, Timestamp: ts, Key: "k", Value: map[string]any{"a": 1.5}}
	}
	tests := []struct {
		name     string
		cfg      map[string]string
		mod      func(*connect.Record)
		kind     opKind
		id       string
		index    string
		version  int64
		versions bool
		invalid  bool
	}{
		{name: "insert by key", kind: opIndex, id: "k", index: "cars", version: 40, versions: true},
		{name: "key ignore", cfg: map[string]string{cfgKeyIgnore: "true"}, kind: opIndex, id: "Cars+2+40", index: "cars"},
		{name: "upsert", cfg: map[string]string{cfgWriteMethod: "upsert"}, kind: opUpdate, id: "k", index: "cars"},
		{name: "version header", cfg: map[string]string{cfgVersionHeader: "v"}, mod: func(r *connect.Record) {
			r.Headers = connect.Headers{{Key: "v", Value: "1000"}}
		}, kind: opIndex, id: "k", index: "cars", version: 1000, versions: true},
		{name: "missing version header", cfg: map[string]string{cfgVersionHeader: "v"}, invalid: true},
		{name: "tombstone ignore", cfg: map[string]string{cfgNullValues: "ignore"}, mod: func(r *connect.Record) { r.Value = nil }, kind: opSkip},
		{name: "tombstone delete", cfg: map[string]string{cfgNullValues: "delete"}, mod: func(r *connect.Record) { r.Value = nil }, kind: opDelete, id: "k", index: "cars", version: 40, versions: true},
		{name: "tombstone delete upsert", cfg: map[string]string{cfgNullValues: "delete", cfgWriteMethod: "upsert"}, mod: func(r *connect.Record) { r.Value = nil }, kind: opDelete, id: "k", index: "cars"},
		{name: "tombstone fail", mod: func(r *connect.Record) { r.Value = nil }, invalid: true},
		{name: "null key", mod: func(r *connect.Record) { r.Key = nil }, invalid: true},
		{name: "struct key", mod: func(r *connect.Record) { r.Key = map[string]any{"id": "x"} }, invalid: true},
		{name: "json string value", mod: func(r *connect.Record) { r.Value = "{\n \"a\": 1\n}" }, kind: opIndex, id: "k", index: "cars", version: 40, versions: true},
		{name: "scalar value", mod: func(r *connect.Record) { r.Value = 12.5 }, invalid: true},
		{name: "daily index", cfg: map[string]string{cfgIndexFormat: "${topic}-${timestamp:yyyy.MM.dd}"}, kind: opIndex, id: "k", index: "cars-2026.11.22", version: 40, versions: true},
		{name: "invalid topic index", mod: func(r *connect.Record) { r.Topic = "_cars" }, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]string{cfgURL: "http://127.0.0.1:1"}
			for k, v := range tt.cfg {
				raw[k] = v
			}
			s := mustSettings(t, raw)
			rec := base()
			if tt.mod != nil {
				tt.mod(rec)
			}
			o, err := s.toOp(rec)
			if tt.invalid {
				if !errors.Is(err, errInvalid) {
					t.Fatalf("toOp = %+v, %v; want invalid", o, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.kind != tt.kind || o.id != tt.id || o.index != tt.index || o.versioned != tt.versions || (tt.versions && o.version != tt.version) {
				t.Fatalf("toOp = kind %d id %q index %q versioned %v version %d; want kind %d id %q index %q versioned %v version %d",
					o.kind, o.id, o.index, o.versioned, o.version, tt.kind, tt.id, tt.index, tt.versions, tt.version)
			}
			if o.kind == opIndex || o.kind == opUpdate {
				if strings.Contains(string(o.doc), "\n") || !json.Valid(o.doc) {
					t.Fatalf("doc %q is not one-line JSON", o.doc)
				}
			}
		})
	}
}

func TestDocBodyValues(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.FixedZone("x", 7200))
	b, err := docBody(map[string]any{"t": ts, "b": []byte("hi"), "nan": math.NaN(), "n": map[string]any{"x": []any{int64(1), "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["t"] != "2026-01-02T01:04:05.006Z" || got["b"] != "aGk=" || got["nan"] != nil {
		t.Fatalf("docBody = %s", b)
	}
}

func mustSettings(t testing.TB, raw map[string]string) *settings {
	t.Helper()
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzDocID checks id derivation never panics and that every id it accepts
// is a non-empty string of at most 512 bytes.
func FuzzDocID(f *testing.F) {
	f.Add("car-1", int64(5), 1.0, byte(0))
	f.Add("", int64(-1), 1.5, byte(1))
	f.Add("x", int64(0), math.Inf(1), byte(2))
	f.Fuzz(func(t *testing.T, s string, n int64, x float64, which byte) {
		var key any
		switch which % 4 {
		case 0:
			key = s
		case 1:
			key = n
		case 2:
			key = x
		case 3:
			key = []byte(s)
		}
		id, err := docID(key)
		if err != nil {
			if !errors.Is(err, errInvalid) {
				t.Fatalf("docID(%#v) error %v does not wrap errInvalid", key, err)
			}
			return
		}
		if id == "" || len(id) > 512 {
			t.Fatalf("docID(%#v) = %q", key, id)
		}
		if v, err := versionFromHeader(s); err == nil && v < 0 {
			t.Fatalf("versionFromHeader(%q) = %d", s, v)
		}
	})
}
