package anomaly

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{Class, "AnomalyScore$Value"} {
		p, err := connect.Default.Lookup(name, connect.KindTransformation)
		if err != nil {
			t.Fatalf("lookup %s: %v", name, err)
		}
		if _, ok := p.New().(connect.BatchTransformation); !ok {
			t.Fatalf("%s is not a batch transformation", name)
		}
		if _, ok := p.New().(connect.HealthReporter); !ok {
			t.Fatalf("%s does not report health", name)
		}
	}
}

// The score model's output is sum(x²) of the raw row: the expected score of
// every record is known exactly.
func TestOutputScore(t *testing.T) {
	tr := newTransform(t, map[string]string{ModelPathConfig: "tiny_score.onnx"})
	in := []*connect.Record{
		rec(abc(1.0, 2.0, 2.0)),           // 9
		rec(abc(int64(3), "4", "  0.5 ")), // 9 + 16 + 0.25, strings accepted
		rec(abc(0.0, 0.0, 0.0)),
	}
	want := []float64{9, 25.25, 0}
	before := connect.CopyValue(in[1].Value)
	res := tr.ApplyBatch(in)
	if len(res) != len(in) {
		t.Fatalf("%d results for %d records", len(res), len(in))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		v := r.Record.Value.(map[string]any)
		if got := v["anomaly_score"].(float64); math.Abs(got-want[i]) > 1e-5 {
			t.Errorf("record %d: score %v, want %v", i, got, want[i])
		}
		if flag := v["anomaly"].(bool); flag != (want[i] > 10) {
			t.Errorf("record %d: flag %v for score %v and threshold 10", i, flag, want[i])
		}
		if id := v["anomaly_model"].(string); !strings.HasPrefix(id, "tiny_score:1@") {
			t.Errorf("record %d: model %q", i, id)
		}
		if v["id"] != "x" {
			t.Errorf("record %d lost its fields: %v", i, v)
		}
	}
	if !reflect.DeepEqual(in[1].Value, before) {
		t.Fatalf("input value mutated: %v", in[1].Value)
	}
	if s := tr.Stats(); s.Scored != 3 || s.Batches != 1 {
		t.Fatalf("stats %+v; want 3 scored in 1 batch", s)
	}
}

func TestOptionsOverrideMetadata(t *testing.T) {
	tr := newTransform(t, map[string]string{
		ModelPathConfig:  "tiny_score.onnx",
		ThresholdConfig:  "1",
		ScoreFieldConfig: "s", FlagFieldConfig: "f", ModelFieldConfig: "",
		InputFieldsConfig:   "x.p,x.q,r", // dotted names reach into nested maps
		ScalingCenterConfig: "1", ScalingScaleConfig: "2",
	})
	r, err := tr.Apply(rec(map[string]any{"x": map[string]any{"p": 3.0, "q": 1.0}, "r": 5.0}))
	if err != nil {
		t.Fatal(err)
	}
	v := r.Value.(map[string]any)
	// scaled: (3-1)/2=1, 0, 2 → 1+0+4
	if v["s"].(float64) != 5 || v["f"] != true {
		t.Fatalf("value %v; want s=5 f=true", v)
	}
	if _, ok := v["anomaly_model"]; ok {
		t.Fatalf("model field written although disabled: %v", v)
	}
}

