package mqtt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Option names. The first block carries the names of Confluent's MQTT
// source, so its configs work unchanged; the rest are Tributary's additions.
const (
	ServerURIConfig        = "mqtt.server.uri"
	TopicsConfig           = "mqtt.topics"
	KafkaTopicConfig       = "kafka.topic"
	QoSConfig              = "mqtt.qos"
	CleanSessionConfig     = "mqtt.clean.session.enabled"
	ConnectTimeoutConfig   = "mqtt.connect.timeout.seconds"
	KeepAliveConfig        = "mqtt.keepalive.interval.seconds"
	UsernameConfig         = "mqtt.username"
	PasswordConfig         = "mqtt.password"
	CAFileConfig           = "mqtt.ssl.ca.file"
	CertFileConfig         = "mqtt.ssl.cert.file"
	KeyFileConfig          = "mqtt.ssl.key.file"
	InsecureConfig         = "mqtt.ssl.insecure.skip.verify"
	ClientIDPrefixConfig   = "mqtt.client.id.prefix"
	TopicRegexListConfig   = "mqtt.topic.regex.list"
	KeySourceConfig        = "mqtt.key.source"
	KeyFieldConfig         = "mqtt.key.field"
	PayloadFormatConfig    = "mqtt.payload.format"
	PayloadInvalidConfig   = "mqtt.payload.invalid.behavior"
	MaxInflightConfig      = "mqtt.max.inflight"
	PollBatchConfig        = "mqtt.poll.batch.max"
	SharedConfig           = "mqtt.shared.subscription"
	SharedGroupConfig      = "mqtt.shared.subscription.group"
	ReconnectMaxConfig     = "mqtt.reconnect.backoff.max.ms"
	defaultClientIDPrefix  = "tributary-"
	defaultMaxInflight     = 1000
	defaultPollBatch       = 500
	defaultReconnectMaxMs  = 30000
	sharedAuto, sharedOn   = "auto", "always"
	sharedOff              = "never"
	keyTopic, keyField     = "topic", "field"
	keyNone                = "none"
	formatBytes            = "bytes"
	formatString           = "string"
	formatJSON             = "json"
	invalidFail            = "fail"
	invalidBytes           = "bytes"
	invalidSkip            = "skip"
	groupConnection        = "Connection"
	groupSecurity          = "Security"
	groupMessages          = "Messages"
	groupDelivery          = "Delivery"
	sharedSubscriptionRoot = "$share/"
)

