package mqtt

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func baseConfig() map[string]string {
	return map[string]string{
		ServerURIConfig:  "tcp://127.0.0.1:1883",
		TopicsConfig:     "vehicles/sensor/data/+",
		KafkaTopicConfig: "vehicles",
	}
}

// fieldErrors returns the errors of each key that has some.
func fieldErrors(raw map[string]string) map[string]string {
	out := map[string]string{}
	for _, v := range ConfigDef.Validate(raw) {
		if len(v.Errors) > 0 {
			out[v.Name] = strings.Join(v.Errors, "; ")
		}
	}
	return out
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		drop    []string
		wantKey string // "" means valid
		wantMsg string
	}{
		{name: "valid minimal"},
		{name: "valid full", set: map[string]string{
			ServerURIConfig: "ssl://a:8883, tcp://b:1883", QoSConfig: "2", CleanSessionConfig: "false",
			TopicRegexListConfig: "cars_${car}:vehicles/sensor/data/(?P<car>[^/]+), engine:car/engine/.*",
			KeySourceConfig:      "field", KeyFieldConfig: "car.id", PayloadFormatConfig: "json",
			CertFileConfig: "c.pem", KeyFileConfig: "k.pem", SharedGroupConfig: "g1",
		}},
		{name: "bad uri scheme", set: map[string]string{ServerURIConfig: "http://127.0.0.1:1883"}, wantKey: ServerURIConfig, wantMsg: "scheme"},
		{name: "uri without host", set: map[string]string{ServerURIConfig: "tcp://:1883"}, wantKey: ServerURIConfig, wantMsg: "no host"},
		{name: "uri garbage", set: map[string]string{ServerURIConfig: "::not a uri"}, wantKey: ServerURIConfig, wantMsg: "not a URI"},
		{name: "empty uri list", set: map[string]string{ServerURIConfig: ""}, wantKey: ServerURIConfig, wantMsg: "at least one"},
		{name: "missing uri", drop: []string{ServerURIConfig}, wantKey: ServerURIConfig, wantMsg: "Missing required"},
		{name: "qos 3", set: map[string]string{QoSConfig: "3"}, wantKey: QoSConfig, wantMsg: "between 0 and 2"},
		{name: "qos -1", set: map[string]string{QoSConfig: "-1"}, wantKey: QoSConfig, wantMsg: "between 0 and 2"},
		{name: "qos not a number", set: map[string]string{QoSConfig: "one"}, wantKey: QoSConfig, wantMsg: "Not a number"},
		{name: "empty topic list", set: map[string]string{TopicsConfig: ""}, wantKey: TopicsConfig, wantMsg: "at least one"},
		{name: "empty topic element", set: map[string]string{TopicsConfig: "a,,b"}, wantKey: TopicsConfig, wantMsg: "empty topic filter"},
		{name: "hash not last", set: map[string]string{TopicsConfig: "a/#/b"}, wantKey: TopicsConfig, wantMsg: "# must be the last"},
		{name: "partial wildcard", set: map[string]string{TopicsConfig: "a/b+"}, wantKey: TopicsConfig, wantMsg: "whole level"},
		{name: "already shared", set: map[string]string{TopicsConfig: "$share/g/a"}, wantKey: TopicsConfig, wantMsg: "already shared"},
		{name: "already shared, sharing off", set: map[string]string{TopicsConfig: "$share/g/a", SharedConfig: "never"}},
		{name: "bad kafka topic", set: map[string]string{KafkaTopicConfig: "a/b"}, wantKey: KafkaTopicConfig, wantMsg: "legal Kafka topic"},
		{name: "rule without colon", set: map[string]string{TopicRegexListConfig: "just-a-topic"}, wantKey: TopicRegexListConfig, wantMsg: "<kafka topic>:<regex>"},
		{name: "rule bad regex", set: map[string]string{TopicRegexListConfig: "t:a(b"}, wantKey: TopicRegexListConfig, wantMsg: "missing closing"},
		{name: "rule unknown group", set: map[string]string{TopicRegexListConfig: "t_$2:a/(b)"}, wantKey: TopicRegexListConfig, wantMsg: "group 2"},
		{name: "rule bad literal", set: map[string]string{TopicRegexListConfig: "t/x:a"}, wantKey: TopicRegexListConfig, wantMsg: "cannot contain"},
		{name: "key field missing", set: map[string]string{KeySourceConfig: "field"}, wantKey: KeyFieldConfig, wantMsg: "required when"},
		{name: "key source unknown", set: map[string]string{KeySourceConfig: "header"}, wantKey: KeySourceConfig, wantMsg: "must be one of"},
		{name: "payload format unknown", set: map[string]string{PayloadFormatConfig: "avro"}, wantKey: PayloadFormatConfig, wantMsg: "must be one of"},
		{name: "cert without key", set: map[string]string{CertFileConfig: "c.pem"}, wantKey: CertFileConfig, wantMsg: "go together"},
		{name: "share group with slash", set: map[string]string{SharedGroupConfig: "a/b"}, wantKey: SharedGroupConfig, wantMsg: "cannot contain"},
		{name: "max inflight zero", set: map[string]string{MaxInflightConfig: "0"}, wantKey: MaxInflightConfig, wantMsg: "at least 1"},
		{name: "typo of a key", set: map[string]string{"mqtt.server.uris": "tcp://x:1"}, wantKey: "mqtt.server.uris", wantMsg: "did you mean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := baseConfig()
			maps.Copy(raw, tt.set)
			for _, k := range tt.drop {
				delete(raw, k)
			}
			errs := fieldErrors(raw)
			if tt.wantKey == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				if _, err := ConfigDef.Parse(raw); err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one field error on %s, got %v", tt.wantKey, errs)
			}
			if !strings.Contains(errs[tt.wantKey], tt.wantMsg) {
				t.Fatalf("error on %s = %q, want it to contain %q", tt.wantKey, errs[tt.wantKey], tt.wantMsg)
			}
			if _, err := ConfigDef.Parse(raw); err == nil {
				t.Fatal("Parse accepted an invalid config")
			}
		})
	}
}

