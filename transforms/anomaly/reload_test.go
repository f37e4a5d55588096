package anomaly

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// batchRows builds a batch whose rows differ, so a score from the wrong
// model (or a mixed-up row) cannot match the reference by chance.
func batchRows(n, seed int) []*connect.Record {
	recs := make([]*connect.Record, n)
	for i := range recs {
		k := float64(i + seed)
		recs[i] = rec(abc(math.Sin(k)*3, math.Cos(k)*5, float64(i%7)/3))
	}
	return recs
}

// reference scores recs with a fresh transform on one fixed model file.
func reference(t *testing.T, model string, recs []*connect.Record) ([]float64, string) {
	t.Helper()
	tr := newTransform(t, map[string]string{ModelPathConfig: model})
	res := tr.ApplyBatch(recs)
	out := make([]float64, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		out[i] = r.Record.Value.(map[string]any)["anomaly_score"].(float64)
	}
	return out, tr.ModelVersion()
}

// Under continuous scoring, the model file is replaced (temp file + rename):
// no record fails, every record's score is exactly the one its claimed
// version gives, each batch is scored by one model, and the version changes
// once and never goes back.
func TestHotReloadUnderLoad(t *testing.T) {
	recs := batchRows(64, 1)
	ref1, v1 := reference(t, "tiny_v1.onnx", recs)
	ref2, v2 := reference(t, "tiny_v2.onnx", recs)
	if v1 == v2 {
		t.Fatalf("fixtures share version %s", v1)
	}
	refs := map[string][]float64{v1: ref1, v2: ref2}

	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	copyFile(t, filepath.Join("testdata", "tiny_v1.onnx"), path)
	tr := newTransform(t, map[string]string{ModelPathConfig: path, ReloadIntervalConfig: "2"})

	var (
		mu       sync.Mutex
		versions []string // one per batch
		problems []string
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the scorer; the test owns it and waits for it below
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			res := tr.ApplyBatch(recs)
			batchVersion := ""
			for i, r := range res {
				if r.Err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("record %d failed: %v", i, r.Err))
					mu.Unlock()
					continue
				}
				v := r.Record.Value.(map[string]any)
				ver := v["anomaly_model"].(string)
				if batchVersion == "" {
					batchVersion = ver
				}
				ref, ok := refs[ver]
				switch {
				case ver != batchVersion:
					problems = append(problems, fmt.Sprintf("batch mixes %s and %s", batchVersion, ver))
				case !ok:
					problems = append(problems, "unknown version "+ver)
				case v["anomaly_score"].(float64) != ref[i]:
					problems = append(problems, fmt.Sprintf("record %d scored %v, version %s gives %v", i, v["anomaly_score"], ver, ref[i]))
				}
			}
			mu.Lock()
			versions = append(versions, batchVersion)
			mu.Unlock()
		}
	}()

	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(versions) > 50 })
	copyFile(t, filepath.Join("testdata", "tiny_v2.onnx"), path)
	waitFor(t, func() bool { return tr.ModelVersion() == v2 })
	mark := func() int { mu.Lock(); defer mu.Unlock(); return len(versions) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(versions) > mark+50 })
	close(stop)
	<-done

	if len(problems) > 0 {
		t.Fatalf("%d problems, first: %s", len(problems), strings.Join(problems[:min(5, len(problems))], "; "))
	}
	switches := 0
	for i := 1; i < len(versions); i++ {
		if versions[i] != versions[i-1] {
			switches++
			if versions[i-1] != v1 || versions[i] != v2 {
				t.Fatalf("batch %d switched %s → %s", i, versions[i-1], versions[i])
			}
		}
	}
	if versions[0] != v1 || versions[len(versions)-1] != v2 || switches != 1 {
		t.Fatalf("versions went %s … %s with %d switches; want %s then %s, one switch", versions[0], versions[len(versions)-1], switches, v1, v2)
	}
	if err := tr.Health(); err != nil {
		t.Fatalf("health after a good reload: %v", err)
	}
	if s := tr.Stats(); s.Reloads != 1 || s.ReloadFailures != 0 {
		t.Fatalf("stats %+v; want one reload", s)
	}
	t.Logf("%d batches, switch after batch %d", len(versions), indexOf(versions, v2))
}

func indexOf(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A bad new file leaves the old model serving with Health set; a good file
// afterwards clears it. checkReload is driven by hand (no watcher) so each
// step is deterministic.
func TestBrokenModelKeepsServing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	copyFile(t, filepath.Join("testdata", "tiny_v1.onnx"), path)
	tr := newTransform(t, map[string]string{ModelPathConfig: path})
	v1 := tr.ModelVersion()
	good, err := os.ReadFile(filepath.Join("testdata", "tiny_v2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	nan, err := os.ReadFile(filepath.Join("testdata", "tiny_nan.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := os.ReadFile(filepath.Join("testdata", "tiny_fixed_batch.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		apply   func()
		healthy bool
		want    string // substring of the health error
	}{
		{"truncated", func() { writeAtomic(t, path, good[:len(good)/2]) }, false, "rejected, still serving " + v1},
		{"unchanged broken file", func() {}, false, "rejected"},
		{"NaN output", func() { writeAtomic(t, path, nan) }, false, "probe"},
		{"fixed batch", func() { writeAtomic(t, path, fixed) }, false, "fixed batch"},
		{"deleted", func() { os.Remove(path) }, false, "still serving " + v1},
		{"old model back", func() { copyFile(t, filepath.Join("testdata", "tiny_v1.onnx"), path) }, true, ""},
		{"good new model", func() { writeAtomic(t, path, good) }, true, ""},
	}
	for i, s := range steps {
		s.apply()
		tr.checkReload()
		err := tr.Health()
		switch {
		case s.healthy && err != nil:
			t.Fatalf("step %d %s: health %v; want nil", i, s.name, err)
		case !s.healthy && (err == nil || !strings.Contains(err.Error(), s.want)):
			t.Fatalf("step %d %s: health %v; want it to contain %q", i, s.name, err, s.want)
		}
		r, err := tr.Apply(rec(abc(1.0, 2.0, 3.0)))
		if err != nil {
			t.Fatalf("step %d %s: scoring failed: %v", i, s.name, err)
		}
		wantVersion := v1
		if s.name == "good new model" {
			wantVersion = tr.ModelVersion()
			if wantVersion == v1 {
				t.Fatalf("good new model not loaded")
			}
		}
		if got := r.Value.(map[string]any)["anomaly_model"]; got != wantVersion {
			t.Fatalf("step %d %s: scored by %v; want %s", i, s.name, got, wantVersion)
		}
	}
	if s := tr.Stats(); s.ReloadFailures != 3 || s.Reloads != 1 {
		t.Fatalf("stats %+v; want 3 failed reloads (truncated, NaN, fixed batch) and 1 reload", s)
	}
}

// Close stops the watcher goroutine and later calls fail cleanly.
func TestCloseStopsWatcher(t *testing.T) {
	tr := newTransform(t, map[string]string{ModelPathConfig: "tiny_v1.onnx", ReloadIntervalConfig: "1"})
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	r := tr.ApplyBatch([]*connect.Record{rec(abc(1.0, 2.0, 3.0))})
	if r[0].Err == nil {
		t.Fatal("scored after Close")
	}
}
