package cli

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// servePprof serves Go's profiler (net/http/pprof, under /debug/pprof/) on
// addr until ctx ends, and returns the start line's field for it. The
// profiler shows memory and stacks and costs CPU while it profiles, so it is
// off unless asked for, and a non-loopback address gets a warning.
func servePprof(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		log.Warn("the profiler address is not loopback: anyone who reaches it can read this node's memory profile and stacks", "pprof", ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := serve(ln, mux, log)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "pprof=http://" + ln.Addr().String() + "/debug/pprof/", nil
}
