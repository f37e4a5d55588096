package connect

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ConfigType is the type of a config key, named as Kafka Connect names it in
// GET /connector-plugins/{p}/config.
type ConfigType string

const (
	TypeBoolean  ConfigType = "BOOLEAN"
	TypeString   ConfigType = "STRING"
	TypeInt      ConfigType = "INT"
	TypeShort    ConfigType = "SHORT"
	TypeLong     ConfigType = "LONG"
	TypeDouble   ConfigType = "DOUBLE"
	TypeList     ConfigType = "LIST"
	TypeClass    ConfigType = "CLASS"
	TypePassword ConfigType = "PASSWORD"
)

// Importance and Width follow Kafka's ConfigDef.
type Importance string

const (
	High   Importance = "HIGH"
	Medium Importance = "MEDIUM"
	Low    Importance = "LOW"
)

type Width string

const (
	WidthNone   Width = "NONE"
	WidthShort  Width = "SHORT"
	WidthMedium Width = "MEDIUM"
	WidthLong   Width = "LONG"
)

// HiddenValue replaces secret values in everything Tributary shows.
const HiddenValue = "[hidden]"

// Validator checks a parsed value; the error text becomes the field error.
type Validator func(v any) error

// ConfigKey declares one configuration key. A key without Default is
// required, as in Kafka's ConfigDef; Optional marks a key with no default that
// may be absent (its value is then nil).
type ConfigKey struct {
	Name          string
	Type          ConfigType
	Default       any
	Optional      bool
	Importance    Importance
	Documentation string
	Group         string
	OrderInGroup  int
	Width         Width
	DisplayName   string
	Dependents    []string
	Allowed       []string // recommended values; enforced for strings
	Validator     Validator
	Secret        bool // shown as [hidden]; TypePassword implies it
}

// Required reports whether the key must be given.
func (k *ConfigKey) Required() bool { return k.Default == nil && !k.Optional }

// IsSecret reports whether values must be hidden.
func (k *ConfigKey) IsSecret() bool { return k.Secret || k.Type == TypePassword }

// FieldError is a problem with one config key.
type FieldError struct {
	Key     string
	Message string
}

// ConfigError lists every field error of a config. Its message names each key.
type ConfigError struct{ Fields []FieldError }

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = fmt.Sprintf("%s: %s", f.Key, f.Message)
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// ConfigDef is the one declaration of a plugin's configuration. It drives
// parsing, validation, the REST plugin endpoints and the generated docs.
type ConfigDef struct {
	keys   []ConfigKey
	index  map[string]int
	checks []func(Config) []FieldError
}

// NewConfigDef returns a definition holding keys.
func NewConfigDef(keys ...ConfigKey) *ConfigDef {
	d := &ConfigDef{index: map[string]int{}}
	return d.Define(keys...)
}

// Define adds keys; a key defined twice panics because it is a programming error.
func (d *ConfigDef) Define(keys ...ConfigKey) *ConfigDef {
	for _, k := range keys {
		if _, dup := d.index[k.Name]; dup {
			panic("connect: config key defined twice: " + k.Name)
		}
		if k.Importance == "" {
			k.Importance = Medium
		}
		if k.Width == "" {
			k.Width = WidthNone
		}
		if k.DisplayName == "" {
			k.DisplayName = k.Name
		}
		if k.Default != nil {
			if _, err := parseValue(&k, k.Default); err != nil {
				panic(fmt.Sprintf("connect: bad default for %s: %v", k.Name, err))
			}
		}
		d.index[k.Name] = len(d.keys)
		d.keys = append(d.keys, k)
	}
	return d
}

// Check adds a cross-field rule, run after every key parsed.
func (d *ConfigDef) Check(fn func(Config) []FieldError) *ConfigDef {
	d.checks = append(d.checks, fn)
	return d
}

// Merge returns a new definition with d's keys followed by other's, skipping
// keys d already has.
func (d *ConfigDef) Merge(other *ConfigDef) *ConfigDef {
	m := NewConfigDef(d.keys...)
	m.checks = slices.Clone(d.checks)
	if other == nil {
		return m
	}
	for _, k := range other.keys {
		if _, ok := m.index[k.Name]; !ok {
			m.Define(k)
		}
	}
	m.checks = append(m.checks, other.checks...)
	return m
}

