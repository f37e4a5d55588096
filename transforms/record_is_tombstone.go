package transforms

import "github.com/tributary-io/tributary/connect"

// RecordIsTombstone is true for records whose value is null
// (org.apache.kafka.connect.transforms.predicates.RecordIsTombstone).
type RecordIsTombstone struct{ noClose }

func init() {
	connect.Register(connect.Plugin{Class: kafkaPredPkg + "RecordIsTombstone", Kind: connect.KindPredicate, Version: Version,
		Summary: "True for tombstones (records with a null value)", Config: connect.NewConfigDef(),
		New: func() any { return &RecordIsTombstone{} }})
}

func (*RecordIsTombstone) Configure(connect.Config) error { return nil }

func (*RecordIsTombstone) Test(rec *connect.Record) (bool, error) { return rec.Value == nil, nil }
