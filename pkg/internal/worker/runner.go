package worker

import (
	"context"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// Runner runs the wasm of a worker's runs. New uses a *wasmrun.Runner
// made from Config.Runtime; NewWithRunner takes another, which scale
// tests use to join many workers that run nothing (a runner that answers
// at once), so that the gateway, the connections and the protocol are
// what is measured.
type Runner interface {
	// Run runs spec's module, which Has reported held.
	Run(ctx context.Context, spec wasmrun.Spec) wasmrun.Result
	// Has reports whether module h is compiled and held.
	Has(h wasmrun.Hash) bool
	// Standalone reports whether module h is held and its runs need
	// nothing of the gateway once started (no process host functions).
	Standalone(h wasmrun.Hash) bool
	// Compile compiles wasm and holds it, returning its hash and the
	// time spent.
	Compile(ctx context.Context, wasm []byte) (wasmrun.Hash, time.Duration, error)
	// Cached lists the modules held, sorted: the worker's offers carry it.
	Cached() []wasmrun.Hash
	// Evicted is signaled when a held module was dropped.
	Evicted() <-chan struct{}
	// Close ends the runs in progress and releases everything held.
	Close(ctx context.Context) error
}

var _ Runner = (*wasmrun.Runner)(nil)
