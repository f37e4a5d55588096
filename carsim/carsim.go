// Package carsim generates deterministic, physically plausible connected-car
// sensor readings for the simulator, the datagen source connector and model
// training. Every car is a small state machine (parked, city, highway) whose
// speed drives throttle, air flow, engine vibration, coolant temperature,
// current draw and battery; failures are injected at a configurable rate and
// labelled in every reading they affect.
//
// Output conventions (stable; models and dashboards depend on them):
//   - car_id is "car-" plus the car's global index, zero-padded to 5 digits.
//   - timestamp is RFC 3339 in UTC with milliseconds ("2024-01-01T00:00:00.000Z"),
//     which Elasticsearch's default date detection maps as a date.
//   - failure_mode is "none" for a normal reading, otherwise one of the
//     FailureMode constants; failure_occurred is the string "true" or "false",
//     as in the original demo.
//
// A Generator is not safe for concurrent use: own one per goroutine. Each car
// has its own random stream derived from (seed, global car index), so a car's
// readings do not depend on which other cars share its generator; splitting
// cars across generators (FirstCar) yields the same per-car sequences.
package carsim

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// FailureMode names an injected failure.
type FailureMode string

const (
	None              FailureMode = "none"
	TirePressureLoss  FailureMode = "tire_pressure_loss"
	EngineVibration   FailureMode = "engine_vibration"
	ShockAbsorber     FailureMode = "shock_absorber"
	CoolantOverheat   FailureMode = "coolant_overheat"
	meanFailureLength             = 30 // readings per failure episode, on average
)

// FailureModes lists every injectable failure, in a fixed order.
var FailureModes = []FailureMode{TirePressureLoss, EngineVibration, ShockAbsorber, CoolantOverheat}

// FeatureNames is the ordered list of numeric fields, for models.
var FeatureNames = []string{
	"coolant_temp",
	"intake_air_temp",
	"intake_air_flow_speed",
	"battery_percentage",
	"battery_voltage",
	"current_draw",
	"speed",
	"engine_vibration_amplitude",
	"throttle_pos",
	"tire_pressure11",
	"tire_pressure12",
	"tire_pressure21",
	"tire_pressure22",
	"accelerometer11_value",
	"accelerometer12_value",
	"accelerometer21_value",
	"accelerometer22_value",
	"control_unit_firmware",
}

// TimestampLayout is the layout of the timestamp field.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Reading is one sensor reading of one car. Wheel arrays are ordered
// 11, 12, 21, 22 (front left, front right, rear left, rear right).
type Reading struct {
	CarID                    string
	Time                     time.Time
	CoolantTemp              float64 // °C
	IntakeAirTemp            float64 // °C, 15–40
	IntakeAirFlowSpeed       float64 // g/s
	BatteryPercentage        float64 // 0–100
	BatteryVoltage           float64 // V
	CurrentDraw              float64 // A
	Speed                    float64 // km/h
	EngineVibrationAmplitude float64 // ≈ speed × 100, × 150 when degraded
	ThrottlePos              float64 // 0–1
	TirePressure             [4]float64
	Accelerometer            [4]float64
	ControlUnitFirmware      int64 // 1000 or 2000
	FailureMode              FailureMode
}

// FailureOccurred reports whether the reading carries an injected failure.
func (r *Reading) FailureOccurred() bool { return r.FailureMode != None && r.FailureMode != "" }

// Features appends the reading's values in FeatureNames order to dst.
func (r *Reading) Features(dst []float64) []float64 {
	return append(dst,
		r.CoolantTemp, r.IntakeAirTemp, r.IntakeAirFlowSpeed, r.BatteryPercentage,
		r.BatteryVoltage, r.CurrentDraw, r.Speed, r.EngineVibrationAmplitude, r.ThrottlePos,
		r.TirePressure[0], r.TirePressure[1], r.TirePressure[2], r.TirePressure[3],
		r.Accelerometer[0], r.Accelerometer[1], r.Accelerometer[2], r.Accelerometer[3],
		float64(r.ControlUnitFirmware))
}

// Map returns the reading as a JSON-ready map: numbers are float64, except
// control_unit_firmware, an int64. JSON always writes the float fields
// with a decimal point ("32.0").
func (r *Reading) Map() map[string]any {
	m := make(map[string]any, len(FeatureNames)+4)
	m["car_id"] = r.CarID
	m["timestamp"] = r.Time.UTC().Format(TimestampLayout)
	var buf [20]float64
	f := r.Features(buf[:0])
	for i, name := range FeatureNames[:len(FeatureNames)-1] {
		m[name] = f[i]
	}
	m["control_unit_firmware"] = r.ControlUnitFirmware
	m["failure_mode"] = string(r.mode())
	m["failure_occurred"] = strconv.FormatBool(r.FailureOccurred())
	return m
}

