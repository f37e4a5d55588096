package connect

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Kind is the kind of a plugin, named as in Kafka Connect's plugin listing.
type Kind string

const (
	KindSource          Kind = "source"
	KindSink            Kind = "sink"
	KindTransformation  Kind = "transformation"
	KindPredicate       Kind = "predicate"
	KindConverter       Kind = "converter"
	KindHeaderConverter Kind = "header_converter"
)

// Plugin is one registered plugin. Class is the name listed by REST; a
// Kafka Connect class name when the plugin stands in for one, so configs
// written for Kafka Connect work unchanged. Aliases derive from Class the
// way Kafka Connect derives them (simple name, and simple name minus the
// kind suffix such as "Connector").
type Plugin struct {
	Class   string
	Kind    Kind
	Version string
	Summary string
	Aliases []string   // extra names beyond the derived ones
	Config  *ConfigDef // the one declaration of the plugin's config
	New     func() any // a SourceConnector, SinkConnector, Transformation, …
}

// Names returns the class and every alias.
func (p Plugin) Names() []string {
	names := []string{p.Class}
	simple := p.Class
	if i := strings.LastIndex(simple, "."); i >= 0 {
		simple = simple[i+1:]
	}
	names = append(names, simple)
	for _, suffix := range []string{"Connector", "HeaderConverter", "Converter", "Transformation", "Predicate"} {
		if pruned, ok := strings.CutSuffix(simple, suffix); ok && pruned != "" {
			names = append(names, pruned)
			break
		}
	}
	names = append(names, p.Aliases...)
	slices.Sort(names[1:])
	return slices.Compact(names)
}

// Registry holds plugins by kind and name.
type Registry struct {
	mu      sync.RWMutex
	plugins map[Kind]map[string]Plugin // by every name
	list    []Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{plugins: map[Kind]map[string]Plugin{}} }

// Default is the process-wide registry plugins add themselves to in init.
var Default = NewRegistry()

// Register adds p to the default registry.
func Register(p Plugin) { Default.Register(p) }

// Register adds p; a name clash within one kind panics (a programming error).
func (r *Registry) Register(p Plugin) {
	if p.Config == nil {
		p.Config = NewConfigDef()
	}
	if p.Version == "" {
		p.Version = "0.0.0"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	byName := r.plugins[p.Kind]
	if byName == nil {
		byName = map[string]Plugin{}
		r.plugins[p.Kind] = byName
	}
	for _, n := range p.Names() {
		if old, dup := byName[n]; dup {
			panic(fmt.Sprintf("connect: %s plugin name %q of %s already used by %s", p.Kind, n, p.Class, old.Class))
		}
	}
	for _, n := range p.Names() {
		byName[n] = p
	}
	r.list = append(r.list, p)
}

// Lookup finds a plugin of one of kinds by class name or alias. The error
// lists what is available, so a typo is easy to fix.
func (r *Registry) Lookup(name string, kinds ...Kind) (Plugin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range kinds {
		if p, ok := r.plugins[k][name]; ok {
			return p, nil
		}
	}
	var avail []string
	for _, p := range r.list {
		if slices.Contains(kinds, p.Kind) {
			avail = append(avail, p.Class)
		}
	}
	sort.Strings(avail)
	kindNames := make([]string, len(kinds))
	for i, k := range kinds {
		kindNames[i] = string(k)
	}
	return Plugin{}, fmt.Errorf("no %s plugin named %q; available: %s", strings.Join(kindNames, " or "), name, strings.Join(avail, ", "))
}

// Plugins lists the plugins of the given kinds (all when none), by class.
func (r *Registry) Plugins(kinds ...Kind) []Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Plugin
	for _, p := range r.list {
		if len(kinds) == 0 || slices.Contains(kinds, p.Kind) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Class != out[j].Class {
			return out[i].Class < out[j].Class
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}
