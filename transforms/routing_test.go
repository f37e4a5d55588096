package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func topicRec(topic string) *connect.Record {
	r := rec(m{})
	r.Topic = topic
	return r
}

func TestRegexRouter(t *testing.T) {
	const rr = "org.apache.kafka.connect.transforms.RegexRouter"
	runCases(t, []tcase{
		{name: "docs example", class: rr, cfg: map[string]string{"regex": "(.*)-(.*)", "replacement": "$2"}, in: topicRec("mysql-customers"), want: topicRec("customers")},
		{name: "must match whole topic", class: rr, cfg: map[string]string{"regex": "cars", "replacement": "x"}, in: topicRec("cars-eu"), want: topicRec("cars-eu")},
		{name: "group then digits", class: rr, cfg: map[string]string{"regex": "(a)-(b)", "replacement": "$10"}, in: topicRec("a-b"), want: topicRec("a0")},
		{name: "escaped dollar", class: rr, cfg: map[string]string{"regex": "(a)", "replacement": `\$1$1`}, in: topicRec("a"), want: topicRec("$1a")},
		{name: "named group", class: rr, cfg: map[string]string{"regex": "(?P<car>c\\d+)\\.readings", "replacement": "readings-${car}"}, in: topicRec("c12.readings"), want: topicRec("readings-c12")},
	})
	if _, err := configure(t, "RegexRouter", map[string]string{"regex": "(", "replacement": "x"}); err == nil {
		t.Error("invalid regex: want an error")
	}
}

func TestTimestampRouter(t *testing.T) {
	runCases(t, []tcase{
		{name: "defaults", class: "TimestampRouter", cfg: map[string]string{}, in: topicRec("cars"), want: topicRec("cars-20240305")},
		{name: "custom", class: "TimestampRouter", cfg: map[string]string{"topic.format": "idx-${timestamp}-${topic}", "timestamp.format": "yyyy.MM.dd'T'HH"},
			in: topicRec("cars"), want: topicRec("idx-2024.03.05T14-cars")},
		{name: "missing timestamp", class: "TimestampRouter", cfg: map[string]string{}, in: &connect.Record{Topic: "cars"}, wantErr: "TimestampRouter: timestamp missing"},
	})
}

func TestDropAndInsertHeaders(t *testing.T) {
	withH := func(h ...connect.Header) *connect.Record { r := rec(m{}); r.Headers = h; return r }
	a, b, a2 := connect.Header{Key: "a", Value: "1"}, connect.Header{Key: "b", Value: "2"}, connect.Header{Key: "a", Value: "3"}
	runCases(t, []tcase{
		{name: "drop all of a name", class: "DropHeaders", cfg: map[string]string{"headers": "a,zz"}, in: withH(a, b, a2), want: withH(b)},
		{name: "insert string", class: "InsertHeader", cfg: map[string]string{"header": "src", "value.literal": "mqtt bridge"}, in: withH(a),
			want: withH(a, connect.Header{Key: "src", Schema: prim(connect.String), Value: "mqtt bridge"})},
		{name: "insert int is narrowest", class: "InsertHeader", cfg: map[string]string{"header": "v", "value.literal": "42"}, in: withH(),
			want: withH(connect.Header{Key: "v", Schema: prim(connect.Int8), Value: int8(42)})},
		{name: "insert bool", class: "InsertHeader", cfg: map[string]string{"header": "v", "value.literal": "true"}, in: withH(),
			want: withH(connect.Header{Key: "v", Schema: prim(connect.Boolean), Value: true})},
		{name: "insert long", class: "InsertHeader", cfg: map[string]string{"header": "v", "value.literal": "1700000000000"}, in: withH(),
			want: withH(connect.Header{Key: "v", Schema: prim(connect.Int64), Value: int64(1700000000000)})},
		{name: "insert double", class: "InsertHeader", cfg: map[string]string{"header": "v", "value.literal": "2.5"}, in: withH(),
			want: withH(connect.Header{Key: "v", Schema: prim(connect.Float64), Value: 2.5})},
	})
	if _, err := configure(t, "DropHeaders", map[string]string{"headers": ""}); err == nil {
		t.Error("empty headers: want a config error")
	}
}

func TestFilter(t *testing.T) {
	runCases(t, []tcase{{name: "drops", class: "Filter", cfg: map[string]string{}, in: rec(m{"a": 1.0}), want: nil}})
}

func TestPredicates(t *testing.T) {
	withH := func(r *connect.Record, k string) *connect.Record { r.Headers = connect.Headers{{Key: k}}; return r }
	for _, tc := range []struct {
		name  string
		class string
		cfg   map[string]string
		in    *connect.Record
		want  bool
	}{
		{"topic matches", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", map[string]string{"pattern": "car.*"}, topicRec("cars"), true},
		{"topic partial match is false", "TopicNameMatches", map[string]string{"pattern": "car"}, topicRec("cars"), false},
		{"has header", "HasHeaderKey", map[string]string{"name": "trace"}, withH(rec(nil), "trace"), true},
		{"has no header", "HasHeaderKey", map[string]string{"name": "trace"}, withH(rec(nil), "other"), false},
		{"tombstone", "RecordIsTombstone", map[string]string{}, rec(nil), true},
		{"not tombstone", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone", map[string]string{}, rec(m{}), false},
		{"expression true", "io.tributary.connect.transforms.predicates.Expression", map[string]string{"expression": "value.speed > 120 && value.throttle_pos > 0.9"},
			rec(m{"speed": int64(130), "throttle_pos": 0.95}), true},
		{"expression false", "Expression", map[string]string{"expression": "value.speed > 120 && value.throttle_pos > 0.9"},
			rec(m{"speed": 110.5, "throttle_pos": 0.95}), false},
		{"expression on metadata", "Expression", map[string]string{"expression": `topic startsWith "car" && partition == 3 && offset >= 42 && timestamp.Year() == 2024 && headers.src == "x"`},
			func() *connect.Record {
				r := rec(m{})
				r.Headers = connect.Headers{{Key: "src", Value: []byte("x")}}
				return r
			}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPredicate(t, tc.class, tc.cfg)
			got, err := p.Test(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("Test = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func mustPredicate(t testing.TB, class string, cfg map[string]string) connect.Predicate {
	t.Helper()
	p, err := connect.Default.Lookup(class, connect.KindPredicate)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Config.Parse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := p.New().(connect.Predicate)
	if err := x.Configure(c); err != nil {
		t.Fatal(err)
	}
	return x
}
