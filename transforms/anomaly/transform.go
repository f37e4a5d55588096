// Package anomaly is the AnomalyScore$Value transform: it scores record
// values with an ONNX model (an autoencoder's reconstruction error, or the
// model's own score output) in one ONNX Runtime call per batch, and reloads
// the model file without restarting the task.
package anomaly

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Class is the plugin's class name.
const Class = "io.tributary.connect.transforms.AnomalyScore$Value"

// Option names.
const (
	ModelPathConfig      = "model.path"
	ReloadIntervalConfig = "model.reload.interval.ms"
	InputModeConfig      = "input.mode"
	InputFieldsConfig    = "input.fields"
	InputFieldConfig     = "input.field"
	DelimiterConfig      = "input.delimiter"
	PrefixSepConfig      = "input.prefix.separator"
	ScoreFieldConfig     = "output.score.field"
	FlagFieldConfig      = "output.flag.field"
	ModelFieldConfig     = "output.model.field"
	ThresholdConfig      = "threshold"
	ScoreModeConfig      = "score.mode"
	ScalingCenterConfig  = "scaling.center"
	ScalingScaleConfig   = "scaling.scale"
	OnInvalidConfig      = "on.invalid.feature"
	ThreadsConfig        = "onnxruntime.threads"
	LibraryPathConfig    = "onnxruntime.library.path"
)

// Invalid-feature policies.
const (
	PolicyFail = "fail"
	PolicySkip = "skip"
)

// ConfigDef is the transform's one configuration declaration.
var ConfigDef = connect.NewConfigDef(
	connect.ConfigKey{Name: ModelPathConfig, Type: connect.TypeString, Importance: connect.High, Group: "Model", OrderInGroup: 1,
		Validator: connect.NonEmptyString,
		Documentation: "Path of the ONNX model file. Its metadata (features, scaling, threshold, model_name, model_version) " +
			"provides the defaults of the options below."},
	connect.ConfigKey{Name: ReloadIntervalConfig, Type: connect.TypeLong, Default: int64(10000), Group: "Model", OrderInGroup: 2,
		Validator: connect.AtLeast(0),
		Documentation: "How often to check the model file (modification time, size, content hash) for a new version, in " +
			"milliseconds; 0 disables reloading. A new version is loaded and probed beside the serving one and swapped in " +
			"atomically; a broken one leaves the old model serving and is reported in the task status."},
	connect.ConfigKey{Name: InputModeConfig, Type: connect.TypeString, Default: InputFields, Group: "Input", OrderInGroup: 1,
		Allowed:       []string{InputFields, InputDelimited, InputArray},
		Documentation: "Where the features come from: 'fields' (one numeric field each), 'delimited' (one string field such as \"2.10# 2.13# …\") or 'array' (one array field)."},
	connect.ConfigKey{Name: InputFieldsConfig, Type: connect.TypeList, Default: []string{}, Group: "Input", OrderInGroup: 2,
		Documentation: "For input.mode=fields: the feature fields in model order (dotted names reach into nested maps). Empty: the model's 'features' metadata."},
	connect.ConfigKey{Name: InputFieldConfig, Type: connect.TypeString, Default: "", Group: "Input", OrderInGroup: 3,
		Documentation: "For input.mode=delimited or array: the field holding the features. A plain string value can be wrapped into a field first with HoistField$Value."},
	connect.ConfigKey{Name: DelimiterConfig, Type: connect.TypeString, Default: "#", Group: "Input", OrderInGroup: 4,
		Validator:     connect.NonEmptyString,
		Documentation: "For input.mode=delimited: the separator between values; spaces around values are ignored."},
	connect.ConfigKey{Name: PrefixSepConfig, Type: connect.TypeString, Default: "", Group: "Input", OrderInGroup: 5,
		Documentation: "For input.mode=delimited: when set, everything up to and including its first occurrence is dropped (',' for the original demo's \"eventid,v1# v2# …\")."},
	connect.ConfigKey{Name: OnInvalidConfig, Type: connect.TypeString, Default: PolicyFail, Group: "Input", OrderInGroup: 6,
		Allowed: []string{PolicyFail, PolicySkip},
		Documentation: "A record with a missing or non-numeric feature: 'fail' hands it to the connector's error handling " +
			"(errors.tolerance, dead letter queue); 'skip' passes it on unscored."},
	connect.ConfigKey{Name: ScoreFieldConfig, Type: connect.TypeString, Default: "anomaly_score", Group: "Output", OrderInGroup: 1,
		Validator:     connect.NonEmptyString,
		Documentation: "Field receiving the score (float)."},
	connect.ConfigKey{Name: FlagFieldConfig, Type: connect.TypeString, Default: "anomaly", Group: "Output", OrderInGroup: 2,
		Documentation: "Field receiving score > threshold (boolean); empty to omit. Omitted as well when neither the option nor the model gives a threshold."},
	connect.ConfigKey{Name: ModelFieldConfig, Type: connect.TypeString, Default: "anomaly_model", Group: "Output", OrderInGroup: 3,
		Documentation: "Field receiving the version of the model that scored the record, as name:version@sha256-prefix; empty to omit."},
	connect.ConfigKey{Name: ThresholdConfig, Type: connect.TypeDouble, Optional: true, Group: "Score", OrderInGroup: 1,
		Documentation: "Scores above it are anomalies. Empty: the model's 'threshold' metadata."},
	connect.ConfigKey{Name: ScoreModeConfig, Type: connect.TypeString, Default: "auto", Group: "Score", OrderInGroup: 2,
		Allowed: []string{"auto", ScoreReconstruction, ScoreOutput},
		Documentation: "'reconstruction_mse': mean squared error between the scaled input and the model's output (autoencoders); " +
			"'output': the model's single output value; 'auto': the model's 'score' metadata, else from the output's shape."},
	connect.ConfigKey{Name: ScalingCenterConfig, Type: connect.TypeList, Default: []string{}, Group: "Score", OrderInGroup: 3,
		Documentation: "Per-feature centers c (x' = (x - c) / s) overriding the model's 'scaling' metadata; one value applies to all features."},
	connect.ConfigKey{Name: ScalingScaleConfig, Type: connect.TypeList, Default: []string{}, Group: "Score", OrderInGroup: 4,
		Documentation: "Per-feature scales s, paired with scaling.center."},
	connect.ConfigKey{Name: ThreadsConfig, Type: connect.TypeInt, Default: 1, Group: "ONNX Runtime", OrderInGroup: 1,
		Validator:     connect.AtLeast(0),
		Documentation: "Intra-op threads of the task's inference session; 0 lets ONNX Runtime use every core."},
	connect.ConfigKey{Name: LibraryPathConfig, Type: connect.TypeString, Default: "", Group: "ONNX Runtime", OrderInGroup: 2,
		Documentation: "The ONNX Runtime " + requiredRuntime + " shared library. Empty: the environment variable " + LibraryEnv +
			", else the system's libonnxruntime.so. The library is loaded once per process."},
).Check(checkConfig)

