// Package converters holds Tributary's stand-ins for Kafka Connect's
// converters: JsonConverter, StringConverter, ByteArrayConverter and
// SimpleHeaderConverter, registered under their Kafka class names.
package converters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/connect"
)

const (
	jsonClass     = "org.apache.kafka.connect.json.JsonConverter"
	pluginVersion = "1.0.0"
)

// Config keys of the JSON converter, named as Kafka's JsonConverterConfig.
const (
	SchemasEnable          = "schemas.enable"
	SchemasCacheSize       = "schemas.cache.size"
	DecimalFormat          = "decimal.format"
	ReplaceNullWithDefault = "replace.null.with.default"
	ConverterType          = "converter.type"
)

func jsonConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: SchemasEnable, Type: connect.TypeBoolean, Default: true, Importance: connect.High,
			Group: "Schemas", DisplayName: "Enable Schemas",
			Documentation: `Include schemas within each of the serialized values and keys: {"schema": …, "payload": …}.`},
		connect.ConfigKey{Name: SchemasCacheSize, Type: connect.TypeInt, Default: 1000, Importance: connect.High,
			Group: "Schemas", DisplayName: "Schema Cache Size", Validator: connect.AtLeast(0),
			Documentation: "Maximum number of schemas kept in each converter's cache."},
		connect.ConfigKey{Name: DecimalFormat, Type: connect.TypeString, Default: "BASE64", Importance: connect.Low,
			Group: "Serialization", DisplayName: "Decimal Format", Allowed: []string{"BASE64", "NUMERIC"},
			Documentation: "How Decimal values are written: BASE64 (the unscaled two's-complement bytes, base64) or NUMERIC (a JSON number). Both are read."},
		connect.ConfigKey{Name: ReplaceNullWithDefault, Type: connect.TypeBoolean, Default: true, Importance: connect.Low,
			Group: "Serialization", DisplayName: "Replace null with default",
			Documentation: "Whether a null field with a default value is written and read as the default; when false it stays null."},
		connect.ConfigKey{Name: ConverterType, Type: connect.TypeString, Optional: true, Importance: connect.Low,
			Allowed: []string{"key", "value", "header"}, DisplayName: "Converter type",
			Documentation: "Set by the runtime: whether the converter handles keys, values or headers."},
	)
}

func init() {
	def := jsonConfigDef()
	connect.Register(connect.Plugin{Class: jsonClass, Kind: connect.KindConverter, Version: pluginVersion,
		Summary: `JSON, optionally in Kafka Connect's {"schema","payload"} envelope`,
		Config:  def, New: func() any { return NewJSONConverter() }})
	connect.Register(connect.Plugin{Class: jsonClass, Kind: connect.KindHeaderConverter, Version: pluginVersion,
		Summary: "JSON header values, as the JSON converter writes values",
		Config:  def, New: func() any { return NewJSONHeaderConverter() }})
}

// JSONConverter is Kafka Connect's JsonConverter. Schemaless JSON decodes to
// map[string]any, []any, string, bool, nil, int64 (integral numbers) and
// float64 (other numbers). Decoded schemas are shared from a cache: treat
// them as read-only (Schema.Copy before changing one). Safe for concurrent use.
type JSONConverter struct {
	schemasEnabled bool
	decimalNumeric bool
	replaceNull    bool
	what           string // "key" or "value", for messages

	mu        sync.Mutex
	cacheSize int
	toSchema  map[string]*connect.Schema // schema JSON → schema
	fromCache map[*connect.Schema][]byte // schema → its JSON
}

// NewJSONConverter returns a converter with Kafka's defaults (schemas
// enabled), ready before Configure.
func NewJSONConverter() *JSONConverter {
	return &JSONConverter{schemasEnabled: true, replaceNull: true, what: "value", cacheSize: 1000}
}

// Configure applies cfg (parsed with the converter's ConfigDef).
func (c *JSONConverter) Configure(cfg connect.Config, isKey bool) error {
	c.schemasEnabled = cfg.Bool(SchemasEnable)
	c.decimalNumeric = strings.EqualFold(cfg.String(DecimalFormat), "NUMERIC")
	c.replaceNull = cfg.Bool(ReplaceNullWithDefault)
	c.what = "value"
	if isKey {
		c.what = "key"
	}
	c.mu.Lock()
	c.cacheSize = cfg.Int(SchemasCacheSize)
	c.toSchema, c.fromCache = nil, nil
	c.mu.Unlock()
	return nil
}

// FromConnect serializes value; a nil value without schema is a tombstone
// (nil bytes).
func (c *JSONConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if schema == nil && value == nil {
		return nil, nil
	}
	b, err := c.appendConnect(make([]byte, 0, 256), schema, value)
	if err != nil {
		return nil, fmt.Errorf("converting %s of topic %s to JSON: %w", c.what, topic, err)
	}
	return b, nil
}

