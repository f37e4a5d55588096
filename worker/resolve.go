package worker

import (
	"strings"

	"github.com/tributary-io/tributary/configprovider"
	"github.com/tributary-io/tributary/connect"
)

// ConfigResolver expands config provider references such as ${env:PASS}.
// Configs are stored and shown with the references; they are resolved only
// when a connector or task starts.
type ConfigResolver interface {
	Resolve(config map[string]string) (map[string]string, error)
}

// SetConfigResolver makes the worker resolve references at start.
func (w *Worker) SetConfigResolver(r ConfigResolver) { w.resolver = r }

// Resolver returns the worker's resolver (nil when none).
func (w *Worker) Resolver() ConfigResolver { return w.resolver }

func (w *Worker) resolve(raw map[string]string) (map[string]string, error) {
	if w.resolver == nil {
		return raw, nil
	}
	return w.resolver.Resolve(raw)
}

// ValidateOption changes how a connector config is validated.
type ValidateOption func(*validateOptions)

type validateOptions struct{ resolver ConfigResolver }

// WithResolver validates the resolved values of references while showing
// the references themselves.
func WithResolver(r ConfigResolver) ValidateOption {
	return func(o *validateOptions) { o.resolver = r }
}

// validateResolved validates the config as it will run, then puts the raw
// references back into the answer and scrubs resolved values from messages,
// so a secret never appears in it.
func validateResolved(reg *connect.Registry, raw map[string]string, r ConfigResolver) (ConfigInfos, *ConnectorDef) {
	var refs []string
	for k, v := range raw {
		if configprovider.HasReference(v) {
			refs = append(refs, k)
		}
	}
	if r == nil || len(refs) == 0 {
		return validateRaw(reg, raw)
	}
	resolved, err := r.Resolve(raw)
	if err != nil {
		infos, cd := validateRaw(reg, raw)
		for i := range infos.Configs {
			c := &infos.Configs[i]
			if configprovider.HasReference(raw[c.Value.Name]) {
				c.Value.Errors = append(c.Value.Errors, err.Error())
				infos.ErrorCount++
			}
		}
		return infos, cd
	}
	infos, cd := validateRaw(reg, resolved)
	for i := range infos.Configs {
		c := &infos.Configs[i]
		name := c.Value.Name
		if !configprovider.HasReference(raw[name]) {
			continue
		}
		shown := raw[name]
		c.Value.Value = &shown
		if secret := resolved[name]; secret != "" {
			for j, m := range c.Value.Errors {
				c.Value.Errors[j] = strings.ReplaceAll(m, secret, shown)
			}
		}
	}
	return infos, cd
}

// unresolveTaskConfigs puts references back into task configs a connector
// derived from its resolved config, so no resolved secret is stored.
func unresolveTaskConfigs(raw map[string]string, tcs []map[string]string) []map[string]string {
	out := make([]map[string]string, len(tcs))
	for i, tc := range tcs {
		out[i] = configprovider.Unresolve(raw, tc)
	}
	return out
}
