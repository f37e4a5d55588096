package transforms

// Expressions use github.com/expr-lang/expr rather than CEL (cel-go):
//   - expr compiles against a plain Go struct, so the environment below is
//     the whole integration; CEL needs protobuf-style type declarations and
//     converting every map[string]any value into its ref.Val types, which
//     costs allocations per record on a hot path;
//   - expr evaluates Go values (int64, float64, map[string]any, time.Time)
//     directly, mixing int and float arithmetic the way users expect from
//     JSON, and has time and duration helpers built in;
//   - its syntax (value.speed > 120 && value.throttle_pos > 0.9, ??, ?.,
//     string and list functions) is close to what operators already know,
//     compile errors carry a line and column, and it is small, widely used
//     and actively maintained, with one dependency-free module.
// CEL's advantages (a formal spec, cost limits) matter less here: one
// expression runs per record, written by the pipeline's operator.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/tributary-io/tributary/connect"
)

// exprEnv is what an expression sees of a record.
type exprEnv struct {
	Value     any            `expr:"value"`
	Key       any            `expr:"key"`
	Headers   map[string]any `expr:"headers"`
	Topic     string         `expr:"topic"`
	Partition int64          `expr:"partition"`
	Offset    int64          `expr:"offset"`
	Timestamp time.Time      `expr:"timestamp"`
}

// exprProgram is a compiled expression.
type exprProgram struct {
	src         string
	prog        *vm.Program
	needHeaders bool
}

// compileExpr compiles src against exprEnv. Errors name the line and
// column, on one line, so they read well as a REST field error.
func compileExpr(src string, asBool bool) (*exprProgram, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	opts := []expr.Option{expr.Env(exprEnv{})}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, exprError(err)
	}
	// Building the headers map costs allocations, so only when used.
	return &exprProgram{src: src, prog: p, needHeaders: strings.Contains(src, "headers")}, nil
}

func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("line %d, column %d: %s", fe.Line, fe.Column+1, fe.Message)
	}
	return err
}

// vms are reused: a vm.VM keeps its stacks between runs.
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

func (p *exprProgram) run(rec *connect.Record) (any, error) {
	env := exprEnv{Value: rec.Value, Key: rec.Key, Topic: rec.Topic, Partition: int64(rec.Partition), Offset: rec.Offset, Timestamp: rec.Timestamp}
	if p.needHeaders && len(rec.Headers) > 0 {
		env.Headers = make(map[string]any, len(rec.Headers))
		for _, h := range rec.Headers { // later headers win, as Headers.Get
			if b, ok := h.Value.([]byte); ok {
				env.Headers[h.Key] = string(b)
			} else {
				env.Headers[h.Key] = h.Value
			}
		}
	}
	m := vms.Get().(*vm.VM)
	out, err := m.Run(p.prog, env)
	vms.Put(m)
	if err != nil {
		return nil, exprError(err)
	}
	return out, nil
}

// runBool runs a boolean expression. Its type is only known at run time
// when it reads record fields, so a non-boolean result is an error here
// rather than a silent false.
func (p *exprProgram) runBool(rec *connect.Record) (bool, error) {
	out, err := p.run(rec)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expression returned %s, not a boolean", typeName(out))
	}
	return b, nil
}

// exprValidator compiles the expression of a config key, so a compile
// error is that key's field error in config validation.
func exprValidator(asBool bool) connect.Validator {
	return func(v any) error {
		s, _ := v.(string)
		_, err := compileExpr(s, asBool)
		return err
	}
}

// normalizeResult maps expression results onto the schemaless value types:
// every integer becomes int64 and float32 becomes float64.
func normalizeResult(v any) any {
	if n, ok := asInt(v); ok {
		return n
	}
	if f, ok := v.(float32); ok {
		return float64(f)
	}
	return v
}
