package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/logging"
	"github.com/tributary-io/tributary/rest"
	"github.com/tributary-io/tributary/rest/security"
	"github.com/tributary-io/tributary/worker"
)

func init() {
	commands["standalone"] = command{
		summary: "run a standalone worker: tributary standalone worker.properties [connector.json|.properties …]",
		run:     runStandalone,
	}
	commands["version"] = command{summary: "print the version", run: func([]string) int {
		fmt.Printf("tributary %s (%s)\n", worker.Version, worker.Commit)
		return 0
	}}
}

// newLogging sets up named, run-time adjustable loggers on stderr;
// TRIBUTARY_LOG_FORMAT=json switches to JSON lines.
func newLogging() (*logging.Levels, slog.Handler) {
	lv := slog.LevelInfo
	if l, ok := logging.ParseLevel(os.Getenv("TRIBUTARY_LOG_LEVEL")); ok {
		lv = l
	}
	levels := logging.NewLevels(lv)
	opts := &slog.HandlerOptions{Level: slog.LevelDebug - 4}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if os.Getenv("TRIBUTARY_LOG_FORMAT") == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return levels, h
}

func runStandalone(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: tributary standalone worker.properties [connector.json|connector.properties …]")
		return 2
	}
	levels, out := newLogging()
	log := levels.Named(out, "tributary.worker")
	cfg, err := worker.LoadConfigFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	var connectors []connectorFile
	for _, path := range args[1:] {
		cf, err := readConnectorFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tributary:", err)
			return 1
		}
		connectors = append(connectors, cf)
	}
	sec, err := security.New(cfg.Props, levels.Named(out, "tributary.rest.security"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary: worker config:", err)
		return 1
	}
	lis, workerID, err := listen(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	h, err := worker.NewStandalone(cfg, connect.Default, workerID, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	srv := rest.New(rest.Options{Herder: h, Registry: connect.Default, Metrics: h.Worker().Metrics.Registry, Levels: levels,
		Resolver: h.Worker().Resolver(), Pprof: cfg.Bool(worker.PprofEnableConfig), Log: levels.Named(out, "tributary.rest")})
	return serveWorker(log, lis, sec.Wrap(srv.Handler()), h, func(ctx context.Context) error {
		for _, cf := range connectors {
			if _, err := h.CreateConnector(ctx, cf.name, cf.config, worker.TargetRunning); err != nil {
				return fmt.Errorf("creating connector %s from %s: %w", cf.name, cf.path, err)
			}
		}
		return nil
	}, "worker_id", workerID)
}

// listen opens the first listener and returns the worker id other workers
// and statuses use (advertised host:port).
func listen(cfg *worker.Config) (net.Listener, string, error) {
	listeners := cfg.List(worker.ListenersConfig)
	u, err := url.Parse(listeners[0])
	if err != nil {
		return nil, "", fmt.Errorf("listeners: %w", err)
	}
	lis, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, "", fmt.Errorf("listening on %s: %w", u.Host, err)
	}
	if u.Scheme == "https" {
		tc, err := security.TLSConfig(cfg.Props)
		if err != nil {
			lis.Close()
			return nil, "", fmt.Errorf("https listener: %w", err)
		}
		lis = tls.NewListener(lis, tc)
	}
	host, port, _ := net.SplitHostPort(lis.Addr().String())
	if h := cfg.String("rest.advertised.host.name"); h != "" {
		host = h
	}
	if cfg.IsSet("rest.advertised.port") {
		port = fmt.Sprint(cfg.Int("rest.advertised.port"))
	}
	return lis, net.JoinHostPort(host, port), nil
}

type connectorFile struct {
	path   string
	name   string
	config map[string]string
}

// readConnectorFile accepts Kafka Connect's two forms: a .properties file,
// or JSON either {"name":…,"config":{…}} or a flat config object.
func readConnectorFile(path string) (connectorFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return connectorFile{}, fmt.Errorf("reading connector config: %w", err)
	}
	cf := connectorFile{path: path}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		var wrapped struct {
			Name   string         `json:"name"`
			Config map[string]any `json:"config"`
		}
		if err := json.Unmarshal(b, &wrapped); err != nil {
			return cf, fmt.Errorf("connector config %s: malformed JSON: %w", path, err)
		}
		doc := wrapped.Config
		if doc == nil { // the flat form
			if err := json.Unmarshal(b, &doc); err != nil {
				return cf, fmt.Errorf("connector config %s: malformed JSON: %w", path, err)
			}
		} else if _, ok := doc["name"]; !ok && wrapped.Name != "" {
			doc["name"] = wrapped.Name
		}
		cf.config = map[string]string{}
		for k, v := range doc {
			switch x := v.(type) {
			case string:
				cf.config[k] = x
			case float64, bool:
				cf.config[k] = fmt.Sprint(x)
			default:
				return cf, fmt.Errorf("connector config %s: value of %q must be a string, number or boolean", path, k)
			}
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return cf, fmt.Errorf("reading connector config: %w", err)
		}
		defer f.Close()
		if cf.config, err = worker.ParseProperties(f); err != nil {
			return cf, fmt.Errorf("connector config %s: %w", path, err)
		}
	}
	cf.name = cf.config["name"]
	if cf.name == "" {
		return cf, fmt.Errorf("connector config %s: \"name\" is required", path)
	}
	return cf, nil
}
