package converters

import (
	"fmt"

	"github.com/tributary-io/tributary/connect"
)

const byteArrayClass = "org.apache.kafka.connect.converters.ByteArrayConverter"

func init() {
	def := connect.NewConfigDef(connect.ConfigKey{Name: ConverterType, Type: connect.TypeString, Optional: true,
		Importance: connect.Low, Allowed: []string{"key", "value", "header"}, DisplayName: "Converter type",
		Documentation: "Set by the runtime: whether the converter handles keys, values or headers."})
	connect.Register(connect.Plugin{Class: byteArrayClass, Kind: connect.KindConverter, Version: pluginVersion,
		Summary: "pass-through: bytes as they are",
		Config:  def, New: func() any { return &ByteArrayConverter{what: "value"} }})
	connect.Register(connect.Plugin{Class: byteArrayClass, Kind: connect.KindHeaderConverter, Version: pluginVersion,
		Summary: "pass-through header bytes",
		Config:  def, New: func() any { return &ByteArrayHeaderConverter{c: ByteArrayConverter{what: "header"}} }})
}

// ByteArrayConverter passes bytes through unchanged, as Kafka's does; it
// accepts []byte (and, for convenience, string) values only.
type ByteArrayConverter struct{ what string }

func (c *ByteArrayConverter) Configure(cfg connect.Config, isKey bool) error {
	c.what = "value"
	if isKey {
		c.what = "key"
	}
	return nil
}

var optionalBytes = &connect.Schema{Type: connect.Bytes, Optional: true}

func (c *ByteArrayConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if schema != nil && schema.Type != connect.Bytes {
		return nil, fmt.Errorf("converting %s of topic %s: invalid schema type for ByteArrayConverter: %s", c.what, topic, schema.Type)
	}
	switch x := value.(type) {
	case nil:
		return nil, nil
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	return nil, fmt.Errorf("converting %s of topic %s: ByteArrayConverter is not compatible with objects of type %T", c.what, topic, value)
}

func (c *ByteArrayConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return optionalBytes, nil, nil
	}
	return optionalBytes, data, nil
}

// ByteArrayHeaderConverter is ByteArrayConverter in the header role.
type ByteArrayHeaderConverter struct{ c ByteArrayConverter }

func (h *ByteArrayHeaderConverter) Configure(cfg connect.Config) error { return nil }

func (h *ByteArrayHeaderConverter) FromHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	return h.c.FromConnect(topic, schema, value)
}

func (h *ByteArrayHeaderConverter) ToHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	return h.c.ToConnect(topic, data)
}

var (
	_ connect.Converter       = (*ByteArrayConverter)(nil)
	_ connect.HeaderConverter = (*ByteArrayHeaderConverter)(nil)
)
