package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/logging"
	"github.com/tributary-io/tributary/worker"
)

// maxBody bounds request bodies; connector configs are small.
const maxBody = 4 << 20

// Options wire a Server.
type Options struct {
	Herder   Herder
	Registry *connect.Registry
	Metrics  *prometheus.Registry  // nil: no /metrics
	Levels   *logging.Levels       // nil: /admin/loggers answers 404
	Resolver worker.ConfigResolver // config provider references in validation; may be nil
	Pprof    bool                  // serve /debug/pprof/
	Log      *slog.Logger
}

// Server is the REST API.
type Server struct {
	opts   Options
	engine *gin.Engine
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New builds the gin engine with every route.
func New(opts Options) *Server {
	s := &Server{opts: opts}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.Use(s.recover)
	e.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "HTTP 404 Not Found") })
	e.NoMethod(func(c *gin.Context) { abort(c, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed") })

	e.GET("/", s.root)
	e.GET("/health", s.health)
	if opts.Metrics != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(opts.Metrics, promhttp.HandlerOpts{})))
	}
	if opts.Pprof {
		e.GET("/debug/pprof/*profile", gin.WrapF(servePprof))
	}
	e.GET("/connectors", s.listConnectors)
	e.POST("/connectors", s.createConnector)
	c := e.Group("/connectors/:connector")
	c.GET("", s.getConnector)
	c.DELETE("", s.deleteConnector)
	c.GET("/config", s.getConfig)
	c.PUT("/config", s.putConfig)
	c.PATCH("/config", s.patchConfig)
	c.GET("/status", s.getStatus)
	c.GET("/tasks", s.getTasks)
	c.GET("/tasks/:task/status", s.getTaskStatus)
	c.POST("/tasks/:task/restart", s.restartTask)
	c.POST("/restart", s.restartConnector)
	c.PUT("/pause", s.simple(http.StatusAccepted, Herder.PauseConnector))
	c.PUT("/resume", s.simple(http.StatusAccepted, Herder.ResumeConnector))
	c.PUT("/stop", s.simple(http.StatusNoContent, Herder.StopConnector))
	c.GET("/topics", s.getTopics)
	c.PUT("/topics/reset", s.simple(http.StatusAccepted, Herder.ResetConnectorTopics))
	c.GET("/offsets", s.getOffsets)
	c.PATCH("/offsets", s.alterOffsets)
	c.DELETE("/offsets", s.resetOffsets)
	e.GET("/connector-plugins", s.listPlugins)
	e.GET("/connector-plugins/:plugin/config", s.pluginConfig)
	e.PUT("/connector-plugins/:plugin/config/validate", s.validate)
	e.GET("/admin/loggers", s.listLoggers)
	e.GET("/admin/loggers/:logger", s.getLogger)
	e.PUT("/admin/loggers/:logger", s.setLogger)
	s.engine = e
	return s
}

// Handler returns the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// errorBody is Kafka Connect's error shape.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func abort(c *gin.Context, code int, msg string) {
	c.AbortWithStatusJSON(code, errorBody{ErrorCode: code, Message: msg})
}

// fail maps herder errors to Kafka Connect's codes; anything untyped is a 500.
func (s *Server) fail(c *gin.Context, err error) {
	var he interface{ HTTPStatus() int }
	if errors.As(err, &he) {
		abort(c, he.HTTPStatus(), err.Error())
		return
	}
	var ce *connect.ConfigError
	if errors.As(err, &ce) {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	s.opts.Log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "error", err)
	abort(c, http.StatusInternalServerError, err.Error())
}

// reply answers 200 with v, or the error.
func (s *Server) reply(c *gin.Context, v any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Log.Error("panic serving request", "path", c.Request.URL.Path, "panic", p)
			abort(c, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p))
		}
	}()
	c.Next()
}

// decode reads a JSON body strictly into v; 400 on any problem.
func decode(c *gin.Context, v any) bool {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBody+1))
	if err != nil {
		abort(c, http.StatusBadRequest, "reading request body: "+err.Error())
		return false
	}
	if len(body) > maxBody {
		abort(c, http.StatusRequestEntityTooLarge, "request body is larger than 4 MiB")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		abort(c, http.StatusBadRequest, "request body is empty; a JSON document is required")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		abort(c, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		abort(c, http.StatusBadRequest, "malformed JSON body: unexpected data after the JSON document")
		return false
	}
	return true
}

