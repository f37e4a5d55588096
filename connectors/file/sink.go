// Package file is a sink compatible with Kafka's FileStreamSinkConnector:
// one line per record appended to a file (or stdout). Unlike Kafka's, it
// fsyncs the file before offsets are committed, so a crash loses nothing.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Class is Kafka's class name, so Kafka Connect configs work unchanged.
const Class = "org.apache.kafka.connect.file.FileStreamSinkConnector"

// File is the config key naming the output file.
const File = "file"

// ConfigDef is the sink's one config declaration.
var ConfigDef = connect.NewConfigDef(
	connect.ConfigKey{Name: File, Type: connect.TypeString, Default: "", Importance: connect.High,
		DisplayName: "Destination filename",
		Documentation: "Destination filename. If not specified, the standard output will be used. " +
			"Records are appended one per line; the file is flushed and fsynced before offsets are committed."},
)

func init() {
	connect.Register(connect.Plugin{
		Class: Class, Kind: connect.KindSink, Version: "1.0.0",
		Summary: "appends one line per record to a file (or stdout), durable before offsets are committed",
		Config:  ConfigDef,
		New:     func() any { return &Connector{} },
	})
}

// stdout is where an empty file name writes; a variable for tests.
var stdout io.Writer = os.Stdout

// Connector runs a single task, as Kafka's FileStreamSinkConnector does:
// several writers to one file would interleave.
type Connector struct{ raw map[string]string }

func (c *Connector) Start(ctx context.Context, cfg connect.Config, cc connect.ConnectorContext) error {
	c.raw = cfg.Raw()
	return nil
}

func (c *Connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.raw)}, nil
}

func (c *Connector) Stop() error { return nil }

func (c *Connector) NewTask() connect.SinkTask { return &Task{} }

// Task appends records to the file. Put buffers; PreCommit flushes and
// fsyncs, and only then reports the offsets as safe to commit.
type Task struct {
	mu   sync.Mutex
	f    *os.File // nil when writing to stdout
	w    *bufio.Writer
	name string
	err  error // sticky: once a write failed, nothing more is trusted
	line []byte
}

func (t *Task) Start(ctx context.Context, cfg connect.Config, tc connect.SinkTaskContext) error {
	t.name = cfg.String(File)
	out := stdout
	if t.name != "" {
		if err := dropPartialLine(t.name); err != nil {
			return err
		}
		f, err := os.OpenFile(t.name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening %s for appending: %w", t.name, err)
		}
		t.f, out = f, f
	}
	t.w = bufio.NewWriterSize(out, 64<<10)
	return nil
}

func (t *Task) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	for _, r := range records {
		var err error
		t.line, err = appendLine(t.line[:0], r.Value)
		if err != nil {
			return fmt.Errorf("rendering record %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		if _, err := t.w.Write(t.line); err != nil {
			t.err = fmt.Errorf("writing to %s: %w", t.dest(), err)
			return t.err
		}
	}
	return nil
}

func (t *Task) dest() string {
	if t.name == "" {
		return "stdout"
	}
	return t.name
}

// PreCommit makes everything written so far durable and returns current:
// every record handed to Put is then in the file.
func (t *Task) PreCommit(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.sync(); err != nil {
		return nil, err
	}
	return current, nil
}

func (t *Task) sync() error {
	if t.err != nil {
		return t.err
	}
	if t.w == nil {
		return errors.New("file sink task not started")
	}
	if err := t.w.Flush(); err != nil {
		t.err = fmt.Errorf("flushing %s: %w", t.dest(), err)
		return t.err
	}
	if t.f != nil {
		if err := t.f.Sync(); err != nil {
			t.err = fmt.Errorf("syncing %s: %w", t.name, err)
			return t.err
		}
	}
	return nil
}

func (t *Task) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	if t.w != nil && t.err == nil {
		err = t.sync()
	}
	if t.f != nil {
		err = errors.Join(err, t.f.Close())
		t.f = nil
	}
	return err
}

// appendLine renders a value as one line: strings and bytes as they are,
// numbers and booleans as text, null as "null" (as Kafka's println does),
// times as RFC 3339, maps and arrays as JSON.
func appendLine(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		b = append(b, "null"...)
	case string:
		b = append(b, x...)
	case []byte:
		b = append(b, x...)
	case bool:
		b = strconv.AppendBool(b, x)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case int32:
		b = strconv.AppendInt(b, int64(x), 10)
	case int16:
		b = strconv.AppendInt(b, int64(x), 10)
	case int8:
		b = strconv.AppendInt(b, int64(x), 10)
	case int:
		b = strconv.AppendInt(b, int64(x), 10)
	case float64:
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	case float32:
		b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	case time.Time:
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
	case *big.Rat:
		b = append(b, x.RatString()...)
	default:
		js, err := json.Marshal(v) // sorted keys: equal values, equal lines
		if err != nil {
			return b, err
		}
		b = append(b, js...)
	}
	return append(b, '\n'), nil
}

var (
	_ connect.SinkConnector = (*Connector)(nil)
	_ connect.SinkTask      = (*Task)(nil)
)

// dropPartialLine cuts a line a crash left half-written at the end of the
// file. Its record was never committed (offsets are committed only after a
// flush and fsync of whole lines), so it is delivered again; without the cut
// it would be glued to the first line written after the restart.
func dropPartialLine(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.Size() == 0 || !info.Mode().IsRegular() {
		return nil
	}
	const chunk = 64 << 10
	end := info.Size()
	for pos := end; pos > 0; {
		start := max(pos-chunk, 0)
		buf := make([]byte, pos-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			cut := start + int64(i) + 1
			if cut == end {
				return nil // ends with a whole line
			}
			return truncate(f, path, cut)
		}
		pos = start
	}
	return truncate(f, path, 0) // a single partial line
}

func truncate(f *os.File, path string, size int64) error {
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("dropping a partial last line of %s: %w", path, err)
	}
	return f.Sync()
}
