package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/tributary-io/tributary/connect"
)

// Header names set on every record.
const (
	HeaderTopic        = "mqtt.topic"
	HeaderQoS          = "mqtt.qos"
	HeaderRetained     = "mqtt.retained"
	HeaderDuplicate    = "mqtt.duplicate"
	HeaderMessageID    = "mqtt.message.id"
	HeaderPayloadError = "mqtt.payload.error"
)

// pollWait is how long Poll blocks when nothing is buffered: short enough
// for the runtime to notice pauses and stops quickly.
const pollWait = 500 * time.Millisecond

// settings is the task's parsed view of its config.
type settings struct {
	clientID    string
	filters     []string
	qos         byte
	mapper      *TopicMapper
	keySource   string
	keyPath     []string
	format      string
	invalid     string
	maxInflight int
	pollBatch   int
}

// Task is one MQTT client. Messages flow paho handler → buffer → Poll →
// runtime → CommitRecord, where they are acknowledged to the broker. A
// semaphore of mqtt.max.inflight tokens, taken in the handler and given
// back in CommitRecord, bounds what the task holds unacknowledged; when it
// is exhausted the handler blocks, paho stops reading the socket and the
// broker keeps the rest.
type Task struct {
	log    *slog.Logger
	s      settings
	client paho.Client

	buf  chan paho.Message // capacity maxInflight: a send after taking a token never blocks
	sem  chan struct{}
	done chan struct{} // closed by Stop; releases a handler blocked on sem
	once sync.Once

	mu      sync.Mutex
	pending map[*connect.Record]paho.Message
	failure error // a subscription the broker refused; Poll reports it

	subscribed chan error // the first subscription's outcome, for Start
	subOnce    sync.Once
}

// NewTask returns an unstarted task.
func NewTask() *Task { return &Task{} }

// Start connects and subscribes; it returns once the subscriptions are
// granted, so nothing published after Start returns is missed.
func (t *Task) Start(ctx context.Context, cfg connect.Config, tc connect.SourceTaskContext) error {
	t.log = tc.Logger()
	s, err := taskSettings(cfg, tc.ConnectorName(), tc.TaskID())
	if err != nil {
		return err
	}
	t.s = s
	t.buf = make(chan paho.Message, s.maxInflight)
	t.sem = make(chan struct{}, s.maxInflight)
	t.done = make(chan struct{})
	t.pending = make(map[*connect.Record]paho.Message)
	t.subscribed = make(chan error, 1)

	opts, err := t.clientOptions(cfg)
	if err != nil {
		return err
	}
	t.client = paho.NewClient(opts)
	timeout := time.Duration(cfg.Int(ConnectTimeoutConfig)) * time.Second
	tok := t.client.Connect()
	if !tok.WaitTimeout(timeout + time.Second) {
		t.client.Disconnect(0)
		return connect.Retriable(fmt.Errorf("connect to %s: timed out after %s", strings.Join(cfg.List(ServerURIConfig), ","), timeout))
	}
	if err := tok.Error(); err != nil {
		// Network trouble is worth a retry; a refused login is too, as a
		// broker's auth backend may be down. The runtime bounds retries.
		return connect.Retriable(fmt.Errorf("connect to %s as %q: %w", strings.Join(cfg.List(ServerURIConfig), ","), s.clientID, err))
	}
	select {
	case err := <-t.subscribed:
		if err != nil {
			t.client.Disconnect(0)
			return err
		}
	case <-time.After(timeout):
		t.client.Disconnect(0)
		return connect.Retriable(fmt.Errorf("subscribe to %v: timed out after %s", s.filters, timeout))
	case <-ctx.Done():
		t.client.Disconnect(0)
		return ctx.Err()
	}
	t.log.Info("mqtt task started", "client_id", s.clientID, "filters", s.filters, "qos", s.qos,
		"clean_session", cfg.Bool(CleanSessionConfig), "session_present", tok.(*paho.ConnectToken).SessionPresent())
	return nil
}

func taskSettings(cfg connect.Config, connector string, taskID int) (settings, error) {
	rules, err := ParseTopicRules(cfg.List(TopicRegexListConfig))
	if err != nil {
		return settings{}, fmt.Errorf("%s: %w", TopicRegexListConfig, err)
	}
	s := settings{
		clientID:    cfg.String(ClientIDPrefixConfig) + connector + "-" + strconv.Itoa(taskID),
		qos:         byte(cfg.Int(QoSConfig)),
		mapper:      NewTopicMapper(rules, cfg.String(KafkaTopicConfig)),
		keySource:   strings.ToLower(cfg.String(KeySourceConfig)),
		format:      strings.ToLower(cfg.String(PayloadFormatConfig)),
		invalid:     strings.ToLower(cfg.String(PayloadInvalidConfig)),
		maxInflight: cfg.Int(MaxInflightConfig),
		pollBatch:   cfg.Int(PollBatchConfig),
	}
	if f := cfg.String(KeyFieldConfig); f != "" {
		s.keyPath = strings.Split(f, ".")
	}
	// "auto" is resolved by the connector's TaskConfigs; a task started
	// without it (auto left) runs unshared, which is right for one task.
	shared := strings.EqualFold(cfg.String(SharedConfig), sharedOn)
	group := cfg.String(SharedGroupConfig)
	if group == "" {
		group = ShareGroup(connector)
	}
	for _, f := range cfg.List(TopicsConfig) {
		if shared {
			f = sharedSubscriptionRoot + group + "/" + f
		}
		s.filters = append(s.filters, f)
	}
	return s, nil
}

