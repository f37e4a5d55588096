package anomaly

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Input modes: where a record's feature vector comes from.
const (
	InputFields    = "fields"    // one numeric field per feature
	InputDelimited = "delimited" // one string field "v1# v2# …"
	InputArray     = "array"     // one array field [v1, v2, …]
)

// ErrInvalidFeature marks a record whose features are missing or not
// numeric; the on.invalid.feature policy decides what happens to it.
var ErrInvalidFeature = errors.New("invalid feature")

// extractor pulls the feature vector of one record value.
type extractor struct {
	mode      string
	fields    []string // InputFields: names, dotted for nested maps
	field     string   // InputDelimited/InputArray: field name, "" = the whole value
	delim     string
	prefixSep string // delimited: drop everything up to and including the first prefixSep
}

// extract fills dst (len = feature count) from v.
func (e *extractor) extract(v any, dst []float64) error {
	if e.mode == InputFields {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: value is %s, not a map of fields", ErrInvalidFeature, typeName(v))
		}
		for i, name := range e.fields {
			raw, ok := lookup(m, name)
			if !ok {
				return fmt.Errorf("%w: field %q is missing", ErrInvalidFeature, name)
			}
			f, err := toNumber(raw)
			if err != nil {
				return fmt.Errorf("%w: field %q: %w", ErrInvalidFeature, name, err)
			}
			dst[i] = f
		}
		return nil
	}
	src := v
	if e.field != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: value is %s, not a map holding field %q", ErrInvalidFeature, typeName(v), e.field)
		}
		if src, ok = lookup(m, e.field); !ok {
			return fmt.Errorf("%w: field %q is missing", ErrInvalidFeature, e.field)
		}
	}
	if e.mode == InputArray {
		return arrayFeatures(src, dst)
	}
	var s string
	switch x := src.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return fmt.Errorf("%w: delimited input is %s, not a string", ErrInvalidFeature, typeName(src))
	}
	return parseDelimited(s, e.delim, e.prefixSep, dst)
}

// parseDelimited parses "v1# v2# …" into dst. Spaces around values are
// ignored, as is one trailing delimiter; the count must match exactly, since
// a short or long row means the producer and the model disagree.
func parseDelimited(s, delim, prefixSep string, dst []float64) error {
	if prefixSep != "" {
		_, rest, ok := strings.Cut(s, prefixSep)
		if !ok {
			return fmt.Errorf("%w: prefix separator %q not found", ErrInvalidFeature, prefixSep)
		}
		s = rest
	}
	s = strings.TrimSpace(s)
	if t, ok := strings.CutSuffix(s, delim); ok {
		s = t
	}
	if s == "" {
		return fmt.Errorf("%w: no values", ErrInvalidFeature)
	}
	n := 0
	for {
		tok, rest, found := strings.Cut(s, delim)
		if n == len(dst) {
			return fmt.Errorf("%w: more than %d values", ErrInvalidFeature, len(dst))
		}
		f, err := parseNumber(tok)
		if err != nil {
			return fmt.Errorf("%w: value %d: %w", ErrInvalidFeature, n+1, err)
		}
		dst[n] = f
		n++
		if !found {
			break
		}
		s = rest
	}
	if n != len(dst) {
		return fmt.Errorf("%w: got %d values, the model wants %d", ErrInvalidFeature, n, len(dst))
	}
	return nil
}

func arrayFeatures(v any, dst []float64) error {
	var n int
	get := func(i int) any { return nil }
	switch a := v.(type) {
	case []any:
		n, get = len(a), func(i int) any { return a[i] }
	case []float64:
		n, get = len(a), func(i int) any { return a[i] }
	case []float32:
		n, get = len(a), func(i int) any { return a[i] }
	case []int64:
		n, get = len(a), func(i int) any { return a[i] }
	default:
		return fmt.Errorf("%w: array input is %s, not an array", ErrInvalidFeature, typeName(v))
	}
	if n != len(dst) {
		return fmt.Errorf("%w: array has %d values, the model wants %d", ErrInvalidFeature, n, len(dst))
	}
	for i := range n {
		f, err := toNumber(get(i))
		if err != nil {
			return fmt.Errorf("%w: element %d: %w", ErrInvalidFeature, i, err)
		}
		dst[i] = f
	}
	return nil
}

// lookup finds name in m, first as a literal key, then as a dotted path
// into nested maps.
func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = m
	for part := range strings.SplitSeq(name, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// toNumber converts a schemaless value to a finite float64. Strings holding
// a number are accepted because bad producers send "21.5"; booleans and
// NaN/Inf are not features.
func toNumber(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int16:
		f = float64(x)
	case int8:
		f = float64(x)
	case float32:
		f = float64(x)
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	case nil:
		return 0, errors.New("null")
	default:
		return 0, fmt.Errorf("%s is not a number", typeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not finite", f)
	}
	return f, nil
}

func parseNumber(s string) (float64, error) {
	t := strings.TrimSpace(s)
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		if len(t) > 32 {
			t = t[:32] + "…"
		}
		return 0, fmt.Errorf("%q is not a finite number", t)
	}
	return f, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a map"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}
