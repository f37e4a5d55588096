package mqtt

import (
	"maps"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// fakeMessage stands in for a paho message in unit tests of the
// conversion; broker behaviour is tested against real Mosquitto.
type fakeMessage struct {
	topic    string
	payload  string
	qos      byte
	retained bool
	dup      bool
	id       uint16
	acks     *atomic.Int32 // counts Ack calls when set
}

func (m *fakeMessage) Duplicate() bool   { return m.dup }
func (m *fakeMessage) Qos() byte         { return m.qos }
func (m *fakeMessage) Retained() bool    { return m.retained }
func (m *fakeMessage) Topic() string     { return m.topic }
func (m *fakeMessage) MessageID() uint16 { return m.id }
func (m *fakeMessage) Payload() []byte   { return []byte(m.payload) }
func (m *fakeMessage) Ack() {
	if m.acks != nil {
		m.acks.Add(1)
	}
}

func unitTask(t *testing.T, set map[string]string) *Task {
	t.Helper()
	raw := baseConfig()
	maps.Copy(raw, set)
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := taskSettings(cfg, "unit", 0)
	if err != nil {
		t.Fatal(err)
	}
	return &Task{log: testLogger(t), s: s}
}

func TestToRecord(t *testing.T) {
	const carJSON = `{"car_id":"car-7","speed":88.5,"gear":3,"tags":["a"]}`
	tests := []struct {
		name      string
		set       map[string]string
		msg       fakeMessage
		wantTopic string
		wantKey   any
		wantValue any
		wantErr   string
		wantSkip  bool
		wantHdr   map[string]any
	}{
		{name: "confluent defaults: bytes, topic key",
			msg:       fakeMessage{topic: "vehicles/sensor/data/car-7", payload: carJSON, qos: 1, id: 42, dup: true},
			wantTopic: "vehicles", wantKey: "vehicles/sensor/data/car-7", wantValue: []byte(carJSON),
			wantHdr: map[string]any{HeaderTopic: "vehicles/sensor/data/car-7", HeaderQoS: int32(1), HeaderRetained: false,
				HeaderDuplicate: true, HeaderMessageID: int32(42)}},
		{name: "json value, field key, mapped topic",
			set: map[string]string{PayloadFormatConfig: "json", KeySourceConfig: "field", KeyFieldConfig: "car_id",
				TopicRegexListConfig: "cars.${c}:vehicles/sensor/data/(?P<c>.+)"},
			msg:       fakeMessage{topic: "vehicles/sensor/data/car-7", payload: carJSON, qos: 2, retained: true},
			wantTopic: "cars.car-7", wantKey: "car-7",
			wantValue: map[string]any{"car_id": "car-7", "speed": 88.5, "gear": int64(3), "tags": []any{"a"}},
			wantHdr:   map[string]any{HeaderQoS: int32(2), HeaderRetained: true}},
		{name: "numeric key field keeps its type",
			set:     map[string]string{KeySourceConfig: "field", KeyFieldConfig: "gear"},
			msg:     fakeMessage{topic: "t", payload: carJSON},
			wantKey: int64(3), wantTopic: "vehicles", wantValue: []byte(carJSON)},
		{name: "string value, no key",
			set:     map[string]string{PayloadFormatConfig: "string", KeySourceConfig: "none"},
			msg:     fakeMessage{topic: "car/engine/temperature", payload: "e1,2.00# 3.10"},
			wantKey: nil, wantTopic: "vehicles", wantValue: "e1,2.00# 3.10"},
		{name: "invalid json fails by default",
			set:     map[string]string{PayloadFormatConfig: "json"},
			msg:     fakeMessage{topic: "t", payload: "not json"},
			wantErr: "parse json payload"},
		{name: "missing key field fails by default",
			set:     map[string]string{KeySourceConfig: "field", KeyFieldConfig: "vin"},
			msg:     fakeMessage{topic: "t", payload: carJSON},
			wantErr: "key field not found: vin"},
		{name: "invalid json passed on as bytes",
			set:       map[string]string{PayloadFormatConfig: "json", PayloadInvalidConfig: "bytes"},
			msg:       fakeMessage{topic: "t", payload: "not json"},
			wantTopic: "vehicles", wantKey: "t", wantValue: []byte("not json"),
			wantHdr: map[string]any{HeaderPayloadError: "parse json payload: invalid character 'o' in literal null (expecting 'u')"}},
		{name: "invalid json skipped",
			set:      map[string]string{PayloadFormatConfig: "json", PayloadInvalidConfig: "skip"},
			msg:      fakeMessage{topic: "t", payload: "{"},
			wantSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := unitTask(t, tt.set)
			msg := tt.msg
			rec, err := task.toRecord(&msg)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tt.wantSkip:
				if rec != nil {
					t.Fatalf("want skip, got %+v", rec)
				}
				return
			case rec == nil:
				t.Fatal("record skipped")
			}
			if rec.Topic != tt.wantTopic || !reflect.DeepEqual(rec.Key, tt.wantKey) || !reflect.DeepEqual(rec.Value, tt.wantValue) {
				t.Fatalf("record topic %q key %#v value %#v; want %q %#v %#v", rec.Topic, rec.Key, rec.Value, tt.wantTopic, tt.wantKey, tt.wantValue)
			}
			if rec.Partition != connect.AnyPartition || rec.Timestamp.IsZero() {
				t.Fatalf("partition %d timestamp %v: want AnyPartition and a timestamp", rec.Partition, rec.Timestamp)
			}
			for k, want := range tt.wantHdr {
				h, ok := rec.Headers.Get(k)
				if !ok || !reflect.DeepEqual(h.Value, want) {
					t.Errorf("header %s = %#v (present %v), want %#v", k, h.Value, ok, want)
				}
			}
		})
	}
}
