package worker

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// converters holds a task's key, value and header converters.
type converters struct {
	key, value connect.Converter
	header     connect.HeaderConverter
	// Plugin classes, as error headers and traces name them.
	keyClass, valueClass, headerClass string
}

// newConverters builds the converters of a connector: the connector's own
// class and `<key>.*` settings when it sets the class, else the worker's.
func (w *Worker) newConverters(cfg connect.Config) (*converters, error) {
	raw := cfg.Raw()
	source := func(key string) (string, map[string]string) {
		if c := raw[key]; c != "" {
			return c, subProps(raw, key+".")
		}
		return w.cfg.String(key), subProps(w.cfg.Props, key+".")
	}
	var c converters
	for _, spec := range []struct {
		key   string
		isKey bool
		dst   *connect.Converter
		class *string
	}{{KeyConverterConfig, true, &c.key, &c.keyClass}, {ValueConverterConfig, false, &c.value, &c.valueClass}} {
		class, props := source(spec.key)
		p, err := w.reg.Lookup(class, connect.KindConverter)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.key, err)
		}
		pc, err := p.Config.Parse(props)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.key, err)
		}
		conv, ok := p.New().(connect.Converter)
		if !ok {
			return nil, fmt.Errorf("%s: %s is not a converter", spec.key, class)
		}
		if err := conv.Configure(pc, spec.isKey); err != nil {
			return nil, fmt.Errorf("%s: configuring %s: %w", spec.key, class, err)
		}
		*spec.dst, *spec.class = conv, p.Class
	}
	class, props := source(HeaderConverterConfig)
	p, err := w.reg.Lookup(class, connect.KindHeaderConverter)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", HeaderConverterConfig, err)
	}
	pc, err := p.Config.Parse(props)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", HeaderConverterConfig, err)
	}
	hc, ok := p.New().(connect.HeaderConverter)
	if !ok {
		return nil, fmt.Errorf("%s: %s is not a header converter", HeaderConverterConfig, class)
	}
	if err := hc.Configure(pc); err != nil {
		return nil, fmt.Errorf("%s: configuring %s: %w", HeaderConverterConfig, class, err)
	}
	c.header, c.headerClass = hc, p.Class
	return &c, nil
}

func subProps(raw map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range raw {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}