// ShareGroup derives the shared subscription group from a connector name;
// characters MQTT reserves in a share name become '_'.
func ShareGroup(connector string) string {
	return "tributary_" + strings.Map(func(r rune) rune {
		if r == '/' || r == '+' || r == '#' {
			return '_'
		}
		return r
	}, connector)
}

func (t *Task) clientOptions(cfg connect.Config) (*paho.ClientOptions, error) {
	o := paho.NewClientOptions()
	secure := false
	for _, s := range cfg.List(ServerURIConfig) {
		o.AddBroker(s)
		if u, err := url.Parse(s); err == nil {
			switch strings.ToLower(u.Scheme) {
			case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps", "wss":
				secure = true
			}
		}
	}
	o.SetClientID(t.s.clientID)
	o.SetCleanSession(cfg.Bool(CleanSessionConfig))
	o.SetKeepAlive(time.Duration(cfg.Int(KeepAliveConfig)) * time.Second)
	o.SetConnectTimeout(time.Duration(cfg.Int(ConnectTimeoutConfig)) * time.Second)
	o.SetAutoReconnect(true)
	o.SetMaxReconnectInterval(cfg.Duration(ReconnectMaxConfig))
	o.SetUsername(cfg.String(UsernameConfig))
	o.SetPassword(cfg.Password(PasswordConfig))
	// Acknowledge only in CommitRecord, after Kafka has the record.
	o.SetAutoAckDisabled(true)
	// In order, on paho's router goroutine: a blocked handler is what
	// stops reading from the socket (backpressure), instead of one
	// goroutine per message piling up.
	o.SetOrderMatters(true)
	// The default handler also takes what a persistent session delivers
	// right after CONNACK, before our subscriptions are re-registered;
	// without one paho would neither deliver nor acknowledge those.
	o.SetDefaultPublishHandler(t.onMessage)
	o.SetOnConnectHandler(t.onConnect)
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		t.log.Warn("mqtt connection lost; reconnecting", "client_id", t.s.clientID, "error", err)
	})
	o.SetReconnectingHandler(func(_ paho.Client, _ *paho.ClientOptions) {
		t.log.Info("mqtt reconnecting", "client_id", t.s.clientID)
	})
	tlsCfg, err := tlsConfig(cfg, secure)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		o.SetTLSConfig(tlsCfg)
	}
	return o, nil
}

