package cli

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/httpapi"
)

// serveMetrics serves the /metrics, /healthz and /readyz of node n, whose
// role is named in /healthz, on addr, when addr is set, until stop. It
// returns the start line's field for it (empty when off), and warns when
// addr is not loopback: the endpoints have no token.
func serveMetrics(addr, role string, n httpapi.Node, log *slog.Logger) (field string, stop func(), err error) {
	if addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		log.Warn("the metrics address is not loopback: anyone who reaches it can read this node's metrics; bind it to loopback or a monitoring network", "metrics", ln.Addr().String())
	}
	srv := serve(ln, httpapi.NodeHandler(role, n, log), log)
	return "metrics=http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