// decodeConfig reads a JSON object body as a connector config (or, with
// allowNull, a patch whose null values remove keys).
func decodeConfig(c *gin.Context, allowNull bool) (map[string]string, map[string]*string, bool) {
	var body map[string]any
	if !decode(c, &body) {
		return nil, nil, false
	}
	cfg, patch, err := configMap(body, allowNull)
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return nil, nil, false
	}
	return cfg, patch, true
}

// configMap turns a JSON object into a connector config. Numbers and
// booleans are accepted and kept as text, as Kafka Connect's Jackson does.
func configMap(raw map[string]any, allowNull bool) (map[string]string, map[string]*string, error) {
	out := make(map[string]string, len(raw))
	patch := make(map[string]*string, len(raw))
	for k, v := range raw {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		case nil:
			if !allowNull {
				return nil, nil, fmt.Errorf("config value of %q must not be null", k)
			}
			patch[k] = nil
			continue
		default:
			return nil, nil, fmt.Errorf("config value of %q must be a string, number or boolean, not %T", k, v)
		}
		out[k] = s
		patch[k] = &s
	}
	return out, patch, nil
}

func (s *Server) root(c *gin.Context) {
	info, err := s.opts.Herder.ServerInfo(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, info)
}

// health follows KIP-1017 (Kafka Connect 3.9).
func (s *Server) health(c *gin.Context) {
	ready, err := s.opts.Herder.Health(c)
	switch {
	case err != nil:
		c.JSON(http.StatusInternalServerError, gin.H{"status": "unhealthy", "message": err.Error()})
	case !ready:
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "starting", "message": "Worker is still starting up."})
	default:
		c.JSON(http.StatusOK, gin.H{"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
	}
}

func (s *Server) listConnectors(c *gin.Context) {
	names, err := s.opts.Herder.Connectors(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var expand []string
	for _, e := range c.QueryArray("expand") {
		for _, part := range strings.Split(e, ",") {
			expand = append(expand, strings.TrimSpace(part))
		}
	}
	withStatus, withInfo := slices.Contains(expand, "status"), slices.Contains(expand, "info")
	if !withStatus && !withInfo {
		if names == nil {
			names = []string{}
		}
		c.JSON(http.StatusOK, names)
		return
	}
	out := map[string]map[string]any{}
	for _, n := range names {
		entry := map[string]any{}
		if withStatus {
			st, err := s.opts.Herder.ConnectorStatus(c, n)
			if worker.IsNotFound(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				s.fail(c, err)
				return
			}
			entry["status"] = st
		}
		if withInfo {
			info, err := s.opts.Herder.ConnectorInfo(c, n)
			if worker.IsNotFound(err) {
				continue
			}
			if err != nil {
				s.fail(c, err)
				return
			}
			entry["info"] = info
		}
		out[n] = entry
	}
	c.JSON(http.StatusOK, out)
}

type createRequest struct {
	Name         *string        `json:"name"`
	Config       map[string]any `json:"config"`
	InitialState string         `json:"initial_state"`
}

func (s *Server) createConnector(c *gin.Context) {
	var req createRequest
	if !decode(c, &req) {
		return
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		abort(c, http.StatusBadRequest, "Connector name must be specified in the request body")
		return
	}
	name := *req.Name
	cfg, _, err := configMap(req.Config, false)
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	if req.Config == nil {
		abort(c, http.StatusBadRequest, "Connector config must be specified in the request body")
		return
	}
	if n, ok := cfg[worker.NameConfig]; ok && n != name {
		abort(c, http.StatusBadRequest, fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name))
		return
	}
	initial := worker.TargetRunning
	if req.InitialState != "" {
		if initial, err = worker.ParseTargetState(req.InitialState); err != nil {
			s.fail(c, err)
			return
		}
	}
	info, err := s.opts.Herder.CreateConnector(c, name, cfg, initial)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", location(c, "/connectors/"+url.PathEscape(name)))
	c.JSON(http.StatusCreated, info)
}

func location(c *gin.Context, path string) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + path
}

func (s *Server) getConnector(c *gin.Context) {
	info, err := s.opts.Herder.ConnectorInfo(c, c.Param("connector"))
	s.reply(c, info, err)
}

func (s *Server) deleteConnector(c *gin.Context) {
	if err := s.opts.Herder.DeleteConnector(c, c.Param("connector")); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) getConfig(c *gin.Context) {
	cfg, err := s.opts.Herder.ConnectorConfig(c, c.Param("connector"))
	s.reply(c, cfg, err)
}

