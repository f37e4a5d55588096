package anomaly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/connect"
)

// The shipped models and the held-out data the tests use. Training used
// carsim seeds 101/202/303 (car) and 11/12/13 (ECG); these differ.
var (
	carModel = filepath.Join("..", "..", "models", "car_autoencoder.onnx")
	ecgModel = filepath.Join("..", "..", "models", "ecg_autoencoder.onnx")
)

const heldOutSeed = 4242

// carRecords returns labelled held-out readings as the pipeline sees them:
// JSON-decoded maps (numbers float64, control_unit_firmware too).
func carRecords(t testing.TB, n int, rate float64) ([]*connect.Record, []bool) {
	t.Helper()
	g, err := carsim.New(carsim.Options{Cars: 500, Seed: heldOutSeed, FailureRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]*connect.Record, n)
	labels := make([]bool, n)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range recs {
		r := g.Next(start.Add(time.Duration(i) * time.Second))
		var v map[string]any
		if err := json.Unmarshal(r.JSON(), &v); err != nil {
			t.Fatal(err)
		}
		recs[i], labels[i] = rec(v), r.FailureOccurred()
	}
	return recs, labels
}

// ecgRecords returns labelled windows in the original delimited format,
// hoisted into a "payload" field (HoistField$Value's job in a pipeline).
func ecgRecords(t testing.TB, n int, rate float64) ([]*connect.Record, []bool) {
	t.Helper()
	e, err := carsim.NewECG(heldOutSeed, rate)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]*connect.Record, n)
	labels := make([]bool, n)
	for i := range recs {
		r := e.Next()
		recs[i], labels[i] = rec(map[string]any{"payload": r.Delimited()}), r.Anomaly()
	}
	return recs, labels
}

var ecgOptions = map[string]string{
	ModelPathConfig: ecgModel, InputModeConfig: InputDelimited, InputFieldConfig: "payload", PrefixSepConfig: ",",
}

func scoreAll(t testing.TB, tr *Transform, recs []*connect.Record, batch int) (scores []float64, flags []bool) {
	t.Helper()
	for i := 0; i < len(recs); i += batch {
		for _, r := range tr.ApplyBatch(recs[i:min(i+batch, len(recs))]) {
			if r.Err != nil {
				t.Fatalf("record %d: %v", len(scores), r.Err)
			}
			v := r.Record.Value.(map[string]any)
			scores = append(scores, v["anomaly_score"].(float64))
			flags = append(flags, v["anomaly"].(bool))
		}
	}
	return scores, flags
}

