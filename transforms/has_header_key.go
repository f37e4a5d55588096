package transforms

import "github.com/tributary-io/tributary/connect"

// HasHeaderKey is true for records with at least one header of the given
// name (org.apache.kafka.connect.transforms.predicates.HasHeaderKey).
type HasHeaderKey struct {
	noClose
	name string
}

var hasHeaderKeyDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "name", Type: connect.TypeString, Importance: connect.Medium, Validator: connect.NonEmptyString,
		Documentation: "The header name."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPredPkg + "HasHeaderKey", Kind: connect.KindPredicate, Version: Version,
		Summary: "True for records with at least one header with the configured name", Config: hasHeaderKeyDef,
		New: func() any { return &HasHeaderKey{} }})
}

func (p *HasHeaderKey) Configure(cfg connect.Config) error {
	p.name = cfg.String("name")
	return nil
}

func (p *HasHeaderKey) Test(rec *connect.Record) (bool, error) {
	_, ok := rec.Headers.Get(p.name)
	return ok, nil
}
