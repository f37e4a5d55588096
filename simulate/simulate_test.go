package simulate

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tributary-io/tributary/internal/testenv"
)

func TestOptionsCheck(t *testing.T) {
	good := Options{Broker: "tcp://x:1883", Format: FormatJSON, Cars: 1, Clients: 1}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"valid", func(*Options) {}, ""},
		{"no broker", func(o *Options) { o.Broker = "" }, "broker"},
		{"bad format", func(o *Options) { o.Format = "csv" }, "format"},
		{"qos 3", func(o *Options) { o.QoS = 3 }, "qos"},
		{"no clients", func(o *Options) { o.Clients = 0 }, "clients"},
		{"no cars", func(o *Options) { o.Cars = 0 }, "cars"},
		{"no cars needed for delimited", func(o *Options) { o.Cars = 0; o.Format = FormatDelimited }, ""},
		{"negative rate", func(o *Options) { o.Rate = -1 }, "negative"},
		{"failure rate above 1", func(o *Options) { o.FailureRate = 1.5 }, "failure rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mod(&o)
			err := o.check()
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("check() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// subscribe collects every payload published under filter.
func subscribe(t *testing.T, broker, filter string) func() map[string][]string {
	t.Helper()
	var mu sync.Mutex
	got := map[string][]string{}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("simtest-" + strconv.FormatInt(time.Now().UnixNano(), 36))
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()] = append(got[m.Topic()], string(m.Payload()))
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string][]string, len(got))
		for k, v := range got {
			out[k] = append([]string(nil), v...)
		}
		return out
	}
}

func waitFor(t *testing.T, total func() int, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for total() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunPublishes(t *testing.T) {
	broker := testenv.MQTT(t)
	tests := []struct {
		name    string
		opts    Options
		clients int // expected after clamping
	}{
		{"json qos1 3 clients", Options{Format: FormatJSON, Cars: 10, Count: 300, QoS: 1, Clients: 3, FailureRate: 0.2}, 3},
		{"json qos0 paced", Options{Format: FormatJSON, Cars: 4, Count: 40, QoS: 0, Rate: 400, Clients: 1}, 1},
		{"json more clients than cars", Options{Format: FormatJSON, Cars: 2, Count: 20, QoS: 2, Clients: 5}, 2},
		{"delimited qos1 2 clients", Options{Format: FormatDelimited, Count: 30, QoS: 1, Clients: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := "tributary-test/sim/" + strconv.FormatInt(time.Now().UnixNano(), 36)
			o := tt.opts
			o.Broker, o.TopicPrefix, o.Topic, o.Seed = broker, root+"/cars", root+"/ecg", 7
			got := subscribe(t, broker, root+"/#")
			sum, err := Run(context.Background(), o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Sent != o.Count || sum.Errors != 0 || sum.Clients != tt.clients {
				t.Fatalf("summary %+v, want %d sent, no errors, %d clients", sum, o.Count, tt.clients)
			}
			total := func() int {
				n := 0
				for _, v := range got() {
					n += len(v)
				}
				return n
			}
			waitFor(t, total, int(o.Count))
			if total() != int(o.Count) {
				t.Fatalf("subscriber got %d messages, want %d", total(), o.Count)
			}
			if o.Format == FormatJSON {
				checkJSON(t, got(), root+"/cars/", o.Cars)
			} else {
				checkDelimited(t, got()[o.Topic], int(o.Count))
			}
		})
	}
}

func checkJSON(t *testing.T, got map[string][]string, prefix string, cars int) {
	t.Helper()
	if len(got) != cars {
		t.Errorf("messages on %d topics, want one per car (%d)", len(got), cars)
	}
	for topic, msgs := range got {
		for _, m := range msgs {
			var r map[string]any
			if err := json.Unmarshal([]byte(m), &r); err != nil {
				t.Fatalf("payload on %s is not JSON: %v", topic, err)
			}
			if prefix+r["car_id"].(string) != topic {
				t.Fatalf("reading of %v published on %s", r["car_id"], topic)
			}
			if _, ok := r["coolant_temp"].(float64); !ok {
				t.Fatalf("reading without coolant_temp: %s", m)
			}
		}
	}
}

func checkDelimited(t *testing.T, msgs []string, n int) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range msgs {
		id, values, ok := strings.Cut(m, ",")
		if !ok || len(strings.Split(values, "#")) != 210 {
			t.Fatalf("not eventid,v1# … v210: %.60s…", m)
		}
		ids[id] = true
	}
	// One shared generator: event ids 1..n, each once, whatever the clients.
	for i := 1; i <= n; i++ {
		if !ids[strconv.Itoa(i)] {
			t.Errorf("event id %d missing", i)
		}
	}
}

func TestRunStopsOnDurationAndContext(t *testing.T) {
	broker := testenv.MQTT(t)
	base := Options{Broker: broker, Format: FormatJSON, Cars: 2, Clients: 1, QoS: 1, Rate: 50,
		TopicPrefix: "tributary-test/sim/stop"}
	o := base
	o.Duration = 300 * time.Millisecond
	sum, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent == 0 || sum.Sent > 50 {
		t.Fatalf("duration run sent %d; want some, and at 50 msg/s for 0.3 s far fewer than 50", sum.Sent)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	sum, err = Run(ctx, base, nil)
	if err != nil || sum.Sent == 0 || sum.Sent > 50 {
		t.Fatalf("cancelled run: %+v, %v", sum, err)
	}
}
