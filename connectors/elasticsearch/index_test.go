package elasticsearch

import (
	"strings"
	"testing"
	"time"
)

func TestIndexFormatRender(t *testing.T) {
	ts := time.Date(2026, 11, 22, 7, 5, 9, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		format, topic string
		ts            time.Time
		want          string
		wantErr       string
	}{
		{format: "${topic}", topic: "Car-Sensors", ts: ts, want: "car-sensors"},
		{format: "car-sensors-${timestamp:yyyy.MM.dd}", topic: "x", ts: ts, want: "car-sensors-2026.11.22"},
		{format: "${topic}-${timestamp}", topic: "sensor-data", ts: ts, want: "sensor-data-2026.11.22"},
		{format: "${topic}-${timestamp:yy_MM_dd-HH.mm.ss}", topic: "t", ts: ts, want: "t-26_11_22-06.05.09"},
		{format: "fixed", topic: "ignored", ts: time.Time{}, want: "fixed"},
		{format: "${topic}", topic: "_private", ts: ts, wantErr: "must not start with"},
		{format: "${topic}", topic: "a b", ts: ts, wantErr: "must not contain"},
		{format: "${topic}", topic: strings.Repeat("a", 256), ts: ts, wantErr: "at most 255"},
		{format: "${topic}", topic: "..", ts: ts, wantErr: "not allowed"},
		{format: "x-${timestamp}", topic: "t", ts: time.Time{}, wantErr: "has none"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.topic[:min(len(tt.topic), 12)], func(t *testing.T) {
			f, err := parseIndexFormat(tt.format)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := f.render(tt.topic, tt.ts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestIndexFormatParseErrors(t *testing.T) {
	tests := []struct{ format, wantErr string }{
		{"", "empty"},
		{"${topic", "unclosed"},
		{"${partition}", "unknown variable"},
		{"${topic:x}", "no format"},
		{"x-${timestamp:yyyy.QQ}", "unsupported timestamp pattern letter"},
		{"x-${timestamp:}", "empty"},
		{"bad*name-${topic}", "must not contain"},
		{"-${topic}", "must not start"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			_, err := parseIndexFormat(tt.format)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parse(%q) = %v; want error containing %q", tt.format, err, tt.wantErr)
			}
		})
	}
}

// FuzzIndexFormat checks that whatever parses renders only valid index
// names (or an error), never panics.
func FuzzIndexFormat(f *testing.F) {
	for _, s := range []string{"${topic}", "car-${timestamp:yyyy.MM.dd}", "${topic}-${timestamp}", "${", "${timestamp:yyyyMMddHHmmss}", "a}b${topic}}"} {
		f.Add(s, "Topic.Name_1", int64(1795000000))
	}
	f.Fuzz(func(t *testing.T, format, topic string, unix int64) {
		p, err := parseIndexFormat(format)
		if err != nil {
			return
		}
		name, err := p.render(topic, time.Unix(unix%(1<<40), 0))
		if err != nil {
			return
		}
		if verr := validIndexName(name); verr != nil {
			t.Fatalf("render(%q, %q) = %q, invalid: %v", format, topic, name, verr)
		}
		if name != strings.ToLower(name) {
			t.Fatalf("render gave non-lowercase %q", name)
		}
	})
}
