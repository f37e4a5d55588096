package carsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func mustNew(t testing.TB, o Options) *Generator {
	t.Helper()
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no cars", Options{Cars: 0}, "cars must be at least 1"},
		{"negative first car", Options{Cars: 1, FirstCar: -1}, "first car"},
		{"rate above 1", Options{Cars: 1, FailureRate: 1.5}, "failure rate"},
		{"negative rate", Options{Cars: 1, FailureRate: -0.1}, "failure rate"},
		{"nan rate", Options{Cars: 1, FailureRate: math.NaN()}, "failure rate"},
		{"unknown mode", Options{Cars: 1, Modes: []FailureMode{"flat"}}, "unknown failure mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%+v) error = %v, want it to mention %q", tt.o, err, tt.want)
			}
		})
	}
}

func TestDeterministicPerSeed(t *testing.T) {
	a := mustNew(t, Options{Cars: 7, Seed: 42, FailureRate: 0.1})
	b := mustNew(t, Options{Cars: 7, Seed: 42, FailureRate: 0.1})
	c := mustNew(t, Options{Cars: 7, Seed: 43, FailureRate: 0.1})
	same := 0
	for i := range 5000 {
		ra, rb, rc := a.Next(t0), b.Next(t0), c.Next(t0)
		if ra != rb {
			t.Fatalf("reading %d differs for the same seed:\n%+v\n%+v", i, ra, rb)
		}
		if ra == rc {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d readings identical across different seeds", same)
	}
}

func TestCarsIndependentOfSplit(t *testing.T) {
	whole := mustNew(t, Options{Cars: 4, Seed: 9, FailureRate: 0.2})
	low := mustNew(t, Options{Cars: 2, FirstCar: 0, Seed: 9, FailureRate: 0.2})
	high := mustNew(t, Options{Cars: 2, FirstCar: 2, Seed: 9, FailureRate: 0.2})
	for i := range 2000 {
		w := whole.Next(t0)
		var p Reading
		if i%4 < 2 {
			p = low.Next(t0)
		} else {
			p = high.Next(t0)
		}
		if w != p {
			t.Fatalf("step %d: split generator differs:\n%+v\n%+v", i, w, p)
		}
	}
}

func TestSkipContinuesSequence(t *testing.T) {
	for _, n := range []uint64{0, 1, 5, 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a := mustNew(t, Options{Cars: 5, Seed: 3, FailureRate: 0.3})
			b := mustNew(t, Options{Cars: 5, Seed: 3, FailureRate: 0.3})
			for range n {
				a.Next(t0)
			}
			b.Skip(n)
			if a.Seq() != n || b.Seq() != n {
				t.Fatalf("seq = %d, %d, want %d", a.Seq(), b.Seq(), n)
			}
			for range 50 {
				if ra, rb := a.Next(t0), b.Next(t0); ra != rb {
					t.Fatalf("after skip %d: %+v != %+v", n, ra, rb)
				}
			}
		})
	}
}

func TestValueRanges(t *testing.T) {
	g := mustNew(t, Options{Cars: 50, Seed: 1, FailureRate: 0.1})
	type rng struct{ lo, hi float64 }
	ranges := map[string]rng{
		"coolant_temp":          {10, 135},
		"intake_air_temp":       {15, 40},
		"intake_air_flow_speed": {0, 260},
		"battery_percentage":    {5, 100},
		"battery_voltage":       {200, 265},
		"current_draw":          {0, 120},
		"speed":                 {0, 180},
		"throttle_pos":          {0, 1},
		"tire_pressure11":       {20, 35},
		"control_unit_firmware": {1000, 2000},
	}
	var f []float64
	firmware := map[int64]int{}
	for range 100000 {
		r := g.Next(t0)
		f = r.Features(f[:0])
		for i, name := range FeatureNames {
			if want, ok := ranges[name]; ok && (f[i] < want.lo || f[i] > want.hi) {
				t.Fatalf("%s = %v outside [%v, %v] in %+v", name, f[i], want.lo, want.hi, r)
			}
			if math.IsNaN(f[i]) || math.IsInf(f[i], 0) {
				t.Fatalf("%s = %v", name, f[i])
			}
		}
		firmware[r.ControlUnitFirmware]++
		for _, a := range r.Accelerometer {
			if a < 0 || a > 7 {
				t.Fatalf("accelerometer %v outside [0, 7]", a)
			}
		}
	}
	if len(firmware) != 2 || firmware[1000] == 0 || firmware[2000] == 0 {
		t.Fatalf("firmware versions = %v, want both 1000 and 2000", firmware)
	}
}

