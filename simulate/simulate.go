// Package simulate publishes simulated connected-car readings (package
// carsim) to an MQTT broker: the engine of `tributary simulate`, kept out
// of cmd/ so tests and benchmarks can drive it.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tributary-io/tributary/carsim"
)

// Formats of the published payloads.
const (
	FormatJSON      = "json"      // one carsim reading as JSON per message, topic <prefix>/<car id>
	FormatDelimited = "delimited" // the original demo's "eventid,v1# … v210", one topic
)

// Options configure a run. Zero Count and Duration mean "until ctx ends".
type Options struct {
	Broker      string  // e.g. tcp://127.0.0.1:1883
	Username    string  // optional
	Password    string  // optional
	TopicPrefix string  // JSON: topic is TopicPrefix/<car id>
	Topic       string  // delimited: the one topic
	Format      string  // FormatJSON or FormatDelimited
	Cars        int     // JSON: simulated cars, split across clients
	Rate        float64 // messages per second in total; 0 = as fast as acknowledgements allow
	Count       int64   // messages in total; 0 = no limit
	Duration    time.Duration
	QoS         byte
	FailureRate float64              // fraction of readings (JSON) or windows (delimited) with a failure
	Modes       []carsim.FailureMode // JSON: failures to inject; empty means all
	Seed        int64
	Clients     int    // parallel publishing connections
	Window      int    // most unacknowledged publishes per client
	ClientID    string // client id prefix; "-<n>" is appended
}

// Counters are updated while a run goes on, for a progress display.
type Counters struct {
	Sent   atomic.Int64 // acknowledged by the broker (QoS 1/2) or written (QoS 0)
	Errors atomic.Int64 // publishes that failed
}

