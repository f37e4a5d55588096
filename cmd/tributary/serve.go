package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// herderLifecycle is what both herders offer the worker commands.
type herderLifecycle interface {
	Start(ctx context.Context) error
	Stop()
}

// serveWorker serves the REST handler, starts the herder, runs afterStart
// (e.g. creating connectors from files), then runs until SIGINT/SIGTERM or a
// REST failure and shuts down gracefully. It returns the exit code.
func serveWorker(log *slog.Logger, lis net.Listener, handler http.Handler, h herderLifecycle,
	afterStart func(ctx context.Context) error, startedAttrs ...any) int {
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(lis) }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abort := func(err error) int {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		_ = httpSrv.Close()
		h.Stop()
		return 1
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err := h.Start(startCtx)
	cancel()
	if err != nil {
		return abort(fmt.Errorf("starting worker: %w", err))
	}
	log.Info("worker started", append([]any{"rest", lis.Addr().String()}, startedAttrs...)...)
	if afterStart != nil {
		if err := afterStart(ctx); err != nil {
			return abort(err)
		}
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("REST server failed", "error", err)
		}
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shutCtx)
	h.Stop()
	return 0
}
