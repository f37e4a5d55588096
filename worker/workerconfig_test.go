package worker

import (
	"strings"
	"testing"
)

func TestWorkerConfigFailsFast(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"no bootstrap.servers", map[string]string{}, []string{`bootstrap.servers: Missing required configuration "bootstrap.servers"`}},
		{"bad listener and interval", map[string]string{"bootstrap.servers": "b:9092", "listeners": "ftp://x", "offset.flush.interval.ms": "soon"},
			[]string{"listeners", "offset.flush.interval.ms"}},
		{"typo", map[string]string{"bootstrap.servers": "b:9092", "bootstrap.server": "c:9092"}, []string{`did you mean "bootstrap.servers"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.props)
			if err == nil {
				t.Fatal("invalid worker config accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	c, err := ParseConfig(map[string]string{"bootstrap.servers": "a:1,b:2", "producer.linger.ms": "20", "consumer.override.x": "y"})
	if err != nil {
		t.Fatal(err)
	}
	pc := c.ClientConfig("producer", map[string]string{"producer.override.acks": "1"})
	if pc["bootstrap.servers"] != "a:1,b:2" || pc["linger.ms"] != "20" || pc["acks"] != "1" {
		t.Fatalf("producer client config %v", pc)
	}
	if c.String(ListenersConfig) != "" || c.List(ListenersConfig)[0] != "http://127.0.0.1:8083" {
		t.Fatalf("listeners default = %v", c.List(ListenersConfig))
	}
}
