package transforms

import "github.com/tributary-io/tributary/connect"

// Filter drops every record it is applied to; it is meant to be used with
// a predicate (org.apache.kafka.connect.transforms.Filter).
type Filter struct{ noClose }

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "Filter", Kind: connect.KindTransformation, Version: Version,
		Summary: "Drop all records; use with a predicate to drop only those matching it", Config: connect.NewConfigDef(),
		New: func() any { return &Filter{} }})
}

func (*Filter) Configure(connect.Config) error { return nil }

func (*Filter) Apply(*connect.Record) (*connect.Record, error) { return nil, nil }
