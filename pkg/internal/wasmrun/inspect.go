package wasmrun

import (
	"context"
	"fmt"

	"github.com/shoalmesh/shoal/pkg/internal/preempt"
	"github.com/tetratelabs/wazero"
)

// Inspect checks, cheaply, that wasm can be run by a Runner: it decodes and
// validates the module with wazero's interpreter (no native compilation),
// checks that it imports only wasi_snapshot_preview1 functions that wazero
// provides and the shoal module's process functions (docs/PROCESSES.md), that it can be instrumented (package preempt), and returns
// its ABI. It is meant for the gateway at upload time;
// errors are written for the module's author and wrap ErrNotWasm,
// ErrUnsupportedImport or ErrNoABI.
func Inspect(ctx context.Context, wasm []byte) (ABI, error) {
	s, err := inspect(ctx, wasm)
	return s.abi, err
}

func inspect(ctx context.Context, wasm []byte) (shape, error) {
	if err := checkBounds(wasm); err != nil {
		return shape{}, err
	}
	// A runtime per call: closing it frees everything the module needed.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithDebugInfoEnabled(false))
	defer rt.Close(context.WithoutCancel(ctx))
	cm, err := compileModule(ctx, rt, wasm)
	if err != nil {
		return shape{}, err
	}
	// Workers run it instrumented (unless --preempt wazero): a module the
	// rewriting refuses, one that exports the budget's name say, would fail
	// every run, so it is refused here, once.
	if _, err := preempt.Instrument(wasm); err != nil {
		return shape{}, fmt.Errorf("%w: %w", ErrNotWasm, err)
	}
	return check(cm, wasm, false)
}

// compileModule compiles wasm in rt. A panic of wazero on hostile bytes is
// an error about the module, not a crash.
func compileModule(ctx context.Context, rt wazero.Runtime, wasm []byte) (cm wazero.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			cm, err = nil, fmt.Errorf("%w: compiler panicked: %v", ErrNotWasm, p)
		}
	}()
	cm, err = rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotWasm, err)
	}
	return cm, nil
}

// check reads what analyze needs from wasm, which wazero compiled into cm,
// after instrumenting it if instrumented.
func check(cm wazero.CompiledModule, wasm []byte, instrumented bool) (shape, error) {
	info, err := scanBinary(wasm)
	if err != nil {
		return shape{}, err
	}
	sigs, err := wasiSignatures()
	if err != nil {
		return shape{}, err
	}
	return analyze(cm, info, sigs, instrumented)
}