func (s *Server) putConfig(c *gin.Context) {
	cfg, _, ok := decodeConfig(c, false)
	if !ok {
		return
	}
	name := c.Param("connector")
	if n, ok := cfg[worker.NameConfig]; ok && n != name {
		abort(c, http.StatusBadRequest, fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name))
		return
	}
	info, created, err := s.opts.Herder.PutConnectorConfig(c, name, cfg)
	if err != nil {
		s.fail(c, err)
		return
	}
	if created {
		c.Header("Location", location(c, "/connectors/"+url.PathEscape(name)))
		c.JSON(http.StatusCreated, info)
		return
	}
	c.JSON(http.StatusOK, info)
}

func (s *Server) patchConfig(c *gin.Context) {
	_, patch, ok := decodeConfig(c, true)
	if !ok {
		return
	}
	info, err := s.opts.Herder.PatchConnectorConfig(c, c.Param("connector"), patch)
	s.reply(c, info, err)
}

func (s *Server) getStatus(c *gin.Context) {
	st, err := s.opts.Herder.ConnectorStatus(c, c.Param("connector"))
	s.reply(c, st, err)
}

func (s *Server) getTasks(c *gin.Context) {
	tasks, err := s.opts.Herder.TaskConfigs(c, c.Param("connector"))
	s.reply(c, tasks, err)
}

func taskID(c *gin.Context) (worker.ConnectorTaskID, bool) {
	n, err := strconv.Atoi(c.Param("task"))
	if err != nil || n < 0 {
		abort(c, http.StatusNotFound, fmt.Sprintf("Task %s-%s not found", c.Param("connector"), c.Param("task")))
		return worker.ConnectorTaskID{}, false
	}
	return worker.ConnectorTaskID{Connector: c.Param("connector"), Task: n}, true
}

func (s *Server) getTaskStatus(c *gin.Context) {
	id, ok := taskID(c)
	if !ok {
		return
	}
	st, err := s.opts.Herder.TaskStatus(c, id)
	s.reply(c, st, err)
}

func (s *Server) restartTask(c *gin.Context) {
	id, ok := taskID(c)
	if !ok {
		return
	}
	if err := s.opts.Herder.RestartTask(c, id); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func boolQuery(c *gin.Context, key string) (bool, bool) {
	v, ok := c.GetQuery(key)
	if !ok || v == "" {
		return false, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		abort(c, http.StatusBadRequest, fmt.Sprintf("query parameter %s must be true or false, not %q", key, v))
		return false, false
	}
	return b, true
}

func (s *Server) restartConnector(c *gin.Context) {
	include, ok := boolQuery(c, "includeTasks")
	if !ok {
		return
	}
	onlyFailed, ok := boolQuery(c, "onlyFailed")
	if !ok {
		return
	}
	st, err := s.opts.Herder.RestartConnector(c, worker.RestartRequest{Connector: c.Param("connector"), IncludeTasks: include, OnlyFailed: onlyFailed})
	if err != nil {
		s.fail(c, err)
		return
	}
	if st == nil {
		c.Status(http.StatusNoContent)
		return
	}
	c.JSON(http.StatusAccepted, st)
}

func (s *Server) simple(code int, op func(Herder, context.Context, string) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := op(s.opts.Herder, c, c.Param("connector")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(code)
	}
}

func (s *Server) getTopics(c *gin.Context) {
	name := c.Param("connector")
	topics, err := s.opts.Herder.ConnectorTopics(c, name)
	if err != nil {
		s.fail(c, err)
		return
	}
	if topics == nil {
		topics = []string{}
	}
	c.JSON(http.StatusOK, gin.H{name: gin.H{"topics": topics}})
}

func (s *Server) getOffsets(c *gin.Context) {
	offs, err := s.opts.Herder.Offsets(c, c.Param("connector"))
	s.reply(c, offs, err)
}

func (s *Server) alterOffsets(c *gin.Context) {
	var body struct {
		Offsets []struct {
			Partition map[string]any  `json:"partition"`
			Offset    *map[string]any `json:"offset"`
		} `json:"offsets"`
	}
	if !decode(c, &body) {
		return
	}
	if body.Offsets == nil {
		abort(c, http.StatusBadRequest, "The body must contain an \"offsets\" list")
		return
	}
	var offs worker.ConnectorOffsets
	for _, o := range body.Offsets {
		co := worker.ConnectorOffset{Partition: o.Partition}
		if o.Offset != nil {
			co.Offset = *o.Offset
		}
		offs.Offsets = append(offs.Offsets, co)
	}
	var err error
	if offs.Offsets, err = worker.NormalizeOffsets(offs.Offsets); err != nil {
		abort(c, http.StatusBadRequest, "malformed offsets: "+err.Error())
		return
	}
	msg, err := s.opts.Herder.AlterOffsets(c, c.Param("connector"), offs)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"message": msg})
}

