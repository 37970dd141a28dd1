package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	wasi "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// errInitExit unwinds a ww module's _start that called proc_exit(0), without
// closing the instance, so that run can still be called on it.
var errInitExit = errors.New("proc_exit(0) during initialization")

// initPhaseKey marks the context of a ww module's _start call.
type initPhaseKey struct{}

// instantiateWASI instantiates wazero's wasi_snapshot_preview1 in rt, with
// proc_exit replaced by procExit.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(wasi.ModuleName)
	wasi.NewFunctionExporter().ExportFunctions(b)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(procExit), []api.ValueType{api.ValueTypeI32}, nil).
		WithParameterNames("rval").
		Export("proc_exit")
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate %s: %w", wasi.ModuleName, err)
	}
	return nil
}

// procExit behaves as WASI's proc_exit (close the instance with the exit
// code, then unwind), except that proc_exit(0) from a ww module's _start only
// unwinds: C and Go commands may exit(0) at the end of main, and the run
// export must stay callable afterwards.
func procExit(ctx context.Context, mod api.Module, stack []uint64) {
	code := api.DecodeU32(stack[0])
	if code == 0 && ctx.Value(initPhaseKey{}) != nil {
		panic(errInitExit)
	}
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// wasiSignatures maps each function wazero's WASI provides to its signature.
var wasiSignatures = sync.OnceValues(func() (map[string]string, error) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	b := rt.NewHostModuleBuilder(wasi.ModuleName)
	wasi.NewFunctionExporter().ExportFunctions(b)
	cm, err := b.Compile(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", wasi.ModuleName, err)
	}
	sigs := make(map[string]string)
	for name, fn := range cm.ExportedFunctions() {
		sigs[name] = signature(fn)
	}
	return sigs, nil
})

// sleeper is a WASI nanosleep (poll_oneoff on a clock) that really sleeps
// but wakes when the run ends, so a module sleeping for an hour cannot hold
// a run past its timeout. wazero's default sleep returns at once, which
// turns sleeping loops into busy loops.
func sleeper(ctx context.Context) sys.Nanosleep {
	return func(ns int64) {
		if ns <= 0 {
			return
		}
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}
