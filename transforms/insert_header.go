package transforms

import (
	"math"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// InsertHeader adds a header with a literal value to every record
// (org.apache.kafka.connect.transforms.InsertHeader).
type InsertHeader struct {
	noClose
	header connect.Header
}

var insertHeaderDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "header", Type: connect.TypeString, Importance: connect.High, Validator: connect.NonEmptyString,
		Documentation: "The name of the header."},
	connect.ConfigKey{Name: "value.literal", Type: connect.TypeString, Importance: connect.High,
		Documentation: "The literal value that is to be set as the header value on all records. Booleans and integers get a boolean or integer schema, as Kafka Connect's Values.parseString infers them."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "InsertHeader", Kind: connect.KindTransformation, Version: Version,
		Summary: "Add a header with a literal value", Config: insertHeaderDef, New: func() any { return &InsertHeader{} }})
}

func (h *InsertHeader) Configure(cfg connect.Config) error {
	s, v := parseLiteral(cfg.Raw()["value.literal"])
	h.header = connect.Header{Key: cfg.String("header"), Schema: s, Value: v}
	return nil
}

func (h *InsertHeader) Apply(rec *connect.Record) (*connect.Record, error) {
	c := shallow(rec)
	c.Headers = append(c.Headers, h.header)
	return c, nil
}

// parseLiteral infers a schema and value from text the way Kafka Connect's
// Values.parseString does for scalars: booleans, the narrowest integer
// type, doubles, else a string.
func parseLiteral(s string) (*connect.Schema, any) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "true":
		return &connect.Schema{Type: connect.Boolean}, true
	case "false":
		return &connect.Schema{Type: connect.Boolean}, false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		switch {
		case n >= math.MinInt8 && n <= math.MaxInt8:
			return &connect.Schema{Type: connect.Int8}, int8(n)
		case n >= math.MinInt16 && n <= math.MaxInt16:
			return &connect.Schema{Type: connect.Int16}, int16(n)
		case n >= math.MinInt32 && n <= math.MaxInt32:
			return &connect.Schema{Type: connect.Int32}, int32(n)
		}
		return &connect.Schema{Type: connect.Int64}, n
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && strings.ContainsAny(t, ".eE") && !math.IsInf(f, 0) {
		return &connect.Schema{Type: connect.Float64}, f
	}
	return &connect.Schema{Type: connect.String}, s
}