// WithPrefix returns a copy whose key names carry prefix and whose group is
// group (when not empty); used for transforms.<alias>.* keys.
func (d *ConfigDef) WithPrefix(prefix, group string) *ConfigDef {
	m := &ConfigDef{index: map[string]int{}}
	for _, k := range d.keys {
		k.Name = prefix + k.Name
		k.DisplayName = k.Name
		if group != "" {
			k.Group = group
		}
		m.Define(k)
	}
	for _, check := range d.checks {
		m.checks = append(m.checks, func(c Config) []FieldError {
			errs := check(c.Sub(prefix))
			for i := range errs {
				errs[i].Key = prefix + errs[i].Key
			}
			return errs
		})
	}
	return m
}

// Keys returns the declared keys in declaration order.
func (d *ConfigDef) Keys() []ConfigKey {
	if d == nil {
		return nil
	}
	return slices.Clone(d.keys)
}

// Key returns one declared key.
func (d *ConfigDef) Key(name string) (ConfigKey, bool) {
	if d == nil {
		return ConfigKey{}, false
	}
	i, ok := d.index[name]
	if !ok {
		return ConfigKey{}, false
	}
	return d.keys[i], true
}

// Parse parses raw against the definition. Keys the definition does not know
// are kept (Kafka Connect passes them through) and are available from Raw,
// unless they look like a typo of a known key, which is an error.
func (d *ConfigDef) Parse(raw map[string]string) (Config, error) {
	values := d.Validate(raw)
	var errs []FieldError
	parsed := make(map[string]any, len(values))
	for _, v := range values {
		for _, m := range v.Errors {
			errs = append(errs, FieldError{Key: v.Name, Message: m})
		}
		parsed[v.Name] = v.parsed
	}
	if len(errs) > 0 {
		return Config{}, &ConfigError{Fields: errs}
	}
	return Config{def: d, values: parsed, raw: maps.Clone(raw)}, nil
}

// ConfigValue is the validation result of one key, shaped like Kafka
// Connect's ConfigValueInfo.
type ConfigValue struct {
	Name              string
	Value             *string // nil when absent
	RecommendedValues []string
	Errors            []string
	Visible           bool
	parsed            any
}

// Validate returns one ConfigValue per declared key plus one per unknown key
// that looks like a typo, each with its errors; it never fails as a whole.
func (d *ConfigDef) Validate(raw map[string]string) []ConfigValue {
	out := make([]ConfigValue, 0, len(d.keys))
	byName := map[string]int{}
	for i := range d.keys {
		k := &d.keys[i]
		cv := ConfigValue{Name: k.Name, RecommendedValues: slices.Clone(k.Allowed), Visible: true}
		if cv.RecommendedValues == nil {
			cv.RecommendedValues = []string{}
		}
		s, present := raw[k.Name]
		if present {
			shown := s
			if k.IsSecret() {
				shown = HiddenValue
			}
			cv.Value = &shown
		}
		switch {
		case !present && k.Required():
			cv.Errors = append(cv.Errors, fmt.Sprintf("Missing required configuration %q which has no default value.", k.Name))
		case !present:
			cv.parsed = k.Default
			if k.Default != nil {
				p, _ := parseValue(k, k.Default)
				cv.parsed = p
			}
		default:
			p, err := parseValue(k, s)
			if err != nil {
				cv.Errors = append(cv.Errors, err.Error())
				break
			}
			if err := checkValue(k, p); err != nil {
				cv.Errors = append(cv.Errors, err.Error())
				break
			}
			cv.parsed = p
		}
		byName[k.Name] = len(out)
		out = append(out, cv)
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if _, known := d.index[name]; known {
			continue
		}
		if near := d.nearest(name); near != "" {
			v := raw[name]
			out = append(out, ConfigValue{Name: name, Value: &v, RecommendedValues: []string{}, Visible: true,
				Errors: []string{fmt.Sprintf("Unknown configuration %q; did you mean %q?", name, near)}})
		}
	}
	if len(d.checks) > 0 {
		parsed := map[string]any{}
		clean := true
		for _, v := range out {
			parsed[v.Name] = v.parsed
			clean = clean && len(v.Errors) == 0
		}
		if clean { // cross-field rules assume every key parsed
			c := Config{def: d, values: parsed, raw: raw}
			for _, check := range d.checks {
				for _, fe := range check(c) {
					i, ok := byName[fe.Key]
					if !ok {
						byName[fe.Key] = len(out)
						i = len(out)
						out = append(out, ConfigValue{Name: fe.Key, RecommendedValues: []string{}, Visible: true})
					}
					out[i].Errors = append(out[i].Errors, fe.Message)
				}
			}
		}
	}
	return out
}