func (r *Reading) mode() FailureMode {
	if r.FailureMode == "" {
		return None
	}
	return r.FailureMode
}

// JSON returns the reading as one JSON object (no trailing newline).
func (r *Reading) JSON() []byte { return r.AppendJSON(make([]byte, 0, 640)) }

// AppendJSON appends the reading as a JSON object to dst, fields in a fixed
// order: car_id, timestamp, FeatureNames…, failure_mode, failure_occurred.
func (r *Reading) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"car_id":`...)
	dst = strconv.AppendQuote(dst, r.CarID)
	dst = append(dst, `,"timestamp":"`...)
	dst = r.Time.UTC().AppendFormat(dst, TimestampLayout)
	dst = append(dst, '"')
	var buf [20]float64
	f := r.Features(buf[:0])
	for i, name := range FeatureNames[:len(FeatureNames)-1] {
		dst = append(dst, ',', '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = appendCenti(dst, f[i])
	}
	dst = append(dst, `,"control_unit_firmware":`...)
	dst = strconv.AppendInt(dst, r.ControlUnitFirmware, 10)
	dst = append(dst, `,"failure_mode":"`...)
	dst = append(dst, r.mode()...)
	dst = append(dst, `","failure_occurred":"`...)
	dst = strconv.AppendBool(dst, r.FailureOccurred())
	return append(dst, '"', '}')
}

// appendCenti appends x, a value rounded to 2 decimals, in its shortest
// form but always with a decimal point ("32.1", "32.0", "-0.05"), so that
// schemaless readers such as Elasticsearch's dynamic mapping see a double.
func appendCenti(dst []byte, x float64) []byte {
	k := math.Round(x * 100)
	if math.IsNaN(x) || math.Abs(k) >= 1<<52 || k/100 != x {
		n := len(dst)
		dst = strconv.AppendFloat(dst, x, 'f', -1, 64)
		if !bytes.ContainsRune(dst[n:], '.') {
			dst = append(dst, '.', '0')
		}
		return dst
	}
	n := int64(k)
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	dst = strconv.AppendInt(dst, n/100, 10)
	frac := n % 100
	dst = append(dst, '.', byte('0'+frac/10))
	if frac%10 != 0 {
		dst = append(dst, byte('0'+frac%10))
	}
	return dst
}

// Options configure a Generator.
type Options struct {
	Cars     int   // number of cars; must be ≥ 1
	FirstCar int   // global index of the first car, for splitting cars across generators
	Seed     int64 // same seed, same readings
	// FailureRate is the expected fraction of readings that carry a failure,
	// in [0, 1]. Failures come in episodes of about 30 readings of one car.
	FailureRate float64
	// Modes restricts the injected failures; empty means all FailureModes.
	Modes []FailureMode
}

// Generator produces readings round-robin over its cars. Not safe for
// concurrent use.
type Generator struct {
	cars   []car
	next   int
	seq    uint64
	onsetP float64
	modes  []FailureMode
}

// New returns a generator for o.
func New(o Options) (*Generator, error) {
	switch {
	case o.Cars < 1:
		return nil, fmt.Errorf("carsim: cars must be at least 1, got %d", o.Cars)
	case o.FirstCar < 0:
		return nil, fmt.Errorf("carsim: first car must not be negative, got %d", o.FirstCar)
	case math.IsNaN(o.FailureRate) || o.FailureRate < 0 || o.FailureRate > 1:
		return nil, fmt.Errorf("carsim: failure rate must be in [0, 1], got %v", o.FailureRate)
	}
	modes := FailureModes
	if len(o.Modes) > 0 {
		for _, m := range o.Modes {
			if !validMode(m) {
				return nil, fmt.Errorf("carsim: unknown failure mode %q", m)
			}
		}
		modes = append([]FailureMode(nil), o.Modes...)
	}
	g := &Generator{cars: make([]car, o.Cars), modes: modes}
	// Onset probability per normal reading giving the stationary fraction
	// r = p·L / (1 + p·L) of readings in failure, L the mean episode length.
	switch r := o.FailureRate; {
	case r >= 1:
		g.onsetP = 1
	case r > 0:
		g.onsetP = min(1, r/((1-r)*meanFailureLength))
	}
	for i := range g.cars {
		g.cars[i].init(o.Seed, o.FirstCar+i)
	}
	return g, nil
}

func validMode(m FailureMode) bool {
	for _, x := range FailureModes {
		if x == m {
			return true
		}
	}
	return false
}

// ParseFailureMode accepts a FailureMode name ("none" included).
func ParseFailureMode(s string) (FailureMode, error) {
	if m := FailureMode(s); m == None || validMode(m) {
		return m, nil
	}
	return "", fmt.Errorf("unknown failure mode %q", s)
}

// Cars returns the number of cars.
func (g *Generator) Cars() int { return len(g.cars) }