func tlsConfig(cfg connect.Config, secure bool) (*tls.Config, error) {
	ca, cert, key := cfg.String(CAFileConfig), cfg.String(CertFileConfig), cfg.String(KeyFileConfig)
	if !secure && ca == "" && cert == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.Bool(InsecureConfig)} //nolint:gosec // opt-in for tests
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", CAFileConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s: no PEM certificate found", CAFileConfig, ca)
		}
		c.RootCAs = pool
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s / %s: %w", cert, key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// onConnect (re)subscribes on every connection: a broker that lost the
// session (clean session, or restarted without persistence) has forgotten
// the subscriptions. Re-subscribing a kept session is harmless, except
// that brokers resend retained messages (a duplicate, never a loss).
func (t *Task) onConnect(c paho.Client) {
	filters := make(map[string]byte, len(t.s.filters))
	for _, f := range t.s.filters {
		filters[f] = t.s.qos
	}
	tok := c.SubscribeMultiple(filters, nil)
	var err error
	select {
	case <-tok.Done():
		err = tok.Error()
	case <-t.done:
		return
	}
	if err == nil {
		for f, code := range tok.(*paho.SubscribeToken).Result() {
			if code == 0x80 {
				err = errors.Join(err, fmt.Errorf("broker refused subscription %q", f))
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("subscribe %v: %w", t.s.filters, err)
		t.mu.Lock()
		t.failure = err
		t.mu.Unlock()
	} else {
		t.log.Debug("mqtt subscribed", "client_id", t.s.clientID, "filters", t.s.filters)
	}
	t.subOnce.Do(func() { t.subscribed <- err })
}

// onMessage runs on paho's router goroutine; blocking it is the
// backpressure. A message it gives up on (Stop) stays unacknowledged, so a
// persistent session redelivers it.
func (t *Task) onMessage(_ paho.Client, m paho.Message) {
	select {
	case t.sem <- struct{}{}:
	case <-t.done:
		return
	}
	t.buf <- m
}

// Poll returns what arrived, waiting up to pollWait for the first message.
func (t *Task) Poll(ctx context.Context) ([]*connect.Record, error) {
	t.mu.Lock()
	failure := t.failure
	t.mu.Unlock()
	if failure != nil {
		return nil, failure
	}
	var first paho.Message
	timer := time.NewTimer(pollWait)
	defer timer.Stop()
	select {
	case first = <-t.buf:
	case <-timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, nil
	case <-t.done:
		return nil, nil
	}
	out := make([]*connect.Record, 0, min(t.s.pollBatch, len(t.buf)+1))
	m := first
	for {
		rec, err := t.toRecord(m)
		switch {
		case err != nil:
			// Not acknowledged: the broker keeps it for the next run.
			return nil, fmt.Errorf("mqtt message %d on %q: %w", m.MessageID(), m.Topic(), err)
		case rec == nil:
			t.done1(m)
		default:
			t.mu.Lock()
			t.pending[rec] = m
			t.mu.Unlock()
			out = append(out, rec)
		}
		if len(out) >= t.s.pollBatch {
			return out, nil
		}
		select {
		case m = <-t.buf:
		default:
			return out, nil
		}
	}
}

// toRecord converts a message; nil, nil means skip it.
func (t *Task) toRecord(m paho.Message) (*connect.Record, error) {
	payload := m.Payload()
	rec := &connect.Record{
		Topic:     t.s.mapper.Map(m.Topic()),
		Partition: connect.AnyPartition,
		Timestamp: time.Now(),
		Headers: connect.Headers{
			{Key: HeaderTopic, Value: m.Topic()},
			{Key: HeaderQoS, Value: int32(m.Qos())},
			{Key: HeaderRetained, Value: m.Retained()},
			{Key: HeaderDuplicate, Value: m.Duplicate()},
			{Key: HeaderMessageID, Value: int32(m.MessageID())},
		},
	}
	var parsed any
	var perr error
	if t.s.format == formatJSON || t.s.keySource == keyField {
		parsed, perr = ParseJSON(payload)
	}
	switch t.s.keySource {
	case keyTopic:
		rec.Key = m.Topic()
	case keyField:
		if perr == nil {
			rec.Key, perr = ExtractField(parsed, t.s.keyPath)
		}
	}
	switch t.s.format {
	case formatJSON:
		rec.Value = parsed
	case formatString:
		rec.Value = string(payload)
	default:
		rec.Value = payload
	}
	if perr == nil {
		return rec, nil
	}
	switch t.s.invalid {
	case invalidSkip:
		t.log.Warn("skipping mqtt message", "topic", m.Topic(), "message_id", m.MessageID(), "error", perr)
		return nil, nil
	case invalidBytes:
		rec.Value = payload
		rec.Headers = append(rec.Headers, connect.Header{Key: HeaderPayloadError, Value: perr.Error()})
		return rec, nil
	default:
		return nil, perr
	}
}

// CommitRecord acknowledges the record's message to the broker: Kafka has
// it (written) or the runtime dropped it on purpose; either way it is done.
func (t *Task) CommitRecord(rec *connect.Record, _ bool) error {
	t.mu.Lock()
	m, ok := t.pending[rec]
	delete(t.pending, rec)
	t.mu.Unlock()
	if ok {
		t.done1(m)
	}
	return nil
}

// done1 acknowledges one message and frees its in-flight slot. After a
// reconnect paho drops acks of messages from the old connection; the
// broker redelivers those (a duplicate, not a loss).
func (t *Task) done1(m paho.Message) {
	m.Ack()
	<-t.sem
}

// Stop disconnects without acknowledging what Kafka has not confirmed, so
// a persistent session keeps those messages for the next start.
func (t *Task) Stop() error {
	if t.done == nil {
		return nil
	}
	t.once.Do(func() {
		close(t.done)
		if t.client == nil {
			return
		}
		if t.client.IsConnectionOpen() {
			t.flushAcks()
		}
		t.client.Disconnect(250)
	})
	return nil
}

// flushAcks waits until the broker has processed the acknowledgements sent
// so far. Closing a socket with unread input makes the kernel send a reset,
// and a reset makes the broker drop what it had not read yet — our last
// acks — so those messages would come back as duplicates. The broker
// handles a client's packets in order, so the answer to an UNSUBSCRIBE
// (of a filter we never subscribed) proves the earlier acks were handled.
func (t *Task) flushAcks() {
	tok := t.client.Unsubscribe("tributary/flush/" + t.s.clientID)
	if !tok.WaitTimeout(2*time.Second) || tok.Error() != nil {
		t.log.Warn("mqtt: could not confirm the last acknowledgements before disconnecting; the broker may redeliver them",
			"client_id", t.s.clientID, "error", tok.Error())
	}
}

// Health reports a refused subscription while the task still runs.
func (t *Task) Health() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failure
}

// InFlight returns how many messages the task holds unacknowledged.
func (t *Task) InFlight() int { return len(t.sem) }
