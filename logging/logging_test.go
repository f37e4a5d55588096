package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLevelsApplyToDescendants(t *testing.T) {
	l := NewLevels(slog.LevelInfo)
	var buf bytes.Buffer
	out := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 4})
	w := l.Named(out, "tributary.worker")
	c := l.Named(out, "tributary.connector.a")
	w.Debug("hidden")
	if buf.Len() != 0 {
		t.Fatalf("debug logged at INFO: %q", buf.String())
	}
	affected := l.Set("tributary", slog.LevelDebug)
	if strings.Join(affected, ",") != "tributary,tributary.connector.a,tributary.worker" {
		t.Fatalf("affected = %v", affected)
	}
	w.Debug("shown-w")
	c.Debug("shown-c")
	if !strings.Contains(buf.String(), "shown-w") || !strings.Contains(buf.String(), "shown-c") {
		t.Fatalf("debug not logged after Set: %q", buf.String())
	}
	if got := l.Get("tributary.worker").Level; got != "DEBUG" {
		t.Fatalf("effective level = %s, want DEBUG", got)
	}
	l.Set(Root, slog.LevelError)
	if got := l.Get("tributary.worker").Level; got != "ERROR" {
		t.Fatalf("root reset did not apply to descendants: %s", got)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]string{"debug": "DEBUG", "INFO": "INFO", " warn ": "WARN", "error": "ERROR", "trace": "TRACE"} {
		lv, ok := ParseLevel(in)
		if !ok || LevelName(lv) != want {
			t.Errorf("ParseLevel(%q) = %v %v, want %s", in, LevelName(lv), ok, want)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error("ParseLevel accepted an unknown level")
	}
}