func (s *Server) resetOffsets(c *gin.Context) {
	msg, err := s.opts.Herder.ResetOffsets(c, c.Param("connector"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"message": msg})
}

func (s *Server) listPlugins(c *gin.Context) {
	only := true
	if v, ok := c.GetQuery("connectorsOnly"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			abort(c, http.StatusBadRequest, fmt.Sprintf("query parameter connectorsOnly must be true or false, not %q", v))
			return
		}
		only = b
	}
	kinds := []connect.Kind{connect.KindSource, connect.KindSink}
	if !only {
		kinds = append(kinds, connect.KindTransformation, connect.KindPredicate, connect.KindConverter, connect.KindHeaderConverter)
	}
	out := []worker.PluginInfo{}
	for _, p := range s.opts.Registry.Plugins(kinds...) {
		out = append(out, worker.PluginInfo{Class: p.Class, Type: string(p.Kind), Version: p.Version})
	}
	c.JSON(http.StatusOK, out)
}

var allKinds = []connect.Kind{connect.KindSource, connect.KindSink, connect.KindTransformation, connect.KindPredicate, connect.KindConverter, connect.KindHeaderConverter}

func (s *Server) pluginConfig(c *gin.Context) {
	p, err := s.opts.Registry.Lookup(c.Param("plugin"), allKinds...)
	if err != nil {
		abort(c, http.StatusNotFound, err.Error())
		return
	}
	c.JSON(http.StatusOK, worker.KeyInfos(p.Config))
}

func (s *Server) validate(c *gin.Context) {
	plugin := c.Param("plugin")
	p, err := s.opts.Registry.Lookup(plugin, connect.KindSource, connect.KindSink)
	if err != nil {
		abort(c, http.StatusNotFound, err.Error())
		return
	}
	cfg, _, ok := decodeConfig(c, false)
	if !ok {
		return
	}
	if cls, ok := cfg[worker.ConnectorClassConfig]; ok {
		other, err := s.opts.Registry.Lookup(cls, connect.KindSource, connect.KindSink)
		if err != nil || other.Class != p.Class {
			abort(c, http.StatusBadRequest, fmt.Sprintf("Included connector type %s does not match request type %s", cls, plugin))
			return
		}
	} else {
		cfg[worker.ConnectorClassConfig] = p.Class
	}
	infos, _ := worker.ValidateConnectorConfig(s.opts.Registry, cfg, worker.WithResolver(s.opts.Resolver))
	c.JSON(http.StatusOK, infos)
}

func (s *Server) listLoggers(c *gin.Context) {
	if s.opts.Levels == nil {
		abort(c, http.StatusNotFound, "logger levels are not managed by this worker")
		return
	}
	c.JSON(http.StatusOK, s.opts.Levels.All())
}

func (s *Server) getLogger(c *gin.Context) {
	name := c.Param("logger")
	if s.opts.Levels == nil || !s.opts.Levels.Known(name) {
		abort(c, http.StatusNotFound, fmt.Sprintf("Logger %s not found.", name))
		return
	}
	c.JSON(http.StatusOK, s.opts.Levels.Get(name))
}

func (s *Server) setLogger(c *gin.Context) {
	if s.opts.Levels == nil {
		abort(c, http.StatusNotFound, "logger levels are not managed by this worker")
		return
	}
	var body struct {
		Level string `json:"level"`
	}
	if !decode(c, &body) {
		return
	}
	lv, ok := logging.ParseLevel(body.Level)
	if !ok {
		abort(c, http.StatusBadRequest, fmt.Sprintf("Invalid log level '%s'.", body.Level))
		return
	}
	if scope := c.Query("scope"); scope != "" && scope != "worker" {
		abort(c, http.StatusBadRequest, fmt.Sprintf("Invalid scope '%s'; only 'worker' is supported", scope))
		return
	}
	c.JSON(http.StatusOK, s.opts.Levels.Set(c.Param("logger"), lv))
}

// servePprof serves Go's profiles; the named ones (heap, goroutine, …)
// go through pprof.Index.
func servePprof(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r)
	}
}