// nearest returns a declared key within edit distance 2 of name, for
// "did you mean" errors; keys with a different prefix never match.
func (d *ConfigDef) nearest(name string) string {
	if len(name) < 5 { // short keys are too often legitimately close
		return ""
	}
	best, bestDist := "", 3
	for _, k := range d.keys {
		if dist := editDistance(name, k.Name, bestDist); dist < bestDist {
			best, bestDist = k.Name, dist
		}
	}
	return best
}

func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func checkValue(k *ConfigKey, v any) error {
	if k.Type == TypeString && len(k.Allowed) > 0 && v != nil {
		s := v.(string)
		ok := slices.ContainsFunc(k.Allowed, func(a string) bool { return strings.EqualFold(a, s) })
		if !ok {
			return fmt.Errorf("Invalid value %s for configuration %s: String must be one of: %s", s, k.Name, strings.Join(k.Allowed, ", "))
		}
	}
	if k.Validator != nil {
		if err := k.Validator(v); err != nil {
			shown := fmt.Sprint(v)
			if k.IsSecret() {
				shown = HiddenValue
			}
			return fmt.Errorf("Invalid value %s for configuration %s: %s", shown, k.Name, err.Error())
		}
	}
	return nil
}

// parseValue converts a raw string (or a Go default) to the key's Go type:
// bool, string, int32 (INT, SHORT), int64, float64, []string, Password.
func parseValue(k *ConfigKey, in any) (any, error) {
	bad := func(msg string) error {
		shown := fmt.Sprint(in)
		if k.IsSecret() {
			shown = HiddenValue
		}
		return fmt.Errorf("Invalid value %s for configuration %s: %s", shown, k.Name, msg)
	}
	if s, ok := in.(string); ok {
		s = strings.TrimSpace(s)
		switch k.Type {
		case TypeBoolean:
			switch strings.ToLower(s) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
			return nil, bad("Expected value to be either true or false")
		case TypeString, TypeClass:
			return s, nil
		case TypePassword:
			return Password(s), nil
		case TypeInt, TypeShort:
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return nil, bad("Not a number of type " + string(k.Type))
			}
			if k.Type == TypeShort && (n < -32768 || n > 32767) {
				return nil, bad("Not a number of type SHORT")
			}
			return int32(n), nil
		case TypeLong:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, bad("Not a number of type LONG")
			}
			return n, nil
		case TypeDouble:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, bad("Not a number of type DOUBLE")
			}
			return f, nil
		case TypeList:
			if s == "" {
				return []string{}, nil
			}
			parts := strings.Split(s, ",")
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			return parts, nil
		}
		return nil, bad("unknown type " + string(k.Type))
	}
	// Go-typed defaults.
	switch k.Type {
	case TypeBoolean:
		if b, ok := in.(bool); ok {
			return b, nil
		}
	case TypeString, TypeClass:
		if s, ok := in.(string); ok {
			return s, nil
		}
	case TypePassword:
		if p, ok := in.(Password); ok {
			return p, nil
		}
	case TypeInt, TypeShort:
		switch n := in.(type) {
		case int:
			return int32(n), nil
		case int32:
			return n, nil
		}
	case TypeLong:
		switch n := in.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		}
	case TypeDouble:
		switch n := in.(type) {
		case float64:
			return n, nil
		case int:
			return float64(n), nil
		}
	case TypeList:
		if l, ok := in.([]string); ok {
			return slices.Clone(l), nil
		}
	}
	return nil, bad(fmt.Sprintf("default of Go type %T does not fit %s", in, k.Type))
}

// FormatDefault renders a default value the way Kafka Connect shows it.
func FormatDefault(k ConfigKey) *string {
	if k.Default == nil {
		return nil
	}
	var s string
	switch v := k.Default.(type) {
	case []string:
		s = strings.Join(v, ",")
	case Password:
		s = HiddenValue
	default:
		s = fmt.Sprint(v)
	}
	return &s
}

// Password is a secret string; it prints as [hidden].
type Password string