func init() {
	connect.Register(connect.Plugin{
		Class:   Class,
		Kind:    connect.KindTransformation,
		Version: "0.1.0",
		Summary: "Scores record values with an ONNX model (autoencoder reconstruction error or model output), one inference per batch, with hot model reload.",
		Config:  ConfigDef,
		New:     func() any { return New() },
	})
}

// checkConfig holds the cross-field rules, and loads the ONNX Runtime so a
// missing or mismatched library shows up in config/validate, not only later.
func checkConfig(c connect.Config) []connect.FieldError {
	var errs []connect.FieldError
	if mode := c.String(InputModeConfig); (mode == InputDelimited || mode == InputArray) && c.String(InputFieldConfig) == "" {
		errs = append(errs, connect.FieldError{Key: InputFieldConfig, Message: "required when input.mode is " + mode})
	}
	if _, err := parseScalingOption(c.List(ScalingCenterConfig), c.List(ScalingScaleConfig)); err != nil {
		errs = append(errs, connect.FieldError{Key: ScalingCenterConfig, Message: err.Error()})
	}
	if err := ensureRuntime(c.String(LibraryPathConfig), nil); err != nil {
		errs = append(errs, connect.FieldError{Key: LibraryPathConfig, Message: err.Error()})
	}
	if p := c.String(ModelPathConfig); p != "" {
		if st, err := os.Stat(p); err != nil {
			errs = append(errs, connect.FieldError{Key: ModelPathConfig, Message: fmt.Sprintf("cannot read the model: %v", err)})
		} else if st.IsDir() {
			errs = append(errs, connect.FieldError{Key: ModelPathConfig, Message: p + " is a directory, not an .onnx file"})
		}
	}
	return errs
}

