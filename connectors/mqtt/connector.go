// Package mqtt is the MQTT source connector. It accepts the option names of
// Confluent's MQTT source (io.confluent.connect.mqtt.MqttSourceConnector)
// and acknowledges a message to the broker only after Kafka has the record;
// see README.md for the exact delivery guarantee.
package mqtt

import (
	"context"
	"log/slog"
	"maps"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Class is the Kafka Connect class name this connector stands in for.
const Class = "io.confluent.connect.mqtt.MqttSourceConnector"

func init() {
	connect.Register(connect.Plugin{
		Class:   Class,
		Kind:    connect.KindSource,
		Version: "1.0.0",
		Summary: "MQTT topics into Kafka; acknowledges to the broker only after Kafka has the record",
		Config:  ConfigDef,
		New:     func() any { return &Connector{} },
	})
}

// Connector splits the subscription across tasks.
type Connector struct {
	raw map[string]string
	log *slog.Logger
}

// Start keeps the config for TaskConfigs and warns about settings that
// cannot deliver at least once.
func (c *Connector) Start(_ context.Context, cfg connect.Config, cc connect.ConnectorContext) error {
	c.raw = cfg.Raw()
	c.log = cc.Logger()
	switch {
	case cfg.Int(QoSConfig) == 0:
		c.log.Warn("mqtt.qos=0 is at most once: messages published while the connector is down or reconnecting are lost")
	case cfg.Bool(CleanSessionConfig):
		c.log.Warn("mqtt.clean.session.enabled=true discards the session on every (re)connect: messages not yet in Kafka " +
			"when a task stops or its connection drops are lost; set it to false for at-least-once delivery")
	}
	return nil
}

// TaskConfigs returns one config per task. Several tasks only make sense
// with shared subscriptions (otherwise each would get every message), so
// "never" runs one task and "auto" shares as soon as there are two.
func (c *Connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	mode := strings.ToLower(strings.TrimSpace(c.raw[SharedConfig]))
	if mode == "" {
		mode = sharedAuto
	}
	n := max(maxTasks, 1)
	shared := sharedOff
	switch mode {
	case sharedOff:
		n = 1
	case sharedOn:
		shared = sharedOn
	default:
		if n > 1 {
			shared = sharedOn
		}
	}
	out := make([]map[string]string, n)
	for i := range out {
		m := maps.Clone(c.raw)
		m[SharedConfig] = shared
		out[i] = m
	}
	return out, nil
}

// Stop has nothing to release; the tasks own the connections.
func (c *Connector) Stop() error { return nil }

// NewTask returns a task.
func (c *Connector) NewTask() connect.SourceTask { return NewTask() }
