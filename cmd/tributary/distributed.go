package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/rest"
	"github.com/tributary-io/tributary/rest/security"
	"github.com/tributary-io/tributary/worker"
	"github.com/tributary-io/tributary/worker/distributed"
)

func init() {
	commands["distributed"] = command{
		summary: "run a worker of a cluster: tributary distributed worker.properties",
		run:     runDistributed,
	}
}

func runDistributed(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: tributary distributed worker.properties")
		return 2
	}
	levels, out := newLogging()
	log := levels.Named(out, "tributary.worker")
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary: worker config:", err)
		return 1
	}
	props, err := worker.ParseProperties(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tributary: worker config %s: %v\n", args[0], err)
		return 1
	}
	cfg, err := distributed.ParseConfig(props)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	sec, err := security.New(cfg.Props, levels.Named(out, "tributary.rest.security"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary: worker config:", err)
		return 1
	}
	clientTLS, err := security.ClientTLSConfig(cfg.Props)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary: worker config:", err)
		return 1
	}
	lis, workerID, err := listen(cfg.Config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	scheme := "http"
	if l := cfg.String("rest.advertised.listener"); l != "" {
		scheme = l
	} else if u, err := url.Parse(cfg.List(worker.ListenersConfig)[0]); err == nil {
		scheme = u.Scheme
	}
	h, err := distributed.New(distributed.Options{Config: cfg, Registry: connect.Default, WorkerID: workerID,
		URL: scheme + "://" + workerID, Log: log, Sign: sec.Sign, ClientTLS: clientTLS,
		TrustForwarded: func(r *http.Request) bool { return !sec.SigningEnabled() || security.Signed(r.Context()) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	srv := rest.New(rest.Options{Herder: h, Registry: connect.Default, Metrics: h.Worker().Metrics.Registry, Levels: levels,
		Resolver: h.Worker().Resolver(), Pprof: cfg.Bool(worker.PprofEnableConfig), Log: levels.Named(out, "tributary.rest")})
	// Security first (CORS, signatures, auth), then forwarding to the leader.
	return serveWorker(log, lis, sec.Wrap(h.Handler(srv.Handler())), h, nil,
		"worker_id", workerID, "group", cfg.String(worker.GroupIDConfig))
}
