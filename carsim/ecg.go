package carsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// ECGLength is the number of values of one delimited reading.
const ECGLength = 210

// ECG anomaly kinds; ECGNormal labels a normal window.
const (
	ECGNormal     = "none"
	ECGArrhythmia = "arrhythmia" // irregular beat intervals, missing P waves
	ECGPVC        = "pvc"        // wide, tall premature ventricular beats
	ECGSTChange   = "st_change"  // raised ST segment and inverted T waves
)

// ECGKinds lists the anomaly kinds in a fixed order.
var ECGKinds = []string{ECGArrhythmia, ECGPVC, ECGSTChange}

// ECGReading is one window of the original demo's delimited format:
// 210 values in [2.00, 8.00] with 2 decimals, ECG-like.
type ECGReading struct {
	EventID int64
	Values  [ECGLength]float64
	Label   string // ECGNormal or one of ECGKinds
}

// Anomaly reports whether the window is anomalous.
func (r *ECGReading) Anomaly() bool { return r.Label != ECGNormal && r.Label != "" }

// AppendDelimited appends "eventid,v1# v2# … v210" to dst (no newline).
func (r *ECGReading) AppendDelimited(dst []byte) []byte {
	dst = strconv.AppendInt(dst, r.EventID, 10)
	dst = append(dst, ',')
	for i, v := range r.Values {
		if i > 0 {
			dst = append(dst, '#', ' ')
		}
		dst = strconv.AppendFloat(dst, v, 'f', 2, 64)
	}
	return dst
}

// Delimited returns the reading in the delimited format.
func (r *ECGReading) Delimited() string {
	return string(r.AppendDelimited(make([]byte, 0, 16+ECGLength*6)))
}

// ECG generates ECG-like windows; deterministic per seed, not safe for
// concurrent use.
type ECG struct {
	rng         *rand.Rand
	anomalyRate float64
	seq         int64
}

// NewECG returns a generator whose windows are anomalous with probability
// anomalyRate (in [0, 1]).
func NewECG(seed int64, anomalyRate float64) (*ECG, error) {
	if math.IsNaN(anomalyRate) || anomalyRate < 0 || anomalyRate > 1 {
		return nil, fmt.Errorf("carsim: anomaly rate must be in [0, 1], got %v", anomalyRate)
	}
	s := splitmix(uint64(seed) ^ 0xecc)
	return &ECG{rng: rand.New(rand.NewPCG(s, splitmix(s))), anomalyRate: anomalyRate}, nil
}

// Seq returns how many windows were produced.
func (e *ECG) Seq() int64 { return e.seq }

// Next produces the next window; event ids count from 1.
func (e *ECG) Next() ECGReading {
	var r ECGReading
	e.NextInto(&r)
	return r
}

// Skip advances by n windows.
func (e *ECG) Skip(n uint64) {
	var r ECGReading
	for range n {
		e.NextInto(&r)
	}
}

// NextInto is Next writing into r.
func (e *ECG) NextInto(r *ECGReading) {
	rng := e.rng
	e.seq++
	r.EventID = e.seq
	r.Label = ECGNormal
	if e.anomalyRate > 0 && rng.Float64() < e.anomalyRate {
		r.Label = ECGKinds[rng.IntN(len(ECGKinds))]
	}

	period := uniform(rng, 70, 90)  // samples per beat (≈ 70–85 bpm at 100 Hz)
	pos := -uniform(rng, 0, period) // start mid-beat
	wander := uniform(rng, 0, 2*math.Pi)
	amp := uniform(rng, 0.9, 1.1)
	pvcBeat := -1
	if r.Label == ECGPVC {
		pvcBeat = rng.IntN(2)
	}
	beat := 0
	b := beatShape{amp: amp, pWave: true}
	b.prepare(r.Label, beat == pvcBeat)
	for i := range r.Values {
		for float64(i)-pos >= period { // next beat
			pos += period
			beat++
			switch r.Label {
			case ECGArrhythmia:
				period = uniform(rng, 35, 150)
				b.pWave = rng.IntN(2) == 0
			default:
				period = period * uniform(rng, 0.97, 1.03)
			}
			b.prepare(r.Label, beat == pvcBeat || (r.Label == ECGPVC && beat == pvcBeat+2))
		}
		phase := (float64(i) - pos) / period
		v := 4 + 0.15*math.Sin(wander+float64(i)*2*math.Pi/400) + b.at(phase) + rng.NormFloat64()*0.03
		r.Values[i] = round2(clamp(v, 2, 8))
	}
}

// beatShape is one heartbeat as a sum of Gaussians over phase in [0, 1).
type beatShape struct {
	amp   float64
	pWave bool
	pvc   bool
	st    bool
}

func (b *beatShape) prepare(label string, pvc bool) {
	b.pvc = pvc
	b.st = label == ECGSTChange
	if label != ECGArrhythmia {
		b.pWave = !pvc
	}
}

func gauss(x, mu, sigma float64) float64 {
	d := (x - mu) / sigma
	if d > 7 || d < -7 { // below the 2-decimal resolution; skip the exp
		return 0
	}
	return math.Exp(-0.5 * d * d)
}

func (b *beatShape) at(p float64) float64 {
	var v float64
	if b.pWave {
		v += 0.45 * gauss(p, 0.15, 0.03)
	}
	switch {
	case b.pvc: // wide, tall QRS and a discordant T wave
		v += 3.6*gauss(p, 0.32, 0.04) - 1.6*gauss(p, 0.40, 0.04) - 0.9*gauss(p, 0.6, 0.06)
	default:
		v += -0.5*gauss(p, 0.27, 0.01) + 3.1*gauss(p, 0.30, 0.012) - 1.1*gauss(p, 0.33, 0.012)
		if b.st {
			v += 0.9*gauss(p, 0.42, 0.05) - 0.8*gauss(p, 0.56, 0.05)
		} else {
			v += 0.8 * gauss(p, 0.56, 0.05)
		}
	}
	return v * b.amp
}
