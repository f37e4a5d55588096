package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testenv"
)

// A worker killed with SIGKILL while its file sink consumes loses nothing:
// offsets are committed only after the file was fsynced.
func TestStandaloneFileSinkSurvivesSIGKILL(t *testing.T) {
	bootstrap := testenv.Kafka(t)
	const n = 20000
	topic := uniq("kill-file")
	values := make([]string, n)
	for i := range values {
		values[i] = strconv.Itoa(i)
	}
	produce(t, bootstrap, topic, values)

	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	workerProps, port := standaloneConfig(t, bootstrap, stringConverters+"offset.flush.interval.ms=200\n")
	conn := writeFile(t, filepath.Join(dir, "sink.json"), fmt.Sprintf(`{"name": %q, "config": {
		"connector.class": "FileStreamSink", "topics": %q, "file": %q}}`, uniq("file-sink"), topic, out))

	w := startWorker(t, port, "standalone", workerProps, conn)
	waitUntil(t, "the sink to be mid-stream", 60*time.Second, func() bool { return len(lines(t, out)) >= 2000 })
	w.kill()
	before := len(lines(t, out))
	t.Logf("killed the worker with %d of %d lines written", before, n)

	startWorker(t, port, "standalone", workerProps, conn)
	waitUntil(t, "every record in the file", 120*time.Second, func() bool {
		seen := map[string]bool{}
		for _, l := range lines(t, out) {
			seen[l] = true
		}
		return len(seen) == n
	})
	got := lines(t, out)
	seen := map[string]int{}
	for _, l := range got {
		seen[l]++
	}
	for _, v := range values {
		if seen[v] == 0 {
			t.Fatalf("record %s never reached the file", v)
		}
	}
	if len(seen) != n {
		t.Fatalf("file holds %d distinct values, want %d", len(seen), n)
	}
	t.Logf("after restart: %d lines, %d distinct, %d duplicates (replayed after the kill: at-least-once)", len(got), len(seen), len(got)-len(seen))
}
