package anomaly

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metadata property names a model carries (ONNX metadata_props, written by
// models/train.py). They make a model self-describing: the transform's
// options only override them.
const (
	MetaModelName         = "model_name"
	MetaModelVersion      = "model_version"
	MetaFeatures          = "features"           // JSON array of field names (or comma-separated)
	MetaScaling           = "scaling"            // JSON {"method","center":[…],"scale":[…]}
	MetaThreshold         = "threshold"          // decimal number
	MetaThresholdQuantile = "threshold_quantile" // informational, e.g. "0.995"
	MetaScore             = "score"              // reconstruction_mse | output
)

// Score kinds.
const (
	ScoreReconstruction = "reconstruction_mse"
	ScoreOutput         = "output"
)

// Scaling is an affine per-feature transform applied before inference:
// x' = (x - Center[i]) / Scale[i]. Standard scaling stores mean/std, min-max
// scaling min/(max-min). A one-element Center/Scale applies to every
// feature (the 210-value delimited model scales all readings alike).
type Scaling struct {
	Method string    `json:"method"`
	Center []float64 `json:"center"`
	Scale  []float64 `json:"scale"`
}

// Metadata is the parsed, validated model metadata.
type Metadata struct {
	Name         string
	Version      string
	Features     []string // nil when the model does not name them
	Scaling      *Scaling // nil: feed raw values
	Threshold    float64
	HasThreshold bool
	Quantile     string
	Score        string // "" when the model does not say
}

// parseMetadata reads the custom metadata map. Unknown keys are ignored;
// malformed known keys are errors, so a bad export is caught at load time.
func parseMetadata(props map[string]string) (Metadata, error) {
	var md Metadata
	md.Name = strings.TrimSpace(props[MetaModelName])
	md.Version = strings.TrimSpace(props[MetaModelVersion])
	md.Quantile = strings.TrimSpace(props[MetaThresholdQuantile])
	if s, ok := props[MetaFeatures]; ok {
		f, err := parseFeatureList(s)
		if err != nil {
			return md, fmt.Errorf("metadata %s: %w", MetaFeatures, err)
		}
		md.Features = f
	}
	if s, ok := props[MetaScaling]; ok && strings.TrimSpace(s) != "" {
		var sc Scaling
		if err := json.Unmarshal([]byte(s), &sc); err != nil {
			return md, fmt.Errorf("metadata %s: %w", MetaScaling, err)
		}
		if err := sc.check(); err != nil {
			return md, fmt.Errorf("metadata %s: %w", MetaScaling, err)
		}
		md.Scaling = &sc
	}
	if s, ok := props[MetaThreshold]; ok && strings.TrimSpace(s) != "" {
		t, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
			return md, fmt.Errorf("metadata %s: not a finite number: %q", MetaThreshold, s)
		}
		md.Threshold, md.HasThreshold = t, true
	}
	switch s := strings.TrimSpace(props[MetaScore]); s {
	case "", ScoreReconstruction, ScoreOutput:
		md.Score = s
	default:
		return md, fmt.Errorf("metadata %s: unknown score kind %q (want %s or %s)", MetaScore, s, ScoreReconstruction, ScoreOutput)
	}
	return md, nil
}

// parseFeatureList accepts a JSON array of strings or a comma-separated list.
func parseFeatureList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var names []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, err
		}
	} else if s != "" {
		names = strings.Split(s, ",")
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, fmt.Errorf("feature %d has an empty name", i)
		}
		if seen[n] {
			return nil, fmt.Errorf("feature %q listed twice", n)
		}
		seen[n] = true
		names[i] = n
	}
	return names, nil
}

// check validates the scaling on its own; its length against the model's
// feature count is checked when the model loads.
func (s *Scaling) check() error {
	if len(s.Center) != len(s.Scale) {
		return fmt.Errorf("center has %d values, scale %d", len(s.Center), len(s.Scale))
	}
	if len(s.Center) == 0 {
		return fmt.Errorf("no center/scale values")
	}
	for i := range s.Center {
		if math.IsNaN(s.Center[i]) || math.IsInf(s.Center[i], 0) {
			return fmt.Errorf("center[%d] is not finite", i)
		}
		if sc := s.Scale[i]; sc == 0 || math.IsNaN(sc) || math.IsInf(sc, 0) {
			return fmt.Errorf("scale[%d] must be finite and non-zero", i)
		}
	}
	return nil
}

// fits reports whether the scaling applies to n features.
func (s *Scaling) fits(n int) bool { return len(s.Center) == 1 || len(s.Center) == n }

// apply scales x (len n) into dst as float32, the model's input type.
// Arithmetic is float64 so the Python reference, doing the same, matches.
func (s *Scaling) apply(dst []float32, x []float64) {
	if s == nil {
		for i, v := range x {
			dst[i] = float32(v)
		}
		return
	}
	if len(s.Center) == 1 {
		c, k := s.Center[0], s.Scale[0]
		for i, v := range x {
			dst[i] = float32((v - c) / k)
		}
		return
	}
	for i, v := range x {
		dst[i] = float32((v - s.Center[i]) / s.Scale[i])
	}
}
