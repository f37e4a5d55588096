package worker

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Connector config keys handled by the runtime, as Kafka Connect names them.
const (
	NameConfig           = "name"
	ConnectorClassConfig = "connector.class"
	TasksMaxConfig       = "tasks.max"
	TransformsConfig     = "transforms"
	PredicatesConfig     = "predicates"
	TopicsConfig         = "topics"
	TopicsRegexConfig    = "topics.regex"

	ErrorsRetryTimeout     = "errors.retry.timeout"
	ErrorsRetryDelayMax    = "errors.retry.delay.max.ms"
	ErrorsTolerance        = "errors.tolerance"
	ErrorsLogEnable        = "errors.log.enable"
	ErrorsLogIncludeMsgs   = "errors.log.include.messages"
	DLQTopicName           = "errors.deadletterqueue.topic.name"
	DLQReplicationFactor   = "errors.deadletterqueue.topic.replication.factor"
	DLQContextHeadersEnabl = "errors.deadletterqueue.context.headers.enable"
)

const (
	groupCommon     = "Common"
	groupTransforms = "Transforms"
	groupPredicates = "Predicates"
	groupErrors     = "Error Handling"
)

// baseConnectorDef declares the keys every connector has.
func baseConnectorDef(kind connect.Kind) *connect.ConfigDef {
	d := connect.NewConfigDef(
		connect.ConfigKey{Name: NameConfig, Type: connect.TypeString, Importance: connect.High, Group: groupCommon, OrderInGroup: 1,
			Documentation: "Globally unique name of the connector.", Validator: validConnectorName},
		connect.ConfigKey{Name: ConnectorClassConfig, Type: connect.TypeString, Importance: connect.High, Group: groupCommon, OrderInGroup: 2,
			Documentation: "Class name or alias of the connector, e.g. io.confluent.connect.mqtt.MqttSourceConnector or MqttSource."},
		connect.ConfigKey{Name: TasksMaxConfig, Type: connect.TypeInt, Default: 1, Importance: connect.High, Group: groupCommon, OrderInGroup: 3,
			Documentation: "Maximum number of tasks for this connector.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: KeyConverterConfig, Type: connect.TypeClass, Optional: true, Importance: connect.Low, Group: groupCommon, OrderInGroup: 4,
			Documentation: "Overrides the worker's key converter."},
		connect.ConfigKey{Name: ValueConverterConfig, Type: connect.TypeClass, Optional: true, Importance: connect.Low, Group: groupCommon, OrderInGroup: 5,
			Documentation: "Overrides the worker's value converter."},
		connect.ConfigKey{Name: HeaderConverterConfig, Type: connect.TypeClass, Optional: true, Importance: connect.Low, Group: groupCommon, OrderInGroup: 6,
			Documentation: "Overrides the worker's header converter."},
		connect.ConfigKey{Name: TransformsConfig, Type: connect.TypeList, Default: []string{}, Importance: connect.Low, Group: groupTransforms, OrderInGroup: 1,
			Documentation: "Aliases of the transformations to apply, in order.", Validator: uniqueAliases},
		connect.ConfigKey{Name: PredicatesConfig, Type: connect.TypeList, Default: []string{}, Importance: connect.Low, Group: groupPredicates, OrderInGroup: 1,
			Documentation: "Aliases of the predicates transformations may refer to.", Validator: uniqueAliases},
		connect.ConfigKey{Name: "config.action.reload", Type: connect.TypeString, Default: "restart", Allowed: []string{"none", "restart"},
			Importance: connect.Low, Group: groupCommon, OrderInGroup: 7, Documentation: "Accepted for compatibility."},
		connect.ConfigKey{Name: ErrorsRetryTimeout, Type: connect.TypeLong, Default: int64(0), Importance: connect.Medium, Group: groupErrors, OrderInGroup: 1,
			Documentation: "Total time in ms a failed operation is retried; 0 means no retries, -1 retries forever.", Validator: connect.AtLeast(-1)},
		connect.ConfigKey{Name: ErrorsRetryDelayMax, Type: connect.TypeLong, Default: int64(60000), Importance: connect.Medium, Group: groupErrors, OrderInGroup: 2,
			Documentation: "Cap in ms of the exponential backoff (with jitter) between retries.", Validator: connect.AtLeast(1)},
		connect.ConfigKey{Name: ErrorsTolerance, Type: connect.TypeString, Default: "none", Allowed: []string{"none", "all"}, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 3,
			Documentation: "none: a failed record fails the task; all: failed records are skipped (and dead-lettered when a DLQ is set)."},
		connect.ConfigKey{Name: ErrorsLogEnable, Type: connect.TypeBoolean, Default: false, Importance: connect.Medium, Group: groupErrors, OrderInGroup: 4,
			Documentation: "Log each failed operation and record."},
		connect.ConfigKey{Name: ErrorsLogIncludeMsgs, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupErrors, OrderInGroup: 5,
			Documentation: "Include the record's key and value in those logs."},
		connect.ConfigKey{Name: DLQTopicName, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupErrors, OrderInGroup: 6,
			Documentation: "Topic receiving records that failed (sources and sinks alike)."},
		connect.ConfigKey{Name: DLQReplicationFactor, Type: connect.TypeShort, Default: 3, Importance: connect.Low, Group: groupErrors, OrderInGroup: 7,
			Documentation: "Replication factor of the dead-letter topic when it is created; capped at the number of brokers.", Validator: connect.AtLeast(-1)},
		connect.ConfigKey{Name: DLQContextHeadersEnabl, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupErrors, OrderInGroup: 8,
			Documentation: "Add __connect.errors.* headers describing the failure to dead-lettered records."},
	)
	if kind == connect.KindSink {
		d.Define(
			connect.ConfigKey{Name: TopicsConfig, Type: connect.TypeList, Default: []string{}, Importance: connect.High, Group: groupCommon, OrderInGroup: 8,
				Documentation: "Topics to consume; give this or topics.regex."},
			connect.ConfigKey{Name: TopicsRegexConfig, Type: connect.TypeString, Default: "", Importance: connect.High, Group: groupCommon, OrderInGroup: 9,
				Documentation: "Regular expression of topics to consume; give this or topics.", Validator: connect.ValidRegex},
		)
		d.Check(func(c connect.Config) []connect.FieldError {
			topics, re := c.List(TopicsConfig), c.String(TopicsRegexConfig)
			switch {
			case len(topics) > 0 && re != "":
				return []connect.FieldError{{Key: TopicsConfig, Message: "topics and topics.regex are mutually exclusive"}}
			case len(topics) == 0 && re == "":
				return []connect.FieldError{{Key: TopicsConfig, Message: "Must configure one of topics or topics.regex"}}
			}
			if dlq := c.String(DLQTopicName); dlq != "" && (slices.Contains(topics, dlq) || matches(re, dlq)) {
				return []connect.FieldError{{Key: DLQTopicName, Message: "The dead letter queue topic must not be one of the topics the connector consumes"}}
			}
			return nil
		})
	}
	return d
}

