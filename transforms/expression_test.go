package transforms

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestExpression(t *testing.T) {
	const ev = "io.tributary.connect.transforms.Expression$Value"
	s := strct("speed", prim(connect.Float64), "rpm", prim(connect.Int32), "raw", opt(connect.String))
	runCases(t, []tcase{
		{name: "schemaless set and remove", class: ev,
			cfg:  map[string]string{"set.speed_kmh": "value.speed * 1.609", "set.alert": "value.speed > 120 && value.throttle_pos > 0.9", "set.n": "len(value.tags)", "remove": "raw"},
			in:   rec(m{"speed": 130.0, "throttle_pos": 0.95, "raw": "x", "tags": []any{"a", "b"}}),
			want: rec(m{"speed": 130.0, "throttle_pos": 0.95, "tags": []any{"a", "b"}, "speed_kmh": 130.0 * 1.609, "alert": true, "n": int64(2)})},
		{name: "rename by set and remove", class: "Expression$Value", cfg: map[string]string{"set.kmh": "value.speed", "remove": "speed"},
			in: rec(m{"speed": 1.0}), want: rec(m{"kmh": 1.0})},
		{name: "all expressions see the input", class: ev, cfg: map[string]string{"set.a": "value.b", "set.b": "value.a"},
			in: rec(m{"a": int64(1), "b": int64(2)}), want: rec(m{"a": int64(2), "b": int64(1)})},
		{name: "metadata", class: ev, cfg: map[string]string{"set.src": `topic + "/" + string(partition)`, "set.hour": "timestamp.Hour()", "set.car": "key"},
			in: func() *connect.Record { r := rec(m{}); r.Key = "c7"; return r }(), want: func() *connect.Record {
				r := rec(m{"src": "cars/3", "hour": int64(14), "car": "c7"})
				r.Key = "c7"
				return r
			}()},
		{name: "missing field with default", class: ev, cfg: map[string]string{"set.t": "value.temp ?? -1"}, in: rec(m{}), want: rec(m{"t": int64(-1)})},
		{name: "tombstone passes", class: ev, cfg: map[string]string{"set.t": "1"}, in: rec(nil), want: rec(nil)},
		{name: "runtime error names field", class: ev, cfg: map[string]string{"set.x": "value.s * 2"}, in: rec(m{"s": "str"}),
			wantErr: "Expression$Value: set.x: "},
		{name: "not a map", class: ev, cfg: map[string]string{"set.x": "1"}, in: rec("str"), wantErr: "Expression$Value: only map objects supported"},
		{name: "schema keeps fitting types and adds fields", class: ev,
			cfg: map[string]string{"set.rpm": "value.rpm + 1", "set.kmh": "value.speed * 2", "set.fast": "value.speed > 100", "remove": "raw"},
			in:  recS(s, m{"speed": 150.0, "rpm": int32(3000), "raw": nil}),
			want: recS(strct("speed", prim(connect.Float64), "rpm", prim(connect.Int32), "fast", opt(connect.Boolean), "kmh", opt(connect.Float64)),
				m{"speed": 150.0, "rpm": int32(3001), "kmh": 300.0, "fast": true})},
		{name: "schema retypes a field", class: ev, cfg: map[string]string{"set.rpm": `"high"`},
			in:   recS(s, m{"speed": 1.0, "rpm": int32(3000)}),
			want: recS(strct("speed", prim(connect.Float64), "rpm", opt(connect.String), "raw", opt(connect.String)), m{"speed": 1.0, "rpm": "high", "raw": nil})},
		{name: "schema composite result", class: ev, cfg: map[string]string{"set.l": `[1,2]`}, in: recS(s, m{}), wantErr: "cannot derive a schema"},
		{name: "key", class: "Expression$Key", cfg: map[string]string{"set.id": `upper(key.id)`}, in: keyRec(m{"id": "c1"}), want: keyRec(m{"id": "C1"})},
	})
}

func TestExpressionFilter(t *testing.T) {
	const ef = "io.tributary.connect.transforms.ExpressionFilter"
	fast := rec(m{"speed": int64(130), "throttle_pos": 0.95})
	slow := rec(m{"speed": int64(90), "throttle_pos": 0.95})
	expr := "value.speed > 120 && value.throttle_pos > 0.9"
	runCases(t, []tcase{
		{name: "include keeps match", class: ef, cfg: map[string]string{"expression": expr}, in: fast, want: fast},
		{name: "include drops others", class: ef, cfg: map[string]string{"expression": expr}, in: slow, want: nil},
		{name: "exclude drops match", class: "ExpressionFilter", cfg: map[string]string{"expression": expr, "filter.type": "exclude"}, in: fast, want: nil},
		{name: "exclude keeps others", class: "ExpressionFilter", cfg: map[string]string{"expression": expr, "filter.type": "exclude"}, in: slow, want: slow},
		{name: "non-boolean result", class: ef, cfg: map[string]string{"expression": "value.speed"}, in: fast, wantErr: "invalid operation: bool(int64)"},
		{name: "runtime error", class: ef, cfg: map[string]string{"expression": "value.speed > 120"}, in: rec(m{"speed": "fast"}), wantErr: "ExpressionFilter \"value.speed > 120\": "},
	})
}

// TestExpressionValidation checks that compile errors surface as field
// errors with the key and the position, as config/validate shows them.
func TestExpressionValidation(t *testing.T) {
	for _, tc := range []struct {
		name, class string
		kind        connect.Kind
		cfg         map[string]string
		key, want   string
	}{
		{"predicate unknown name", "io.tributary.connect.transforms.predicates.Expression", connect.KindPredicate,
			map[string]string{"expression": "value.speed > 120 && valeu.x"}, "expression", "line 1, column 22: unknown name valeu"},
		{"predicate not boolean", "io.tributary.connect.transforms.predicates.Expression", connect.KindPredicate,
			map[string]string{"expression": "len(topic) + 1"}, "expression", "expected bool"},
		{"filter syntax", "ExpressionFilter", connect.KindTransformation,
			map[string]string{"expression": "value.speed >"}, "expression", "line 1, column"},
		{"transform set key", "Expression$Value", connect.KindTransformation,
			map[string]string{"set.kmh": "value.speed * ", "set.ok": "1"}, "set.kmh", "line 1, column"},
		{"transform nothing to do", "Expression$Value", connect.KindTransformation,
			map[string]string{}, "set.<field>", "at least one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := connect.Default.Lookup(tc.class, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			// As the runtime validates a connector: keys carry the chain prefix.
			prefix := "transforms.calc."
			raw := map[string]string{}
			for k, v := range tc.cfg {
				raw[prefix+k] = v
			}
			var found []string
			for _, v := range p.Config.WithPrefix(prefix, "calc").Validate(raw) {
				for _, e := range v.Errors {
					found = append(found, v.Name+": "+e)
					if v.Name == prefix+tc.key && strings.Contains(e, tc.want) {
						return
					}
				}
			}
			t.Fatalf("no error on %s containing %q; errors: %q", prefix+tc.key, tc.want, found)
		})
	}
}
