package anomaly

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testenv"
)

// newTransform configures a transform from raw options (model.path relative
// to testdata when a bare file name), with the test's ONNX Runtime library.
func newTransform(t testing.TB, raw map[string]string) *Transform {
	t.Helper()
	tr, err := configure(t, raw)
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func configure(t testing.TB, raw map[string]string) (*Transform, error) {
	t.Helper()
	lib := testenv.ONNXRuntime(t)
	opts := map[string]string{LibraryPathConfig: lib, ReloadIntervalConfig: "0"}
	for k, v := range raw {
		opts[k] = v
	}
	if p := opts[ModelPathConfig]; p != "" && filepath.Base(p) == p { // bare names are fixtures
		opts[ModelPathConfig] = filepath.Join("testdata", p)
	}
	cfg, err := ConfigDef.Parse(opts)
	if err != nil {
		return nil, err
	}
	tr := New()
	if err := tr.Configure(cfg); err != nil {
		return nil, err
	}
	return tr, nil
}

func rec(v any) *connect.Record {
	return &connect.Record{Topic: "sensor-data", Partition: 0, Value: v}
}

func abc(a, b, c any) map[string]any { return map[string]any{"a": a, "b": b, "c": c, "id": "x"} }

// copyFile writes src's bytes to dst through a temp file and rename, the
// way a deployment replaces a model atomically.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, dst, data)
}

var tmpSeq int

func writeAtomic(t testing.TB, dst string, data []byte) {
	t.Helper()
	tmpSeq++
	tmp := dst + ".tmp" + strconv.Itoa(tmpSeq)
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}
