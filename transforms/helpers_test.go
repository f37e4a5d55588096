package transforms

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// tcase is one transform case: a config, an input record and either the
// expected output (nil: dropped) or an error substring.
type tcase struct {
	name    string
	class   string
	cfg     map[string]string
	in      *connect.Record
	want    *connect.Record
	wantErr string
}

func configure(t testing.TB, class string, cfg map[string]string) (connect.Transformation, error) {
	t.Helper()
	p, err := connect.Default.Lookup(class, connect.KindTransformation)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Config.Parse(cfg)
	if err != nil {
		return nil, err
	}
	x := p.New().(connect.Transformation)
	if err := x.Configure(c); err != nil {
		return nil, err
	}
	return x, nil
}

func mustConfigure(t testing.TB, class string, cfg map[string]string) connect.Transformation {
	t.Helper()
	x, err := configure(t, class, cfg)
	if err != nil {
		t.Fatalf("configure %s: %v", class, err)
	}
	return x
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := mustConfigure(t, tc.class, tc.cfg)
			before := snapshot(tc.in)
			got, err := x.Apply(tc.in)
			if !reflect.DeepEqual(snapshot(tc.in), before) {
				t.Fatalf("input record was mutated:\n got %#v\nwant %#v", snapshot(tc.in), before)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			assertRecord(t, got, tc.want)
		})
	}
}

func assertRecord(t *testing.T, got, want *connect.Record) {
	t.Helper()
	if want == nil || got == nil {
		if want != got {
			t.Fatalf("got %#v, want %#v", got, want)
		}
		return
	}
	check := func(what string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %#v\nwant %#v", what, g, w)
		}
	}
	check("topic", got.Topic, want.Topic)
	check("key schema", got.KeySchema, want.KeySchema)
	check("key", got.Key, want.Key)
	check("value schema", got.ValueSchema, want.ValueSchema)
	check("value", got.Value, want.Value)
	if len(got.Headers) != 0 || len(want.Headers) != 0 {
		check("headers", got.Headers, want.Headers)
	}
	check("timestamp", got.Timestamp, want.Timestamp)
}

// snapshot deep-copies the parts of a record a transform must not change.
func snapshot(r *connect.Record) *connect.Record {
	if r == nil {
		return nil
	}
	c := r.Clone()
	c.Key = connect.CopyValue(r.Key)
	c.Value = connect.CopyValue(r.Value)
	c.KeySchema = r.KeySchema.Copy()
	c.ValueSchema = r.ValueSchema.Copy()
	return c
}

var ts0 = time.Date(2024, 3, 5, 14, 7, 9, 123_000_000, time.UTC)

// rec builds a record on topic "cars" with a schemaless value.
func rec(v any) *connect.Record {
	return &connect.Record{Topic: "cars", Partition: 3, Offset: 42, Timestamp: ts0, Value: v}
}

func recS(s *connect.Schema, v any) *connect.Record {
	r := rec(v)
	r.ValueSchema = s
	return r
}

func keyRec(k any) *connect.Record {
	r := rec(nil)
	r.Key = k
	return r
}

func keyRecS(s *connect.Schema, k any) *connect.Record {
	r := rec(nil)
	r.KeySchema, r.Key = s, k
	return r
}

func withValue(r *connect.Record, s *connect.Schema, v any) *connect.Record {
	c := r.Clone()
	c.ValueSchema, c.Value = s, v
	return c
}

func prim(t connect.SchemaType) *connect.Schema { return &connect.Schema{Type: t} }
func opt(t connect.SchemaType) *connect.Schema  { return &connect.Schema{Type: t, Optional: true} }

func strct(fields ...any) *connect.Schema {
	s := &connect.Schema{Type: connect.Struct}
	for i := 0; i < len(fields); i += 2 {
		s.Fields = append(s.Fields, connect.Field{Name: fields[i].(string), Schema: fields[i+1].(*connect.Schema)})
	}
	return s
}

type m = map[string]any

func contains(s, sub string) bool { return strings.Contains(s, sub) }