// venvPython finds the training venv's python (models/setup_venv.sh).
func venvPython(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRIBUTARY_MODELS_PYTHON"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "tributary", "venv-models", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		msg := "the models venv is missing (" + p + "): run models/setup_venv.sh"
		if os.Getenv("TRIBUTARY_REQUIRE_SERVICES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Fidelity: the transform's scores equal Python onnxruntime's on the same
// record values within a relative 1e-5. Python extracts, scales and scores
// on its own (models/score_reference.py), from the model's metadata.
func TestFidelityWithPythonOnnxruntime(t *testing.T) {
	python := venvPython(t)
	car, _ := carRecords(t, 2000, 0.05)
	// Bad-producer forms the transform accepts: numbers as strings.
	car[3].Value.(map[string]any)["speed"] = "  42.5 "
	car[4].Value.(map[string]any)["control_unit_firmware"] = int64(2000)
	ecg, _ := ecgRecords(t, 500, 0.1)
	cases := []struct {
		name string
		opts map[string]string
		recs []*connect.Record
		args []string
	}{
		{"car", map[string]string{ModelPathConfig: carModel}, car, nil},
		{"ecg", ecgOptions, ecg, []string{"--field", "payload", "--prefix-sep", ","}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTransform(t, c.opts)
			got, _ := scoreAll(t, tr, c.recs, 256)

			var in bytes.Buffer
			enc := json.NewEncoder(&in)
			for _, r := range c.recs {
				if err := enc.Encode(r.Value); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(python, append([]string{filepath.Join("..", "..", "models", "score_reference.py"), "--model", c.opts[ModelPathConfig]}, c.args...)...)
			cmd.Stdin = &in
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python reference: %v\n%s", err, stderr.String())
			}
			lines := strings.Fields(string(out))
			if len(lines) != len(got) {
				t.Fatalf("python gave %d scores for %d records", len(lines), len(got))
			}
			worst := 0.0
			for i, l := range lines {
				want, err := strconv.ParseFloat(l, 64)
				if err != nil {
					t.Fatal(err)
				}
				rel := math.Abs(got[i]-want) / math.Max(math.Abs(want), 1e-12)
				worst = math.Max(worst, rel)
				if rel > 1e-5 {
					t.Errorf("record %d: go %v, python %v (relative difference %.2g)", i, got[i], want, rel)
				}
			}
			t.Logf("%d records, largest relative difference %.3g", len(got), worst)
		})
	}
}

// Quality: on held-out labelled simulator data, scored through the
// transform, the shipped models separate failures from normal readings.
func TestShippedModelsSeparateFailures(t *testing.T) {
	car, carLabels := carRecords(t, 20000, 0.05)
	ecg, ecgLabels := ecgRecords(t, 3000, 0.1)
	cases := []struct {
		name   string
		opts   map[string]string
		recs   []*connect.Record
		labels []bool
	}{
		{"car", map[string]string{ModelPathConfig: carModel}, car, carLabels},
		{"ecg", ecgOptions, ecg, ecgLabels},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTransform(t, c.opts)
			scores, flags := scoreAll(t, tr, c.recs, 500)
			auc := rocAUC(scores, c.labels)
			var tp, fp, fn int
			for i, f := range flags {
				switch {
				case f && c.labels[i]:
					tp++
				case f:
					fp++
				case c.labels[i]:
					fn++
				}
			}
			precision := float64(tp) / math.Max(1, float64(tp+fp))
			recall := float64(tp) / math.Max(1, float64(tp+fn))
			t.Logf("%s: %d records, %d failures: ROC-AUC %.4f, precision %.3f, recall %.3f at the model's threshold", tr.ModelVersion(), len(scores), tp+fn, auc, precision, recall)
			if auc < 0.95 {
				t.Errorf("ROC-AUC %.4f < 0.95", auc)
			}
			if tp+fn == 0 || recall < 0.5 || precision < 0.5 {
				t.Errorf("at the threshold: precision %.3f, recall %.3f; want both ≥ 0.5", precision, recall)
			}
		})
	}
}

// rocAUC is the Mann-Whitney statistic with average ranks for ties.
func rocAUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	ranks := make([]float64, len(scores))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			ranks[idx[k]] = avg
		}
		i = j
	}
	var pos, neg, sum float64
	for i, l := range labels {
		if l {
			pos++
			sum += ranks[i]
		} else {
			neg++
		}
	}
	return (sum - pos*(pos+1)/2) / (pos * neg)
}

func TestRocAUC(t *testing.T) {
	cases := []struct {
		scores []float64
		labels []bool
		want   float64
	}{
		{[]float64{1, 2, 3, 4}, []bool{false, false, true, true}, 1},
		{[]float64{1, 2, 3, 4}, []bool{true, true, false, false}, 0},
		{[]float64{1, 1, 1, 1}, []bool{true, false, true, false}, 0.5},
		{[]float64{1, 3, 2, 4}, []bool{false, false, true, true}, 0.75},
	}
	for _, c := range cases {
		if got := rocAUC(c.scores, c.labels); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("rocAUC(%v, %v) = %v; want %v", c.scores, c.labels, got, c.want)
		}
	}
}

func ExampleTransform() {
	fmt.Println(Class)
	// Output: io.tributary.connect.transforms.AnomalyScore$Value
}
