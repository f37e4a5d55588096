package anomaly

import (
	"errors"
	"fmt"
	"math"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// overrides are the transform options that take precedence over a model's
// metadata. They are resolved against every model that loads, so a hot swap
// replaces model and derived settings in one step.
type overrides struct {
	features     []string
	scaling      *Scaling
	threshold    float64
	hasThreshold bool
	scoreKind    string // "" or "auto": follow metadata, then output shape
	threads      int
}

// model is one loaded, validated ONNX model with everything needed to score.
// It is immutable once published, except for its lifetime guard.
type model struct {
	id        string // name:version@hash, written into every scored record
	name      string
	version   string
	hash      string // sha256 of the file bytes, hex
	features  []string
	nFeatures int
	scaling   *Scaling
	threshold float64
	hasThresh bool
	scoreKind string

	inputName, outputName string
	session               *ort.DynamicAdvancedSession

	// mu is held shared for every Run and exclusively to destroy the
	// session, so a retired model is freed only after its last batch.
	mu     sync.RWMutex
	closed bool
}

// loadModel builds a session from the model bytes, reads and validates its
// metadata against ov, and runs a probe batch. Nothing is published here:
// the caller swaps the result in only when this returned no error.
func loadModel(data []byte, ov overrides) (m *model, err error) {
	m = &model{hash: hashOf(data)}

	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("reading model graph: %w", err)
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("model has %d inputs; want exactly one [batch, features] float tensor", len(ins))
	}
	in := ins[0]
	if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat || len(in.Dimensions) != 2 {
		return nil, fmt.Errorf("model input %s; want a float tensor of shape [batch, features]", in.String())
	}
	if in.Dimensions[1] <= 0 {
		return nil, fmt.Errorf("model input %s has no fixed feature count", in.String())
	}
	if in.Dimensions[0] > 0 {
		// A fixed batch size would force one Run per record.
		return nil, fmt.Errorf("model input %s has a fixed batch size; export it with a dynamic first dimension", in.String())
	}
	m.inputName = in.Name
	m.nFeatures = int(in.Dimensions[1])
	if len(outs) == 0 {
		return nil, errors.New("model has no outputs")
	}
	out := outs[0]
	if out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat {
		return nil, fmt.Errorf("model output %s; want a float tensor", out.String())
	}
	m.outputName = out.Name
	outWidth := int64(1)
	switch len(out.Dimensions) {
	case 1:
	case 2:
		outWidth = out.Dimensions[1]
	default:
		return nil, fmt.Errorf("model output %s; want [batch] or [batch, n]", out.String())
	}

	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	if ov.threads > 0 {
		if err := opts.SetIntraOpNumThreads(ov.threads); err != nil {
			return nil, fmt.Errorf("setting intra-op threads: %w", err)
		}
		// Batches are one small graph: inter-op parallelism only adds threads.
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("setting inter-op threads: %w", err)
		}
	}
	m.session, err = ort.NewDynamicAdvancedSessionWithONNXData(data, []string{m.inputName}, []string{m.outputName}, opts)
	if err != nil {
		return nil, fmt.Errorf("creating session: %w", err)
	}
	session := m.session
	defer func() {
		if err != nil { // the named results are already nil here
			session.Destroy()
		}
	}()

	props, graphVersion, err := readMetadata(m.session)
	if err != nil {
		return nil, err
	}
	md, err := parseMetadata(props)
	if err != nil {
		return nil, err
	}
	if err := m.resolve(md, ov, outWidth, graphVersion); err != nil {
		return nil, err
	}
	if err := m.probe(); err != nil {
		return nil, fmt.Errorf("probe inference: %w", err)
	}
	return m, nil
}

func readMetadata(s *ort.DynamicAdvancedSession) (map[string]string, int64, error) {
	meta, err := s.GetModelMetadata()
	if err != nil {
		return nil, 0, fmt.Errorf("reading model metadata: %w", err)
	}
	defer meta.Destroy()
	keys, err := meta.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, 0, fmt.Errorf("reading model metadata keys: %w", err)
	}
	props := make(map[string]string, len(keys))
	for _, k := range keys {
		v, ok, err := meta.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, 0, fmt.Errorf("reading model metadata %s: %w", k, err)
		}
		if ok {
			props[k] = v
		}
	}
	if _, ok := props[MetaModelName]; !ok {
		if g, err := meta.GetGraphName(); err == nil {
			props[MetaModelName] = g
		}
	}
	v, _ := meta.GetVersion()
	return props, v, nil
}

