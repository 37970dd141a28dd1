package meshtest

import (
	"context"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// instant is the runner of light workers (Options.Light): it holds every
// module and runs each run at once, successfully, printing nothing, so
// that a scale test measures the gateway, the connections and the
// protocol, not wazero. It fetches and compiles nothing.
type instant struct{}

var _ worker.Runner = instant{}

func (instant) Run(context.Context, wasmrun.Spec) wasmrun.Result {
	return wasmrun.Result{OK: true, Output: "0"}
}

func (instant) Has(wasmrun.Hash) bool { return true }

func (instant) Compile(_ context.Context, wasm []byte) (wasmrun.Hash, time.Duration, error) {
	return wasmrun.HashOf(wasm), 0, nil
}

func (instant) Cached() []wasmrun.Hash { return nil }

func (instant) Evicted() <-chan struct{} { return nil } // never

func (instant) Close(context.Context) error { return nil }
