// Command flashlive is the flash-sale server: it reads FLASHLIVE_*
// configuration, opens PostgreSQL, Redis and NATS, wires the services and
// serves /graphql, /healthz, /readyz, /metrics and the demo page at /.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], osGetenv, os.Stderr))
	}
	cfg, warnings, err := LoadConfig(osGetenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flashlive: %v\n", err)
		os.Exit(2)
	}
	logger := NewLogger(os.Stderr, cfg.LogLevel)
	for _, w := range warnings {
		logger.Warn(w)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := NewMain(cfg, logger).Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("flashlive stopped", "err", err)
		os.Exit(1)
	}
}

// NewLogger returns the JSON logger of the process: every line logged with
// a request's context carries its request ID.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}
