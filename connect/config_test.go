package connect

import (
	"errors"
	"strings"
	"testing"
)

func testDef() *ConfigDef {
	return NewConfigDef(
		ConfigKey{Name: "topic", Type: TypeString, Validator: NonEmptyString},
		ConfigKey{Name: "count", Type: TypeInt, Default: 10, Validator: Between(1, 100)},
		ConfigKey{Name: "ratio", Type: TypeDouble, Default: 0.5},
		ConfigKey{Name: "big", Type: TypeLong, Default: int64(1)},
		ConfigKey{Name: "small", Type: TypeShort, Default: 3},
		ConfigKey{Name: "enabled", Type: TypeBoolean, Default: false},
		ConfigKey{Name: "hosts", Type: TypeList, Default: []string{"a"}},
		ConfigKey{Name: "mode", Type: TypeString, Default: "fast", Allowed: []string{"fast", "safe"}},
		ConfigKey{Name: "password", Type: TypePassword, Optional: true},
	)
}

func TestParseTypesAndDefaults(t *testing.T) {
	c, err := testDef().Parse(map[string]string{"topic": "t", "count": " 42 ", "ratio": "1.5", "big": "9000000000",
		"enabled": "TRUE", "hosts": "x, y ,z", "mode": "SAFE", "password": "pw", "extra.key": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if c.String("topic") != "t" || c.Int("count") != 42 || c.Double("ratio") != 1.5 || c.Long("big") != 9000000000 ||
		!c.Bool("enabled") || strings.Join(c.List("hosts"), "|") != "x|y|z" || c.Password("password") != "pw" || c.Int("small") != 3 {
		t.Fatalf("parsed values wrong: %+v", c.values)
	}
	if c.Raw()["extra.key"] != "kept" {
		t.Fatal("unknown keys must pass through")
	}
	d, err := testDef().Parse(map[string]string{"topic": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Int("count") != 10 || d.Double("ratio") != 0.5 || d.Bool("enabled") || d.List("hosts")[0] != "a" || d.IsSet("count") {
		t.Fatal("defaults not applied")
	}
}

func TestParseErrorsListEveryField(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]string
		want []string
	}{
		{"missing required", map[string]string{}, []string{`topic: Missing required configuration "topic"`}},
		{"bad number", map[string]string{"topic": "t", "count": "x"}, []string{"count: Invalid value x for configuration count: Not a number of type INT"}},
		{"out of range", map[string]string{"topic": "t", "count": "1000"}, []string{"Value must be between 1 and 100"}},
		{"bad bool", map[string]string{"topic": "t", "enabled": "yes"}, []string{"Expected value to be either true or false"}},
		{"not allowed", map[string]string{"topic": "t", "mode": "slow"}, []string{"String must be one of: fast, safe"}},
		{"short overflow", map[string]string{"topic": "t", "small": "70000"}, []string{"SHORT"}},
		{"typo", map[string]string{"topic": "t", "cuont": "1"}, []string{`Unknown configuration "cuont"; did you mean "count"?`}},
		{"several at once", map[string]string{"count": "x", "ratio": "y"}, []string{"topic:", "count:", "ratio:"}},
		{"validator", map[string]string{"topic": ""}, []string{"String must be non-empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testDef().Parse(tt.raw)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverShown(t *testing.T) {
	def := testDef()
	vals := def.Validate(map[string]string{"topic": "t", "password": "hunter2"})
	for _, v := range vals {
		if v.Value != nil && strings.Contains(*v.Value, "hunter2") {
			t.Fatalf("validate shows the secret of %s", v.Name)
		}
	}
	bad := NewConfigDef(ConfigKey{Name: "pin", Type: TypePassword, Validator: func(any) error { return errors.New("too short") }})
	_, err := bad.Parse(map[string]string{"pin": "1234"})
	if err == nil || strings.Contains(err.Error(), "1234") {
		t.Fatalf("error leaks or is missing: %v", err)
	}
	if r := Redact(def, map[string]string{"password": "hunter2", "topic": "t"}); r["password"] != HiddenValue || r["topic"] != "t" {
		t.Fatalf("redact = %v", r)
	}
	if s := Password("x").String(); s != HiddenValue {
		t.Fatalf("Password prints %q", s)
	}
}

func TestWithPrefixAndChecks(t *testing.T) {
	inner := NewConfigDef(ConfigKey{Name: "field", Type: TypeString}).Check(func(c Config) []FieldError {
		if c.Raw()["field"] == "bad" {
			return []FieldError{{Key: "field", Message: "bad field"}}
		}
		return nil
	})
	outer := NewConfigDef(ConfigKey{Name: "x", Type: TypeString, Default: ""}).Merge(inner.WithPrefix("transforms.a.", "T"))
	_, err := outer.Parse(map[string]string{"transforms.a.field": "bad"})
	if err == nil || !strings.Contains(err.Error(), "transforms.a.field: bad field") {
		t.Fatalf("prefixed check: %v", err)
	}
	_, err = outer.Parse(map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "transforms.a.field") {
		t.Fatalf("prefixed required key: %v", err)
	}
}

func TestRegistryAliases(t *testing.T) {
	r := NewRegistry()
	r.Register(Plugin{Class: "io.confluent.connect.mqtt.MqttSourceConnector", Kind: KindSource, New: func() any { return nil }})
	r.Register(Plugin{Class: "org.apache.kafka.connect.transforms.InsertField$Value", Kind: KindTransformation, New: func() any { return nil }})
	for _, n := range []string{"io.confluent.connect.mqtt.MqttSourceConnector", "MqttSourceConnector", "MqttSource"} {
		if _, err := r.Lookup(n, KindSource, KindSink); err != nil {
			t.Errorf("lookup %s: %v", n, err)
		}
	}
	if _, err := r.Lookup("InsertField$Value", KindTransformation); err != nil {
		t.Error(err)
	}
	_, err := r.Lookup("MqttSorce", KindSource)
	if err == nil || !strings.Contains(err.Error(), "available: io.confluent.connect.mqtt.MqttSourceConnector") {
		t.Fatalf("unknown lookup error: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a clashing name must panic")
		}
	}()
	r.Register(Plugin{Class: "other.MqttSourceConnector", Kind: KindSource})
}

func FuzzConfigParse(f *testing.F) {
	f.Add("topic", "t", "count", "5")
	f.Add("hosts", ",,", "ratio", "NaN")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		c, err := testDef().Parse(map[string]string{k1: v1, k2: v2})
		if err == nil && c.String("topic") == "" {
			t.Fatal("parsed without the required, non-empty topic")
		}
	})
}
