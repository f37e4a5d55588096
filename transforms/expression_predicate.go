package transforms

import (
	"fmt"

	"github.com/tributary-io/tributary/connect"
)

// ExpressionPredicate is true for records for which a boolean expression
// holds (io.tributary.connect.transforms.predicates.Expression), e.g.
// `value.speed > 120 && value.throttle_pos > 0.9`.
type ExpressionPredicate struct {
	noClose
	prog *exprProgram
}

var expressionPredicateDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "expression", Type: connect.TypeString, Importance: connect.High, Validator: exprValidator(true),
		Documentation: "Boolean expression (expr-lang syntax) over value, key, headers, topic, partition, offset and timestamp."},
)

func init() {
	connect.Register(connect.Plugin{Class: "io.tributary.connect.transforms.predicates.Expression", Kind: connect.KindPredicate, Version: Version,
		Summary: "True for records for which a boolean expression holds", Config: expressionPredicateDef,
		New: func() any { return &ExpressionPredicate{} }})
}

func (p *ExpressionPredicate) Configure(cfg connect.Config) error {
	prog, err := compileExpr(cfg.String("expression"), true)
	if err != nil {
		return fmt.Errorf("Expression predicate: %w", err)
	}
	p.prog = prog
	return nil
}

func (p *ExpressionPredicate) Test(rec *connect.Record) (bool, error) {
	b, err := p.prog.runBool(rec)
	if err != nil {
		return false, fmt.Errorf("Expression predicate %q: %w", p.prog.src, err)
	}
	return b, nil
}
