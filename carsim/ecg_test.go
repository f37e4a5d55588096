package carsim

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestNewECGRejectsBadRate(t *testing.T) {
	for _, rate := range []float64{-0.1, 1.1, math.NaN()} {
		if _, err := NewECG(1, rate); err == nil {
			t.Errorf("NewECG(1, %v) accepted", rate)
		}
	}
}

func TestECGFormatAndRange(t *testing.T) {
	e, err := NewECG(7, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]int{}
	for i := range 2000 {
		r := e.Next()
		labels[r.Label]++
		line := r.Delimited()
		id, rest, ok := strings.Cut(line, ",")
		if !ok || id != strconv.Itoa(i+1) {
			t.Fatalf("line %d: event id %q, want %d", i, id, i+1)
		}
		parts := strings.Split(rest, "# ")
		if len(parts) != ECGLength {
			t.Fatalf("line %d: %d values, want %d", i, len(parts), ECGLength)
		}
		for j, p := range parts {
			dot := strings.IndexByte(p, '.')
			if dot < 0 || len(p)-dot-1 != 2 {
				t.Fatalf("value %q does not have 2 decimals", p)
			}
			v, err := strconv.ParseFloat(p, 64)
			if err != nil || v < 2 || v > 8 {
				t.Fatalf("value %q (%v) outside [2, 8]", p, err)
			}
			if v != r.Values[j] {
				t.Fatalf("printed %q, value %v", p, r.Values[j])
			}
		}
		if r.Anomaly() != (r.Label != ECGNormal) {
			t.Fatalf("Anomaly() = %v with label %q", r.Anomaly(), r.Label)
		}
	}
	frac := 1 - float64(labels[ECGNormal])/2000
	if frac < 0.25 || frac > 0.35 {
		t.Fatalf("anomalous fraction %.3f, want ≈ 0.3", frac)
	}
	for _, k := range ECGKinds {
		if labels[k] == 0 {
			t.Fatalf("kind %q never generated: %v", k, labels)
		}
	}
}

func TestECGDeterministic(t *testing.T) {
	a, _ := NewECG(3, 0.2)
	b, _ := NewECG(3, 0.2)
	c, _ := NewECG(4, 0.2)
	b.Skip(0)
	differ := false
	for range 200 {
		ra, rb, rc := a.Next(), b.Next(), c.Next()
		if ra != rb {
			t.Fatal("same seed, different windows")
		}
		differ = differ || ra.Values != rc.Values
	}
	if !differ {
		t.Fatal("different seeds, same windows")
	}
	d, _ := NewECG(3, 0.2)
	d.Skip(150)
	a2, _ := NewECG(3, 0.2)
	for range 150 {
		a2.Next()
	}
	if a2.Next() != d.Next() {
		t.Fatal("Skip does not continue the sequence")
	}
}

// TestECGAnomaliesDiffer checks that anomalous windows are measurably
// different from normal ones (what a model must learn).
func TestECGAnomaliesDiffer(t *testing.T) {
	e, _ := NewECG(1, 0.5)
	// Mean window of normal beats is not useful (random phase); use the
	// spread of values instead: PVCs and ST changes shift it.
	stat := map[string][]float64{}
	for range 3000 {
		r := e.Next()
		var lo int
		for _, v := range r.Values {
			if v < 3.4 {
				lo++
			}
		}
		stat[r.Label] = append(stat[r.Label], float64(lo))
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	normal := mean(stat[ECGNormal])
	for _, k := range []string{ECGPVC, ECGSTChange} {
		if m := mean(stat[k]); m < normal+3 {
			t.Errorf("%s: mean low-value count %.2f, normal %.2f: not distinguishable", k, m, normal)
		}
	}
}

func BenchmarkECG(b *testing.B) {
	e, _ := NewECG(1, 0.1)
	var r ECGReading
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		e.NextInto(&r)
		buf = r.AppendDelimited(buf[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
