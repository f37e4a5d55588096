package file

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

type fakeSinkContext struct{}

func (fakeSinkContext) ConnectorName() string                              { return "file-test" }
func (fakeSinkContext) TaskID() int                                        { return 0 }
func (fakeSinkContext) Logger() *slog.Logger                               { return slog.Default() }
func (fakeSinkContext) Pause(...connect.TopicPartition)                    {}
func (fakeSinkContext) Resume(...connect.TopicPartition)                   {}
func (fakeSinkContext) Assignment() []connect.TopicPartition               { return nil }
func (fakeSinkContext) RequestCommit()                                     {}
func (fakeSinkContext) ErrantRecordReporter() connect.ErrantRecordReporter { return nil }

func startTask(t *testing.T, raw map[string]string) *Task {
	t.Helper()
	cfg, err := ConfigDef.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	task := (&Connector{}).NewTask().(*Task)
	if err := task.Start(context.Background(), cfg, fakeSinkContext{}); err != nil {
		t.Fatal(err)
	}
	return task
}

func recs(values ...any) []*connect.Record {
	out := make([]*connect.Record, len(values))
	for i, v := range values {
		out[i] = &connect.Record{Topic: "t", Partition: 0, Offset: int64(i), Value: v}
	}
	return out
}

func TestRenderLines(t *testing.T) {
	tests := []struct {
		value any
		want  string
	}{
		{"plain text", "plain text"},
		{[]byte("raw bytes"), "raw bytes"},
		{nil, "null"},
		{int64(42), "42"},
		{int32(-7), "-7"},
		{3.25, "3.25"},
		{true, "true"},
		{map[string]any{"b": 1.5, "a": "x", "n": nil}, `{"a":"x","b":1.5,"n":null}`},
		{[]any{int64(1), "two"}, `[1,"two"]`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z"},
	}
	for _, tt := range tests {
		got, err := appendLine(nil, tt.value)
		if err != nil {
			t.Fatalf("%v: %v", tt.value, err)
		}
		if string(got) != tt.want+"\n" {
			t.Errorf("appendLine(%#v) = %q, want %q", tt.value, got, tt.want+"\n")
		}
	}
	if _, err := appendLine(nil, map[string]any{"x": math.NaN()}); err == nil {
		t.Error("NaN inside a map rendered without error")
	}
}

func TestPreCommitMakesDataDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	task := startTask(t, map[string]string{File: path})
	if err := task.Put(context.Background(), recs("one", "two", map[string]any{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("data reached the file before PreCommit (buffering expected): %q", b)
	}
	current := map[connect.TopicPartition]int64{{Topic: "t", Partition: 0}: 3}
	got, err := task.PreCommit(context.Background(), current)
	if err != nil {
		t.Fatal(err)
	}
	if got[connect.TopicPartition{Topic: "t", Partition: 0}] != 3 || len(got) != 1 {
		t.Fatalf("PreCommit returned %v, want %v", got, current)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "one\ntwo\n{\"k\":\"v\"}\n" {
		t.Fatalf("file holds %q after PreCommit", b)
	}
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	// A restarted task appends; it never truncates what was committed.
	task = startTask(t, map[string]string{File: path})
	task.Put(context.Background(), recs("three"))
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one\ntwo\n{\"k\":\"v\"}\nthree\n" {
		t.Fatalf("after restart the file holds %q", b)
	}
}

func TestEmptyFileWritesStdout(t *testing.T) {
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	task := startTask(t, map[string]string{})
	task.Put(context.Background(), recs("to stdout", int64(5)))
	if _, err := task.PreCommit(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "to stdout\n5\n" {
		t.Fatalf("stdout got %q", buf.String())
	}
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteFailureBlocksCommit(t *testing.T) {
	old := stdout
	stdout = failingWriter{}
	defer func() { stdout = old }()
	task := startTask(t, map[string]string{})
	task.Put(context.Background(), recs("x"))
	got, err := task.PreCommit(context.Background(), map[connect.TopicPartition]int64{{Topic: "t"}: 1})
	if err == nil || got != nil {
		t.Fatalf("PreCommit after a failed write = %v, %v; want an error and no offsets", got, err)
	}
	if err := task.Put(context.Background(), recs("y")); err == nil || !strings.Contains(err.Error(), "stdout") {
		t.Fatalf("Put after failure: %v", err)
	}
}

func TestStartFailsOnBadPath(t *testing.T) {
	cfg, _ := ConfigDef.Parse(map[string]string{File: t.TempDir()}) // a directory
	err := (&Task{}).Start(context.Background(), cfg, fakeSinkContext{})
	if err == nil || !strings.Contains(err.Error(), "opening") {
		t.Fatalf("Start on a directory: %v", err)
	}
}

func TestOneTaskOnly(t *testing.T) {
	cfg, _ := ConfigDef.Parse(map[string]string{File: "/tmp/x", "topics": "a,b"})
	c := &Connector{}
	c.Start(context.Background(), cfg, nil)
	for _, maxTasks := range []int{1, 5} {
		cfgs, err := c.TaskConfigs(maxTasks)
		if err != nil || len(cfgs) != 1 || cfgs[0][File] != "/tmp/x" || cfgs[0]["topics"] != "a,b" {
			t.Fatalf("TaskConfigs(%d) = %v, %v", maxTasks, cfgs, err)
		}
	}
	for _, name := range []string{Class, "FileStreamSink", "FileStreamSinkConnector"} {
		if _, err := connect.Default.Lookup(name, connect.KindSink); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPartialLastLineIsDropped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\nb\npart", "a\nb\n"},
		{"a\nb\n", "a\nb\n"},
		{"only-partial", ""},
		{"", ""},
	}
	for _, tt := range tests {
		p := filepath.Join(t.TempDir(), "out.txt")
		if err := os.WriteFile(p, []byte(tt.in), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := dropPartialLine(p); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != tt.want {
			t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
		}
	}
	if err := dropPartialLine(filepath.Join(t.TempDir(), "absent")); err != nil {
		t.Fatalf("missing file: %v", err)
	}
}