func TestInvalidFeatures(t *testing.T) {
	bad := []struct {
		name  string
		value any
	}{
		{"missing field", map[string]any{"a": 1.0, "b": 2.0}},
		{"not a number", abc(1.0, "warm", 2.0)},
		{"boolean", abc(1.0, true, 2.0)},
		{"NaN string", abc(1.0, "NaN", 2.0)},
		{"null", abc(nil, 1.0, 2.0)},
		{"not a map", "1,2,3"},
	}
	for _, policy := range []string{PolicyFail, PolicySkip} {
		t.Run(policy, func(t *testing.T) {
			tr := newTransform(t, map[string]string{ModelPathConfig: "tiny_v1.onnx", OnInvalidConfig: policy})
			recs := []*connect.Record{rec(abc(1.0, 2.0, 3.0))}
			for _, b := range bad {
				recs = append(recs, rec(b.value))
			}
			tomb := rec(nil)
			recs = append(recs, tomb)
			res := tr.ApplyBatch(recs)
			if res[0].Err != nil || res[0].Record.Value.(map[string]any)["anomaly_score"] == nil {
				t.Fatalf("good record not scored beside bad ones: %+v", res[0])
			}
			for i, b := range bad {
				r := res[i+1]
				switch policy {
				case PolicyFail:
					if !errors.Is(r.Err, ErrInvalidFeature) {
						t.Errorf("%s: err %v; want ErrInvalidFeature", b.name, r.Err)
					}
				case PolicySkip:
					if r.Err != nil || r.Record != recs[i+1] {
						t.Errorf("%s: got %+v; want the record passed on unscored", b.name, r)
					}
				}
			}
			if last := res[len(res)-1]; last.Err != nil || last.Record != tomb {
				t.Errorf("tombstone: %+v; want passed through", last)
			}
		})
	}
}

func TestStructSchema(t *testing.T) {
	tr := newTransform(t, map[string]string{ModelPathConfig: "tiny_v1.onnx"})
	s := &connect.Schema{Type: connect.Struct, Fields: []connect.Field{
		{Name: "a", Schema: &connect.Schema{Type: connect.Float64}},
		{Name: "b", Schema: &connect.Schema{Type: connect.Float64}},
		{Name: "c", Schema: &connect.Schema{Type: connect.Float64}},
	}}
	r := rec(map[string]any{"a": 1.0, "b": 2.0, "c": 3.0})
	r.ValueSchema = s
	out, err := tr.Apply(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := connect.ValidateValue(out.ValueSchema, out.Value); err != nil {
		t.Fatalf("scored value does not fit its schema: %v", err)
	}
	if len(s.Fields) != 3 {
		t.Fatalf("input schema mutated: %d fields", len(s.Fields))
	}
	if len(out.ValueSchema.Fields) != 6 {
		t.Fatalf("schema fields %v; want 3 + score, flag, model", out.ValueSchema.Fields)
	}
}

func TestRejectedModels(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		raw  map[string]string
		want string
	}{
		{"fixed batch", map[string]string{ModelPathConfig: "tiny_fixed_batch.onnx"}, "fixed batch size"},
		{"NaN output", map[string]string{ModelPathConfig: "tiny_nan.onnx"}, "probe"},
		{"no feature names", map[string]string{ModelPathConfig: "tiny_unnamed.onnx"}, "no feature names"},
		{"feature count", map[string]string{ModelPathConfig: "tiny_v1.onnx", InputFieldsConfig: "a,b"}, "2 feature names"},
		{"scaling size", map[string]string{ModelPathConfig: "tiny_v1.onnx", ScalingCenterConfig: "0,0", ScalingScaleConfig: "1,1"}, "scaling has 2 values"},
		{"score width", map[string]string{ModelPathConfig: "tiny_v1.onnx", ScoreModeConfig: ScoreOutput}, "width 1"},
		{"garbage", map[string]string{ModelPathConfig: garbage}, "reading model graph"},
		{"missing file", map[string]string{ModelPathConfig: "nope.onnx"}, "cannot read the model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := configure(t, c.raw)
			if err == nil {
				tr.Close()
				t.Fatalf("configured; want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q; want it to contain %q", err, c.want)
			}
		})
	}
	// Names given by option make the unnamed model usable.
	tr := newTransform(t, map[string]string{ModelPathConfig: "tiny_unnamed.onnx", InputFieldsConfig: "a,b,c"})
	if _, err := tr.Apply(rec(abc(1.0, 2.0, 3.0))); err != nil {
		t.Fatal(err)
	}
}

