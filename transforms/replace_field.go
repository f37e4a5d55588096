package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// ReplaceField keeps (include), drops (exclude) and renames fields of the
// key or value (org.apache.kafka.connect.transforms.ReplaceField). The
// pre-2.7 names whitelist and blacklist are still accepted.
type ReplaceField struct {
	noClose
	side        side
	name        string
	include     map[string]bool
	exclude     map[string]bool
	renames     map[string]string
	replaceNull bool
	cache       schemaCache
}

func renamesValidator(v any) error {
	_, err := parseRenames(v.([]string))
	return err
}

var replaceFieldDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "exclude", Type: connect.TypeList, Default: []string{}, Importance: connect.Medium,
		Documentation: "Fields to exclude. This takes precedence over the fields to include."},
	connect.ConfigKey{Name: "include", Type: connect.TypeList, Default: []string{}, Importance: connect.Medium,
		Documentation: "Fields to include. If specified, only these fields will be used."},
	connect.ConfigKey{Name: "renames", Type: connect.TypeList, Default: []string{}, Importance: connect.Medium, Validator: renamesValidator,
		Documentation: "Field rename mappings, as a list of colon-delimited pairs, e.g. foo:bar,abc:xyz."},
	connect.ConfigKey{Name: "blacklist", Type: connect.TypeList, Optional: true, Importance: connect.Low,
		Documentation: "Deprecated. Use exclude instead."},
	connect.ConfigKey{Name: "whitelist", Type: connect.TypeList, Optional: true, Importance: connect.Low,
		Documentation: "Deprecated. Use include instead."},
	replaceNullKey,
)

func init() {
	registerKV("ReplaceField", "Filter or rename fields", replaceFieldDef,
		func(s side) connect.Transformation { return &ReplaceField{side: s, name: "ReplaceField" + s.suffix()} })
}

func parseRenames(l []string) (map[string]string, error) {
	m := make(map[string]string, len(l))
	for _, p := range l {
		from, to, ok := strings.Cut(p, ":")
		if !ok || from == "" || to == "" || strings.Contains(to, ":") {
			return nil, fmt.Errorf("invalid rename mapping: %q (expected old:new)", p)
		}
		m[from] = to
	}
	return m, nil
}

func set(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
}

func (t *ReplaceField) Configure(cfg connect.Config) error {
	// The new name wins when both the new and the deprecated one are set.
	exclude, include := cfg.List("exclude"), cfg.List("include")
	if !cfg.IsSet("exclude") && cfg.IsSet("blacklist") {
		exclude = cfg.List("blacklist")
	}
	if !cfg.IsSet("include") && cfg.IsSet("whitelist") {
		include = cfg.List("whitelist")
	}
	r, err := parseRenames(cfg.List("renames"))
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	t.exclude, t.include, t.renames = set(exclude), set(include), r
	t.replaceNull = cfg.Bool("replace.null.with.default")
	return nil
}

func (t *ReplaceField) keep(f string) bool {
	return !t.exclude[f] && (len(t.include) == 0 || t.include[f])
}

func (t *ReplaceField) rename(f string) string {
	if r, ok := t.renames[f]; ok {
		return r
	}
	return f
}

func (t *ReplaceField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		if v == nil {
			return rec, nil
		}
		m, err := requireMap(t.name, "field replacement", v)
		if err != nil {
			return nil, err
		}
		nm := make(map[string]any, len(m))
		for k, x := range m {
			if t.keep(k) {
				nm[t.rename(k)] = x
			}
		}
		return t.side.with(rec, nil, nm), nil
	}
	if schema.Type != connect.Struct {
		return nil, errorf(t.name, "only struct schemas supported for [field replacement], found schema type %s", schema.Type)
	}
	out, _ := t.cache.get(schema, func(in *connect.Schema) (*connect.Schema, error) {
		o := copyBasics(in)
		o.Default = nil
		for _, f := range in.Fields {
			if t.keep(f.Name) {
				o.Fields = append(o.Fields, connect.Field{Name: t.rename(f.Name), Schema: f.Schema})
			}
		}
		return o, nil
	})
	if v == nil {
		return t.side.with(rec, out, nil), nil
	}
	m, err := requireStruct(t.name, "field replacement", schema, v)
	if err != nil {
		return nil, err
	}
	nm := make(map[string]any, len(out.Fields))
	for _, f := range schema.Fields {
		if t.keep(f.Name) {
			nm[t.rename(f.Name)] = fieldValue(m, f, t.replaceNull)
		}
	}
	return t.side.with(rec, out, nm), nil
}
