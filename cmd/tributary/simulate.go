package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/carsim"
	"github.com/tributary-io/tributary/simulate"
)

func init() {
	commands["simulate"] = command{
		summary: "publish simulated connected-car readings to an MQTT broker",
		run: func(args []string) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSimulate(ctx, args, os.Stdout, os.Stderr, isTerminal(os.Stderr))
		},
	}
}

type simulateFlags struct {
	opts        simulate.Options
	progress    bool
	summaryJSON bool
}

func parseSimulateFlags(args []string, stderr io.Writer, tty bool) (simulateFlags, error) {
	var f simulateFlags
	o := &f.opts
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: tributary simulate [flags]

Publishes simulated connected-car readings to MQTT until --count messages were
acknowledged by the broker, --duration passed, or Ctrl-C.
  json       one reading per message on <topic-prefix>/<car id>
  delimited  the original demo's "eventid,v1# … v210" on --topic
With QoS 1 or 2 a message counts as sent once the broker acknowledged it.
A progress line (sent, rate, errors) is shown when stderr is a terminal or
with --progress; a summary follows at the end (as JSON on stdout with
--summary-json).

flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URI")
	fs.StringVar(&o.Username, "username", "", "MQTT user name")
	fs.StringVar(&o.Password, "password", "", "MQTT password")
	fs.StringVar(&o.TopicPrefix, "topic-prefix", "vehicles/sensor/data", "json: topic prefix; the topic is <prefix>/<car id>")
	fs.StringVar(&o.Topic, "topic", "car/engine/temperature", "delimited: the topic")
	fs.StringVar(&o.Format, "format", simulate.FormatJSON, "json or delimited")
	fs.IntVar(&o.Cars, "cars", 100, "number of simulated cars (json)")
	fs.Float64Var(&o.Rate, "rate", 100, "messages per second in total; 0 = as fast as the broker acknowledges")
	fs.Int64Var(&o.Count, "count", 0, "messages to send in total; 0 = no limit")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to publish, e.g. 30s; 0 = no limit")
	qos := fs.Int("qos", 1, "MQTT QoS 0, 1 or 2")
	fs.Float64Var(&o.FailureRate, "failure-rate", 0.05, "expected fraction of failing readings (anomalous windows), 0..1")
	fs.Int64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same readings")
	modes := fs.String("modes", "", "json: comma-separated failure modes to inject (default all: "+joinModes()+")")
	fs.IntVar(&o.Clients, "clients", 1, "parallel publishing connections (cars are split among them)")
	fs.IntVar(&o.Window, "window", 256, "most unacknowledged publishes per connection")
	fs.StringVar(&o.ClientID, "client-id", "", "client id prefix (default tributary-sim-<random>)")
	fs.BoolVar(&f.progress, "progress", tty, "show a live progress line on stderr (default: when stderr is a terminal)")
	fs.BoolVar(&f.summaryJSON, "summary-json", false, "print the summary as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *qos < 0 || *qos > 2 {
		return f, fmt.Errorf("--qos must be 0, 1 or 2, not %d", *qos)
	}
	o.QoS = byte(*qos)
	if *modes != "" {
		for _, s := range strings.Split(*modes, ",") {
			m, err := carsim.ParseFailureMode(strings.TrimSpace(s))
			if err != nil || m == carsim.None {
				return f, fmt.Errorf("--modes: unknown failure mode %q (known: %s)", s, joinModes())
			}
			o.Modes = append(o.Modes, m)
		}
	}
	return f, nil
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	f, err := parseSimulateFlags(args, stderr, tty)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tributary simulate: %v\n", err)
		return 2
	}
	var counters simulate.Counters
	progressDone := make(chan struct{})
	progressCtx, stopProgress := context.WithCancel(ctx)
	go func() { // owned here; ends with stopProgress
		defer close(progressDone)
		if f.progress {
			showProgress(progressCtx, stderr, &counters)
		}
	}()
	sum, err := simulate.Run(ctx, f.opts, &counters)
	stopProgress()
	<-progressDone
	if err != nil {
		fmt.Fprintf(stderr, "tributary simulate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "sent %d, errors %d, elapsed %.1fs, avg %.0f msg/s (%d clients, qos %d, %s)\n",
		sum.Sent, sum.Errors, sum.ElapsedSeconds, sum.AvgRate, sum.Clients, sum.QoS, sum.Format)
	if f.summaryJSON {
		if err := json.NewEncoder(stdout).Encode(sum); err != nil {
			fmt.Fprintf(stderr, "tributary simulate: writing summary: %v\n", err)
			return 1
		}
	}
	if sum.Errors > 0 {
		return 1
	}
	return 0
}

// showProgress rewrites one stderr line about once a second.
func showProgress(ctx context.Context, w io.Writer, c *simulate.Counters) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last, lastAt := int64(0), start
	for {
		select {
		case <-ctx.Done():
			fmt.Fprint(w, "\r\033[K")
			return
		case now := <-t.C:
			sent := c.Sent.Load()
			rate := float64(sent-last) / now.Sub(lastAt).Seconds()
			last, lastAt = sent, now
			fmt.Fprintf(w, "\r\033[Ksent %d  rate %.0f msg/s  errors %d  elapsed %s",
				sent, rate, c.Errors.Load(), now.Sub(start).Round(time.Second))
		}
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
