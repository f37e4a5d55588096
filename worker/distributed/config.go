// Package distributed runs a cluster of workers that share connectors and
// tasks through Kafka: state in three compacted topics, membership on
// Kafka's group coordinator, assignment computed by the leader. See
// docs/distributed.md for the protocol.
package distributed

import (
	"fmt"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/worker"
)

// Worker keys of distributed mode, named as Kafka Connect names them.
const (
	ConfigTopicConfig        = "config.storage.topic"
	ConfigReplicationConfig  = "config.storage.replication.factor"
	OffsetTopicConfig        = "offset.storage.topic"
	OffsetPartitionsConfig   = "offset.storage.partitions"
	OffsetReplicationConfig  = "offset.storage.replication.factor"
	StatusTopicConfig        = "status.storage.topic"
	StatusPartitionsConfig   = "status.storage.partitions"
	StatusReplicationConfig  = "status.storage.replication.factor"
	SessionTimeoutConfig     = "session.timeout.ms"
	HeartbeatIntervalConfig  = "heartbeat.interval.ms"
	RebalanceTimeoutConfig   = "rebalance.timeout.ms"
	ScheduledRebalanceConfig = "scheduled.rebalance.max.delay.ms"
)

// ConfigDef declares the keys distributed mode adds to the worker's.
func ConfigDef() *connect.ConfigDef {
	rf := func(name, what string) connect.ConfigKey {
		return connect.ConfigKey{Name: name, Type: connect.TypeInt, Default: -1, Importance: connect.Low,
			Documentation: "Replication factor of the " + what + " topic when Tributary creates it; -1 uses the broker's default. Capped at the number of brokers."}
	}
	return connect.NewConfigDef(
		connect.ConfigKey{Name: ConfigTopicConfig, Type: connect.TypeString, Default: "connect-configs", Importance: connect.High, Validator: connect.NonEmptyString,
			Documentation: "Compacted one-partition topic holding connector configs, task configs, target states, restart requests and the assignment."},
		rf(ConfigReplicationConfig, "config"),
		connect.ConfigKey{Name: OffsetTopicConfig, Type: connect.TypeString, Default: "connect-offsets", Importance: connect.High, Validator: connect.NonEmptyString,
			Documentation: "Compacted topic holding source connector offsets."},
		connect.ConfigKey{Name: OffsetPartitionsConfig, Type: connect.TypeInt, Default: 25, Importance: connect.Low, Validator: connect.AtLeast(1),
			Documentation: "Partitions of the offset topic when Tributary creates it."},
		rf(OffsetReplicationConfig, "offset"),
		connect.ConfigKey{Name: StatusTopicConfig, Type: connect.TypeString, Default: "connect-status", Importance: connect.High, Validator: connect.NonEmptyString,
			Documentation: "Compacted topic holding connector and task statuses."},
		connect.ConfigKey{Name: StatusPartitionsConfig, Type: connect.TypeInt, Default: 5, Importance: connect.Low, Validator: connect.AtLeast(1),
			Documentation: "Partitions of the status topic when Tributary creates it."},
		rf(StatusReplicationConfig, "status"),
		connect.ConfigKey{Name: SessionTimeoutConfig, Type: connect.TypeInt, Default: 10000, Importance: connect.High, Validator: connect.AtLeast(1000),
			Documentation: "A worker that sends no heartbeat for this long is considered dead and its work moves; a worker cut off from Kafka this long stops its tasks."},
		connect.ConfigKey{Name: HeartbeatIntervalConfig, Type: connect.TypeInt, Default: 3000, Importance: connect.High, Validator: connect.AtLeast(100),
			Documentation: "How often a worker heartbeats to the group coordinator; below session.timeout.ms/3."},
		connect.ConfigKey{Name: RebalanceTimeoutConfig, Type: connect.TypeInt, Default: 60000, Importance: connect.Medium, Validator: connect.AtLeast(1000),
			Documentation: "How long members get to rejoin during a rebalance (librdkafka's max.poll.interval.ms)."},
		connect.ConfigKey{Name: ScheduledRebalanceConfig, Type: connect.TypeInt, Default: 0, Importance: connect.Medium, Validator: connect.AtLeast(0),
			Documentation: "How long the work of a departed worker waits for it to come back before moving to the others. Kafka Connect's default is 300000 (tasks stay down for up to 5 minutes); Tributary's is 0: tasks restart in seconds and move back when the worker returns."},
	)
}

// Config is the parsed distributed worker configuration.
type Config struct {
	*worker.Config
	Dist connect.Config
}

// ParseConfig validates a worker configuration for distributed mode: the
// worker's keys plus ConfigDef's, with group.id required.
func ParseConfig(props map[string]string) (*Config, error) {
	wc, err := worker.ParseConfig(props)
	if err != nil {
		return nil, err
	}
	dc, err := worker.WorkerConfigDef().Merge(ConfigDef()).Parse(props)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	if dc.String(worker.GroupIDConfig) == "" {
		return nil, fmt.Errorf("worker config: %s is required in distributed mode", worker.GroupIDConfig)
	}
	c := &Config{Config: wc, Dist: dc}
	if c.heartbeat()*3 > c.sessionTimeout() {
		return nil, fmt.Errorf("worker config: %s (%d) must be at most a third of %s (%d)", HeartbeatIntervalConfig,
			dc.Int(HeartbeatIntervalConfig), SessionTimeoutConfig, dc.Int(SessionTimeoutConfig))
	}
	if c.Dist.Duration(RebalanceTimeoutConfig) < c.sessionTimeout() {
		return nil, fmt.Errorf("worker config: %s must be at least %s", RebalanceTimeoutConfig, SessionTimeoutConfig)
	}
	return c, nil
}

func (c *Config) groupID() string                   { return c.Dist.String(worker.GroupIDConfig) }
func (c *Config) sessionTimeout() time.Duration     { return c.Dist.Duration(SessionTimeoutConfig) }
func (c *Config) heartbeat() time.Duration          { return c.Dist.Duration(HeartbeatIntervalConfig) }
func (c *Config) scheduledRebalance() time.Duration { return c.Dist.Duration(ScheduledRebalanceConfig) }
func (c *Config) configTopic() string               { return c.Dist.String(ConfigTopicConfig) }
func (c *Config) offsetTopic() string               { return c.Dist.String(OffsetTopicConfig) }
func (c *Config) statusTopic() string               { return c.Dist.String(StatusTopicConfig) }
