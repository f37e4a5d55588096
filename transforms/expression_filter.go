package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// ExpressionFilter keeps (filter.type=include) or drops (exclude) the
// records for which a boolean expression holds, in one step
// (io.tributary.connect.transforms.ExpressionFilter). It equals Kafka's
// Filter with the Expression predicate, without the extra predicate alias.
type ExpressionFilter struct {
	noClose
	prog    *exprProgram
	include bool
}

var expressionFilterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "expression", Type: connect.TypeString, Importance: connect.High, Validator: exprValidator(true),
		Documentation: "Boolean expression (expr-lang syntax) over value, key, headers, topic, partition, offset and timestamp."},
	connect.ConfigKey{Name: "filter.type", Type: connect.TypeString, Default: "include", Importance: connect.High, Allowed: []string{"include", "exclude"},
		Documentation: "include: keep only the records for which the expression is true; exclude: drop them."},
)

func init() {
	connect.Register(connect.Plugin{Class: "io.tributary.connect.transforms.ExpressionFilter", Kind: connect.KindTransformation, Version: Version,
		Summary: "Keep or drop records by a boolean expression", Config: expressionFilterDef,
		New: func() any { return &ExpressionFilter{} }})
}

func (f *ExpressionFilter) Configure(cfg connect.Config) error {
	prog, err := compileExpr(cfg.String("expression"), true)
	if err != nil {
		return fmt.Errorf("ExpressionFilter: %w", err)
	}
	f.prog, f.include = prog, strings.EqualFold(cfg.String("filter.type"), "include")
	return nil
}

func (f *ExpressionFilter) Apply(rec *connect.Record) (*connect.Record, error) {
	b, err := f.prog.runBool(rec)
	if err != nil {
		return nil, fmt.Errorf("ExpressionFilter %q: %w", f.prog.src, err)
	}
	if b == f.include {
		return rec, nil
	}
	return nil, nil
}
