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
	name := uniq("file-sink")
	conn := writeFile(t, filepath.Join(dir, "sink.json"), fmt.Sprintf(`{"name": %q, "config": {
		"connector.class": "FileStreamSink", "topics": %q, "file": %q}}`, name, topic, out))

	w := startWorker(t, port, "standalone", workerProps, conn)
	waitUntil(t, "the sink to be mid-stream", 60*time.Second, func() bool { return len(lines(t, out)) >= 2000 })
	w.kill()
	before := len(lines(t, out))
	t.Logf("killed the worker with %d of %d lines written", before, n)

	w2 := startWorker(t, port, "standalone", workerProps, conn)
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[string]bool{}
		for _, l := range lines(t, out) {
			seen[l] = true
		}
		if len(seen) == n {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for _, v := range values {
				if !seen[v] && len(missing) < 10 {
					missing = append(missing, v)
				}
			}
			_, offs := sendJSON(t, "GET", w2.url+"/connectors/"+name+"/offsets", nil)
			_, st := sendJSON(t, "GET", w2.url+"/connectors/"+name+"/status", nil)
			t.Fatalf("after 60 s: %d distinct of %d (%d lines); first missing %v; offsets %s; status %s",
				len(seen), n, len(lines(t, out)), missing, offs, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
