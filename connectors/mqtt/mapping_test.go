package mqtt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTopicMapper(t *testing.T) {
	rules, err := ParseTopicRules([]string{
		"cars_${car}:vehicles/sensor/data/(?P<car>[^/]+)",
		"engine:car/engine/.*",
		"plant.$1.$2:plant/(\\w+)/(.+)",
		"temperature:.*temperature",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := NewTopicMapper(rules, "fallback")
	tests := []struct{ in, want string }{
		{"vehicles/sensor/data/car-17", "cars_car-17"},
		{"vehicles/sensor/data/car-17/extra", "fallback"}, // rules match the whole topic
		{"car/engine/temperature", "engine"},              // first matching rule wins
		{"plant/p1/line/3", "plant.p1.line_3"},            // '/' from a group is sanitised
		{"room/temperature", "temperature"},
		{"room/humidity", "fallback"},
		{"", "fallback"},
		{"vehicles/sensor/data/ä", "cars___"}, // each non-ASCII byte becomes '_'
	}
	for _, tt := range tests {
		if got := m.Map(tt.in); got != tt.want {
			t.Errorf("Map(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTopicRulesErrors(t *testing.T) {
	tests := []struct {
		spec, want string
	}{
		{"", "<kafka topic>:<regex>"},
		{"topic", "<kafka topic>:<regex>"},
		{":a/b", "<kafka topic>:<regex>"},
		{"t:", "<kafka topic>:<regex>"},
		{"t:(", "missing closing"},
		{"t_${x}:a/(b)", "unknown group"},
		{"t_$3:a/(b)", "group 3"},
		{"t t:a", "cannot contain"},
	}
	for _, tt := range tests {
		_, err := ParseTopicRules([]string{tt.spec})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTopicRules(%q) = %v, want error containing %q", tt.spec, err, tt.want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    any
		wantErr bool
	}{
		{`{"a":1,"b":1.5,"c":"x","d":true,"e":null}`, map[string]any{"a": int64(1), "b": 1.5, "c": "x", "d": true, "e": nil}, false},
		{`[1, -2, 3e2, 9223372036854775807]`, []any{int64(1), int64(-2), 300.0, int64(9223372036854775807)}, false},
		{`9223372036854775808`, 9223372036854775808.0, false}, // beyond int64: float64
		{`{"n":{"m":[{"k":0}]}}`, map[string]any{"n": map[string]any{"m": []any{map[string]any{"k": int64(0)}}}}, false},
		{` "s" `, "s", false},
		{`{"a":1} {"b":2}`, nil, true},
		{`{"a":`, nil, true},
		{``, nil, true},
		{`eventid,2.00# 3.00`, nil, true},
	}
	for _, tt := range tests {
		got, err := ParseJSON([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseJSON(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseJSON(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestExtractField(t *testing.T) {
	v := map[string]any{"car_id": "c1", "car": map[string]any{"vin": int64(7)}, "list": []any{1}}
	tests := []struct {
		path    string
		want    any
		wantErr string
	}{
		{"car_id", "c1", ""},
		{"car.vin", int64(7), ""},
		{"car.model", nil, "car.model"},
		{"car_id.x", nil, "car_id is not an object"},
		{"nope", nil, "nope"},
	}
	for _, tt := range tests {
		got, err := ExtractField(v, strings.Split(tt.path, "."))
		if tt.wantErr != "" {
			if !errors.Is(err, errNoField) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ExtractField(%s) error = %v, want errNoField mentioning %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ExtractField(%s) = %v, %v; want %v", tt.path, got, err, tt.want)
		}
	}
	if _, err := ExtractField([]any{1}, []string{"a"}); err == nil || !strings.Contains(err.Error(), "payload is not an object") {
		t.Errorf("array payload: %v", err)
	}
}

func TestValidTopicFilter(t *testing.T) {
	tests := []struct {
		f  string
		ok bool
	}{
		{"a", true}, {"a/b/c", true}, {"#", true}, {"+", true}, {"a/+/c", true}, {"a/#", true}, {"/", true},
		{"$share/g/a/#", true}, {"$SYS/#", true},
		{"", false}, {"a/#/c", false}, {"a#", false}, {"a/b+", false}, {"$share/g", false}, {"$share//a", false},
		{"$share/g+/a", false}, {"a\x00b", false},
	}
	for _, tt := range tests {
		if err := ValidTopicFilter(tt.f); (err == nil) != tt.ok {
			t.Errorf("ValidTopicFilter(%q) = %v, want ok=%v", tt.f, err, tt.ok)
		}
	}
}

func FuzzTopicRules(f *testing.F) {
	f.Add("cars_${car}:vehicles/(?P<car>[^/]+)", "vehicles/c1")
	f.Add("t.$1:(.*)", "a/b/c")
	f.Add("x:.*", "")
	f.Add("a$1$2:(a)(b)?", "a")
	f.Fuzz(func(t *testing.T, spec, topic string) {
		rules, err := ParseTopicRules([]string{spec})
		if err != nil {
			return
		}
		got := NewTopicMapper(rules, "fallback").Map(topic)
		// Whatever a device publishes to, the record must get a legal
		// Kafka topic name.
		if !validKafkaTopic(got) {
			t.Fatalf("rule %q maps %q to illegal Kafka topic %q", spec, topic, got)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1.5,"x",null,true]`, `1e400`, `-0`, `{"a":{"b":[]}}`, `"\u00e9"`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		if err != nil {
			return
		}
		checkConnectValue(t, v)
	})
}

// checkConnectValue fails on Go types a schemaless Connect value may not have.
func checkConnectValue(t *testing.T, v any) {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
	case map[string]any:
		for _, e := range x {
			checkConnectValue(t, e)
		}
	case []any:
		for _, e := range x {
			checkConnectValue(t, e)
		}
	default:
		t.Fatalf("value of type %T", v)
	}
}

func FuzzExtractField(f *testing.F) {
	f.Add([]byte(`{"car":{"id":"c1"}}`), "car.id")
	f.Add([]byte(`{"a":1}`), "a.b")
	f.Add([]byte(`[]`), "x")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		v, err := ParseJSON(data)
		if err != nil || path == "" {
			return
		}
		got, err := ExtractField(v, strings.Split(path, "."))
		if err != nil {
			if !errors.Is(err, errNoField) {
				t.Fatalf("error %v does not wrap errNoField", err)
			}
			return
		}
		checkConnectValue(t, got)
	})
}

func FuzzValidTopicFilter(f *testing.F) {
	for _, s := range []string{"a/+/b", "#", "$share/g/a", "a/#/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidTopicFilter(s) != nil {
			return
		}
		// Accepted filters follow MQTT 3.1.1 4.7.1: wildcards fill a level,
		// '#' only last.
		levels := strings.Split(s, "/")
		if strings.HasPrefix(s, sharedSubscriptionRoot) {
			levels = levels[2:]
		}
		for i, l := range levels {
			if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
				t.Fatalf("accepted %q with a misplaced #", s)
			}
			if strings.Contains(l, "+") && l != "+" {
				t.Fatalf("accepted %q with a partial +", s)
			}
		}
	})
}
