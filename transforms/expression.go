package transforms

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Expression sets or overwrites fields of the key or value from
// expressions over the record, and removes fields
// (io.tributary.connect.transforms.Expression$Key / $Value):
//
//	transforms.calc.type=Expression$Value
//	transforms.calc.set.speed_kmh=value.speed * 1.609
//	transforms.calc.set.alert=value.speed > 120 && value.throttle_pos > 0.9
//	transforms.calc.remove=raw
//
// One key per field keeps every expression a plain property value: no
// separator to escape, and a compile error names its own key. Every
// expression sees the input record, so the order of the keys does not
// matter; removals apply after all fields are set.
type Expression struct {
	noClose
	side   side
	name   string
	sets   []exprSet
	remove map[string]bool

	mu      sync.Mutex
	schemas map[*connect.Schema]map[string]*connect.Schema // input schema → result type signature → output
}

type exprSet struct {
	field string
	prog  *exprProgram
}

const exprSetPrefix = "set."

var expressionDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "remove", Type: connect.TypeList, Default: []string{}, Importance: connect.Medium,
		Documentation: "Fields to remove after the set.<field> expressions are applied."},
).Check(func(c connect.Config) []connect.FieldError {
	var errs []connect.FieldError
	n := 0
	for k, v := range c.Raw() {
		field, ok := strings.CutPrefix(k, exprSetPrefix)
		if !ok {
			continue
		}
		n++
		if field == "" {
			errs = append(errs, connect.FieldError{Key: k, Message: "missing field name after \"set.\""})
			continue
		}
		if _, err := compileExpr(v, false); err != nil {
			errs = append(errs, connect.FieldError{Key: k, Message: fmt.Sprintf("Invalid value %s for configuration %s: %v", v, k, err)})
		}
	}
	if n == 0 && len(c.List("remove")) == 0 {
		errs = append(errs, connect.FieldError{Key: "set.<field>", Message: "at least one set.<field>=<expression> or remove is required"})
	}
	slices.SortFunc(errs, func(a, b connect.FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
})

func init() {
	for _, s := range []side{keySide, valueSide} {
		connect.Register(connect.Plugin{
			Class: "io.tributary.connect.transforms.Expression" + s.suffix(), Kind: connect.KindTransformation, Version: Version,
			Summary: "Set fields from expressions over the record (set.<field>=<expression>) and remove fields (record " + s.word() + ")",
			Config:  expressionDef,
			New:     func() any { return &Expression{side: s, name: "Expression" + s.suffix()} },
		})
	}
}

func (t *Expression) Configure(cfg connect.Config) error {
	raw := cfg.Raw()
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		field, ok := strings.CutPrefix(k, exprSetPrefix)
		if !ok {
			continue
		}
		if field == "" {
			return fmt.Errorf("%s: missing field name in key %q", t.name, k)
		}
		p, err := compileExpr(raw[k], false)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", t.name, k, err)
		}
		t.sets = append(t.sets, exprSet{field: field, prog: p})
	}
	t.remove = set(cfg.List("remove"))
	if len(t.sets) == 0 && len(t.remove) == 0 {
		return fmt.Errorf("%s: at least one set.<field>=<expression> or remove is required", t.name)
	}
	return nil
}

func (t *Expression) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil // tombstones pass unchanged
	}
	var m map[string]any
	var err error
	if schema == nil {
		m, err = requireMap(t.name, "setting fields from expressions", v)
	} else {
		m, err = requireStruct(t.name, "setting fields from expressions", schema, v)
	}
	if err != nil {
		return nil, err
	}
	var small [8]any
	results := small[:0]
	for _, s := range t.sets {
		r, err := s.prog.run(rec)
		if err != nil {
			return nil, errorf(t.name, "set.%s: %w", s.field, err)
		}
		results = append(results, normalizeResult(r))
	}
	if schema == nil {
		nm := make(map[string]any, len(m)+len(t.sets))
		for k, x := range m {
			if !t.remove[k] {
				nm[k] = x
			}
		}
		for i, s := range t.sets {
			if !t.remove[s.field] {
				nm[s.field] = results[i]
			}
		}
		return t.side.with(rec, nil, nm), nil
	}
	out, err := t.schemaFor(schema, results)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(out.Fields))
	for _, f := range schema.Fields {
		if !t.remove[f.Name] {
			nm[f.Name] = m[f.Name]
		}
	}
	for i, s := range t.sets {
		if t.remove[s.field] {
			continue
		}
		fld, _ := out.Field(s.field)
		nm[s.field] = fitValue(results[i], fld.Schema)
	}
	return t.side.with(rec, out, nm), nil
}

