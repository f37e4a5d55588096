package anomaly

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseDelimited(t *testing.T) {
	cases := []struct {
		in, delim, prefix string
		n                 int
		want              []float64
		err               string
	}{
		{in: "2.10# 2.13# 3", delim: "#", n: 3, want: []float64{2.10, 2.13, 3}},
		{in: "17,2.10# 2.13# 3", delim: "#", prefix: ",", n: 3, want: []float64{2.10, 2.13, 3}},
		{in: "  1#2#3#  ", delim: "#", n: 3, want: []float64{1, 2, 3}}, // one trailing delimiter
		{in: "1;-2e1; +3", delim: ";", n: 3, want: []float64{1, -20, 3}},
		{in: "1||2", delim: "||", n: 2, want: []float64{1, 2}},
		{in: "1#2", delim: "#", n: 3, err: "got 2 values"},
		{in: "1#2#3#4", delim: "#", n: 3, err: "more than 3"},
		{in: "1##3", delim: "#", n: 3, err: "value 2"},
		{in: "1#x#3", delim: "#", n: 3, err: `"x" is not a finite number`},
		{in: "1#NaN#3", delim: "#", n: 3, err: "not a finite"},
		{in: "1#Inf#3", delim: "#", n: 3, err: "not a finite"},
		{in: "", delim: "#", n: 3, err: "no values"},
		{in: "1#2#3", delim: "#", prefix: ",", n: 3, err: "prefix separator"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			dst := make([]float64, c.n)
			err := parseDelimited(c.in, c.delim, c.prefix, dst)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrInvalidFeature) {
					t.Fatalf("err %v; want ErrInvalidFeature containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dst, c.want) {
				t.Fatalf("got %v; want %v", dst, c.want)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	cases := []struct {
		name string
		ext  extractor
		v    any
		want []float64
		err  string
	}{
		{"fields", extractor{mode: InputFields, fields: []string{"a", "b"}}, map[string]any{"a": int64(2), "b": "3.5"}, []float64{2, 3.5}, ""},
		{"nested", extractor{mode: InputFields, fields: []string{"s.x", "y"}}, map[string]any{"s": map[string]any{"x": 1.0}, "y": float32(2)}, []float64{1, 2}, ""},
		{"literal dotted key wins", extractor{mode: InputFields, fields: []string{"s.x"}}, map[string]any{"s.x": 5.0, "s": map[string]any{"x": 1.0}}, []float64{5}, ""},
		{"json number", extractor{mode: InputFields, fields: []string{"a"}}, map[string]any{"a": json.Number("7")}, []float64{7}, ""},
		{"missing", extractor{mode: InputFields, fields: []string{"a", "b"}}, map[string]any{"a": 1.0}, nil, `"b" is missing`},
		{"bool", extractor{mode: InputFields, fields: []string{"a"}}, map[string]any{"a": true}, nil, "boolean is not a number"},
		{"not a map", extractor{mode: InputFields, fields: []string{"a"}}, []any{1.0}, nil, "not a map"},
		{"array", extractor{mode: InputArray, field: "v"}, map[string]any{"v": []any{1.0, int64(2), "3"}}, []float64{1, 2, 3}, ""},
		{"array length", extractor{mode: InputArray, field: "v"}, map[string]any{"v": []any{1.0}}, nil, "array has 1 values"},
		{"array of strings field", extractor{mode: InputArray, field: "v"}, map[string]any{"v": "1,2,3"}, nil, "not an array"},
		{"delimited", extractor{mode: InputDelimited, field: "p", delim: "#", prefixSep: ","}, map[string]any{"p": "9,1# 2# 3"}, []float64{1, 2, 3}, ""},
		{"delimited bytes", extractor{mode: InputDelimited, field: "p", delim: "#"}, map[string]any{"p": []byte("1#2#3")}, []float64{1, 2, 3}, ""},
		{"delimited number", extractor{mode: InputDelimited, field: "p", delim: "#"}, map[string]any{"p": 1.0}, nil, "not a string"},
		{"delimited missing", extractor{mode: InputDelimited, field: "p", delim: "#"}, map[string]any{}, nil, `"p" is missing`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(c.want)
			if n == 0 {
				n = max(len(c.ext.fields), 3)
			}
			dst := make([]float64, n)
			err := c.ext.extract(c.v, dst)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v; want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dst, c.want) {
				t.Fatalf("got %v; want %v", dst, c.want)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	good := map[string]string{
		MetaModelName: "car", MetaModelVersion: "3", MetaFeatures: `["a","b"]`,
		MetaScaling:   `{"method":"standard","center":[1,2],"scale":[3,4]}`,
		MetaThreshold: "0.25", MetaThresholdQuantile: "0.995", MetaScore: ScoreReconstruction, "other": "ignored",
	}
	md, err := parseMetadata(good)
	if err != nil {
		t.Fatal(err)
	}
	want := Metadata{Name: "car", Version: "3", Features: []string{"a", "b"},
		Scaling:   &Scaling{Method: "standard", Center: []float64{1, 2}, Scale: []float64{3, 4}},
		Threshold: 0.25, HasThreshold: true, Quantile: "0.995", Score: ScoreReconstruction}
	if !reflect.DeepEqual(md, want) {
		t.Fatalf("got %+v; want %+v", md, want)
	}
	if md, err := parseMetadata(map[string]string{MetaFeatures: " a, b ,c"}); err != nil || !reflect.DeepEqual(md.Features, []string{"a", "b", "c"}) {
		t.Fatalf("comma list: %v %v", md.Features, err)
	}
	if md, err := parseMetadata(nil); err != nil || md.HasThreshold || md.Scaling != nil || md.Features != nil {
		t.Fatalf("empty metadata: %+v %v", md, err)
	}
	bad := []struct{ key, value, want string }{
		{MetaFeatures, `["a",`, "features"},
		{MetaFeatures, `["a","a"]`, "twice"},
		{MetaFeatures, `a,,b`, "empty name"},
		{MetaScaling, `{"center":[1],"scale":[0]}`, "non-zero"},
		{MetaScaling, `{"center":[1,2],"scale":[1]}`, "center has 2"},
		{MetaScaling, `{"center":[],"scale":[]}`, "no center"},
		{MetaScaling, `[]`, "scaling"},
		{MetaThreshold, "high", "not a finite number"},
		{MetaThreshold, "NaN", "not a finite number"},
		{MetaScore, "probability", "unknown score kind"},
	}
	for _, b := range bad {
		if _, err := parseMetadata(map[string]string{b.key: b.value}); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s=%q: err %v; want one containing %q", b.key, b.value, err, b.want)
		}
	}
}

func TestScalingApply(t *testing.T) {
	x := []float64{3, 10}
	dst := make([]float32, 2)
	(&Scaling{Center: []float64{1, 2}, Scale: []float64{2, 4}}).apply(dst, x)
	if dst[0] != 1 || dst[1] != 2 {
		t.Fatalf("per-feature: %v", dst)
	}
	(&Scaling{Center: []float64{1}, Scale: []float64{0.5}}).apply(dst, x)
	if dst[0] != 4 || dst[1] != 18 {
		t.Fatalf("broadcast: %v", dst)
	}
	var none *Scaling
	none.apply(dst, x)
	if dst[0] != 3 || dst[1] != 10 {
		t.Fatalf("nil scaling: %v", dst)
	}
}

// Fuzz: delimited parsing never panics, and on success every value is
// finite and the count is exact.
func FuzzParseDelimited(f *testing.F) {
	for _, s := range []string{"1,2.10# 2.13# 3", "1#2#3#", "##", "1e308#-1e308#0", ",,,", "x,1#2#3", "1 # 2 # 3"} {
		f.Add(s, "#", ",", uint8(3))
	}
	f.Fuzz(func(t *testing.T, s, delim, prefix string, n uint8) {
		if delim == "" {
			delim = "#"
		}
		dst := make([]float64, int(n%16)+1)
		err := parseDelimited(s, delim, prefix, dst)
		if err != nil {
			if !errors.Is(err, ErrInvalidFeature) {
				t.Fatalf("error %v is not ErrInvalidFeature", err)
			}
			return
		}
		for _, v := range dst {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value from %q", s)
			}
		}
	})
}

// Fuzz: metadata parsing never panics; accepted scaling is usable.
func FuzzParseMetadata(f *testing.F) {
	f.Add(`["a","b"]`, `{"method":"standard","center":[1,2],"scale":[3,4]}`, "0.5", "reconstruction_mse")
	f.Add("a,b", `{"center":[0],"scale":[1]}`, "1e-3", "output")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, features, scaling, threshold, score string) {
		md, err := parseMetadata(map[string]string{MetaFeatures: features, MetaScaling: scaling, MetaThreshold: threshold, MetaScore: score})
		if err != nil {
			return
		}
		if md.Scaling != nil {
			dst := make([]float32, 2)
			if md.Scaling.fits(2) {
				md.Scaling.apply(dst, []float64{1, 2})
			}
			for _, s := range md.Scaling.Scale {
				if s == 0 || math.IsNaN(s) {
					t.Fatalf("accepted scale %v", s)
				}
			}
		}
		if md.HasThreshold && (math.IsNaN(md.Threshold) || math.IsInf(md.Threshold, 0)) {
			t.Fatalf("accepted threshold %v", md.Threshold)
		}
		for _, n := range md.Features {
			if strings.TrimSpace(n) == "" {
				t.Fatal("accepted an empty feature name")
			}
		}
	})
}

// Fuzz: extraction from arbitrary JSON values never panics.
func FuzzExtract(f *testing.F) {
	f.Add(`{"a":1,"b":"2","c":[1,2,3],"p":"1,1#2#3"}`)
	f.Add(`{"a":{"b":1}}`)
	f.Add(`[1,2,3]`)
	f.Add(`null`)
	exts := []extractor{
		{mode: InputFields, fields: []string{"a", "b", "a.b"}},
		{mode: InputArray, field: "c"},
		{mode: InputDelimited, field: "p", delim: "#", prefixSep: ","},
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return
		}
		for _, e := range exts {
			dst := make([]float64, 3)
			if err := e.extract(v, dst); err != nil && !errors.Is(err, ErrInvalidFeature) {
				t.Fatalf("error %v is not ErrInvalidFeature", err)
			}
		}
	})
}
