package transforms

import (
	"github.com/tributary-io/tributary/connect"
)

// DropHeaders removes headers by name
// (org.apache.kafka.connect.transforms.DropHeaders).
type DropHeaders struct {
	noClose
	headers []string
}

var dropHeadersDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "headers", Type: connect.TypeList, Importance: connect.High, Validator: connect.NonEmptyList,
		Documentation: "The name of the headers to be removed."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "DropHeaders", Kind: connect.KindTransformation, Version: Version,
		Summary: "Remove headers by name", Config: dropHeadersDef, New: func() any { return &DropHeaders{} }})
}

func (d *DropHeaders) Configure(cfg connect.Config) error {
	d.headers = cfg.List("headers")
	return nil
}

func (d *DropHeaders) Apply(rec *connect.Record) (*connect.Record, error) {
	c := shallow(rec)
	c.Headers = rec.Headers.Without(d.headers...)
	return c, nil
}