func (c *JSONConverter) appendConnect(b []byte, schema *connect.Schema, value any) ([]byte, error) {
	if !c.schemasEnabled {
		return appendValue(b, schema, value, c.decimalNumeric, c.replaceNull)
	}
	b = append(b, `{"schema":`...)
	sj, err := c.schemaJSON(schema)
	if err != nil {
		return b, fmt.Errorf("schema: %w", err)
	}
	b = append(b, sj...)
	b = append(b, `,"payload":`...)
	if b, err = appendValue(b, schema, value, c.decimalNumeric, c.replaceNull); err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func (c *JSONConverter) schemaJSON(s *connect.Schema) ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	c.mu.Lock()
	sj, ok := c.fromCache[s]
	c.mu.Unlock()
	if ok {
		return sj, nil
	}
	sj, err := appendSchemaJSON(nil, s, c.decimalNumeric)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.cacheSize > 0 {
		if c.fromCache == nil || len(c.fromCache) >= c.cacheSize {
			c.fromCache = map[*connect.Schema][]byte{}
		}
		c.fromCache[s] = sj
	}
	c.mu.Unlock()
	return sj, nil
}

// ToConnect parses data. Empty or nil data is a tombstone (nil, nil).
func (c *JSONConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	s, v, err := c.toConnect(data)
	if err != nil {
		return nil, nil, fmt.Errorf("converting %s of topic %s: %w", c.what, topic, err)
	}
	return s, v, nil
}

func (c *JSONConverter) toConnect(data []byte) (*connect.Schema, any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil
	}
	if !c.schemasEnabled {
		v, err := decodeJSON(data)
		if err != nil {
			return nil, nil, err
		}
		v, err = schemalessToConnect(v, 0)
		return nil, v, err
	}
	// The envelope is split first so the schema's raw text can key the
	// schema cache: a cache hit skips decoding the schema entirely.
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("invalid JSON at offset %d: %w", max(se.Offset-1, 0), err)
		}
		env = nil // valid JSON but not an object
	}
	schemaRaw, hasSchema := env["schema"]
	payloadRaw, hasPayload := env["payload"]
	if len(env) != 2 || !hasSchema || !hasPayload {
		return nil, nil, errors.New(`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration`)
	}
	payload, err := decodeJSON(payloadRaw)
	if err != nil {
		return nil, nil, fmt.Errorf("payload: %w", err)
	}
	if string(schemaRaw) == "null" {
		payload, err = schemalessToConnect(payload, 0)
		return nil, payload, err
	}
	schema, err := c.schemaFor(schemaRaw)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid schema: %w", err)
	}
	v, err := toConnect(schema, payload, c.replaceNull)
	if err != nil {
		return nil, nil, err
	}
	return schema, v, nil
}

// schemaFor parses a schema, cached by its JSON text.
func (c *JSONConverter) schemaFor(raw []byte) (*connect.Schema, error) {
	c.mu.Lock()
	s, ok := c.toSchema[string(raw)]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	if s, err = parseSchemaJSON(v); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.cacheSize > 0 {
		if c.toSchema == nil || len(c.toSchema) >= c.cacheSize {
			c.toSchema = map[string]*connect.Schema{}
		}
		c.toSchema[string(raw)] = s
	}
	c.mu.Unlock()
	return s, nil
}

// decodeJSON decodes one JSON value (numbers as json.Number), rejecting
// trailing data, with errors that give the byte offset.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the bytes read, the bad one included.
			return nil, fmt.Errorf("invalid JSON at offset %d: %w", max(se.Offset-1, 0), err)
		}
		return nil, fmt.Errorf("invalid JSON at offset %d: %w", dec.InputOffset(), err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		return nil, fmt.Errorf("invalid JSON at offset %d: unexpected data after the top-level value", off)
	}
	return v, nil
}

// JSONHeaderConverter is the JSON converter in the header converter role:
// header values are encoded as the converter encodes record values.
type JSONHeaderConverter struct{ c *JSONConverter }

// NewJSONHeaderConverter returns a header converter with Kafka's defaults.
func NewJSONHeaderConverter() *JSONHeaderConverter {
	c := NewJSONConverter()
	c.what = "header"
	return &JSONHeaderConverter{c: c}
}

func (h *JSONHeaderConverter) Configure(cfg connect.Config) error {
	err := h.c.Configure(cfg, false)
	h.c.what = "header"
	return err
}

func (h *JSONHeaderConverter) FromHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	b, err := h.c.FromConnect(topic, schema, value)
	if err != nil {
		return nil, fmt.Errorf("header %q: %w", key, err)
	}
	return b, nil
}

func (h *JSONHeaderConverter) ToHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	s, v, err := h.c.ToConnect(topic, data)
	if err != nil {
		return nil, nil, fmt.Errorf("header %q: %w", key, err)
	}
	return s, v, nil
}

var (
	_ connect.Converter       = (*JSONConverter)(nil)
	_ connect.HeaderConverter = (*JSONHeaderConverter)(nil)
)
