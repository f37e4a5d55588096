// Package configprovider resolves Kafka-style config references,
// ${provider:[path:]key}, in connector configurations. The reference form is
// what gets stored and shown; resolution happens only when a connector or task
// starts, so a resolved secret never reaches Kafka, REST answers or logs.
package configprovider

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Worker keys, named as Kafka names them.
const (
	ProvidersConfig = "config.providers"
	providerPrefix  = ProvidersConfig + "."
	// AllowedPathsParam restricts the file and directory providers
	// (config.providers.<name>.param.allowed.paths, KIP-993).
	AllowedPathsParam = "allowed.paths"
	// AllowlistPatternParam restricts the env provider
	// (config.providers.<name>.param.allowlist.pattern, KIP-887).
	AllowlistPatternParam = "allowlist.pattern"
)

// Kafka's provider classes; the short names are accepted too.
const (
	EnvVarProviderClass    = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
	FileProviderClass      = "org.apache.kafka.common.config.provider.FileConfigProvider"
	DirectoryProviderClass = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
)

// refPattern is Kafka's ConfigTransformer pattern with '}' excluded from every
// part, so `${env:A}-${env:B}` is two references (Kafka's `.*?` would let the
// optional path swallow the first closing brace).
var refPattern = regexp.MustCompile(`\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}`)

// Reference is one ${provider:[path:]key} occurrence.
type Reference struct {
	Provider, Path, Key string
}

func (r Reference) String() string {
	if r.Path == "" {
		return "${" + r.Provider + ":" + r.Key + "}"
	}
	return "${" + r.Provider + ":" + r.Path + ":" + r.Key + "}"
}

// References returns the references in a raw value, in order.
func References(value string) []Reference {
	var out []Reference
	for _, m := range refPattern.FindAllStringSubmatch(value, -1) {
		out = append(out, Reference{Provider: m[1], Path: m[2], Key: m[3]})
	}
	return out
}

// HasReference reports whether a raw value contains a reference, i.e.
// whether its resolved form may hold a secret that must not be shown.
func HasReference(value string) bool { return refPattern.MatchString(value) }

// provider looks up keys under a path. The keys are passed so a provider
// reads only what it is asked for (an env provider never lists the
// environment, a directory provider never reads unrelated files).
type provider interface {
	get(path string, keys []string) (map[string]string, error)
}

// Resolver resolves references against the providers a worker configures.
// It is safe for concurrent use.
type Resolver struct {
	providers map[string]provider
}

// New builds the providers named by config.providers from the worker
// properties. An unknown class or bad parameter is an error naming the key.
func New(workerProps map[string]string) (*Resolver, error) {
	r := &Resolver{providers: map[string]provider{}}
	for _, name := range splitList(workerProps[ProvidersConfig]) {
		classKey := providerPrefix + name + ".class"
		class := strings.TrimSpace(workerProps[classKey])
		if class == "" {
			return nil, fmt.Errorf("%s: provider %q is listed in %s but has no class", classKey, name, ProvidersConfig)
		}
		params := map[string]string{}
		paramPrefix := providerPrefix + name + ".param."
		for k, v := range workerProps {
			if p, ok := strings.CutPrefix(k, paramPrefix); ok {
				params[p] = v
			}
		}
		p, err := newProvider(class, params)
		if err != nil {
			return nil, fmt.Errorf("config provider %q (%s): %w", name, classKey, err)
		}
		r.providers[name] = p
	}
	return r, nil
}

func newProvider(class string, params map[string]string) (provider, error) {
	short := class[strings.LastIndex(class, ".")+1:]
	switch short {
	case "EnvVarConfigProvider":
		return newEnvProvider(params)
	case "FileConfigProvider", "DirectoryConfigProvider":
		allowed, err := parseAllowedPaths(params[AllowedPathsParam])
		if err != nil {
			return nil, err
		}
		if short == "FileConfigProvider" {
			return &fileProvider{allowed: allowed}, nil
		}
		return &dirProvider{allowed: allowed}, nil
	}
	return nil, fmt.Errorf("unknown class %q; supported: %s, %s, %s", class, EnvVarProviderClass, FileProviderClass, DirectoryProviderClass)
}

// Providers returns the configured provider names, sorted.
func (r *Resolver) Providers() []string { return slices.Sorted(maps.Keys(r.providers)) }