// ConfigDef is the MQTT source's one configuration declaration.
var ConfigDef = connect.NewConfigDef(
	connect.ConfigKey{Name: ServerURIConfig, Type: connect.TypeList, Importance: connect.High, Group: groupConnection, OrderInGroup: 1,
		Validator: validateServerURIs,
		Documentation: "MQTT brokers to connect to, e.g. tcp://host:1883 or ssl://host:8883 (schemes tcp, mqtt, ssl, tls, mqtts, ws, wss). " +
			"The client tries them in order and fails over to the next on reconnect."},
	connect.ConfigKey{Name: TopicsConfig, Type: connect.TypeList, Importance: connect.High, Group: groupConnection, OrderInGroup: 2,
		Validator: validateTopicFilters,
		Documentation: "MQTT topic filters to subscribe to; + and # wildcards allowed. With more than one task each filter is " +
			"subscribed as a shared subscription ($share/<group>/<filter>), so every message goes to one task only."},
	connect.ConfigKey{Name: KafkaTopicConfig, Type: connect.TypeString, Importance: connect.High, Group: groupMessages, OrderInGroup: 1,
		Validator:     validateKafkaTopic,
		Documentation: "Kafka topic the records are written to, unless a rule of " + TopicRegexListConfig + " matches the MQTT topic."},
	connect.ConfigKey{Name: QoSConfig, Type: connect.TypeInt, Default: 0, Importance: connect.Medium, Group: groupDelivery, OrderInGroup: 1,
		Validator: connect.Between(0, 2),
		Documentation: "QoS of the subscriptions: 0 at most once, 1 at least once, 2 exactly once between broker and connector. " +
			"Only 1 and 2 (with " + CleanSessionConfig + "=false) give at-least-once delivery into Kafka."},
	connect.ConfigKey{Name: CleanSessionConfig, Type: connect.TypeBoolean, Default: true, Importance: connect.Low, Group: groupDelivery, OrderInGroup: 2,
		Documentation: "Start every connection with a clean session (Confluent's default, true). Set it to false for at-least-once " +
			"delivery: the broker then keeps the task's subscriptions and unacknowledged or queued messages while the task is " +
			"down and redelivers them when the task reconnects with its stable client id."},
	connect.ConfigKey{Name: ConnectTimeoutConfig, Type: connect.TypeInt, Default: 30, Importance: connect.Low, Group: groupConnection, OrderInGroup: 3,
		Validator: connect.AtLeast(1), Documentation: "Seconds to wait for a connection to a broker."},
	connect.ConfigKey{Name: KeepAliveConfig, Type: connect.TypeInt, Default: 60, Importance: connect.Low, Group: groupConnection, OrderInGroup: 4,
		Validator: connect.AtLeast(1), Documentation: "MQTT keep-alive interval in seconds."},
	connect.ConfigKey{Name: ReconnectMaxConfig, Type: connect.TypeLong, Default: defaultReconnectMaxMs, Importance: connect.Low, Group: groupConnection, OrderInGroup: 5,
		Validator: connect.AtLeast(100), Documentation: "Longest wait between reconnect attempts; the wait doubles from 1 s up to this bound."},
	connect.ConfigKey{Name: UsernameConfig, Type: connect.TypeString, Default: "", Importance: connect.High, Group: groupSecurity, OrderInGroup: 1,
		Documentation: "User name to connect with; empty connects without one."},
	connect.ConfigKey{Name: PasswordConfig, Type: connect.TypePassword, Default: connect.Password(""), Importance: connect.High, Group: groupSecurity, OrderInGroup: 2,
		Documentation: "Password to connect with; empty connects without one."},
	connect.ConfigKey{Name: CAFileConfig, Type: connect.TypeString, Default: "", Importance: connect.High, Group: groupSecurity, OrderInGroup: 3,
		Documentation: "PEM file of the CA certificate(s) that verify the broker (instead of Confluent's Java trust store). " +
			"Empty uses the system roots for ssl:// URIs."},
	connect.ConfigKey{Name: CertFileConfig, Type: connect.TypeString, Default: "", Importance: connect.High, Group: groupSecurity, OrderInGroup: 4,
		Documentation: "PEM file of the client certificate for mutual TLS (instead of Confluent's Java key store); needs " + KeyFileConfig + "."},
	connect.ConfigKey{Name: KeyFileConfig, Type: connect.TypeString, Default: "", Importance: connect.High, Group: groupSecurity, OrderInGroup: 5,
		Documentation: "PEM file of the client certificate's private key (unencrypted PKCS#1, PKCS#8 or EC); needs " + CertFileConfig + "."},
	connect.ConfigKey{Name: InsecureConfig, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupSecurity, OrderInGroup: 6,
		Documentation: "Skip verification of the broker's certificate. For tests only."},
	connect.ConfigKey{Name: ClientIDPrefixConfig, Type: connect.TypeString, Default: defaultClientIDPrefix, Importance: connect.Medium, Group: groupDelivery, OrderInGroup: 3,
		Documentation: "Each task's MQTT client id is this prefix + connector name + '-' + task number. It is stable across restarts, " +
			"so a restarted task resumes its persistent session; two connectors must not share it."},
	connect.ConfigKey{Name: SharedConfig, Type: connect.TypeString, Default: sharedAuto, Importance: connect.Medium, Group: groupDelivery, OrderInGroup: 4,
		Allowed:       []string{sharedAuto, sharedOn, sharedOff},
		Documentation: "Use MQTT shared subscriptions: auto uses them when the connector runs more than one task; never runs a single task."},
	connect.ConfigKey{Name: SharedGroupConfig, Type: connect.TypeString, Default: "", Importance: connect.Low, Group: groupDelivery, OrderInGroup: 5,
		Validator:     validateShareGroup,
		Documentation: "Shared subscription group name; empty derives it from the connector name (tributary_<name>)."},
	connect.ConfigKey{Name: MaxInflightConfig, Type: connect.TypeInt, Default: defaultMaxInflight, Importance: connect.Medium, Group: groupDelivery, OrderInGroup: 6,
		Validator: connect.AtLeast(1),
		Documentation: "Most messages a task holds without having acknowledged them to the broker (buffered or on their way to Kafka). " +
			"When reached, the task stops reading from the broker, which keeps the rest (backpressure). Keep it at least the broker's " +
			"per-client in-flight limit (Mosquitto max_inflight_messages)."},
	connect.ConfigKey{Name: PollBatchConfig, Type: connect.TypeInt, Default: defaultPollBatch, Importance: connect.Low, Group: groupDelivery, OrderInGroup: 7,
		Validator: connect.AtLeast(1), Documentation: "Most records returned by one poll."},
	connect.ConfigKey{Name: TopicRegexListConfig, Type: connect.TypeList, Default: []string{}, Importance: connect.Medium, Group: groupMessages, OrderInGroup: 2,
		Validator: validateTopicRules,
		Documentation: "MQTT topic to Kafka topic rules as in Confluent's MQTT proxy topic.regex.list: <kafka topic>:<regex>,... " +
			"The first rule whose regex matches the whole MQTT topic wins; the Kafka topic may use the regex's groups ($1, ${name}). " +
			"Characters Kafka does not allow become '_'. Unmatched topics go to " + KafkaTopicConfig + ". Regexes cannot contain commas."},
	connect.ConfigKey{Name: KeySourceConfig, Type: connect.TypeString, Default: keyTopic, Importance: connect.Medium, Group: groupMessages, OrderInGroup: 3,
		Allowed:       []string{keyTopic, keyField, keyNone},
		Documentation: "Record key: the MQTT topic (topic), a field of the JSON payload (field, see " + KeyFieldConfig + ") or none."},
	connect.ConfigKey{Name: KeyFieldConfig, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupMessages, OrderInGroup: 4,
		Validator:     validateFieldPath,
		Documentation: "Dotted path of the JSON payload field used as key when " + KeySourceConfig + "=field, e.g. car_id or car.vin."},
	connect.ConfigKey{Name: PayloadFormatConfig, Type: connect.TypeString, Default: formatBytes, Importance: connect.Medium, Group: groupMessages, OrderInGroup: 5,
		Allowed: []string{formatBytes, formatString, formatJSON},
		Documentation: "Record value: the payload bytes (bytes, as Confluent's connector), a string, or the parsed JSON " +
			"(json: objects become maps, integers int64, other numbers float64) for JSON converters without schemas."},
	connect.ConfigKey{Name: PayloadInvalidConfig, Type: connect.TypeString, Default: invalidFail, Importance: connect.Medium, Group: groupMessages, OrderInGroup: 6,
		Allowed: []string{invalidFail, invalidBytes, invalidSkip},
		Documentation: "What to do with a payload that " + PayloadFormatConfig + "=json cannot parse or whose key field is missing: " +
			"fail the task (the message stays unacknowledged), pass it on as bytes with header mqtt.payload.error, or skip it (acknowledged, logged)."},
).Check(checkCrossFields)