func TestRegisteredUnderConfluentNames(t *testing.T) {
	for _, name := range []string{Class, "MqttSourceConnector", "MqttSource"} {
		p, err := connect.Default.Lookup(name, connect.KindSource)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		if _, ok := p.New().(connect.SourceConnector); !ok {
			t.Fatalf("%s: New() is %T, not a SourceConnector", name, p.New())
		}
	}
}

func TestPasswordHidden(t *testing.T) {
	raw := baseConfig()
	raw[PasswordConfig] = "s3cret"
	for _, v := range ConfigDef.Validate(raw) {
		if v.Name == PasswordConfig && (v.Value == nil || *v.Value != connect.HiddenValue) {
			t.Fatalf("password shown as %v", v.Value)
		}
	}
}

type fakeConnCtx struct{ t *testing.T }

func (fakeConnCtx) RequestTaskReconfiguration() {}
func (c fakeConnCtx) RaiseError(err error)      { c.t.Errorf("connector raised %v", err) }
func (c fakeConnCtx) Logger() *slog.Logger      { return testLogger(c.t) }

func TestTaskConfigs(t *testing.T) {
	tests := []struct {
		mode       string
		maxTasks   int
		wantN      int
		wantShared string
	}{
		{"", 1, 1, sharedOff},
		{"", 3, 3, sharedOn},
		{"auto", 0, 1, sharedOff},
		{"never", 3, 1, sharedOff},
		{"always", 1, 1, sharedOn},
		{"always", 2, 2, sharedOn},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+strconv.Itoa(tt.maxTasks), func(t *testing.T) {
			raw := baseConfig()
			if tt.mode != "" {
				raw[SharedConfig] = tt.mode
			}
			cfg, err := ConfigDef.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			c := &Connector{}
			if err := c.Start(context.Background(), cfg, fakeConnCtx{t}); err != nil {
				t.Fatal(err)
			}
			got, err := c.TaskConfigs(tt.maxTasks)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Fatalf("%d task configs, want %d", len(got), tt.wantN)
			}
			for _, tc := range got {
				if tc[SharedConfig] != tt.wantShared || tc[TopicsConfig] != raw[TopicsConfig] {
					t.Fatalf("task config %v: want shared=%s and the topics kept", tc, tt.wantShared)
				}
				if _, err := ConfigDef.Parse(tc); err != nil {
					t.Fatalf("task config does not parse: %v", err)
				}
			}
		})
	}
}

func TestTaskSettingsFilters(t *testing.T) {
	tests := []struct {
		name        string
		set         map[string]string
		wantFilters []string
		wantID      string
	}{
		{"unshared", map[string]string{TopicsConfig: "a/+,b/#"}, []string{"a/+", "b/#"}, "tributary-cars-2"},
		{"shared derived group", map[string]string{TopicsConfig: "a/+", SharedConfig: "always"}, []string{"$share/tributary_cars/a/+"}, "tributary-cars-2"},
		{"shared own group", map[string]string{TopicsConfig: "a", SharedConfig: "always", SharedGroupConfig: "grp"}, []string{"$share/grp/a"}, "tributary-cars-2"},
		{"prefix", map[string]string{ClientIDPrefixConfig: "plant7-"}, []string{"vehicles/sensor/data/+"}, "plant7-cars-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := baseConfig()
			maps.Copy(raw, tt.set)
			cfg, err := ConfigDef.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			s, err := taskSettings(cfg, "cars", 2)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.filters, tt.wantFilters) || s.clientID != tt.wantID {
				t.Fatalf("filters %v id %q, want %v %q", s.filters, s.clientID, tt.wantFilters, tt.wantID)
			}
		})
	}
}
