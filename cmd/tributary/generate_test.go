package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/carsim"
)

func runGen(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runGenerate(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestGenerateFormats(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		lines int
		check func(t *testing.T, lines []string)
	}{
		{"json", []string{"--count", "50", "--cars", "5", "--failure-rate", "0.5"}, 50, func(t *testing.T, lines []string) {
			for i, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("line %d not JSON: %v", i, err)
				}
				if len(m) != len(carsim.FeatureNames)+4 {
					t.Fatalf("line %d has %d keys", i, len(m))
				}
			}
			// 5 cars, one reading each per second.
			var first, sixth map[string]any
			json.Unmarshal([]byte(lines[0]), &first)
			json.Unmarshal([]byte(lines[5]), &sixth)
			if first["timestamp"] != "2024-01-01T00:00:00.000Z" || sixth["timestamp"] != "2024-01-01T00:00:01.000Z" {
				t.Fatalf("timestamps %v, %v", first["timestamp"], sixth["timestamp"])
			}
			if first["car_id"] != sixth["car_id"] {
				t.Fatalf("reading 6 is car %v, want %v", sixth["car_id"], first["car_id"])
			}
		}},
		{"csv", []string{"--count", "20", "--format", "csv"}, 21, func(t *testing.T, lines []string) {
			head := strings.Split(lines[0], ",")
			if head[0] != "car_id" || head[len(head)-1] != "failure_occurred" || len(head) != len(carsim.FeatureNames)+4 {
				t.Fatalf("header %q", lines[0])
			}
			for _, l := range lines[1:] {
				if n := len(strings.Split(l, ",")); n != len(head) {
					t.Fatalf("row has %d columns, header %d: %q", n, len(head), l)
				}
			}
		}},
		{"delimited", []string{"--count", "10", "--format", "delimited"}, 10, func(t *testing.T, lines []string) {
			for _, l := range lines {
				if strings.Count(l, ",") != 1 || strings.Count(l, "# ") != carsim.ECGLength-1 {
					t.Fatalf("bad delimited line %.80q", l)
				}
			}
		}},
		{"delimited labels", []string{"--count", "200", "--format", "delimited", "--labels", "--failure-rate", "0.5"}, 200, func(t *testing.T, lines []string) {
			seen := map[string]bool{}
			for _, l := range lines {
				label := l[strings.LastIndexByte(l, ',')+1:]
				seen[label] = true
			}
			if !seen["none"] || !seen["pvc"] || len(seen) != 4 {
				t.Fatalf("labels seen %v", seen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runGen(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != tt.lines {
				t.Fatalf("%d lines, want %d", len(lines), tt.lines)
			}
			tt.check(t, lines)
			again, _, _ := runGen(t, tt.args...)
			if again != out {
				t.Fatal("same flags gave different output")
			}
		})
	}
}

func TestGenerateSeedChangesOutput(t *testing.T) {
	a, _, _ := runGen(t, "--count", "10", "--seed", "1")
	b, _, _ := runGen(t, "--count", "10", "--seed", "2")
	if a == b {
		t.Fatal("different seeds gave the same output")
	}
}

func TestGenerateModes(t *testing.T) {
	out, errOut, code := runGen(t, "--count", "2000", "--failure-rate", "0.3", "--modes", "shock_absorber")
	if code != 0 {
		t.Fatal(errOut)
	}
	if !strings.Contains(out, `"failure_mode":"shock_absorber"`) {
		t.Fatal("no shock_absorber failure")
	}
	for _, m := range []string{"tire_pressure_loss", "engine_vibration", "coolant_overheat"} {
		if strings.Contains(out, `"failure_mode":"`+m+`"`) {
			t.Fatalf("mode %s injected though not enabled", m)
		}
	}
}

func TestGenerateBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--cars", "0"}, "cars"},
		{[]string{"--failure-rate", "2"}, "failure rate"},
		{[]string{"--count", "-1"}, "--count"},
		{[]string{"--start", "yesterday"}, "--start"},
		{[]string{"--modes", "flat_tyre"}, "unknown failure mode"},
		{[]string{"--nope"}, "not defined"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runGen(t, tt.args...)
			if code == 0 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want failure mentioning %q", code, out, errOut, tt.want)
			}
		})
	}
}
