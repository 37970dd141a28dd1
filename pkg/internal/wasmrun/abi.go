package wasmrun

import (
	"errors"
	"fmt"
	"strings"

	shoal "github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/preempt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	wasi "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABI is the calling convention of a module: how a run passes its input and
// gets its result.
type ABI int

const (
	// ABIWW modules export run(i32, i32) -> i32; the result of a run is the
	// returned integer, called with (input, difficulty).
	ABIWW ABI = iota + 1
	// ABICommand modules are WASI commands exporting _start; a run passes
	// argv, env and stdin, and its result is stdout and the exit code.
	ABICommand
)

// String returns "ww", "command" or "unknown".
func (a ABI) String() string {
	switch a {
	case ABIWW:
		return "ww"
	case ABICommand:
		return "command"
	default:
		return "unknown"
	}
}

// Errors of Inspect and Runner.Compile, wrapped with details; test with errors.Is.
var (
	// ErrNotWasm means the bytes are not a valid WebAssembly module.
	ErrNotWasm = errors.New("not a wasm module")
	// ErrUnsupportedImport means the module imports something the runner
	// does not provide: anything but a wasi_snapshot_preview1 function or
	// one of the shoal module's process functions.
	ErrUnsupportedImport = errors.New("unsupported import")
	// ErrNoABI means the module has neither of the two ABIs.
	ErrNoABI = errors.New("exports neither run(i32,i32)->i32 nor _start")
	// ErrMemoryLimit means the module's memory starts larger than the limit.
	ErrMemoryLimit = errors.New("over the memory limit")
)

// memoryLimitError explains an ErrMemoryLimit.
func memoryLimitError(need, limit uint64) error {
	return fmt.Errorf("%w: module needs %s of memory at start, the limit is %s",
		ErrMemoryLimit, shoal.FormatBytes(need), shoal.FormatBytes(limit))
}

// importError is an ErrUnsupportedImport with a message for the module's author.
type importError struct{ msg string }

func (e *importError) Error() string { return e.msg }
func (e *importError) Unwrap() error { return ErrUnsupportedImport }

const (
	runExport        = "run"
	startExport      = "_start"
	initializeExport = "_initialize"
	wwSignature      = "(i32,i32)->i32"
	voidSignature    = "()->()"
)

// shape is what the runner needs to know about a compiled module.
type shape struct {
	abi ABI
	// init is the export a ww module runs before run: _initialize, _start or "".
	init string
	// minMemory is the size, in bytes, of the module's memory at instantiation.
	minMemory uint64
	// processes: the module imports the process host functions (spawn,
	// send, ...), which reach other processes through the gateway.
	processes bool
}

// analyze checks that a compiled module imports only what the runner provides
// and has one of the ABIs. info comes from the module's own bytes (see
// scanBinary); when cm was compiled from them instrumented, its last
// function import is shoal.yield, which the module itself did not ask for.
func analyze(cm wazero.CompiledModule, info binaryInfo, wasiFuncs map[string]string, instrumented bool) (shape, error) {
	for _, imp := range info.imports {
		if imp.kind != kindFunc {
			return shape{}, &importError{fmt.Sprintf("imports %s %s.%s; only %s functions are provided",
				imp.kind, imp.module, imp.name, wasi.ModuleName)}
		}
	}
	imported := cm.ImportedFunctions()
	if instrumented {
		imported = imported[:len(imported)-1]
	}
	procFuncs := processSignatures()
	processes := false
	for _, fn := range imported {
		mod, name, _ := fn.Import()
		var want string
		ok := false
		switch mod {
		case wasi.ModuleName:
			want, ok = wasiFuncs[name]
		case preempt.ImportModule:
			want, ok = procFuncs[name]
			processes = true
		}
		if !ok {
			return shape{}, &importError{fmt.Sprintf("imports unknown host function %s.%s", mod, name)}
		}
		if got := signature(fn); got != want {
			return shape{}, &importError{fmt.Sprintf("imports %s.%s with signature %s, want %s", mod, name, got, want)}
		}
	}
	s := shape{minMemory: uint64(info.memoryMinPages) * pageSize, processes: processes}
	exports := cm.ExportedFunctions()
	run, hasRun := exports[runExport]
	start, hasStart := exports[startExport]
	switch {
	case hasRun && signature(run) == wwSignature:
		s.abi = ABIWW
		for _, name := range []string{initializeExport, startExport} {
			if fn, ok := exports[name]; ok {
				if got := signature(fn); got != voidSignature {
					return shape{}, fmt.Errorf("%w: export %s has signature %s, want %s", ErrNoABI, name, got, voidSignature)
				}
				s.init = name
				break
			}
		}
	case hasStart && signature(start) == voidSignature:
		s.abi = ABICommand
	case hasRun:
		return shape{}, fmt.Errorf("%w (run has signature %s)", ErrNoABI, signature(run))
	case hasStart:
		return shape{}, fmt.Errorf("%w (_start has signature %s)", ErrNoABI, signature(start))
	default:
		return shape{}, ErrNoABI
	}
	return s, nil
}

// signature renders a function type as "(i32,i32)->i32".
func signature(fn api.FunctionDefinition) string {
	return "(" + typeList(fn.ParamTypes()) + ")->" + results(fn.ResultTypes())
}

func results(ts []api.ValueType) string {
	if len(ts) == 1 {
		return api.ValueTypeName(ts[0])
	}
	return "(" + typeList(ts) + ")"
}

func typeList(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ",")
}