// schemaFor derives the output struct schema from the input schema and the
// Go types of the results: a result keeps an existing field's schema when
// it fits it, otherwise the field gets the schema of the result's type.
func (t *Expression) schemaFor(in *connect.Schema, results []any) (*connect.Schema, error) {
	var buf [16]byte
	sig := buf[:0]
	for i, s := range t.sets {
		old, _ := in.Field(s.field)
		switch {
		case results[i] == nil:
			sig = append(sig, 'n')
		case old.Schema != nil && fitValue(results[i], old.Schema) != nil:
			sig = append(sig, '=')
		default:
			sig = append(sig, resultTypeCode(results[i]))
		}
	}
	t.mu.Lock()
	out, ok := t.schemas[in][string(sig)]
	t.mu.Unlock()
	if ok {
		return out, nil
	}
	out = copyBasics(in)
	out.Default = nil
	newSchema := map[string]*connect.Schema{}
	for i, s := range t.sets {
		old, exists := in.Field(s.field)
		var fs *connect.Schema
		switch sig[i] {
		case '=':
			fs = old.Schema
		case 'n':
			if exists {
				c := *old.Schema
				c.Optional = true
				fs = &c
			} else {
				fs = &connect.Schema{Type: connect.String, Optional: true}
			}
		case '?':
			return nil, errorf(t.name, "set.%s: cannot derive a schema for a result of type %T; a schema'd value takes only scalar or time results", s.field, results[i])
		default:
			fs = schemaForCode(sig[i])
		}
		newSchema[s.field] = fs
	}
	for _, f := range in.Fields {
		if t.remove[f.Name] {
			continue
		}
		if fs, ok := newSchema[f.Name]; ok {
			f = connect.Field{Name: f.Name, Schema: fs}
			delete(newSchema, f.Name)
		}
		out.Fields = append(out.Fields, f)
	}
	for _, s := range t.sets { // new fields in key order
		if fs, ok := newSchema[s.field]; ok && !t.remove[s.field] {
			out.Fields = append(out.Fields, connect.Field{Name: s.field, Schema: fs})
		}
	}
	t.mu.Lock()
	if t.schemas == nil || len(t.schemas) >= schemaCacheSize {
		t.schemas = map[*connect.Schema]map[string]*connect.Schema{}
	}
	if t.schemas[in] == nil {
		t.schemas[in] = map[string]*connect.Schema{}
	}
	t.schemas[in][string(sig)] = out
	t.mu.Unlock()
	return out, nil
}

func resultTypeCode(v any) byte {
	switch v.(type) {
	case int64:
		return 'i'
	case float64:
		return 'f'
	case bool:
		return 'b'
	case string:
		return 's'
	case []byte:
		return 'y'
	case time.Time:
		return 't'
	}
	return '?'
}

func schemaForCode(c byte) *connect.Schema {
	t := map[byte]connect.SchemaType{'i': connect.Int64, 'f': connect.Float64, 'b': connect.Boolean, 's': connect.String, 'y': connect.Bytes, 't': connect.Int64}[c]
	s := &connect.Schema{Type: t, Optional: true}
	if c == 't' {
		s.Name, s.Version = connect.TimestampName, 1
	}
	return s
}

// fitValue converts a normalized result to the Go type of schema s, or
// returns nil when it does not fit (nil results fit nothing here).
func fitValue(v any, s *connect.Schema) any {
	if v == nil || s == nil {
		return v
	}
	switch x := v.(type) {
	case int64:
		switch {
		case s.Type == connect.Int64 && s.Name == "":
			return x
		case s.Type == connect.Int32 && s.Name == "" && x >= math.MinInt32 && x <= math.MaxInt32:
			return int32(x)
		case s.Type == connect.Int16 && x >= math.MinInt16 && x <= math.MaxInt16:
			return int16(x)
		case s.Type == connect.Int8 && x >= math.MinInt8 && x <= math.MaxInt8:
			return int8(x)
		case s.Type == connect.Float64:
			return float64(x)
		case s.Type == connect.Float32:
			return float32(x)
		}
	case float64:
		switch s.Type {
		case connect.Float64:
			return x
		case connect.Float32:
			return float32(x)
		}
	case bool:
		if s.Type == connect.Boolean {
			return x
		}
	case string:
		if s.Type == connect.String {
			return x
		}
	case []byte:
		if s.Type == connect.Bytes && s.Name == "" {
			return x
		}
	case time.Time:
		if s.Name == connect.TimestampName {
			return x
		}
	}
	return nil
}
