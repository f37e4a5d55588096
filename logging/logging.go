// Package logging gives Tributary named slog loggers whose levels can be
// changed at run time, which is what /admin/loggers needs. A logger's name is
// dotted ("tributary.worker", "tributary.connector.my-sink"); a level set on a
// name applies to it and every name below it, as in Kafka Connect.
package logging

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Root is the name of the root logger.
const Root = "root"

// Levels holds the configured levels.
type Levels struct {
	mu       sync.RWMutex
	levels   map[string]slog.Level
	modified map[string]time.Time
	known    map[string]bool
}

// NewLevels starts with the root logger at level.
func NewLevels(root slog.Level) *Levels {
	return &Levels{levels: map[string]slog.Level{Root: root}, modified: map[string]time.Time{}, known: map[string]bool{Root: true}}
}

// Effective returns the level that applies to name.
func (l *Levels) Effective(name string) slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for n := name; n != ""; {
		if lv, ok := l.levels[n]; ok {
			return lv
		}
		i := strings.LastIndex(n, ".")
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return l.levels[Root]
}

// Set sets the level of name and every name below it, returning the names
// affected (the known loggers at or below name, plus name).
func (l *Levels) Set(name string, lv slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	affected := []string{}
	if name == Root {
		for n := range l.levels {
			if n != Root {
				delete(l.levels, n)
			}
		}
	}
	for n := range l.levels {
		if strings.HasPrefix(n, name+".") {
			delete(l.levels, n)
		}
	}
	l.levels[name] = lv
	l.modified[name] = now
	l.known[name] = true
	for n := range l.known {
		if name == Root || n == name || strings.HasPrefix(n, name+".") {
			affected = append(affected, n)
		}
	}
	sort.Strings(affected)
	return affected
}

// LoggerLevel is one entry of GET /admin/loggers.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// All lists every known logger with its effective level.
func (l *Levels) All() map[string]LoggerLevel {
	l.mu.RLock()
	names := make([]string, 0, len(l.known))
	for n := range l.known {
		names = append(names, n)
	}
	l.mu.RUnlock()
	out := map[string]LoggerLevel{}
	for _, n := range names {
		out[n] = l.Get(n)
	}
	return out
}

// Get returns one logger's effective level.
func (l *Levels) Get(name string) LoggerLevel {
	lv := l.Effective(name)
	l.mu.RLock()
	defer l.mu.RUnlock()
	var mod *int64
	if t, ok := l.modified[name]; ok {
		ms := t.UnixMilli()
		mod = &ms
	}
	return LoggerLevel{Level: LevelName(lv), LastModified: mod}
}

// Known reports whether a logger name has been used or set.
func (l *Levels) Known(name string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.known[name]
}

func (l *Levels) register(name string) {
	l.mu.Lock()
	l.known[name] = true
	l.mu.Unlock()
}

// LevelName spells a level as Log4j does.
func LevelName(lv slog.Level) string {
	switch {
	case lv <= slog.LevelDebug-4:
		return "TRACE"
	case lv <= slog.LevelDebug:
		return "DEBUG"
	case lv <= slog.LevelInfo:
		return "INFO"
	case lv <= slog.LevelWarn:
		return "WARN"
	default:
		return "ERROR"
	}
}

// ParseLevel reads a Log4j level name.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRACE", "ALL":
		return slog.LevelDebug - 4, true
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR", "FATAL", "OFF":
		return slog.LevelError, true
	}
	return 0, false
}

// handler filters by the named logger's current level.
type handler struct {
	next   slog.Handler
	levels *Levels
	name   string
}

func (h *handler) Enabled(_ context.Context, lv slog.Level) bool {
	return lv >= h.levels.Effective(h.name)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error { return h.next.Handle(ctx, r) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{next: h.next.WithAttrs(as), levels: h.levels, name: h.name}
}

func (h *handler) WithGroup(g string) slog.Handler {
	return &handler{next: h.next.WithGroup(g), levels: h.levels, name: h.name}
}

// Named returns a logger called name writing through out.
func (l *Levels) Named(out slog.Handler, name string) *slog.Logger {
	l.register(name)
	return slog.New(&handler{next: out, levels: l, name: name}).With("logger", name)
}