func checkCrossFields(c connect.Config) []connect.FieldError {
	var errs []connect.FieldError
	if c.String(KeySourceConfig) == keyField && c.String(KeyFieldConfig) == "" {
		errs = append(errs, connect.FieldError{Key: KeyFieldConfig, Message: "required when " + KeySourceConfig + "=field"})
	}
	if (c.String(CertFileConfig) == "") != (c.String(KeyFileConfig) == "") {
		errs = append(errs, connect.FieldError{Key: CertFileConfig, Message: CertFileConfig + " and " + KeyFileConfig + " go together"})
	}
	if c.String(SharedConfig) != sharedOff {
		for _, f := range c.List(TopicsConfig) {
			if strings.HasPrefix(f, sharedSubscriptionRoot) {
				errs = append(errs, connect.FieldError{Key: TopicsConfig,
					Message: fmt.Sprintf("filter %q is already shared; set %s=never to subscribe to it as given", f, SharedConfig)})
			}
		}
	}
	return errs
}

var uriSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "tcps": true, "mqtt+ssl": true, "ws": true, "wss": true}

func validateServerURIs(v any) error {
	l, _ := v.([]string)
	if len(l) == 0 {
		return errors.New("at least one broker URI is required")
	}
	for _, s := range l {
		if err := validateServerURI(s); err != nil {
			return err
		}
	}
	return nil
}

func validateServerURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URI: %w", s, err)
	}
	if !uriSchemes[strings.ToLower(u.Scheme)] {
		return fmt.Errorf("%q: scheme must be one of tcp, mqtt, ssl, tls, mqtts, ws, wss", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

func validateTopicFilters(v any) error {
	l, _ := v.([]string)
	if len(l) == 0 {
		return errors.New("at least one MQTT topic filter is required")
	}
	for _, f := range l {
		if err := ValidTopicFilter(f); err != nil {
			return err
		}
	}
	return nil
}

// ValidTopicFilter checks an MQTT 3.1.1 topic filter (section 4.7).
func ValidTopicFilter(f string) error {
	if f == "" {
		return errors.New("empty topic filter")
	}
	if len(f) > 65535 {
		return errors.New("topic filter longer than 65535 bytes")
	}
	if strings.ContainsRune(f, 0) {
		return fmt.Errorf("topic filter %q contains a NUL character", f)
	}
	levels := strings.Split(f, "/")
	if strings.HasPrefix(f, sharedSubscriptionRoot) {
		if len(levels) < 3 || levels[1] == "" || strings.ContainsAny(levels[1], "+#") {
			return fmt.Errorf("shared subscription %q must be $share/<group>/<filter>", f)
		}
		levels = levels[2:]
	}
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("topic filter %q: # must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("topic filter %q: wildcards must fill a whole level", f)
		}
	}
	return nil
}

func validateKafkaTopic(v any) error {
	s, _ := v.(string)
	if s == "" {
		return errors.New("String must be non-empty")
	}
	if !validKafkaTopic(s) {
		return errors.New("not a legal Kafka topic name (letters, digits, '.', '_', '-', at most 249)")
	}
	return nil
}

func validKafkaTopic(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !kafkaTopicChar(s[i]) {
			return false
		}
	}
	return true
}

func kafkaTopicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

func validateShareGroup(v any) error {
	if s, _ := v.(string); strings.ContainsAny(s, "/+#") {
		return errors.New("a share group name cannot contain '/', '+' or '#'")
	}
	return nil
}

func validateTopicRules(v any) error {
	l, _ := v.([]string)
	_, err := ParseTopicRules(l)
	return err
}

func validateFieldPath(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	for _, p := range strings.Split(s, ".") {
		if p == "" {
			return errors.New("empty element in field path")
		}
	}
	return nil
}
