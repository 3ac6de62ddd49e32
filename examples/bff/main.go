// Command bff is an example backend-for-frontend of the customers API: it serves a
// frontend's account page (the overview, the credit settings form) and calls the
// API with the typed client, authenticated by an API token. See README.md.
//
// Environment: API_TOKEN (required: an API token, cca_…), API_URL (default
// http://127.0.0.1:8080/query, where `make run` serves the API), LISTEN_ADDR
// (default 127.0.0.1:8081).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cloudcomms/customers/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bff:", err)
		os.Exit(1)
	}
}

func run() error {
	token := os.Getenv("API_TOKEN")
	// A JWT would work too, but expires within a day (JWT_MAX_TTL); a service runs
	// on a token that lives until it is revoked.
	if !strings.HasPrefix(token, "cca_") {
		return errors.New("API_TOKEN must be an API token (cca_…): see examples/bff/README.md")
	}
	apiURL := envOr("API_URL", "http://127.0.0.1:8080/query")
	addr := envOr("LISTEN_ADDR", "127.0.0.1:8081")
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	// Under the API's own REQUEST_TIMEOUT (10 s), so that a slow API is this
	// service's 502 rather than its client's timeout.
	api := client.New(apiURL, token, &http.Client{Timeout: 9 * time.Second})
	srv := &http.Server{
		Addr:              addr,
		Handler:           newHandler(api, logger),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	logger.Info("serving", slog.String("addr", addr), slog.String("api", apiURL))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