// normalSignature checks what every normal reading must satisfy.
func normalSignature(r *Reading) error {
	if r.CoolantTemp > 103 {
		return fmt.Errorf("coolant %v above normal", r.CoolantTemp)
	}
	for i, p := range r.TirePressure {
		if p < 30 || p > 35 {
			return fmt.Errorf("tyre %d pressure %v outside [30, 35]", i, p)
		}
	}
	bump := r.Accelerometer[0] >= 2
	for i, a := range r.Accelerometer {
		if bump && (a < 2 || a > 3) || !bump && a > 1 {
			return fmt.Errorf("accelerometer %d = %v (bump %v)", i, a, bump)
		}
	}
	if r.Speed > 20 {
		if k := r.EngineVibrationAmplitude / r.Speed; k < 90 || k > 110 {
			return fmt.Errorf("vibration/speed = %v, want ≈ 100", k)
		}
	}
	return nil
}

func TestFailureSignatures(t *testing.T) {
	tests := []struct {
		mode  FailureMode
		check func(r *Reading) error
	}{
		{TirePressureLoss, func(r *Reading) error {
			low := 0
			for _, p := range r.TirePressure {
				if p >= 20 && p <= 25 {
					low++
				} else if p < 30 || p > 35 {
					return fmt.Errorf("pressure %v neither normal nor lost", p)
				}
			}
			if low != 1 {
				return fmt.Errorf("%d tyres in [20, 25], want 1", low)
			}
			return nil
		}},
		{EngineVibration, func(r *Reading) error {
			if r.Speed < 5 {
				return fmt.Errorf("failing car not moving (speed %v)", r.Speed)
			}
			if k := r.EngineVibrationAmplitude / r.Speed; k < 135 || k > 165 {
				return fmt.Errorf("vibration/speed = %v, want ≈ 150", k)
			}
			return nil
		}},
		{ShockAbsorber, func(r *Reading) error {
			high := 0
			for _, a := range r.Accelerometer {
				if a > 3 && a <= 7 {
					high++
				}
			}
			if high != 1 {
				return fmt.Errorf("%d accelerometers in [3, 7], want 1", high)
			}
			return nil
		}},
		{CoolantOverheat, func(r *Reading) error {
			if r.CoolantTemp < 105 {
				return fmt.Errorf("coolant %v, want ≥ 105", r.CoolantTemp)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			g := mustNew(t, Options{Cars: 20, Seed: 5, FailureRate: 0.2, Modes: []FailureMode{tt.mode}})
			failed := 0
			for range 50000 {
				r := g.Next(t0)
				switch r.FailureMode {
				case None:
					if r.FailureOccurred() {
						t.Fatal("normal reading says failure_occurred")
					}
					if err := normalSignature(&r); err != nil {
						t.Fatalf("normal reading: %v: %+v", err, r)
					}
				case tt.mode:
					failed++
					if !r.FailureOccurred() {
						t.Fatal("failing reading says no failure_occurred")
					}
					if err := tt.check(&r); err != nil {
						t.Fatalf("%s reading: %v: %+v", tt.mode, err, r)
					}
				default:
					t.Fatalf("mode %q injected, only %q enabled", r.FailureMode, tt.mode)
				}
			}
			if failed == 0 {
				t.Fatal("no failure injected")
			}
		})
	}
}

func TestFailureRate(t *testing.T) {
	tests := []struct {
		rate   float64
		lo, hi float64
	}{
		{0, 0, 0},
		{0.05, 0.035, 0.065},
		{0.2, 0.16, 0.24},
		{1, 0.9, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
			g := mustNew(t, Options{Cars: 200, Seed: 11, FailureRate: tt.rate})
			n, failed := 200000, 0
			modes := map[FailureMode]int{}
			for range n {
				r := g.Next(t0)
				if r.FailureOccurred() {
					failed++
					modes[r.FailureMode]++
				}
			}
			frac := float64(failed) / float64(n)
			if frac < tt.lo || frac > tt.hi {
				t.Fatalf("failure fraction %.4f outside [%v, %v]", frac, tt.lo, tt.hi)
			}
			if tt.rate > 0 && len(modes) != len(FailureModes) {
				t.Fatalf("modes seen %v, want all of %v", modes, FailureModes)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	g := mustNew(t, Options{Cars: 3, Seed: 2, FailureRate: 0.5})
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	for range 300 {
		r := g.Next(ts)
		js := r.JSON()
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("invalid JSON %s: %v", js, err)
		}
		want := r.Map()
		if len(got) != len(want) || len(got) != len(FeatureNames)+4 {
			t.Fatalf("JSON has %d keys, Map %d", len(got), len(want))
		}
		for k, w := range want {
			var gs string
			switch v := got[k].(type) {
			case json.Number:
				gs = v.String()
			case string:
				gs = v
			default:
				t.Fatalf("%s: unexpected JSON type %T", k, v)
			}
			var ws string
			switch v := w.(type) {
			case float64:
				ws = floatText(v)
			case int64:
				ws = strconv.FormatInt(v, 10)
			case string:
				ws = v
			default:
				t.Fatalf("%s: Map has type %T, want float64, int64 or string", k, w)
			}
			if gs != ws {
				t.Fatalf("%s: JSON %q, Map %q", k, gs, ws)
			}
		}
		if got["timestamp"] != "2024-05-06T06:08:09.123Z" {
			t.Fatalf("timestamp = %v", got["timestamp"])
		}
		if _, err := time.Parse(time.RFC3339, got["timestamp"].(string)); err != nil {
			t.Fatalf("timestamp not RFC 3339: %v", err)
		}
		wantOcc := strconv.FormatBool(r.FailureMode != None)
		if got["failure_occurred"] != wantOcc {
			t.Fatalf("failure_occurred = %v with mode %v", got["failure_occurred"], r.FailureMode)
		}
	}
}

func TestCarIDs(t *testing.T) {
	g := mustNew(t, Options{Cars: 3, FirstCar: 41, Seed: 1})
	for _, want := range []string{"car-00041", "car-00042", "car-00043", "car-00041"} {
		if got := g.Next(t0).CarID; got != want {
			t.Fatalf("car id %q, want %q", got, want)
		}
	}
}

func TestNextAllocationFree(t *testing.T) {
	g := mustNew(t, Options{Cars: 10, Seed: 1, FailureRate: 0.1})
	buf := make([]byte, 0, 1024)
	var r Reading
	allocs := testing.AllocsPerRun(1000, func() {
		g.NextInto(&r, t0)
		buf = r.AppendJSON(buf[:0])
	})
	if allocs != 0 {
		t.Fatalf("NextInto+AppendJSON allocates %v times per reading", allocs)
	}
}

func BenchmarkNext(b *testing.B) {
	g := mustNew(b, Options{Cars: 1000, Seed: 1, FailureRate: 0.05})
	var r Reading
	b.ReportAllocs()
	for b.Loop() {
		g.NextInto(&r, t0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

func BenchmarkNextJSON(b *testing.B) {
	g := mustNew(b, Options{Cars: 1000, Seed: 1, FailureRate: 0.05})
	var r Reading
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		g.NextInto(&r, t0)
		buf = r.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

func TestAppendCentiMatchesStrconv(t *testing.T) {
	vals := []float64{0, 1, -1, 0.05, -0.05, 32.1, 32.10000001, 9929.25, 1e15, 123456.78, 0.1, 99.99, 2.5}
	g := mustNew(t, Options{Cars: 5, Seed: 8, FailureRate: 0.3})
	var f []float64
	for range 2000 {
		r := g.Next(t0)
		f = r.Features(f)
	}
	for _, v := range append(vals, f...) {
		got := string(appendCenti(nil, v))
		want := floatText(v)
		if got != want {
			t.Fatalf("appendCenti(%v) = %q, want %q", v, got, want)
		}
	}
}

// floatText is strconv's shortest form with a decimal point always.
func floatText(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