// Summary is the outcome of a run.
type Summary struct {
	Sent           int64   `json:"sent"`
	Errors         int64   `json:"errors"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	AvgRate        float64 `json:"avg_rate"`
	Clients        int     `json:"clients"`
	QoS            int     `json:"qos"`
	Format         string  `json:"format"`
}

func (o *Options) check() error {
	switch {
	case o.Broker == "":
		return errors.New("a broker URI is required")
	case o.Format != FormatJSON && o.Format != FormatDelimited:
		return fmt.Errorf("format must be %s or %s, got %q", FormatJSON, FormatDelimited, o.Format)
	case o.QoS > 2:
		return fmt.Errorf("qos must be 0, 1 or 2, got %d", o.QoS)
	case o.Clients < 1:
		return fmt.Errorf("clients must be at least 1, got %d", o.Clients)
	case o.Format == FormatJSON && o.Cars < 1:
		return fmt.Errorf("cars must be at least 1, got %d", o.Cars)
	case o.Rate < 0 || o.Count < 0 || o.Duration < 0:
		return errors.New("rate, count and duration must not be negative")
	case o.FailureRate < 0 || o.FailureRate > 1:
		return fmt.Errorf("failure rate must be in [0, 1], got %v", o.FailureRate)
	}
	if o.Window < 1 {
		o.Window = 256
	}
	if o.ClientID == "" {
		o.ClientID = "tributary-sim-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return nil
}

// source yields the next message of one client.
type source func(now time.Time, buf []byte) (topic string, payload []byte)

// Run publishes until Count messages were sent, Duration passed or ctx
// ended. A message counts as sent once the broker acknowledged it (QoS
// 1/2), so after Run returns the broker holds Sent messages. It fails only
// when it cannot start; publish failures are counted in Errors.
func Run(ctx context.Context, o Options, c *Counters) (Summary, error) {
	if err := o.check(); err != nil {
		return Summary{}, err
	}
	if c == nil {
		c = &Counters{}
	}
	clients := o.Clients
	if o.Format == FormatJSON {
		clients = min(clients, o.Cars) // a car belongs to one client, so its readings stay in order
	}
	sources, err := newSources(o, clients)
	if err != nil {
		return Summary{}, err
	}
	conns := make([]paho.Client, clients)
	for i := range conns {
		conns[i], err = connect(ctx, o, i)
		if err != nil {
			for _, cl := range conns[:i] {
				cl.Disconnect(250)
			}
			return Summary{}, err
		}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		count := int64(0)
		if o.Count > 0 {
			count = o.Count / int64(clients)
			if int64(i) < o.Count%int64(clients) {
				count++
			}
			if count == 0 {
				continue
			}
		}
		wg.Go(func() {
			publishLoop(ctx, conns[i], sources[i], o, o.Rate/float64(clients), count, c)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, cl := range conns {
		cl.Disconnect(250)
	}
	s := Summary{Sent: c.Sent.Load(), Errors: c.Errors.Load(), ElapsedSeconds: elapsed.Seconds(),
		Clients: clients, QoS: int(o.QoS), Format: o.Format}
	if elapsed > 0 {
		s.AvgRate = float64(s.Sent) / elapsed.Seconds()
	}
	return s, nil
}

func newSources(o Options, clients int) ([]source, error) {
	out := make([]source, clients)
	if o.Format == FormatDelimited {
		gen, err := carsim.NewECG(o.Seed, o.FailureRate)
		if err != nil {
			return nil, fmt.Errorf("ecg generator: %w", err)
		}
		// One generator shared by all clients keeps event ids unique and
		// the sequence the same whatever the client count; generating a
		// window is cheap next to publishing it.
		var mu sync.Mutex
		var r carsim.ECGReading
		for i := range out {
			out[i] = func(_ time.Time, buf []byte) (string, []byte) {
				mu.Lock()
				defer mu.Unlock()
				gen.NextInto(&r)
				return o.Topic, r.AppendDelimited(buf)
			}
		}
		return out, nil
	}
	first := 0
	for i := range out {
		n := o.Cars / clients
		if i < o.Cars%clients {
			n++
		}
		gen, err := carsim.New(carsim.Options{Cars: n, FirstCar: first, Seed: o.Seed, FailureRate: o.FailureRate, Modes: o.Modes})
		if err != nil {
			return nil, fmt.Errorf("car generator: %w", err)
		}
		first += n
		var r carsim.Reading
		out[i] = func(now time.Time, buf []byte) (string, []byte) {
			gen.NextInto(&r, now)
			return o.TopicPrefix + "/" + r.CarID, r.AppendJSON(buf)
		}
	}
	return out, nil
}

func connect(ctx context.Context, o Options, i int) (paho.Client, error) {
	opts := paho.NewClientOptions().AddBroker(o.Broker).
		SetClientID(o.ClientID + "-" + strconv.Itoa(i)).
		SetUsername(o.Username).SetPassword(o.Password).
		SetConnectTimeout(10 * time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(5 * time.Second).
		SetOrderMatters(false)
	cl := paho.NewClient(opts)
	tok := cl.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.Broker, err)
	}
	return cl, nil
}

// publishLoop publishes count messages (0: until ctx ends) at rate
// messages/s (0: unpaced), keeping at most o.Window unacknowledged.
func publishLoop(ctx context.Context, cl paho.Client, next source, o Options, rate float64, count int64, c *Counters) {
	window := make(chan paho.Token, o.Window)
	settle := func(tok paho.Token) {
		// Bounded: a publish stuck behind a broker that never comes back
		// counts as an error instead of hanging the run.
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			c.Errors.Add(1)
		} else {
			c.Sent.Add(1)
		}
	}
	// Drain the window in its own goroutine so publishing never waits on
	// the oldest ack unless the window is full.
	var drained sync.WaitGroup
	drained.Go(func() {
		for tok := range window {
			settle(tok)
		}
	})
	defer func() {
		close(window)
		drained.Wait()
	}()

	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	start := time.Now()
	buf := make([]byte, 0, 2048)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); count == 0 || i < count; i++ {
		if interval > 0 {
			// Absolute schedule: a late message is sent at once, so the
			// average rate holds even with coarse timers.
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		topic, payload := next(time.Now(), buf[:0])
		// paho keeps the payload until the packet is written; give it
		// its own copy since buf is reused.
		tok := cl.Publish(topic, o.QoS, false, append([]byte(nil), payload...))
		select {
		case window <- tok:
		case <-ctx.Done():
			settle(tok)
			return
		}
	}
}
