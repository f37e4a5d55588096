package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// sensorReading is one reading of the connected-cars demo, as the JSON
// converter delivers it schemaless.
func sensorReading() map[string]any {
	return map[string]any{
		"car": "car-00042", "coolant_temp": 89.5, "intake_air_temp": 24.1, "intake_air_flow_speed": 112.3,
		"battery_percentage": 77.0, "battery_voltage": 12.6, "current_draw": 41.7, "speed": 131.0,
		"engine_vibration_amplitude": 13100.0, "throttle_pos": 0.93, "tire_pressure11": int64(33), "tire_pressure12": int64(34),
		"tire_pressure21": int64(32), "tire_pressure22": int64(33), "accelerometer11_value": 0.4, "accelerometer12_value": 0.6,
		"accelerometer21_value": 0.2, "accelerometer22_value": 0.5, "control_unit_firmware": int64(2000), "failure_occurred": "false",
		"ts": int64(1700000000123),
	}
}

func readingSchema() *connect.Schema {
	s := &connect.Schema{Type: connect.Struct, Name: "io.tributary.demo.Reading"}
	for _, n := range []string{"car", "failure_occurred"} {
		s.Fields = append(s.Fields, connect.Field{Name: n, Schema: &connect.Schema{Type: connect.String}})
	}
	for _, n := range []string{"coolant_temp", "intake_air_temp", "intake_air_flow_speed", "battery_percentage", "battery_voltage", "current_draw", "speed",
		"engine_vibration_amplitude", "throttle_pos", "accelerometer11_value", "accelerometer12_value", "accelerometer21_value", "accelerometer22_value"} {
		s.Fields = append(s.Fields, connect.Field{Name: n, Schema: &connect.Schema{Type: connect.Float64}})
	}
	for _, n := range []string{"tire_pressure11", "tire_pressure12", "tire_pressure21", "tire_pressure22", "control_unit_firmware", "ts"} {
		s.Fields = append(s.Fields, connect.Field{Name: n, Schema: &connect.Schema{Type: connect.Int64}})
	}
	return s
}

func benchRecord(schema bool) *connect.Record {
	r := &connect.Record{Topic: "sensor-data", Partition: 1, Offset: 1234, Timestamp: ts0, Key: "car-00042", Value: sensorReading(),
		Headers: connect.Headers{{Key: "mqtt.qos", Value: "1"}}}
	if schema {
		r.ValueSchema = readingSchema()
	}
	return r
}

var benchSteps = []struct {
	name  string
	class string
	cfg   map[string]string
}{
	{"Cast", "Cast$Value", map[string]string{"spec": "speed:int32,failure_occurred:boolean"}},
	{"DropHeaders", "DropHeaders", map[string]string{"headers": "mqtt.qos"}},
	{"ExtractField", "ExtractField$Value", map[string]string{"field": "speed"}},
	{"Filter", "Filter", map[string]string{}},
	{"Flatten", "Flatten$Value", map[string]string{}},
	{"HeaderFrom", "HeaderFrom$Value", map[string]string{"fields": "car", "headers": "car", "operation": "copy"}},
	{"HoistField", "HoistField$Value", map[string]string{"field": "reading"}},
	{"InsertField", "InsertField$Value", map[string]string{"topic.field": "topic", "partition.field": "partition", "offset.field": "offset", "timestamp.field": "kafka_ts"}},
	{"InsertHeader", "InsertHeader", map[string]string{"header": "pipeline", "value.literal": "cars"}},
	{"MaskField", "MaskField$Value", map[string]string{"fields": "car"}},
	{"RegexRouter", "RegexRouter", map[string]string{"regex": "sensor-(.*)", "replacement": "cars-$1"}},
	{"ReplaceField", "ReplaceField$Value", map[string]string{"exclude": "failure_occurred", "renames": "speed:speed_mph"}},
	{"SetSchemaMetadata", "SetSchemaMetadata$Value", map[string]string{"schema.name": "io.cars.Reading", "schema.version": "2"}},
	{"TimestampConverter", "TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"}},
	{"TimestampRouter", "TimestampRouter", map[string]string{}},
	{"ValueToKey", "ValueToKey", map[string]string{"fields": "car"}},
	{"Expression", "Expression$Value", map[string]string{"set.speed_kmh": "value.speed * 1.609", "set.alert": "value.speed > 120 && value.throttle_pos > 0.9"}},
	{"ExpressionFilter", "ExpressionFilter", map[string]string{"expression": "value.speed > 120 && value.throttle_pos > 0.9"}},
}

// BenchmarkTransforms measures one transform per record, schemaless and
// with a struct schema.
func BenchmarkTransforms(b *testing.B) {
	for _, mode := range []string{"schemaless", "schema"} {
		for _, s := range benchSteps {
			if mode == "schemaless" && s.name == "SetSchemaMetadata" {
				continue // needs a schema
			}
			b.Run(mode+"/"+s.name, func(b *testing.B) {
				x := mustConfigure(b, s.class, s.cfg)
				r := benchRecord(mode == "schema")
				if _, err := x.Apply(r); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := x.Apply(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkChain runs a typical five-step chain by hand, as the runtime
// would: cast, drop a field, add metadata, format the timestamp, compute
// a field by expression.
func BenchmarkChain(b *testing.B) {
	for _, mode := range []string{"schemaless", "schema"} {
		b.Run(mode, func(b *testing.B) {
			chain := []connect.Transformation{
				mustConfigure(b, "org.apache.kafka.connect.transforms.Cast$Value", map[string]string{"spec": "failure_occurred:boolean,tire_pressure11:float64"}),
				mustConfigure(b, "org.apache.kafka.connect.transforms.ReplaceField$Value", map[string]string{"exclude": "control_unit_firmware", "renames": "speed:speed_mph"}),
				mustConfigure(b, "org.apache.kafka.connect.transforms.InsertField$Value", map[string]string{"topic.field": "topic", "timestamp.field": "kafka_ts"}),
				mustConfigure(b, "org.apache.kafka.connect.transforms.TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "string", "format": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"}),
				mustConfigure(b, "io.tributary.connect.transforms.Expression$Value", map[string]string{"set.speed_kmh": "value.speed_mph * 1.609", "set.alert": "value.speed_mph > 120 && value.throttle_pos > 0.9"}),
			}
			in := benchRecord(mode == "schema")
			run := func() *connect.Record {
				r := in
				for _, x := range chain {
					var err error
					if r, err = x.Apply(r); err != nil {
						b.Fatal(err)
					}
				}
				return r
			}
			if out := run(); out.Value.(map[string]any)["alert"] != true {
				b.Fatalf("chain output: %v", out.Value)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
		})
	}
}