// Resolve returns a copy of config with every reference replaced by its
// value. Errors name the config key and the reference, never a value. Each
// provider path is read once per call.
func (r *Resolver) Resolve(config map[string]string) (map[string]string, error) {
	type pathKey struct{ provider, path string }
	wanted := map[pathKey][]string{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(config)) {
		for _, ref := range References(config[k]) {
			if _, ok := r.providers[ref.Provider]; !ok {
				// As Kafka's ConfigTransformer: a reference to a provider that is
				// not configured stays as written, because plugins use the same
				// syntax for their own templates (the Elasticsearch sink's
				// index.name.format=${timestamp:yyyy.MM.dd}).
				continue
			}
			pk := pathKey{ref.Provider, ref.Path}
			if !slices.Contains(wanted[pk], ref.Key) {
				wanted[pk] = append(wanted[pk], ref.Key)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	data := map[pathKey]map[string]string{}
	fetchErr := map[pathKey]error{}
	for pk, keys := range wanted {
		d, err := r.providers[pk.provider].get(pk.path, keys)
		if err != nil {
			fetchErr[pk] = err
			continue
		}
		data[pk] = d
	}
	out := make(map[string]string, len(config))
	for _, k := range slices.Sorted(maps.Keys(config)) {
		v := config[k]
		var keyErrs []error
		resolved := refPattern.ReplaceAllStringFunc(v, func(m string) string {
			sm := refPattern.FindStringSubmatch(m)
			ref := Reference{Provider: sm[1], Path: sm[2], Key: sm[3]}
			if _, ok := r.providers[ref.Provider]; !ok {
				return m
			}
			pk := pathKey{ref.Provider, ref.Path}
			if err := fetchErr[pk]; err != nil {
				keyErrs = append(keyErrs, fmt.Errorf("config key %q: %s: %w", k, ref, err))
				return m
			}
			val, ok := data[pk][ref.Key]
			if !ok {
				keyErrs = append(keyErrs, fmt.Errorf("config key %q: %s: %w", k, ref, ErrNotFound))
				return m
			}
			return val
		})
		errs = append(errs, keyErrs...)
		out[k] = resolved
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ErrNotFound is wrapped when a provider has no value for a reference's key.
var ErrNotFound = errors.New("no such variable or key")

// Unresolve puts the raw reference back into every key of a derived config
// (task configs a connector built from its resolved config) whose raw
// connector value holds a reference, so resolved secrets are never stored.
// This is Kafka Connect's reverse transform: keys, not values, decide.
func Unresolve(rawConnectorConfig, derived map[string]string) map[string]string {
	out := maps.Clone(derived)
	for k, raw := range rawConnectorConfig {
		if _, ok := out[k]; ok && HasReference(raw) {
			out[k] = raw
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envProvider: ${env:VAR}. A path is an error, as in Kafka.
type envProvider struct {
	allow  *regexp.Regexp // nil: every variable
	lookup func(string) (string, bool)
}

func newEnvProvider(params map[string]string) (*envProvider, error) {
	p := &envProvider{lookup: os.LookupEnv}
	if pat, ok := params[AllowlistPatternParam]; ok {
		// Anchored, so "DB_.*" cannot match "OTHER_DB_X"; stricter than Kafka's find().
		re, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", AllowlistPatternParam, err)
		}
		p.allow = re
	}
	return p, nil
}

func (p *envProvider) get(path string, keys []string) (map[string]string, error) {
	if path != "" {
		return nil, fmt.Errorf("the env provider takes no path, use ${env:VARIABLE}")
	}
	out := map[string]string{}
	for _, k := range keys {
		if p.allow != nil && !p.allow.MatchString(k) {
			continue // reported as not found, as Kafka does
		}
		if v, ok := p.lookup(k); ok {
			out[k] = v
		}
	}
	return out, nil
}

// fileProvider: ${file:/path/to/file.properties:key}.
type fileProvider struct{ allowed []string }

func (p *fileProvider) get(path string, _ []string) (map[string]string, error) {
	if path == "" {
		return nil, fmt.Errorf("the file provider needs a path, use ${file:/path/to/file.properties:key}")
	}
	if err := checkAllowed(p.allowed, path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening properties file: %w", err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("properties file %s: %w", path, err)
	}
	return props, nil
}

// dirProvider: ${directory:/path/to/dir:file}; the value is the file's
// content verbatim (Kafka does not trim a trailing newline either).
type dirProvider struct{ allowed []string }

func (p *dirProvider) get(dir string, keys []string) (map[string]string, error) {
	if dir == "" {
		return nil, fmt.Errorf("the directory provider needs a path, use ${directory:/path/to/dir:file}")
	}
	if err := checkAllowed(p.allowed, dir); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range keys {
		// Only plain names inside dir, as Kafka lists the directory's own files.
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, `/\`) {
			continue
		}
		name := filepath.Join(dir, k)
		if st, err := os.Stat(name); err != nil || !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		out[k] = string(b)
	}
	return out, nil
}

func parseAllowedPaths(s string) ([]string, error) {
	var out []string
	for _, p := range splitList(s) {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("%s: %q is not an absolute path", AllowedPathsParam, p)
		}
		out = append(out, filepath.Clean(p))
		if real, err := filepath.EvalSymlinks(p); err == nil && real != filepath.Clean(p) {
			out = append(out, real)
		}
	}
	return out, nil
}

// checkAllowed accepts path when no allow-list is set, or when both its
// cleaned and its symlink-resolved forms lie inside an allowed path.
func checkAllowed(allowed []string, path string) error {
	if allowed == nil {
		return nil
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("path %q must be absolute when %s is set", path, AllowedPathsParam)
	}
	forms := []string{filepath.Clean(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		forms = append(forms, real)
	}
	for _, f := range forms {
		if !slices.ContainsFunc(allowed, func(a string) bool { return within(a, f) }) {
			return fmt.Errorf("path %q is outside %s", path, AllowedPathsParam)
		}
	}
	return nil
}

func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