// Seq returns how many readings the generator produced or skipped.
func (g *Generator) Seq() uint64 { return g.seq }

// Next advances the next car (round-robin) by one reading, stamped now.
func (g *Generator) Next(now time.Time) Reading {
	var r Reading
	g.NextInto(&r, now)
	return r
}

// NextInto is Next writing into r, for callers reusing a Reading.
func (g *Generator) NextInto(r *Reading, now time.Time) {
	c := g.advance()
	c.fill(r)
	r.Time = now
}

// Skip advances the sequence by n readings without producing them, so a
// restarted producer continues exactly where it stopped.
func (g *Generator) Skip(n uint64) {
	for range n {
		g.advance()
	}
}

func (g *Generator) advance() *car {
	c := &g.cars[g.next]
	g.next++
	if g.next == len(g.cars) {
		g.next = 0
	}
	g.seq++
	c.step(g.onsetP, g.modes)
	return c
}

type driveMode uint8

const (
	parked driveMode = iota
	city
	highway
)

// car is one car's state. Values advance one second of simulated time per
// reading, whatever the wall clock says, so output depends only on the seed.
type car struct {
	id       string
	rng      *rand.Rand
	firmware int64

	mode     driveMode
	modeLeft int
	speed    float64
	target   float64
	accel    float64
	ambient  float64
	coolant  float64
	battery  float64
	tyreBase [4]float64

	failure     FailureMode
	failureLeft int
	failWheel   int
	lossLevel   float64

	// outputs of the last step
	out Reading
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (c *car) init(seed int64, index int) {
	s := splitmix(uint64(seed))
	c.rng = rand.New(rand.NewPCG(s, splitmix(s^uint64(index)*0x2545f4914f6cdd1d+1)))
	c.id = fmt.Sprintf("car-%05d", index)
	c.firmware = 1000
	if c.rng.IntN(2) == 1 {
		c.firmware = 2000
	}
	c.ambient = uniform(c.rng, 16, 34)
	for i := range c.tyreBase {
		c.tyreBase[i] = uniform(c.rng, 30.8, 33.6)
	}
	c.battery = uniform(c.rng, 30, 100)
	c.mode = driveMode(c.rng.IntN(3))
	c.enterMode(c.mode)
	switch c.mode {
	case parked:
		c.coolant = c.ambient + uniform(c.rng, 0, 40)
	default:
		c.speed = c.target * uniform(c.rng, 0.8, 1.0)
		c.coolant = uniform(c.rng, 85, 95)
	}
	c.failure = None
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (c *car) enterMode(m driveMode) {
	c.mode = m
	switch m {
	case parked:
		c.modeLeft = 20 + c.rng.IntN(100)
		c.target = 0
	case city:
		c.modeLeft = 60 + c.rng.IntN(240)
		c.target = uniform(c.rng, 20, 60)
	case highway:
		c.modeLeft = 60 + c.rng.IntN(340)
		c.target = uniform(c.rng, 90, 130)
	}
}

func (c *car) nextMode() driveMode {
	u := c.rng.Float64()
	switch c.mode {
	case parked:
		if u < 0.8 {
			return city
		}
		return highway
	case city:
		switch {
		case u < 0.3:
			return parked
		case u < 0.6:
			return highway
		}
		return city
	default:
		if u < 0.7 {
			return city
		}
		return highway
	}
}

func (c *car) step(onsetP float64, modes []FailureMode) {
	r := c.rng

	// Failures. A failing car keeps driving until the episode ends, so
	// every labelled reading shows its failure's signature.
	if c.failure == None {
		if onsetP > 0 && r.Float64() < onsetP {
			c.failure = modes[r.IntN(len(modes))]
			c.failureLeft = 10 + r.IntN(2*meanFailureLength-19) // mean ≈ 30
			c.failWheel = r.IntN(4)
			c.lossLevel = uniform(r, 20.8, 24.2)
			if c.mode == parked {
				c.enterMode(city)
			}
		}
	} else {
		c.failureLeft--
		if c.failureLeft <= 0 {
			// Repaired: nothing of the failure lingers into readings
			// labelled normal.
			if c.failure == CoolantOverheat {
				c.coolant = uniform(r, 86, 94)
			}
			c.failure = None
		}
	}

	// Driving state machine.
	c.modeLeft--
	if c.modeLeft <= 0 {
		m := c.nextMode()
		if m == parked && c.failure != None {
			m = city
		}
		c.enterMode(m)
	} else if c.mode == city && r.Float64() < 0.03 {
		c.target = uniform(r, 20, 60) // traffic
	}
	if c.mode == parked && c.speed < 1.5 {
		c.speed, c.accel = 0, 0
	} else {
		c.accel = clamp((c.target-c.speed)*0.4, -8, 5) + r.NormFloat64()*0.6
		c.speed = max(0, c.speed+c.accel)
		if c.mode != parked && c.speed < 5 {
			c.speed = 5 // moving traffic never quite stops in this model
		}
	}
	moving := c.speed > 0

	o := &c.out
	o.CarID = c.id
	o.ControlUnitFirmware = c.firmware
	o.FailureMode = c.failure
	o.Speed = round2(c.speed)

	if moving {
		o.ThrottlePos = clamp(0.06+0.0042*c.speed+0.05*max(c.accel, 0)+r.NormFloat64()*0.02, 0.01, 1)
		o.IntakeAirFlowSpeed = max(0, 4+210*o.ThrottlePos+r.NormFloat64()*2)
		k := 100.0
		if c.failure == EngineVibration {
			k = 150
		}
		o.EngineVibrationAmplitude = c.speed * k * (1 + r.NormFloat64()*0.02)
	} else {
		o.ThrottlePos, o.IntakeAirFlowSpeed, o.EngineVibrationAmplitude = 0, 0, 0
	}

	// Ambient drifts slowly; intake air is warmed by the engine bay.
	c.ambient = clamp(c.ambient+r.NormFloat64()*0.03, 15, 38)
	intake := c.ambient
	if moving {
		intake += 1 + 2*o.ThrottlePos
	}
	o.IntakeAirTemp = clamp(intake+r.NormFloat64()*0.2, 15, 40)

	// Coolant approaches a load-dependent operating temperature when the
	// engine runs and cools toward ambient when parked.
	switch {
	case c.failure == CoolantOverheat:
		// A failing pump or thermostat shows at once, even on a cold engine.
		c.coolant = max(c.coolant, 106) + (uniform(r, 118, 128)-max(c.coolant, 106))*0.5
	case moving:
		c.coolant += (88 + 10*o.ThrottlePos - c.coolant) * 0.05
	default:
		c.coolant += (c.ambient - c.coolant) * 0.01
	}
	o.CoolantTemp = c.coolant + r.NormFloat64()*0.3

	// Electrical: current follows load; the battery drains while driving
	// and charges while parked; voltage sags under current.
	if moving {
		o.CurrentDraw = max(0, 2+60*o.ThrottlePos+0.05*c.speed+r.NormFloat64())
		c.battery -= o.CurrentDraw * 0.0005
	} else {
		o.CurrentDraw = uniform(r, 0.5, 2)
		if c.battery < 95 {
			c.battery += 0.05
		}
	}
	c.battery = clamp(c.battery, 5, 100)
	o.BatteryPercentage = c.battery
	o.BatteryVoltage = 220 + 0.4*c.battery - 0.15*o.CurrentDraw + r.NormFloat64()*0.5

	// Tyres warm up a little with speed; a lost tyre sits at 20–25.
	for i := range o.TirePressure {
		if c.failure == TirePressureLoss && i == c.failWheel {
			o.TirePressure[i] = clamp(c.lossLevel+r.NormFloat64()*0.2, 20, 25)
			continue
		}
		o.TirePressure[i] = clamp(c.tyreBase[i]+0.008*c.speed+r.NormFloat64()*0.1, 30, 35)
	}

	// Accelerometers: small vibration growing with speed; a bump (normal)
	// shakes all four wheels to 2–3; a failed shock absorber lets one
	// wheel read 3–7 all the time.
	bump := moving && r.Float64() < 0.02
	for i := range o.Accelerometer {
		switch {
		case c.failure == ShockAbsorber && i == c.failWheel:
			o.Accelerometer[i] = uniform(r, 3.01, 7)
		case bump:
			o.Accelerometer[i] = uniform(r, 2, 2.99)
		case moving:
			o.Accelerometer[i] = clamp(0.05+0.004*c.speed+math.Abs(r.NormFloat64())*0.08, 0, 1)
		default:
			o.Accelerometer[i] = math.Abs(r.NormFloat64()) * 0.01
		}
	}
}

// fill copies the last step's outputs into r, rounded to 2 decimals.
func (c *car) fill(r *Reading) {
	*r = c.out
	r.CoolantTemp = round2(r.CoolantTemp)
	r.IntakeAirTemp = round2(r.IntakeAirTemp)
	r.IntakeAirFlowSpeed = round2(r.IntakeAirFlowSpeed)
	r.BatteryPercentage = round2(r.BatteryPercentage)
	r.BatteryVoltage = round2(r.BatteryVoltage)
	r.CurrentDraw = round2(r.CurrentDraw)
	r.EngineVibrationAmplitude = round2(r.EngineVibrationAmplitude)
	r.ThrottlePos = round2(r.ThrottlePos)
	for i := range 4 {
		r.TirePressure[i] = round2(r.TirePressure[i])
		r.Accelerometer[i] = round2(r.Accelerometer[i])
	}
}
