package worker

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/connect"
)

// chainStep is one configured transformation.
type chainStep struct {
	alias     string
	class     string
	t         connect.Transformation
	batch     connect.BatchTransformation // t, when it has the batch form
	predicate connect.Predicate
	negate    bool
}

// Chain is a connector's transformation chain, built from
// `transforms=a,b`, `transforms.a.type=…`, `transforms.a.predicate=P`,
// `transforms.a.negate=…` and `predicates.P.type=…` exactly as in Kafka
// Connect.
type Chain struct {
	steps      []chainStep
	predicates []connect.Predicate
}

// StageError says which transformation failed, for error handling and DLQ
// headers.
type StageError struct {
	Class string
	Err   error
}

func (e *StageError) Error() string { return e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// BuildChain instantiates and configures the chain of a parsed connector config.
func BuildChain(reg *connect.Registry, cfg connect.Config) (*Chain, error) {
	c := &Chain{}
	preds := map[string]connect.Predicate{}
	for _, alias := range cfg.List(PredicatesConfig) {
		prefix := "predicates." + alias + "."
		p, err := newConfigured[connect.Predicate](reg, cfg, prefix, connect.KindPredicate, func(x connect.Predicate, sub connect.Config) error { return x.Configure(sub) })
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("predicate %s: %w", alias, err)
		}
		preds[alias] = p
		c.predicates = append(c.predicates, p)
	}
	for _, alias := range cfg.List(TransformsConfig) {
		prefix := "transforms." + alias + "."
		t, err := newConfigured[connect.Transformation](reg, cfg, prefix, connect.KindTransformation, func(x connect.Transformation, sub connect.Config) error { return x.Configure(sub) })
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("transformation %s: %w", alias, err)
		}
		step := chainStep{alias: alias, class: cfg.String(prefix + "type"), t: t, negate: cfg.Bool(prefix + "negate")}
		step.batch, _ = t.(connect.BatchTransformation)
		if name := cfg.String(prefix + "predicate"); name != "" {
			step.predicate = preds[name]
		}
		c.steps = append(c.steps, step)
	}
	return c, nil
}

func newConfigured[T any](reg *connect.Registry, cfg connect.Config, prefix string, kind connect.Kind, configure func(T, connect.Config) error) (T, error) {
	var zero T
	class := cfg.Raw()[prefix+"type"]
	p, err := reg.Lookup(class, kind)
	if err != nil {
		return zero, err
	}
	sub, err := p.Config.Parse(cfg.Sub(prefix).Raw())
	if err != nil {
		return zero, err
	}
	x, ok := p.New().(T)
	if !ok {
		return zero, fmt.Errorf("plugin %s is not a %s", class, kind)
	}
	if err := configure(x, sub); err != nil {
		return zero, fmt.Errorf("configuring %s: %w", class, err)
	}
	return x, nil
}

// Len is the number of transformations.
func (c *Chain) Len() int { return len(c.steps) }

// Transforms returns the configured transformations, for health checks.
func (c *Chain) Transforms() []connect.Transformation {
	out := make([]connect.Transformation, len(c.steps))
	for i, s := range c.steps {
		out[i] = s.t
	}
	return out
}

// applies reports whether step applies to rec, given its predicate.
func (s *chainStep) applies(rec *connect.Record) (bool, error) {
	if s.predicate == nil {
		return true, nil
	}
	ok, err := s.predicate.Test(rec)
	if err != nil {
		return false, fmt.Errorf("predicate of transformation %s: %w", s.alias, err)
	}
	return ok != s.negate, nil
}

// ApplyBatch runs the chain over recs. The result has one entry per input:
// the transformed record, nil when dropped, or an error (a *StageError) for
// that record alone. Batch transformations see every record still alive at
// their step in one call.
func (c *Chain) ApplyBatch(recs []*connect.Record) []connect.BatchResult {
	out := make([]connect.BatchResult, len(recs))
	for i, r := range recs {
		out[i].Record = r
	}
	if len(c.steps) == 0 {
		return out
	}
	var idx []int
	var sub []*connect.Record
	for si := range c.steps {
		s := &c.steps[si]
		idx, sub = idx[:0], sub[:0]
		for i := range out {
			r := out[i].Record
			if r == nil || out[i].Err != nil {
				continue
			}
			ok, err := s.applies(r)
			if err != nil {
				out[i] = connect.BatchResult{Err: &StageError{Class: s.class, Err: err}}
				continue
			}
			if !ok {
				continue
			}
			if s.batch == nil {
				nr, err := safeApply(s, r)
				if err != nil {
					out[i] = connect.BatchResult{Err: &StageError{Class: s.class, Err: fmt.Errorf("transformation %s: %w", s.alias, err)}}
				} else {
					out[i].Record = nr
				}
				continue
			}
			idx = append(idx, i)
			sub = append(sub, r)
		}
		if len(sub) == 0 {
			continue
		}
		res := safeApplyBatch(s, sub)
		for j, i := range idx {
			if res[j].Err != nil {
				out[i] = connect.BatchResult{Err: &StageError{Class: s.class, Err: fmt.Errorf("transformation %s: %w", s.alias, res[j].Err)}}
			} else {
				out[i].Record = res[j].Record
			}
		}
	}
	return out
}

// safeApply turns a transform's panic into that record's error: a bug in one
// plugin must not kill the worker.
func safeApply(s *chainStep, r *connect.Record) (out *connect.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return s.t.Apply(r)
}

func safeApplyBatch(s *chainStep, recs []*connect.Record) (out []connect.BatchResult) {
	defer func() {
		if p := recover(); p != nil {
			out = make([]connect.BatchResult, len(recs))
			for i := range out {
				out[i].Err = fmt.Errorf("panic: %v", p)
			}
		}
	}()
	out = s.batch.ApplyBatch(recs)
	if len(out) != len(recs) {
		err := fmt.Errorf("batch transformation returned %d results for %d records", len(out), len(recs))
		out = make([]connect.BatchResult, len(recs))
		for i := range out {
			out[i].Err = err
		}
	}
	return out
}

// Health returns the first health problem a transformation reports.
func (c *Chain) Health() error {
	var errs []error
	for _, s := range c.steps {
		if h, ok := s.t.(connect.HealthReporter); ok {
			if err := h.Health(); err != nil {
				errs = append(errs, fmt.Errorf("transformation %s: %w", s.alias, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Close releases every transformation and predicate.
func (c *Chain) Close() error {
	var errs []error
	for _, s := range c.steps {
		errs = append(errs, s.t.Close())
	}
	for _, p := range c.predicates {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}
