package transforms

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// TestKafkaStyleChain configures a chain from a connector config written
// for Kafka Connect (class names, predicates, negate) the way the runtime
// does, and checks the records that come out.
func TestKafkaStyleChain(t *testing.T) {
	props := map[string]string{
		"transforms":                          "dropTombstones,route,cast,fields,key,alert,onlyFast",
		"transforms.dropTombstones.type":      "org.apache.kafka.connect.transforms.Filter",
		"transforms.dropTombstones.predicate": "isTombstone",
		"transforms.route.type":               "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":              "vehicles/(.*)",
		"transforms.route.replacement":        "sensor-$1",
		"transforms.cast.type":                "org.apache.kafka.connect.transforms.Cast$Value",
		"transforms.cast.spec":                "failure_occurred:boolean",
		"transforms.fields.type":              "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.fields.blacklist":         "firmware",
		"transforms.key.type":                 "org.apache.kafka.connect.transforms.ValueToKey",
		"transforms.key.fields":               "car",
		"transforms.alert.type":               "io.tributary.connect.transforms.Expression$Value",
		"transforms.alert.set.alert":          "value.speed > 120 && value.throttle_pos > 0.9",
		"transforms.onlyFast.type":            "org.apache.kafka.connect.transforms.Filter",
		"transforms.onlyFast.predicate":       "fast",
		"transforms.onlyFast.negate":          "true",
		"predicates":                          "isTombstone,fast",
		"predicates.isTombstone.type":         "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
		"predicates.fast.type":                "io.tributary.connect.transforms.predicates.Expression",
		"predicates.fast.expression":          "value.speed > 100",
	}
	chain := buildTestChain(t, props)
	in := []*connect.Record{
		{Topic: "vehicles/car1", Value: m{"car": "car1", "speed": 130.0, "throttle_pos": 0.95, "failure_occurred": "false", "firmware": int64(2000)}},
		{Topic: "vehicles/car2", Value: m{"car": "car2", "speed": 60.0, "throttle_pos": 0.2, "failure_occurred": "true", "firmware": int64(1000)}},
		{Topic: "vehicles/car3", Value: nil},
		{Topic: "vehicles/car4", Value: m{"car": "car4", "speed": 110.0, "throttle_pos": 0.5, "failure_occurred": "TRUE"}},
	}
	var out []*connect.Record
	for _, r := range in {
		if o := chain(r); o != nil {
			out = append(out, o)
		}
	}
	want := []*connect.Record{
		{Topic: "sensor-car1", Key: m{"car": "car1"}, Value: m{"car": "car1", "speed": 130.0, "throttle_pos": 0.95, "failure_occurred": false, "alert": true}},
		{Topic: "sensor-car4", Key: m{"car": "car4"}, Value: m{"car": "car4", "speed": 110.0, "throttle_pos": 0.5, "failure_occurred": true, "alert": false}},
	}
	if len(out) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(out), len(want), out)
	}
	for i := range want {
		if out[i].Topic != want[i].Topic || !reflect.DeepEqual(out[i].Key, want[i].Key) || !reflect.DeepEqual(out[i].Value, want[i].Value) {
			t.Errorf("record %d:\n got %s %v %v\nwant %s %v %v", i, out[i].Topic, out[i].Key, out[i].Value, want[i].Topic, want[i].Key, want[i].Value)
		}
	}
}

// buildTestChain mirrors the runtime's chain: transforms in order, each
// applied when its predicate (xor negate) holds.
func buildTestChain(t *testing.T, props map[string]string) func(*connect.Record) *connect.Record {
	t.Helper()
	sub := func(prefix string) map[string]string {
		out := map[string]string{}
		for k, v := range props {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				out[rest] = v
			}
		}
		return out
	}
	preds := map[string]connect.Predicate{}
	for _, alias := range strings.Split(props["predicates"], ",") {
		cfg := sub("predicates." + alias + ".")
		preds[alias] = mustPredicate(t, cfg["type"], cfg)
	}
	type step struct {
		tr     connect.Transformation
		pred   connect.Predicate
		negate bool
	}
	var steps []step
	for _, alias := range strings.Split(props["transforms"], ",") {
		cfg := sub("transforms." + alias + ".")
		steps = append(steps, step{tr: mustConfigure(t, cfg["type"], cfg), pred: preds[cfg["predicate"]], negate: cfg["negate"] == "true"})
	}
	return func(r *connect.Record) *connect.Record {
		for _, s := range steps {
			if s.pred != nil {
				ok, err := s.pred.Test(r)
				if err != nil {
					t.Fatal(err)
				}
				if ok == s.negate {
					continue
				}
			}
			var err error
			if r, err = s.tr.Apply(r); err != nil {
				t.Fatal(err)
			}
			if r == nil {
				return nil
			}
		}
		return r
	}
}
