package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchLine is one parsed `go test -bench` result line.
type benchLine struct {
	Name    string             `json:"name"`
	N       int64              `json:"n"`
	Metrics map[string]float64 `json:"metrics"` // unit → value (ns/op, B/op, rows/s, …)
}

var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

func parseBench(out []byte) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		n, _ := strconv.ParseInt(m[2], 10, 64)
		l := benchLine{Name: m[1], N: n, Metrics: map[string]float64{}}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				l.Metrics[f[i+1]] = v
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func goBench(ctx context.Context, o options, pkg, pattern string, extra ...string) ([]benchLine, string, error) {
	args := append([]string{"test", "-count=1", "-run", "^$", "-bench", pattern}, extra...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.root
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	command := "go " + strings.Join(args, " ")
	log.Printf("%s", command)
	if err != nil {
		return nil, command, fmt.Errorf("%s: %v\n%s", command, err, out)
	}
	lines := parseBench(out)
	if len(lines) == 0 {
		return nil, command, fmt.Errorf("%s: no benchmark lines in:\n%s", command, out)
	}
	return lines, command, nil
}

// best keeps, per name, the line with the lowest ns/op (of -count runs).
func best(lines []benchLine) map[string]benchLine {
	out := map[string]benchLine{}
	for _, l := range lines {
		if b, ok := out[l.Name]; !ok || l.Metrics["ns/op"] < b.Metrics["ns/op"] {
			out[l.Name] = l
		}
	}
	return out
}

func benchGoTest(ctx context.Context, o options, res *Results) error {
	chainLines, chainCmd, err := goBench(ctx, o, "./transforms/", "^BenchmarkChain$", "-benchtime", "3000x", "-count", "3")
	if err != nil {
		return err
	}
	chain := best(chainLines)
	for _, mode := range []string{"schemaless", "schema"} {
		l, ok := chain["BenchmarkChain/"+mode]
		if !ok {
			return fmt.Errorf("BenchmarkChain/%s missing", mode)
		}
		ns := l.Metrics["ns/op"]
		res.add(Figure{Section: "transforms", Name: "5-step transform chain, " + mode + " (Cast → ReplaceField → InsertField → TimestampConverter → Expression)",
			Value: ns, Unit: "ns/record", Note: fmt.Sprintf("best of 3; %.0f records/s per core; %.0f B, %.0f allocs per record; no limit (pure CPU)",
				1e9/ns, l.Metrics["B/op"], l.Metrics["allocs/op"])})
	}

	if os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH") == "" {
		return fmt.Errorf("ONNXRUNTIME_SHARED_LIBRARY_PATH is not set (eval \"$(bash scripts/services.sh env)\")")
	}
	anLines, anCmd, err := goBench(ctx, o, "./transforms/anomaly/", "^Benchmark(Transform|BareSession|JSONPipeline)$", "-benchtime", "1s")
	if err != nil {
		return err
	}
	an := best(anLines)
	for _, n := range []string{"64", "512", "1"} {
		t, ok1 := an["BenchmarkTransform/batch="+n]
		b, ok2 := an["BenchmarkBareSession/batch="+n]
		if !ok1 || !ok2 {
			return fmt.Errorf("anomaly batch=%s results missing", n)
		}
		res.add(Figure{Section: "anomaly scoring", Name: "AnomalyScore ApplyBatch, batch " + n, Value: t.Metrics["rows/s"], Unit: "rows/s",
			LimitName: "bare ONNX Runtime session, same model, threads and batch", LimitValue: b.Metrics["rows/s"],
			Note: fmt.Sprintf("CPU ns/row %.0f vs %.0f (bare)", t.Metrics["cpu-ns/row"], b.Metrics["cpu-ns/row"])})
	}
	without, ok1 := an["BenchmarkJSONPipeline/without-transform"]
	with, ok2 := an["BenchmarkJSONPipeline/with-transform"]
	if ok1 && ok2 {
		res.add(Figure{Section: "anomaly scoring", Name: "JSON decode + score + encode, 512 rows", Value: with.Metrics["rows/s"], Unit: "rows/s",
			LimitName: "JSON decode + encode without the transform", LimitValue: without.Metrics["rows/s"],
			Note: fmt.Sprintf("the transform's share of a JSON pipeline's per-record cost (CPU ns/row %.0f vs %.0f)", with.Metrics["cpu-ns/row"], without.Metrics["cpu-ns/row"])})
	}
	res.Details["go_test"] = map[string]any{"commands": []string{chainCmd, anCmd}, "transforms": chainLines, "anomaly": anLines}
	return nil
}
