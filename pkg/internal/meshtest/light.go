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
// protocol, not wazero. It fetches and compiles nothing. It reports the
// phases of a tiny module's run (lightRun), as the hash puzzle at
// difficulty 1 takes: the gateway learns the module's runs are short and
// sends them several to a call, as it does a real tiny module's (a run
// that reports no time at all says nothing of its length: each would go
// in a call of its own).
type instant struct{}

var _ worker.Runner = instant{}

// lightRun is the time a light worker's run reports.
const lightRun = 50 * time.Microsecond

func (instant) Run(context.Context, wasmrun.Spec) wasmrun.Result {
	return wasmrun.Result{OK: true, Output: "0", Instantiate: lightRun / 5, Run: lightRun - lightRun/5}
}

func (instant) Has(wasmrun.Hash) bool { return true }

func (instant) Standalone(wasmrun.Hash) bool { return true }

func (instant) Compile(_ context.Context, wasm []byte) (wasmrun.Hash, time.Duration, error) {
	return wasmrun.HashOf(wasm), 0, nil
}

func (instant) Cached() []wasmrun.Hash { return nil }

func (instant) Evicted() <-chan struct{} { return nil } // never

func (instant) Close(context.Context) error { return nil }
