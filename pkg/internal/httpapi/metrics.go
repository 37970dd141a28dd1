package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
)

var _ Node = (*gateway.Gateway)(nil)

// Node is what the metrics and health endpoints serve of a node, gateway
// or worker: its own registry, and whether it is ready for work.
type Node interface {
	Registry() *prometheus.Registry
	// Ready returns nil when the node takes work, else why not.
	Ready() error
}

// NodeHandler serves GET /metrics, /healthz and /readyz of a node, without
// authentication, for a listener of its own (shoal worker --metrics).
// role names the node in /healthz.
func NodeHandler(role string, n Node, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(n, logger))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "role": role})
	})
	mux.HandleFunc("GET /readyz", readyz(n))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { route(mux, w, r) })
}

// metricsHandler serves n's registry in the Prometheus exposition format;
// a collector's error is logged, and the rest still served.
func metricsHandler(n Node, logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(n.Registry(), promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// readyz answers 200 when n is ready, else 503 with the reason, so that a
// probe or a load balancer can tell.
func readyz(n Node) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if err := n.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, api.Ready{Status: "not ready", Reason: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, api.Ready{Status: "ready"})
	}
}
