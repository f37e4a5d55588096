package anomaly

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tributary-io/tributary/connect"
)

// BenchmarkTransform scores batches of car readings through ApplyBatch:
// extraction, scaling, one Run, output maps. rows/s is the figure to read.
func BenchmarkTransform(b *testing.B) {
	for _, n := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			recs, _ := carRecords(b, n, 0.05)
			tr := newTransform(b, map[string]string{ModelPathConfig: carModel})
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for _, r := range tr.ApplyBatch(recs) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			report(b, n, cpu0)
		})
	}
}

// BenchmarkBareSession is the limit: the same model, same thread count and
// same pre-scaled batches straight through an onnxruntime_go session.
func BenchmarkBareSession(b *testing.B) {
	for _, n := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			recs, _ := carRecords(b, n, 0.05)
			tr := newTransform(b, map[string]string{ModelPathConfig: carModel}) // loads the runtime
			m := tr.cur.Load()
			x := scaledRows(b, m, recs)
			opts, err := ort.NewSessionOptions()
			if err != nil {
				b.Fatal(err)
			}
			defer opts.Destroy()
			opts.SetIntraOpNumThreads(1)
			opts.SetInterOpNumThreads(1)
			s, err := ort.NewDynamicAdvancedSession(carModel, []string{m.inputName}, []string{m.outputName}, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Destroy()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				in, err := ort.NewTensor(ort.NewShape(int64(n), int64(m.nFeatures)), x)
				if err != nil {
					b.Fatal(err)
				}
				outs := []ort.Value{nil}
				if err := s.Run([]ort.Value{in}, outs); err != nil {
					b.Fatal(err)
				}
				outs[0].Destroy()
				in.Destroy()
			}
			report(b, n, cpu0)
		})
	}
}

func scaledRows(b *testing.B, m *model, recs []*connect.Record) []float32 {
	ext := extractor{mode: InputFields, fields: m.features}
	raw := make([]float64, m.nFeatures)
	x := make([]float32, len(recs)*m.nFeatures)
	for i, r := range recs {
		if err := ext.extract(r.Value, raw); err != nil {
			b.Fatal(err)
		}
		m.scaling.apply(x[i*m.nFeatures:(i+1)*m.nFeatures], raw)
	}
	return x
}

// BenchmarkJSONPipeline puts the transform's cost beside what a JSON
// pipeline pays per record anyway (decode the value, encode it again), so
// its share of the per-record cost can be read off: compare
// without-transform and with-transform.
func BenchmarkJSONPipeline(b *testing.B) {
	const n = 512
	recs, _ := carRecords(b, n, 0.05)
	payloads := make([][]byte, n)
	for i, r := range recs {
		p, err := json.Marshal(r.Value)
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = p
	}
	tr := newTransform(b, map[string]string{ModelPathConfig: carModel})
	for _, withTransform := range []bool{false, true} {
		name := "without-transform"
		if withTransform {
			name = "with-transform"
		}
		b.Run(name, func(b *testing.B) {
			batch := make([]*connect.Record, n)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for i, p := range payloads {
					var v map[string]any
					if err := json.Unmarshal(p, &v); err != nil {
						b.Fatal(err)
					}
					batch[i] = &connect.Record{Topic: "sensor-data", Value: v}
				}
				if withTransform {
					for i, r := range tr.ApplyBatch(batch) {
						if r.Err != nil {
							b.Fatal(r.Err)
						}
						batch[i] = r.Record
					}
				}
				for _, r := range batch {
					if _, err := json.Marshal(r.Value); err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, n, cpu0)
		})
	}
}

// cpuTime is the process's user+system CPU time. The shared test machines
// are often oversubscribed, so wall-clock rows/s swing with other load;
// CPU time per row is the steadier figure.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func report(b *testing.B, rowsPerOp int, cpu0 time.Duration) {
	rows := float64(rowsPerOp * b.N)
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/rows, "cpu-ns/row")
}
