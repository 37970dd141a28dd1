package wasmrun_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestInspect(t *testing.T) {
	tests := []struct {
		module  string
		abi     wasmrun.ABI
		err     error
		message string
	}{
		{module: "ww_add", abi: wasmrun.ABIWW},
		{module: "initialize", abi: wasmrun.ABIWW},
		{module: "start_exit", abi: wasmrun.ABIWW},
		{module: "bigmem", abi: wasmrun.ABIWW},
		{module: "leak", abi: wasmrun.ABIWW},
		{module: "echo", abi: wasmrun.ABICommand},
		{module: "exit3", abi: wasmrun.ABICommand},
		{module: "loop", abi: wasmrun.ABICommand},
		{module: "membomb", abi: wasmrun.ABICommand},
		{module: "flood", abi: wasmrun.ABICommand},
		{module: "recursion", abi: wasmrun.ABICommand},
		{module: "unreachable", abi: wasmrun.ABICommand},
		{module: "sleep", abi: wasmrun.ABICommand},
		{module: "proc_calls", abi: wasmrun.ABIWW},
		{module: "shoal_yield", err: wasmrun.ErrUnsupportedImport, message: "imports unknown host function shoal.yield"},
		{module: "bad_spawn", err: wasmrun.ErrUnsupportedImport, message: "imports shoal.spawn with signature (i32)->i32, want (i32,i32)->i32"},
		{module: "garbage", err: wasmrun.ErrNotWasm, message: "not a wasm module: missing \\0asm magic"},
		{module: "exports_budget", err: wasmrun.ErrNotWasm, message: "not a wasm module: instrument: export section: the module already exports __shoal_budget"},
		{module: "unknown_import", err: wasmrun.ErrUnsupportedImport, message: "imports unknown host function env.foo"},
		{module: "import_memory", err: wasmrun.ErrUnsupportedImport, message: "imports memory env.memory; only wasi_snapshot_preview1 functions are provided"},
		{module: "bad_wasi", err: wasmrun.ErrUnsupportedImport, message: "imports wasi_snapshot_preview1.fd_write with signature (i32)->i32, want (i32,i32,i32,i32)->i32"},
		{module: "noabi", err: wasmrun.ErrNoABI, message: "exports neither run(i32,i32)->i32 nor _start"},
		{module: "bad_run", err: wasmrun.ErrNoABI, message: "exports neither run(i32,i32)->i32 nor _start (run has signature (i32)->i32)"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			abi, err := wasmrun.Inspect(context.Background(), MustModule(t, tt.module))
			if tt.err == nil {
				if err != nil || abi != tt.abi {
					t.Fatalf("Inspect = %v, %v; want %v, nil", abi, err, tt.abi)
				}
				return
			}
			if !errors.Is(err, tt.err) || err.Error() != tt.message {
				t.Fatalf("Inspect error = %v; want %q (wrapping %v)", err, tt.message, tt.err)
			}
		})
	}
}

func TestInspectInvalid(t *testing.T) {
	good := MustModule(t, "echo")
	tests := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-5],
		"version 2": append([]byte{0, 'a', 's', 'm', 2, 0, 0, 0}, good[8:]...),
	}
	for name, wasm := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := wasmrun.Inspect(context.Background(), wasm)
			if !errors.Is(err, wasmrun.ErrNotWasm) || !strings.HasPrefix(err.Error(), "not a wasm module: ") {
				t.Fatalf("Inspect error = %v; want ErrNotWasm", err)
			}
		})
	}
}

func TestInspectEmptyModule(t *testing.T) {
	_, err := wasmrun.Inspect(context.Background(), MustModule(t, "echo")[:8])
	if !errors.Is(err, wasmrun.ErrNoABI) {
		t.Fatalf("Inspect error = %v; want ErrNoABI", err)
	}
}

func FuzzInspect(f *testing.F) {
	for _, name := range []string{"ww_add", "echo", "flood", "sleep", "unknown_import", "import_memory", "garbage"} {
		f.Add(MustModule(f, name))
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		abi, err := wasmrun.Inspect(context.Background(), wasm)
		if err == nil && abi != wasmrun.ABIWW && abi != wasmrun.ABICommand {
			t.Fatalf("Inspect = %v, nil", abi)
		}
	})
}
