package converters

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tributary-io/tributary/connect"
)

const (
	stringClass = "org.apache.kafka.connect.storage.StringConverter"
	// ConverterEncoding is StringConverter's charset key.
	ConverterEncoding = "converter.encoding"
)

// encodings StringConverter supports (Java charset names and aliases).
var encodings = map[string]string{
	"UTF-8": "UTF-8", "UTF8": "UTF-8",
	"US-ASCII": "US-ASCII", "ASCII": "US-ASCII",
	"ISO-8859-1": "ISO-8859-1", "ISO8859-1": "ISO-8859-1", "ISO_8859_1": "ISO-8859-1", "LATIN1": "ISO-8859-1",
	"UTF-16": "UTF-16", "UTF16": "UTF-16",
	"UTF-16BE": "UTF-16BE", "UTF-16LE": "UTF-16LE",
}

func stringConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: ConverterEncoding, Type: connect.TypeString, Default: "UTF-8", Importance: connect.High,
			DisplayName:   "Encoding",
			Documentation: "The name of the character encoding used to convert between strings and bytes: UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE or UTF-16LE.",
			Validator: func(v any) error {
				if _, ok := encodings[strings.ToUpper(v.(string))]; !ok {
					return errors.New("unsupported encoding")
				}
				return nil
			}},
		connect.ConfigKey{Name: ConverterType, Type: connect.TypeString, Optional: true, Importance: connect.Low,
			Allowed: []string{"key", "value", "header"}, DisplayName: "Converter type",
			Documentation: "Set by the runtime: whether the converter handles keys, values or headers."},
	)
}

func init() {
	def := stringConfigDef()
	connect.Register(connect.Plugin{Class: stringClass, Kind: connect.KindConverter, Version: pluginVersion,
		Summary: "values as text in a character encoding (UTF-8 by default)",
		Config:  def, New: func() any { return &StringConverter{encoding: "UTF-8", what: "value"} }})
	connect.Register(connect.Plugin{Class: stringClass, Kind: connect.KindHeaderConverter, Version: pluginVersion,
		Summary: "header values as text",
		Config:  def, New: func() any { return &StringHeaderConverter{c: StringConverter{encoding: "UTF-8", what: "header"}} }})
}

// StringConverter is Kafka Connect's StringConverter: values become their
// text (maps and arrays as JSON); bytes become an optional string. With
// UTF-8, bytes are kept as they are, even when not valid UTF-8.
type StringConverter struct {
	encoding string
	what     string
}

func (c *StringConverter) Configure(cfg connect.Config, isKey bool) error {
	enc, ok := encodings[strings.ToUpper(cfg.String(ConverterEncoding))]
	if !ok {
		return fmt.Errorf("unsupported encoding %q", cfg.String(ConverterEncoding))
	}
	c.encoding = enc
	c.what = "value"
	if isKey {
		c.what = "key"
	}
	return nil
}

var optionalString = &connect.Schema{Type: connect.String, Optional: true}

func (c *StringConverter) FromConnect(topic string, schema *connect.Schema, value any) ([]byte, error) {
	if value == nil {
		return nil, nil
	}
	s, err := valueText(value)
	if err != nil {
		return nil, fmt.Errorf("converting %s of topic %s to a string: %w", c.what, topic, err)
	}
	b, err := encodeString(s, c.encoding)
	if err != nil {
		return nil, fmt.Errorf("converting %s of topic %s to a string: %w", c.what, topic, err)
	}
	return b, nil
}

func (c *StringConverter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return optionalString, nil, nil
	}
	s, err := decodeString(data, c.encoding)
	if err != nil {
		return nil, nil, fmt.Errorf("converting %s of topic %s from %s: %w", c.what, topic, c.encoding, err)
	}
	return optionalString, s, nil
}

// valueText renders a value as text: strings and bytes as they are,
// numbers as Go prints them, times as RFC 3339, the rest as JSON.
func valueText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case *big.Rat:
		if x != nil {
			return ratString(x), nil
		}
	case fmt.Stringer:
		return x.String(), nil
	}
	if n, ok := asInt64(v); ok {
		return strconv.FormatInt(n, 10), nil
	}
	b, err := appendSchemaless(nil, v, 0)
	return string(b), err
}

func encodeString(s, enc string) ([]byte, error) {
	switch enc {
	case "US-ASCII", "ISO-8859-1":
		limit := rune(0x7f)
		if enc == "ISO-8859-1" {
			limit = 0xff
		}
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > limit {
				r = '?' // as Java's encoder replaces unmappable characters
			}
			out = append(out, byte(r))
		}
		return out, nil
	case "UTF-16", "UTF-16BE", "UTF-16LE":
		u := utf16.Encode([]rune(s))
		out := make([]byte, 0, 2+2*len(u))
		le := enc == "UTF-16LE"
		if enc == "UTF-16" { // Java writes a big-endian byte order mark
			out = append(out, 0xfe, 0xff)
		}
		for _, x := range u {
			if le {
				out = append(out, byte(x), byte(x>>8))
			} else {
				out = append(out, byte(x>>8), byte(x))
			}
		}
		return out, nil
	}
	return []byte(s), nil
}

func decodeString(b []byte, enc string) (string, error) {
	switch enc {
	case "US-ASCII", "ISO-8859-1":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			if enc == "US-ASCII" && c > 0x7f {
				sb.WriteRune(utf8.RuneError)
				continue
			}
			sb.WriteRune(rune(c))
		}
		return sb.String(), nil
	case "UTF-16", "UTF-16BE", "UTF-16LE":
		le := enc == "UTF-16LE"
		if enc == "UTF-16" && len(b) >= 2 {
			switch {
			case b[0] == 0xfe && b[1] == 0xff:
				b = b[2:]
			case b[0] == 0xff && b[1] == 0xfe:
				b, le = b[2:], true
			}
		}
		if len(b)%2 != 0 {
			return "", errors.New("odd number of bytes for UTF-16")
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			if le {
				u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		return string(utf16.Decode(u)), nil
	}
	return string(b), nil
}

// StringHeaderConverter is StringConverter in the header converter role.
type StringHeaderConverter struct{ c StringConverter }

func (h *StringHeaderConverter) Configure(cfg connect.Config) error {
	err := h.c.Configure(cfg, false)
	h.c.what = "header"
	return err
}

func (h *StringHeaderConverter) FromHeader(topic, key string, schema *connect.Schema, value any) ([]byte, error) {
	return h.c.FromConnect(topic, schema, value)
}

func (h *StringHeaderConverter) ToHeader(topic, key string, data []byte) (*connect.Schema, any, error) {
	return h.c.ToConnect(topic, data)
}

var (
	_ connect.Converter       = (*StringConverter)(nil)
	_ connect.HeaderConverter = (*StringHeaderConverter)(nil)
)
