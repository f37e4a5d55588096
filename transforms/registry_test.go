package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// TestRegistered checks that every Kafka Connect SMT and predicate resolves
// by its class name and by the aliases Kafka Connect derives.
func TestRegistered(t *testing.T) {
	kv := []string{"Cast", "ExtractField", "Flatten", "HeaderFrom", "HoistField", "InsertField", "MaskField", "ReplaceField", "SetSchemaMetadata", "TimestampConverter"}
	single := []string{"DropHeaders", "Filter", "InsertHeader", "RegexRouter", "TimestampRouter", "ValueToKey"}
	var names []string
	for _, n := range kv {
		names = append(names, kafkaPkg+n+"$Key", kafkaPkg+n+"$Value", n+"$Key", n+"$Value")
	}
	for _, n := range single {
		names = append(names, kafkaPkg+n, n)
	}
	names = append(names, "io.tributary.connect.transforms.Expression$Value", "Expression$Key", "io.tributary.connect.transforms.ExpressionFilter", "ExpressionFilter")
	for _, n := range names {
		p, err := connect.Default.Lookup(n, connect.KindTransformation)
		if err != nil {
			t.Errorf("transformation %s: %v", n, err)
			continue
		}
		if _, ok := p.New().(connect.Transformation); !ok {
			t.Errorf("%s does not build a Transformation", n)
		}
	}
	for _, n := range []string{kafkaPredPkg + "TopicNameMatches", "TopicNameMatches", kafkaPredPkg + "HasHeaderKey", "HasHeaderKey",
		kafkaPredPkg + "RecordIsTombstone", "RecordIsTombstone", "io.tributary.connect.transforms.predicates.Expression", "Expression"} {
		p, err := connect.Default.Lookup(n, connect.KindPredicate)
		if err != nil {
			t.Errorf("predicate %s: %v", n, err)
			continue
		}
		if _, ok := p.New().(connect.Predicate); !ok {
			t.Errorf("%s does not build a Predicate", n)
		}
	}
}
