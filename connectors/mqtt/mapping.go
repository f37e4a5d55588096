package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// TopicRule maps MQTT topics matching Regex to the Kafka topic Template,
// which may refer to the regex's groups ($1, ${name}).
type TopicRule struct {
	Template string
	Regex    *regexp.Regexp
}

// ParseTopicRules parses Confluent MQTT proxy style rules,
// "<kafka topic template>:<regex>" each. The first ':' separates the two,
// which is unambiguous because Kafka topic names cannot contain ':'.
func ParseTopicRules(specs []string) ([]TopicRule, error) {
	rules := make([]TopicRule, 0, len(specs))
	for _, spec := range specs {
		tmpl, expr, ok := strings.Cut(spec, ":")
		tmpl, expr = strings.TrimSpace(tmpl), strings.TrimSpace(expr)
		if !ok || tmpl == "" || expr == "" {
			return nil, fmt.Errorf("rule %q must be <kafka topic>:<regex>", spec)
		}
		// Anchored: a rule describes the whole MQTT topic, as in the proxy.
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", spec, err)
		}
		if err := checkTemplate(tmpl, re); err != nil {
			return nil, fmt.Errorf("rule %q: %w", spec, err)
		}
		rules = append(rules, TopicRule{Template: tmpl, Regex: re})
	}
	return rules, nil
}

var templateRef = regexp.MustCompile(`\$(?:\{([^}]*)\}|([A-Za-z0-9_]+))`)

// checkTemplate rejects references to groups the regex does not have and
// literal characters Kafka does not allow, so mistakes show at validation
// rather than as odd topic names at runtime.
func checkTemplate(tmpl string, re *regexp.Regexp) error {
	for _, m := range templateRef.FindAllStringSubmatch(tmpl, -1) {
		ref := m[1] + m[2]
		if n, err := strconv.Atoi(ref); err == nil {
			if n > re.NumSubexp() {
				return fmt.Errorf("template refers to group %d but the regex has %d", n, re.NumSubexp())
			}
			continue
		}
		if re.SubexpIndex(ref) < 0 {
			return fmt.Errorf("template refers to unknown group %q", ref)
		}
	}
	literal := templateRef.ReplaceAllString(tmpl, "")
	for i := 0; i < len(literal); i++ {
		if !kafkaTopicChar(literal[i]) {
			return fmt.Errorf("template has character %q that Kafka topic names cannot contain", literal[i])
		}
	}
	return nil
}

// TopicMapper picks the Kafka topic of an MQTT topic.
type TopicMapper struct {
	rules    []TopicRule
	fallback string
}

// NewTopicMapper returns a mapper; fallback is used when no rule matches.
func NewTopicMapper(rules []TopicRule, fallback string) *TopicMapper {
	return &TopicMapper{rules: rules, fallback: fallback}
}

// Map returns the Kafka topic for mqttTopic.
func (m *TopicMapper) Map(mqttTopic string) string {
	for _, r := range m.rules {
		idx := r.Regex.FindStringSubmatchIndex(mqttTopic)
		if idx == nil {
			continue
		}
		out := sanitizeTopic(string(r.Regex.ExpandString(nil, r.Template, mqttTopic, idx)))
		if out != "" {
			return out
		}
	}
	return m.fallback
}

// sanitizeTopic replaces what Kafka does not allow in topic names (MQTT
// levels carry '/', devices put anything in them) and caps the length.
// It returns "" when nothing usable is left.
func sanitizeTopic(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !kafkaTopicChar(c) {
			b[i] = '_'
		}
	}
	if len(b) > 249 {
		b = b[:249]
	}
	out := string(b)
	if out == "." || out == ".." {
		return ""
	}
	return out
}

// ParseJSON decodes a payload as a Connect value: objects become
// map[string]any, arrays []any, integers int64, other numbers float64.
// Trailing data after the value is an error.
func ParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("parse json payload: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse json payload: data after the JSON value")
	}
	return convertNumbers(v), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
		return x
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			// Out of float64 range; the decoder accepted the syntax, so
			// keep the text rather than fail the record.
			return s
		}
		return f
	default:
		return v
	}
}

// errNoField means the key field is absent from the payload.
var errNoField = errors.New("key field not found")

// ExtractField follows a dotted path through nested JSON objects.
func ExtractField(v any, path []string) (any, error) {
	cur := v
	for i, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			where := "payload"
			if i > 0 {
				where = strings.Join(path[:i], ".")
			}
			return nil, fmt.Errorf("%w: %s is not an object", errNoField, where)
		}
		cur, ok = m[p]
		if !ok {
			return nil, fmt.Errorf("%w: %s", errNoField, strings.Join(path[:i+1], "."))
		}
	}
	return cur, nil
}
