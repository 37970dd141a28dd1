package wasmrun_test

import (
	"context"
	"sync"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// Runners shared by the whole test binary, one per preempt mode and one
// with no time limit mechanism at all: the Go programs of several MB
// compile once in each, for every test and benchmark that uses them.
var (
	sharedMu      sync.Mutex
	sharedRunners = map[string]*wasmrun.Runner{}
)

// sharedRunner returns the shared Runner for preempt, made on first use
// and never closed (the test binary's exit releases it).
func sharedRunner(tb testing.TB, preempt string) *wasmrun.Runner {
	tb.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if r := sharedRunners[preempt]; r != nil {
		return r
	}
	cfg := wasmrun.DefaultConfig()
	cfg.Preempt = preempt
	r, err := wasmrun.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	sharedRunners[preempt] = r
	return r
}

// mustCompileBytes compiles wasm in r (at once when r holds it already).
func mustCompileBytes(tb testing.TB, r *wasmrun.Runner, wasm []byte) wasmrun.Hash {
	tb.Helper()
	h, _, err := r.Compile(context.Background(), wasm)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return h
}