func matches(re, s string) bool {
	if re == "" {
		return false
	}
	r, err := regexp.Compile("^(?:" + re + ")$")
	return err == nil && r.MatchString(s)
}

func validConnectorName(v any) error {
	s := v.(string)
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("connector name must not be empty")
	case strings.ContainsAny(s, "/\\"), strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("connector name must not contain slashes or control characters")
	}
	return nil
}

func uniqueAliases(v any) error {
	seen := map[string]bool{}
	for _, a := range v.([]string) {
		if a == "" {
			return fmt.Errorf("empty alias")
		}
		if seen[a] {
			return fmt.Errorf("duplicate alias %q", a)
		}
		seen[a] = true
	}
	return nil
}

// ConnectorDef is everything known about one connector config: its plugin
// and the full definition (framework keys, plugin keys, every configured
// transform's and predicate's keys under their prefixes).
type ConnectorDef struct {
	Plugin connect.Plugin
	Def    *connect.ConfigDef
}

// ResolveConnectorDef builds the full definition of raw. It fails only when
// connector.class is missing or unknown; every other problem shows in
// Validate.
func ResolveConnectorDef(reg *connect.Registry, raw map[string]string) (*ConnectorDef, error) {
	class := raw[ConnectorClassConfig]
	if class == "" {
		return nil, &connect.ConfigError{Fields: []connect.FieldError{{Key: ConnectorClassConfig, Message: "Missing required configuration \"connector.class\" which has no default value."}}}
	}
	p, err := reg.Lookup(class, connect.KindSource, connect.KindSink)
	if err != nil {
		return nil, &connect.ConfigError{Fields: []connect.FieldError{{Key: ConnectorClassConfig, Message: err.Error()}}}
	}
	def := baseConnectorDef(p.Kind).Merge(p.Config)
	def = enrich(reg, def, raw, TransformsConfig, "transforms.", groupTransforms, connect.KindTransformation, true)
	def = enrich(reg, def, raw, PredicatesConfig, "predicates.", groupPredicates, connect.KindPredicate, false)
	return &ConnectorDef{Plugin: p, Def: def}, nil
}