func parseScalingOption(center, scale []string) (*Scaling, error) {
	if len(center) == 0 && len(scale) == 0 {
		return nil, nil
	}
	sc := &Scaling{Method: "option"}
	for _, s := range center {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("scaling.center: %q is not a number", s)
		}
		sc.Center = append(sc.Center, f)
	}
	for _, s := range scale {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("scaling.scale: %q is not a number", s)
		}
		sc.Scale = append(sc.Scale, f)
	}
	if err := sc.check(); err != nil {
		return nil, fmt.Errorf("scaling.center/scaling.scale: %w", err)
	}
	return sc, nil
}

// Stats counts what the transform did, for metrics.
type Stats struct {
	Scored, Skipped, Failed, Batches int64
	Reloads, ReloadFailures          int64
	ModelVersion                     string
}

// Transform is the AnomalyScore$Value transformation. It is safe for
// concurrent use; the runtime calls it from one task goroutine.
type Transform struct {
	log      *slog.Logger
	path     string
	interval time.Duration
	ov       overrides
	ext      extractor
	policy   string
	scoreF   string
	flagF    string
	modelF   string

	cur atomic.Pointer[model]

	healthMu sync.Mutex
	health   error

	// watcher state, touched only by the watcher goroutine (or tests
	// calling checkReload while no watcher runs).
	lastStat   fileStamp
	failedHash string
	polls      int

	cancel context.CancelFunc
	wg     sync.WaitGroup

	scored, skipped, failed, batches, reloads, reloadFailures atomic.Int64

	schemaMu sync.Mutex
	schemas  map[*connect.Schema]*connect.Schema
}

// New returns an unconfigured transform.
func New() *Transform { return &Transform{log: slog.Default().With("transform", "AnomalyScore")} }

type fileStamp struct {
	mod  time.Time
	size int64
}

// Configure loads the runtime and the model and starts the file watcher.
func (t *Transform) Configure(cfg connect.Config) error {
	t.path = cfg.String(ModelPathConfig)
	t.interval = cfg.Duration(ReloadIntervalConfig)
	t.policy = cfg.String(OnInvalidConfig)
	t.scoreF, t.flagF, t.modelF = cfg.String(ScoreFieldConfig), cfg.String(FlagFieldConfig), cfg.String(ModelFieldConfig)
	t.ext = extractor{
		mode:      cfg.String(InputModeConfig),
		fields:    cfg.List(InputFieldsConfig),
		field:     cfg.String(InputFieldConfig),
		delim:     cfg.String(DelimiterConfig),
		prefixSep: cfg.String(PrefixSepConfig),
	}
	t.ov = overrides{
		features:  t.ext.fields,
		scoreKind: cfg.String(ScoreModeConfig),
		threads:   cfg.Int(ThreadsConfig),
	}
	if cfg.IsSet(ThresholdConfig) {
		t.ov.threshold, t.ov.hasThreshold = cfg.Double(ThresholdConfig), true
	}
	sc, err := parseScalingOption(cfg.List(ScalingCenterConfig), cfg.List(ScalingScaleConfig))
	if err != nil {
		return err
	}
	t.ov.scaling = sc
	if t.ext.mode != InputFields {
		t.ov.features = nil // names only matter when reading fields
	}
	if err := ensureRuntime(cfg.String(LibraryPathConfig), t.log); err != nil {
		return err
	}
	m, stamp, err := t.loadFile()
	if err != nil {
		return fmt.Errorf("loading model %s: %w", t.path, err)
	}
	if err := t.fits(m); err != nil {
		m.retire()
		return fmt.Errorf("model %s: %w", t.path, err)
	}
	t.cur.Store(m)
	t.lastStat = stamp
	t.log.Info("anomaly model loaded", "path", t.path, "model", m.id, "features", m.nFeatures, "score", m.scoreKind, "threshold", m.threshold)
	if t.interval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		t.cancel = cancel
		t.wg.Add(1)
		go t.watch(ctx)
	}
	return nil
}

// fits checks a model against what the options need from it.
func (t *Transform) fits(m *model) error {
	if t.ext.mode == InputFields && len(m.features) == 0 {
		return fmt.Errorf("no feature names: set %s or export the model with '%s' metadata", InputFieldsConfig, MetaFeatures)
	}
	return nil
}

// loadFile reads the model file once its size and mtime hold still across
// the read, so a file being written in place is not loaded half-way.
func (t *Transform) loadFile() (*model, fileStamp, error) {
	data, stamp, err := readStable(t.path)
	if err != nil {
		return nil, stamp, err
	}
	m, err := loadModel(data, t.ov)
	return m, stamp, err
}

