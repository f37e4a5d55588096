package worker

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Worker config keys, named as Kafka Connect names them.
const (
	BootstrapServersConfig   = "bootstrap.servers"
	ListenersConfig          = "listeners"
	KeyConverterConfig       = "key.converter"
	ValueConverterConfig     = "value.converter"
	HeaderConverterConfig    = "header.converter"
	OffsetFileConfig         = "offset.storage.file.filename"
	OffsetFlushIntervalCfg   = "offset.flush.interval.ms"
	OffsetFlushTimeoutConfig = "offset.flush.timeout.ms"
	GracefulShutdownConfig   = "task.shutdown.graceful.timeout.ms"
	GroupIDConfig            = "group.id"
	PprofEnableConfig        = "rest.pprof.enable"
)

const (
	jsonConverterClass   = "org.apache.kafka.connect.json.JsonConverter"
	simpleHeaderConverer = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)

// Client prefixes whose keys go to the Kafka clients, in librdkafka's names.
var clientPrefixes = []string{"producer.", "consumer.", "admin."}

// clientPassthrough are top-level worker keys handed to every Kafka client.
var clientPassthrough = []string{"security.protocol", "sasl.", "ssl.", "client.dns.lookup", "socket."}

func workerConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: BootstrapServersConfig, Type: connect.TypeList, Importance: connect.High,
			Documentation: "Kafka brokers to bootstrap from, host:port,…", Validator: connect.NonEmptyList},
		connect.ConfigKey{Name: ListenersConfig, Type: connect.TypeList, Default: []string{"http://127.0.0.1:8083"}, Importance: connect.Low,
			Documentation: "REST listeners, e.g. http://0.0.0.0:8083 or https://host:8443.", Validator: validListeners},
		connect.ConfigKey{Name: KeyConverterConfig, Type: connect.TypeClass, Default: jsonConverterClass, Importance: connect.High,
			Documentation: "Converter for record keys; settings go under key.converter.*."},
		connect.ConfigKey{Name: ValueConverterConfig, Type: connect.TypeClass, Default: jsonConverterClass, Importance: connect.High,
			Documentation: "Converter for record values; settings go under value.converter.*."},
		connect.ConfigKey{Name: HeaderConverterConfig, Type: connect.TypeClass, Default: simpleHeaderConverer, Importance: connect.Low,
			Documentation: "Converter for header values."},
		connect.ConfigKey{Name: OffsetFileConfig, Type: connect.TypeString, Default: "", Importance: connect.High,
			Documentation: "Standalone mode: file holding source connector offsets."},
		connect.ConfigKey{Name: OffsetFlushIntervalCfg, Type: connect.TypeLong, Default: int64(10000), Importance: connect.Low, Validator: connect.AtLeast(1),
			Documentation: "How often offsets are committed. Kafka Connect's default is 60000; a shorter interval bounds the replay after a crash."},
		connect.ConfigKey{Name: OffsetFlushTimeoutConfig, Type: connect.TypeLong, Default: int64(5000), Importance: connect.Low, Validator: connect.AtLeast(1),
			Documentation: "How long an offset commit may wait for outstanding records before it is retried at the next interval."},
		connect.ConfigKey{Name: GracefulShutdownConfig, Type: connect.TypeLong, Default: int64(5000), Importance: connect.Low, Validator: connect.AtLeast(0),
			Documentation: "How long tasks get to stop gracefully."},
		connect.ConfigKey{Name: GroupIDConfig, Type: connect.TypeString, Optional: true, Importance: connect.High,
			Documentation: "Distributed mode: the cluster this worker joins."},
		connect.ConfigKey{Name: "rest.advertised.host.name", Type: connect.TypeString, Optional: true, Importance: connect.Low,
			Documentation: "Host name other workers use to reach this one."},
		connect.ConfigKey{Name: "rest.advertised.port", Type: connect.TypeInt, Optional: true, Importance: connect.Low,
			Documentation: "Port other workers use to reach this one."},
		connect.ConfigKey{Name: "rest.advertised.listener", Type: connect.TypeString, Optional: true, Importance: connect.Low,
			Allowed: []string{"http", "https"}, Documentation: "Which listener to advertise."},
		connect.ConfigKey{Name: "plugin.path", Type: connect.TypeList, Optional: true, Importance: connect.Low,
			Documentation: "Accepted for compatibility; Tributary's plugins are compiled in."},
		connect.ConfigKey{Name: PprofEnableConfig, Type: connect.TypeBoolean, Default: false, Importance: connect.Low,
			Documentation: "Serve Go's pprof profiles under /debug/pprof/ on the REST listener (behind the same authentication)."},
	)
}

func validListeners(v any) error {
	for _, l := range v.([]string) {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("listener %q must look like http://host:port or https://host:port", l)
		}
	}
	return nil
}

// Config is a parsed worker configuration.
type Config struct {
	connect.Config
	Props map[string]string
}

// ParseConfig validates a worker configuration and fails with every problem
// listed at once.
func ParseConfig(props map[string]string) (*Config, error) {
	c, err := workerConfigDef().Parse(props)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	return &Config{Config: c, Props: props}, nil
}

// LoadConfigFile reads and parses a worker .properties file.
func LoadConfigFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("worker config %s: %w", path, err)
	}
	return ParseConfig(props)
}

// ClientConfig returns librdkafka settings for one kind of client
// ("producer", "consumer", "admin"): bootstrap servers, security settings
// and the worker's `<kind>.` overrides, then the connector's
// `<kind>.override.` ones.
func (c *Config) ClientConfig(kind string, connectorOverrides map[string]string) map[string]string {
	out := map[string]string{"bootstrap.servers": strings.Join(c.List(BootstrapServersConfig), ",")}
	for k, v := range c.Props {
		for _, p := range clientPassthrough {
			if strings.HasPrefix(k, p) || k == strings.TrimSuffix(p, ".") {
				out[k] = v
			}
		}
		if rest, ok := strings.CutPrefix(k, kind+"."); ok {
			out[rest] = v
		}
	}
	for k, v := range connectorOverrides {
		if rest, ok := strings.CutPrefix(k, kind+".override."); ok {
			out[rest] = v
		}
	}
	return out
}

// FlushInterval is offset.flush.interval.ms.
func (c *Config) FlushInterval() time.Duration { return c.Duration(OffsetFlushIntervalCfg) }

// GracefulTimeout is task.shutdown.graceful.timeout.ms.
func (c *Config) GracefulTimeout() time.Duration { return c.Duration(GracefulShutdownConfig) }

// Def exposes the worker's config definition for docs.
func WorkerConfigDef() *connect.ConfigDef { return workerConfigDef() }