func TestConfigRules(t *testing.T) {
	model := filepath.Join("testdata", "tiny_v1.onnx")
	cases := []struct {
		name string
		raw  map[string]string
		key  string // "" = valid
	}{
		{"valid", map[string]string{ModelPathConfig: model}, ""},
		{"no model", map[string]string{}, ModelPathConfig},
		{"delimited without field", map[string]string{ModelPathConfig: model, InputModeConfig: InputDelimited}, InputFieldConfig},
		{"bad mode", map[string]string{ModelPathConfig: model, InputModeConfig: "csv"}, InputModeConfig},
		{"bad policy", map[string]string{ModelPathConfig: model, OnInvalidConfig: "ignore"}, OnInvalidConfig},
		{"bad scaling", map[string]string{ModelPathConfig: model, ScalingCenterConfig: "1,2", ScalingScaleConfig: "1"}, ScalingCenterConfig},
		{"zero scale", map[string]string{ModelPathConfig: model, ScalingCenterConfig: "1", ScalingScaleConfig: "0"}, ScalingCenterConfig},
		{"negative threads", map[string]string{ModelPathConfig: model, ThreadsConfig: "-1"}, ThreadsConfig},
		{"model is a directory", map[string]string{ModelPathConfig: "testdata"}, ModelPathConfig},
	}
	lib := os.Getenv(LibraryEnv)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := map[string]string{LibraryPathConfig: lib}
			for k, v := range c.raw {
				raw[k] = v
			}
			var bad []string
			for _, v := range ConfigDef.Validate(raw) {
				if len(v.Errors) > 0 {
					bad = append(bad, v.Name)
				}
			}
			if lib == "" && c.key == "" {
				t.Skip("needs the ONNX Runtime library to be valid")
			}
			switch {
			case c.key == "" && len(bad) > 0:
				t.Fatalf("errors on %v; want none", bad)
			case c.key != "" && !contains(bad, c.key):
				t.Fatalf("errors on %v; want one on %s", bad, c.key)
			}
		})
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// The ONNX Runtime environment is process-global, so the missing-library
// cases run in a child process that has never loaded it.
func TestMissingLibrary(t *testing.T) {
	if os.Getenv("ANOMALY_CHILD") != "" {
		t.Skip("child")
	}
	notALib := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.WriteFile(notALib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"missing", filepath.Join(t.TempDir(), "nowhere", "libonnxruntime.so")},
		{"not a library", notALib},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibraryChild$", "-test.v")
			cmd.Env = append(os.Environ(), "ANOMALY_CHILD="+c.path, LibraryEnv+"=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "--- PASS: TestMissingLibraryChild") {
				t.Fatalf("child did not run:\n%s", out)
			}
		})
	}
}

func TestMissingLibraryChild(t *testing.T) {
	lib := os.Getenv("ANOMALY_CHILD")
	if lib == "" {
		t.Skip("run by TestMissingLibrary")
	}
	raw := map[string]string{ModelPathConfig: filepath.Join("testdata", "tiny_v1.onnx"), LibraryPathConfig: lib}
	// config/validate names the key and the fix.
	var msg string
	for _, v := range ConfigDef.Validate(raw) {
		if v.Name == LibraryPathConfig && len(v.Errors) > 0 {
			msg = v.Errors[0]
		}
	}
	t.Logf("validate: %s", msg)
	for _, want := range []string{lib, LibraryPathConfig, LibraryEnv, "make services-up", "1.24"} {
		if !strings.Contains(msg, want) {
			t.Errorf("validate message %q lacks %q", msg, want)
		}
	}
	// So does task start (Parse runs the same rule; Configure reports it too).
	if _, err := ConfigDef.Parse(raw); err == nil || !strings.Contains(err.Error(), LibraryEnv) {
		t.Errorf("parse error %v; want the library problem", err)
	}
	if err := ensureRuntime(lib, nil); !errors.Is(err, ErrRuntime) {
		t.Errorf("ensureRuntime: %v; want ErrRuntime", err)
	}
}