// rehashEvery is how many polls pass between full content checks.
const rehashEvery = 6

var errUnstable = errors.New("model file changed while being read")

func readStable(path string) ([]byte, fileStamp, error) {
	before, err := stat(path)
	if err != nil {
		return nil, before, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, before, fmt.Errorf("reading model: %w", err)
	}
	after, err := stat(path)
	if err != nil {
		return nil, before, err
	}
	if before != after || int64(len(data)) != after.size {
		return nil, before, errUnstable
	}
	return data, after, nil
}

func stat(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, fmt.Errorf("model file: %w", err)
	}
	return fileStamp{mod: st.ModTime(), size: st.Size()}, nil
}

// watch polls the model file until ctx ends; Close owns and stops it.
func (t *Transform) watch(ctx context.Context) {
	defer t.wg.Done()
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.checkReload()
		}
	}
}

// checkReload loads a changed model file and swaps it in, or records why not.
func (t *Transform) checkReload() {
	stamp, err := stat(t.path)
	if err != nil {
		t.setHealth(fmt.Errorf("model %s: %w (still serving %s)", t.path, err, t.version()))
		return
	}
	t.polls++
	// mtime+size catch a normal replace; a periodic full hash also catches
	// a same-size copy that preserved the old mtime (cp -p, rsync -t).
	if stamp == t.lastStat && t.polls%rehashEvery != 0 {
		return
	}
	data, stamp, err := readStable(t.path)
	if errors.Is(err, errUnstable) {
		return // being written: look again next tick
	}
	if err != nil {
		t.setHealth(fmt.Errorf("model %s: %w (still serving %s)", t.path, err, t.version()))
		return
	}
	t.lastStat = stamp
	cur := t.cur.Load()
	if cur == nil {
		return // closed
	}
	if h := hashOf(data); h == cur.hash {
		t.setHealth(nil) // touched, or reverted to the serving model
		return
	} else if h == t.failedHash {
		return
	}
	m, err := loadModel(data, t.ov)
	if err == nil {
		err = t.fits(m)
		if err != nil {
			m.retire()
		}
	}
	if err != nil {
		t.failedHash = hashOf(data)
		t.reloadFailures.Add(1)
		err = fmt.Errorf("new model in %s rejected, still serving %s: %w", t.path, cur.id, err)
		t.log.Error("anomaly model reload failed", "err", err)
		t.setHealth(err)
		return
	}
	old := t.cur.Swap(m)
	t.failedHash = ""
	t.setHealth(nil)
	t.reloads.Add(1)
	t.log.Info("anomaly model reloaded", "path", t.path, "model", m.id, "previous", old.id)
	old.retire() // waits for batches still running on it
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (t *Transform) setHealth(err error) {
	t.healthMu.Lock()
	t.health = err
	t.healthMu.Unlock()
}

// Health reports a model reload that failed (the previous model still
// serves); nil when the newest file is the one serving.
func (t *Transform) Health() error {
	t.healthMu.Lock()
	defer t.healthMu.Unlock()
	return t.health
}

func (t *Transform) version() string {
	if m := t.cur.Load(); m != nil {
		return m.id
	}
	return "no model"
}

// ModelVersion is the id of the serving model (name:version@hash).
func (t *Transform) ModelVersion() string { return t.version() }

// Stats returns the counters.
func (t *Transform) Stats() Stats {
	return Stats{
		Scored: t.scored.Load(), Skipped: t.skipped.Load(), Failed: t.failed.Load(), Batches: t.batches.Load(),
		Reloads: t.reloads.Load(), ReloadFailures: t.reloadFailures.Load(), ModelVersion: t.version(),
	}
}

var errClosed = errors.New("anomaly transform is closed")

// acquire returns the serving model, held shared until release.
func (t *Transform) acquire() (*model, error) {
	for {
		m := t.cur.Load()
		if m == nil {
			return nil, errClosed
		}
		m.mu.RLock()
		if !m.closed {
			return m, nil
		}
		m.mu.RUnlock() // swapped out meanwhile: take the new one
	}
}

// Apply scores one record; ApplyBatch is the efficient form.
func (t *Transform) Apply(rec *connect.Record) (*connect.Record, error) {
	r := t.ApplyBatch([]*connect.Record{rec})[0]
	return r.Record, r.Err
}

// ApplyBatch scores every record with one inference call. Records with bad
// features fail alone (or pass unscored with on.invalid.feature=skip);
// tombstones pass through.
func (t *Transform) ApplyBatch(recs []*connect.Record) []connect.BatchResult {
	out := make([]connect.BatchResult, len(recs))
	m, err := t.acquire()
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	defer m.mu.RUnlock()

	f := m.nFeatures
	ext := t.ext
	if ext.mode == InputFields {
		ext.fields = m.features
	}
	x := make([]float32, 0, len(recs)*f)
	raw := make([]float64, f)
	rows := make([]int, 0, len(recs)) // index into recs of each scored row
	for i, rec := range recs {
		out[i].Record = rec
		if rec == nil || rec.Value == nil {
			continue
		}
		if err := ext.extract(rec.Value, raw); err != nil {
			if t.policy == PolicySkip {
				t.skipped.Add(1)
				continue
			}
			t.failed.Add(1)
			out[i] = connect.BatchResult{Err: fmt.Errorf("anomaly score: %w", err)}
			continue
		}
		x = x[:len(x)+f]
		m.scaling.apply(x[len(x)-f:], raw)
		rows = append(rows, i)
	}
	if len(rows) == 0 {
		return out
	}
	scores := make([]float64, len(rows))
	if err := m.run(x, len(rows), scores); err != nil {
		err = fmt.Errorf("anomaly score with model %s: %w", m.id, err)
		for _, i := range rows {
			out[i] = connect.BatchResult{Err: err}
		}
		t.failed.Add(int64(len(rows)))
		return out
	}
	t.batches.Add(1)
	for k, i := range rows {
		nr, err := t.withScore(recs[i], m, scores[k])
		if err != nil {
			t.failed.Add(1)
			out[i] = connect.BatchResult{Err: fmt.Errorf("anomaly score: %w", err)}
			continue
		}
		t.scored.Add(1)
		out[i].Record = nr
	}
	return out
}

// withScore returns a copy of rec whose value carries the score fields.
// A shallow copy of the top-level map is enough: only top-level keys are
// added, nested values are shared untouched.
func (t *Transform) withScore(rec *connect.Record, m *model, score float64) (*connect.Record, error) {
	v, ok := rec.Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value is %s; scores go into a map value (wrap it with HoistField$Value)", typeName(rec.Value))
	}
	nv := make(map[string]any, len(v)+3)
	maps.Copy(nv, v)
	nv[t.scoreF] = score
	if t.flagF != "" && m.hasThresh {
		nv[t.flagF] = score > m.threshold
	}
	if t.modelF != "" {
		nv[t.modelF] = m.id
	}
	nr := rec.Clone()
	nr.Value = nv
	if rec.ValueSchema != nil {
		s, err := t.scoredSchema(rec.ValueSchema, m.hasThresh)
		if err != nil {
			return nil, err
		}
		nr.ValueSchema = s
	}
	return nr, nil
}