// resolve merges metadata and overrides and checks they fit the graph.
func (m *model) resolve(md Metadata, ov overrides, outWidth, graphVersion int64) error {
	m.name = md.Name
	if m.name == "" {
		m.name = "model"
	}
	m.version = md.Version
	if m.version == "" {
		m.version = fmt.Sprint(graphVersion)
	}
	m.id = fmt.Sprintf("%s:%s@%s", m.name, m.version, m.hash[:12])

	m.features = md.Features
	if len(ov.features) > 0 {
		m.features = ov.features
	}
	if m.features != nil && len(m.features) != m.nFeatures {
		return fmt.Errorf("%d feature names for a model with %d inputs", len(m.features), m.nFeatures)
	}
	m.scaling = md.Scaling
	if ov.scaling != nil {
		m.scaling = ov.scaling
	}
	if m.scaling != nil && !m.scaling.fits(m.nFeatures) {
		return fmt.Errorf("scaling has %d values for %d features", len(m.scaling.Center), m.nFeatures)
	}
	m.threshold, m.hasThresh = md.Threshold, md.HasThreshold
	if ov.hasThreshold {
		m.threshold, m.hasThresh = ov.threshold, true
	}

	kind := md.Score
	if ov.scoreKind != "" && ov.scoreKind != "auto" {
		kind = ov.scoreKind
	}
	if kind == "" { // infer from the output's shape
		switch {
		case outWidth == int64(m.nFeatures) && m.nFeatures > 1:
			kind = ScoreReconstruction
		case outWidth == 1:
			kind = ScoreOutput
		default:
			return fmt.Errorf("cannot tell the score from an output of width %d for %d features; set score.mode", outWidth, m.nFeatures)
		}
	}
	switch {
	case kind == ScoreReconstruction && outWidth != int64(m.nFeatures):
		return fmt.Errorf("reconstruction score needs an output of width %d, the model gives %d", m.nFeatures, outWidth)
	case kind == ScoreOutput && outWidth != 1:
		return fmt.Errorf("output score needs an output of width 1, the model gives %d", outWidth)
	}
	m.scoreKind = kind
	return nil
}

// probe scores two synthetic rows (the scaling's center and one unit off)
// so a model that loads but cannot run, or emits NaN, never goes live.
func (m *model) probe() error {
	raw := make([]float64, 2*m.nFeatures)
	for j := range m.nFeatures {
		c := 0.0
		if m.scaling != nil {
			c = m.scaling.Center[min(j, len(m.scaling.Center)-1)]
		}
		raw[j] = c
		raw[m.nFeatures+j] = c + 1
	}
	x := make([]float32, len(raw))
	m.scaling.apply(x[:m.nFeatures], raw[:m.nFeatures])
	m.scaling.apply(x[m.nFeatures:], raw[m.nFeatures:])
	scores := make([]float64, 2)
	if err := m.run(x, 2, scores); err != nil {
		return err
	}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("probe row %d scored %v", i, s)
		}
	}
	return nil
}

// run scores n scaled rows x (n*nFeatures) into scores, in one Run.
// Callers hold m.mu shared.
func (m *model) run(x []float32, n int, scores []float64) error {
	in, err := ort.NewTensor(ort.NewShape(int64(n), int64(m.nFeatures)), x)
	if err != nil {
		return fmt.Errorf("input tensor: %w", err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil} // let onnxruntime allocate the output
	if err := m.session.Run([]ort.Value{in}, outs); err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	defer outs[0].Destroy()
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("output is %T, not a float tensor", outs[0])
	}
	y := t.GetData()
	switch m.scoreKind {
	case ScoreReconstruction:
		if len(y) != len(x) {
			return fmt.Errorf("output has %d values for %d inputs", len(y), len(x))
		}
		f := m.nFeatures
		for i := range n {
			var sum float64
			xi, yi := x[i*f:(i+1)*f], y[i*f:(i+1)*f]
			for j := range xi {
				d := float64(xi[j]) - float64(yi[j])
				sum += d * d
			}
			scores[i] = sum / float64(f)
		}
	default:
		if len(y) != n {
			return fmt.Errorf("output has %d values for %d rows", len(y), n)
		}
		for i := range n {
			scores[i] = float64(y[i])
		}
	}
	return nil
}

// retire destroys the session once no batch uses it any more.
func (m *model) retire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.session.Destroy()
	}
}