func (Password) String() string                 { return HiddenValue }
func (p Password) GoString() string             { return HiddenValue }
func (p Password) Value() string                { return string(p) }
func (p Password) MarshalText() ([]byte, error) { return []byte(HiddenValue), nil }

// Config is a parsed configuration.
type Config struct {
	def    *ConfigDef
	values map[string]any
	raw    map[string]string
}

func (c Config) get(name string) any {
	v, ok := c.values[name]
	if !ok {
		if _, declared := c.def.Key(name); !declared {
			panic("connect: config key not declared: " + name)
		}
	}
	return v
}

// String returns a STRING or CLASS value ("" when absent).
func (c Config) String(name string) string { s, _ := c.get(name).(string); return s }

// Bool returns a BOOLEAN value.
func (c Config) Bool(name string) bool { b, _ := c.get(name).(bool); return b }

// Int returns an INT or SHORT value.
func (c Config) Int(name string) int { n, _ := c.get(name).(int32); return int(n) }

// Long returns a LONG value.
func (c Config) Long(name string) int64 { n, _ := c.get(name).(int64); return n }

// Double returns a DOUBLE value.
func (c Config) Double(name string) float64 { f, _ := c.get(name).(float64); return f }

// List returns a LIST value.
func (c Config) List(name string) []string { l, _ := c.get(name).([]string); return slices.Clone(l) }

// Password returns a PASSWORD value in clear text.
func (c Config) Password(name string) string { p, _ := c.get(name).(Password); return string(p) }

// Duration reads a LONG or INT key holding milliseconds.
func (c Config) Duration(name string) time.Duration {
	switch v := c.get(name).(type) {
	case int64:
		return time.Duration(v) * time.Millisecond
	case int32:
		return time.Duration(v) * time.Millisecond
	}
	return 0
}

// IsSet reports whether the key was given explicitly.
func (c Config) IsSet(name string) bool { _, ok := c.raw[name]; return ok }

// Raw returns a copy of the unparsed configuration, unknown keys included.
func (c Config) Raw() map[string]string { return maps.Clone(c.raw) }

// Sub returns the raw keys that start with prefix, prefix removed.
func (c Config) Sub(prefix string) Config {
	raw := map[string]string{}
	for k, v := range c.raw {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			raw[rest] = v
		}
	}
	vals := map[string]any{}
	for k, v := range c.values {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			vals[rest] = v
		}
	}
	return Config{def: NewConfigDef(), values: vals, raw: raw}
}

// Def returns the definition the config was parsed with.
func (c Config) Def() *ConfigDef { return c.def }

// RedactedRaw returns the raw config with secret values hidden.
func (c Config) RedactedRaw() map[string]string { return Redact(c.def, c.raw) }

// Redact returns raw with the def's secret keys hidden.
func Redact(def *ConfigDef, raw map[string]string) map[string]string {
	out := maps.Clone(raw)
	for k := range out {
		if key, ok := def.Key(k); ok && key.IsSecret() {
			out[k] = HiddenValue
		}
	}
	return out
}

// Common validators.

// AtLeast accepts numbers ≥ min.
func AtLeast(min float64) Validator {
	return func(v any) error {
		if f, ok := toFloat(v); ok && f < min {
			return fmt.Errorf("Value must be at least %v", min)
		}
		return nil
	}
}

// Between accepts numbers in [lo, hi].
func Between(lo, hi float64) Validator {
	return func(v any) error {
		if f, ok := toFloat(v); ok && (f < lo || f > hi) {
			return fmt.Errorf("Value must be between %v and %v", lo, hi)
		}
		return nil
	}
}

// NonEmptyList rejects an empty LIST.
func NonEmptyList(v any) error {
	if l, ok := v.([]string); ok {
		if len(l) == 0 {
			return errors.New("Empty list")
		}
		for _, e := range l {
			if e == "" {
				return errors.New("Empty list element")
			}
		}
	}
	return nil
}

// NonEmptyString rejects "".
func NonEmptyString(v any) error {
	if s, ok := v.(string); ok && s == "" {
		return errors.New("String must be non-empty")
	}
	return nil
}

// ValidRegex accepts a compilable regular expression (or empty).
func ValidRegex(v any) error {
	if s, ok := v.(string); ok && s != "" {
		if _, err := regexp.Compile(s); err != nil {
			return fmt.Errorf("not a valid regular expression: %v", err)
		}
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
