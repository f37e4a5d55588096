// Package elasticsearch is Tributary's Elasticsearch sink connector. It
// accepts the configuration of Confluent's
// io.confluent.connect.elasticsearch.ElasticsearchSinkConnector and writes
// records idempotently: document ids are deterministic (the key, or
// topic+partition+offset) and keyed documents carry the offset as external
// version, so replays overwrite instead of duplicating.
package elasticsearch

import (
	"context"
	"maps"

	"github.com/tributary-io/tributary/connect"
)

// Class is the Kafka Connect class name the connector stands in for.
const Class = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"

func init() {
	connect.Register(connect.Plugin{
		Class:   Class,
		Kind:    connect.KindSink,
		Version: "0.1.0",
		Summary: "Writes records to Elasticsearch 7 as documents, idempotently, with Confluent's option names.",
		Config:  ConfigDef,
		New:     func() any { return &Connector{} },
	})
}

// Connector hands every task the connector's config; the runtime spreads
// the topic partitions over the tasks.
type Connector struct {
	raw map[string]string
}

var _ connect.SinkConnector = (*Connector)(nil)

// Start checks the settings that only make sense together.
func (c *Connector) Start(_ context.Context, cfg connect.Config, _ connect.ConnectorContext) error {
	if _, err := parseSettings(cfg); err != nil {
		return err
	}
	c.raw = cfg.Raw()
	return nil
}

// TaskConfigs returns maxTasks copies of the config.
func (c *Connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = maps.Clone(c.raw)
	}
	return out, nil
}

// Stop has nothing to release.
func (c *Connector) Stop() error { return nil }

// NewTask returns a new sink task.
func (c *Connector) NewTask() connect.SinkTask { return &Task{} }