// enrich adds, per alias, the `<prefix><alias>.type` key and, when the type
// resolves, the plugin's keys under `<prefix><alias>.`.
func enrich(reg *connect.Registry, def *connect.ConfigDef, raw map[string]string, listKey, prefix, group string, kind connect.Kind, transform bool) *connect.ConfigDef {
	aliases := splitList(raw[listKey])
	predicates := splitList(raw[PredicatesConfig])
	for _, alias := range aliases {
		if alias == "" {
			continue
		}
		p := prefix + alias + "."
		g := group + ": " + alias
		keys := []connect.ConfigKey{{Name: p + "type", Type: connect.TypeClass, Importance: connect.High, Group: g, OrderInGroup: 0,
			Documentation: "Class or alias of the " + string(kind) + ".",
			Validator: func(v any) error {
				_, err := reg.Lookup(v.(string), kind)
				return err
			}}}
		if transform {
			keys = append(keys,
				connect.ConfigKey{Name: p + "predicate", Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: g, OrderInGroup: 1,
					Documentation: "Alias of a predicate; the transformation applies only to records matching it.",
					Validator: func(v any) error {
						if s := v.(string); s != "" && !slices.Contains(predicates, s) {
							return fmt.Errorf("predicate %q is not listed in %s", s, PredicatesConfig)
						}
						return nil
					}},
				connect.ConfigKey{Name: p + "negate", Type: connect.TypeBoolean, Default: false, Importance: connect.Medium, Group: g, OrderInGroup: 2,
					Documentation: "Apply the transformation to records that do NOT match the predicate."})
		}
		for _, k := range keys {
			if _, dup := def.Key(k.Name); !dup {
				def.Define(k)
			}
		}
		if pl, err := reg.Lookup(raw[p+"type"], kind); err == nil {
			def = def.Merge(pl.Config.WithPrefix(p, g))
		}
	}
	return def
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// ConfigInfos is Kafka Connect's validation answer.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ConfigInfo pairs a key's definition with its validated value.
type ConfigInfo struct {
	Definition ConfigKeyInfo   `json:"definition"`
	Value      ConfigValueInfo `json:"value"`
}

// ConfigKeyInfo is one key's definition as REST shows it.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	OrderInGroup  int      `json:"order_in_group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
}

// ConfigValueInfo is one key's validated value.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// KeyInfo renders one key's definition.
func KeyInfo(k connect.ConfigKey) ConfigKeyInfo {
	info := ConfigKeyInfo{Name: k.Name, Type: string(k.Type), Required: k.Required(), DefaultValue: connect.FormatDefault(k),
		Importance: string(k.Importance), Documentation: k.Documentation, OrderInGroup: k.OrderInGroup, Width: string(k.Width),
		DisplayName: k.DisplayName, Dependents: k.Dependents}
	if k.Group != "" {
		g := k.Group
		info.Group = &g
	}
	if info.Dependents == nil {
		info.Dependents = []string{}
	}
	return info
}

// KeyInfos renders a whole definition, as GET /connector-plugins/{p}/config.
func KeyInfos(def *connect.ConfigDef) []ConfigKeyInfo {
	keys := def.Keys()
	out := make([]ConfigKeyInfo, len(keys))
	for i, k := range keys {
		out[i] = KeyInfo(k)
	}
	return out
}

// ValidateConnectorConfig answers PUT /connector-plugins/{p}/config/validate
// and guards every create and update.
func ValidateConnectorConfig(reg *connect.Registry, raw map[string]string, opts ...ValidateOption) (ConfigInfos, *ConnectorDef) {
	var o validateOptions
	for _, opt := range opts {
		opt(&o)
	}
	return validateResolved(reg, raw, o.resolver)
}

func validateRaw(reg *connect.Registry, raw map[string]string) (ConfigInfos, *ConnectorDef) {
	cd, err := ResolveConnectorDef(reg, raw)
	if err != nil {
		def := baseConnectorDef(connect.KindSource)
		infos := buildInfos(raw[ConnectorClassConfig], def, def.Validate(raw))
		for i := range infos.Configs {
			if infos.Configs[i].Definition.Name == ConnectorClassConfig && len(infos.Configs[i].Value.Errors) == 0 {
				infos.Configs[i].Value.Errors = []string{configErrorMessage(err)}
				infos.ErrorCount++
			}
		}
		return infos, nil
	}
	return buildInfos(cd.Plugin.Class, cd.Def, cd.Def.Validate(raw)), cd
}

func configErrorMessage(err error) string {
	if ce, ok := err.(*connect.ConfigError); ok && len(ce.Fields) > 0 {
		return ce.Fields[0].Message
	}
	return err.Error()
}

func buildInfos(name string, def *connect.ConfigDef, values []connect.ConfigValue) ConfigInfos {
	infos := ConfigInfos{Name: name, Groups: []string{}, Configs: make([]ConfigInfo, 0, len(values))}
	for _, v := range values {
		k, ok := def.Key(v.Name)
		if !ok {
			k = connect.ConfigKey{Name: v.Name, Type: connect.TypeString, Importance: connect.Low, Width: connect.WidthNone, DisplayName: v.Name, Optional: true}
		}
		ki := KeyInfo(k)
		if ki.Group != nil && !slices.Contains(infos.Groups, *ki.Group) {
			infos.Groups = append(infos.Groups, *ki.Group)
		}
		errs := v.Errors
		if errs == nil {
			errs = []string{}
		}
		infos.ErrorCount += len(errs)
		infos.Configs = append(infos.Configs, ConfigInfo{Definition: ki,
			Value: ConfigValueInfo{Name: v.Name, Value: v.Value, RecommendedValues: v.RecommendedValues, Errors: errs, Visible: v.Visible}})
	}
	return infos
}

// FieldErrors flattens an answer into "key: message" lines for a 400.
func (ci ConfigInfos) FieldErrors() []string {
	var out []string
	for _, c := range ci.Configs {
		for _, e := range c.Value.Errors {
			out = append(out, c.Definition.Name+": "+e)
		}
	}
	return out
}
