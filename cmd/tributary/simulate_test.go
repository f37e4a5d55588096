package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/testenv"
	"github.com/tributary-io/tributary/simulate"
)

func TestSimulateFlags(t *testing.T) {
	tests := []struct {
		args     []string
		wantErr  string
		check    func(simulateFlags) bool
		checkMsg string
	}{
		{args: nil, check: func(f simulateFlags) bool {
			return f.opts.TopicPrefix == "vehicles/sensor/data" && f.opts.QoS == 1 && f.opts.Format == "json" && !f.progress
		}, checkMsg: "defaults"},
		{args: []string{"--format", "delimited", "--qos", "2", "--progress", "--modes", "tire_pressure_loss"},
			check: func(f simulateFlags) bool {
				return f.opts.Topic == "car/engine/temperature" && f.opts.QoS == 2 && f.progress && len(f.opts.Modes) == 1
			}, checkMsg: "delimited qos2"},
		{args: []string{"--qos", "3"}, wantErr: "--qos"},
		{args: []string{"--modes", "flat_tyre_typo"}, wantErr: "--modes"},
		{args: []string{"extra"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, err := parseSimulateFlags(tt.args, &bytes.Buffer{}, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(f) {
				t.Fatalf("%s: got %+v", tt.checkMsg, f)
			}
		})
	}
}

func TestSimulateCommand(t *testing.T) {
	broker := testenv.MQTT(t)
	var stdout, stderr bytes.Buffer
	code := runSimulate(context.Background(), []string{"--broker", broker, "--count", "120", "--rate", "0",
		"--clients", "2", "--cars", "6", "--topic-prefix", "tributary-test/cmd-sim", "--summary-json"}, &stdout, &stderr, false)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	var sum simulate.Summary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary JSON %q: %v", stdout.String(), err)
	}
	if sum.Sent != 120 || sum.Errors != 0 || sum.Clients != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(stderr.String(), "sent 120, errors 0") {
		t.Fatalf("no human summary on stderr: %q", stderr.String())
	}
	if code := runSimulate(context.Background(), []string{"--format", "xml"}, &stdout, &stderr, false); code != 1 {
		t.Fatalf("bad format exit %d, want 1", code)
	}
}