// scoredSchema adds the output fields to a struct schema, cached per input
// schema since a topic's records share one.
func (t *Transform) scoredSchema(s *connect.Schema, withFlag bool) (*connect.Schema, error) {
	if s.Type != connect.Struct {
		return nil, fmt.Errorf("value schema is %s, not a struct", s.Type)
	}
	t.schemaMu.Lock()
	defer t.schemaMu.Unlock()
	if c, ok := t.schemas[s]; ok && (!withFlag || t.flagF == "" || hasField(c, t.flagF)) {
		return c, nil
	}
	c := s.Copy()
	add := func(name string, typ connect.SchemaType) {
		if name == "" {
			return
		}
		if _, ok := c.Field(name); ok {
			return
		}
		c.Fields = append(c.Fields, connect.Field{Name: name, Schema: &connect.Schema{Type: typ, Optional: true}})
	}
	add(t.scoreF, connect.Float64)
	if withFlag {
		add(t.flagF, connect.Boolean)
	}
	add(t.modelF, connect.String)
	if t.schemas == nil {
		t.schemas = map[*connect.Schema]*connect.Schema{}
	}
	t.schemas[s] = c
	return c, nil
}

func hasField(s *connect.Schema, name string) bool { _, ok := s.Field(name); return ok }

// Close stops the watcher and frees the session; safe to call twice.
func (t *Transform) Close() error {
	if t.cancel != nil {
		t.cancel()
	}
	t.wg.Wait()
	if m := t.cur.Swap(nil); m != nil {
		m.retire()
	}
	return nil
}

var (
	_ connect.BatchTransformation = (*Transform)(nil)
	_ connect.HealthReporter      = (*Transform)(nil)
)
