package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/carsim"
)

func init() {
	commands["generate"] = command{
		summary: "write simulated car readings (JSON lines, CSV or the delimited ECG format) to stdout",
		run:     func(args []string) int { return runGenerate(args, os.Stdout, os.Stderr) },
	}
}

// generateOptions are the flags of `tributary generate`.
type generateOptions struct {
	count       int64
	cars        int
	firstCar    int
	seed        int64
	failureRate float64
	format      string
	labels      bool
	start       time.Time
	interval    time.Duration
	modes       []carsim.FailureMode
}

func parseGenerateFlags(args []string, stderr io.Writer) (generateOptions, error) {
	var o generateOptions
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: tributary generate [flags]

Writes deterministic simulated readings to stdout: the same flags always give
the same bytes. Formats:
  json       one JSON object per line (car_id, timestamp, features,
             failure_mode, failure_occurred)
  csv        a header, then car_id,timestamp,<features>,failure_mode,failure_occurred
  delimited  the original demo's ECG format "eventid,v1# v2# … v210";
             --labels appends ",<label>" (none, arrhythmia, pvc, st_change)
Car readings are stamped start + (i / cars) × interval, so each car reports
once per interval.

flags:
`)
		fs.PrintDefaults()
	}
	fs.Int64Var(&o.count, "count", 1000, "number of readings")
	fs.IntVar(&o.cars, "cars", 100, "number of cars")
	fs.IntVar(&o.firstCar, "first-car", 0, "index of the first car (car ids start there)")
	fs.Int64Var(&o.seed, "seed", 1, "random seed")
	fs.Float64Var(&o.failureRate, "failure-rate", 0.05, "expected fraction of failing (or anomalous) readings, 0..1")
	fs.StringVar(&o.format, "format", "json", "json, csv or delimited")
	fs.BoolVar(&o.labels, "labels", false, "delimited format: append the label as a last column")
	start := fs.String("start", "2024-01-01T00:00:00Z", "timestamp of the first reading (RFC 3339)")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between two readings of one car")
	modes := fs.String("modes", "", "comma-separated failure modes to inject (default all: "+joinModes()+")")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.start, err = time.Parse(time.RFC3339Nano, *start); err != nil {
		return o, fmt.Errorf("parsing --start: %w", err)
	}
	switch {
	case o.count < 0:
		return o, errors.New("--count must not be negative")
	case o.interval < 0:
		return o, errors.New("--interval must not be negative")
	}
	switch o.format {
	case "json", "csv", "delimited":
	default:
		return o, fmt.Errorf("--format must be json, csv or delimited, not %q", o.format)
	}
	if *modes != "" {
		for _, s := range strings.Split(*modes, ",") {
			m, err := carsim.ParseFailureMode(strings.TrimSpace(s))
			if err != nil || m == carsim.None {
				return o, fmt.Errorf("--modes: unknown failure mode %q (known: %s)", s, joinModes())
			}
			o.modes = append(o.modes, m)
		}
	}
	return o, nil
}

func joinModes() string {
	s := make([]string, len(carsim.FailureModes))
	for i, m := range carsim.FailureModes {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

func runGenerate(args []string, stdout, stderr io.Writer) int {
	o, err := parseGenerateFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary generate: %v\n", err)
		return 2
	}
	w := bufio.NewWriterSize(stdout, 1<<20)
	if err := generate(o, w); err != nil {
		fmt.Fprintf(stderr, "tributary generate: %v\n", err)
		return 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "tributary generate: writing output: %v\n", err)
		return 1
	}
	return 0
}

func generate(o generateOptions, w *bufio.Writer) error {
	buf := make([]byte, 0, 2048)
	if o.format == "delimited" {
		e, err := carsim.NewECG(o.seed, o.failureRate)
		if err != nil {
			return err
		}
		var r carsim.ECGReading
		for range o.count {
			e.NextInto(&r)
			buf = r.AppendDelimited(buf[:0])
			if o.labels {
				buf = append(buf, ',')
				buf = append(buf, r.Label...)
			}
			buf = append(buf, '\n')
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
		return nil
	}

	g, err := carsim.New(carsim.Options{Cars: o.cars, FirstCar: o.firstCar, Seed: o.seed, FailureRate: o.failureRate, Modes: o.modes})
	if err != nil {
		return err
	}
	if o.format == "csv" {
		buf = append(buf, "car_id,timestamp,"...)
		buf = append(buf, strings.Join(carsim.FeatureNames, ",")...)
		buf = append(buf, ",failure_mode,failure_occurred\n"...)
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	var (
		r     carsim.Reading
		feats []float64
	)
	for i := range o.count {
		ts := o.start.Add(time.Duration(i/int64(o.cars)) * o.interval)
		g.NextInto(&r, ts)
		buf = buf[:0]
		if o.format == "json" {
			buf = r.AppendJSON(buf)
		} else {
			buf = append(buf, r.CarID...)
			buf = append(buf, ',')
			buf = ts.UTC().AppendFormat(buf, carsim.TimestampLayout)
			feats = r.Features(feats[:0])
			for _, f := range feats {
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, f, 'f', -1, 64)
			}
			buf = append(buf, ',')
			buf = append(buf, r.FailureMode...)
			buf = append(buf, ',')
			buf = strconv.AppendBool(buf, r.FailureOccurred())
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}
