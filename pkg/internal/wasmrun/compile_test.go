package wasmrun_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

func TestCompileOnce(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	wasm := MustModule(t, "echo")
	h1, d1, err := r.Compile(context.Background(), wasm)
	if err != nil || d1 <= 0 {
		t.Fatalf("first Compile = %v, %v; want a positive duration", d1, err)
	}
	h2, d2, err := r.Compile(context.Background(), slices.Clone(wasm))
	if err != nil || d2 != 0 || h2 != h1 {
		t.Fatalf("second Compile = %v, %v, %v; want %v, 0, nil", h2, d2, err, h1)
	}
	if h1 != wasmrun.HashOf(wasm) || !r.Has(h1) {
		t.Errorf("hash %v not held", h1)
	}
	if n := r.Compiles(); n != 1 {
		t.Errorf("compiled %d times; want 1", n)
	}
}

func TestCompileConcurrent(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	wasm := MustModule(t, "flood")
	const callers = 20
	var wg sync.WaitGroup
	hashes := make([]wasmrun.Hash, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { hashes[i], _, errs[i] = r.Compile(context.Background(), wasm) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || hashes[i] != wasmrun.HashOf(wasm) {
			t.Fatalf("Compile %d = %v, %v", i, hashes[i], errs[i])
		}
	}
	if n := r.Compiles(); n != 1 {
		t.Errorf("compiled %d times; want 1", n)
	}
}

func TestCompileErrors(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.MemoryLimit = 16 << 20
	r := MustRunner(t, cfg)
	tests := []struct {
		module  string
		err     error
		message string
	}{
		{"garbage", wasmrun.ErrNotWasm, "not a wasm module: missing \\0asm magic"},
		{"unknown_import", wasmrun.ErrUnsupportedImport, "imports unknown host function env.foo"},
		{"import_memory", wasmrun.ErrUnsupportedImport, "imports memory env.memory; only wasi_snapshot_preview1 functions are provided"},
		{"noabi", wasmrun.ErrNoABI, "exports neither run(i32,i32)->i32 nor _start"},
		{"bigmem", wasmrun.ErrMemoryLimit, "over the memory limit: module needs 32 MiB of memory at start, the limit is 16 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			h, _, err := r.Compile(context.Background(), MustModule(t, tt.module))
			if !errors.Is(err, tt.err) || err.Error() != tt.message {
				t.Fatalf("Compile error = %v; want %q (wrapping %v)", err, tt.message, tt.err)
			}
			if r.Has(h) {
				t.Errorf("Has(%v) after a failed Compile", h)
			}
			res := r.Run(context.Background(), wasmrun.Spec{Module: h})
			checkResult(t, res, wasmrun.Result{ExitCode: -1}, "module not compiled")
		})
	}
	if got := r.Cached(); len(got) != 0 {
		t.Errorf("Cached = %v; want none", got)
	}
}

func TestCached(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	var want []wasmrun.Hash
	for _, name := range []string{"ww_add", "echo", "exit3"} {
		want = append(want, MustCompile(t, r, name))
	}
	slices.SortFunc(want, func(a, b wasmrun.Hash) int { return slices.Compare(a[:], b[:]) })
	if got := r.Cached(); !slices.Equal(got, want) {
		t.Errorf("Cached = %v; want %v", got, want)
	}
}

// TestCompilationCache compiles with an on-disk cache, then runs the module
// in a second Runner sharing the directory, as after a worker restart.
func TestCompilationCache(t *testing.T) {
	cfg := wasmrun.DefaultConfig()
	cfg.CacheDir = t.TempDir()
	for i := range 2 {
		r := MustRunner(t, cfg)
		h := MustCompile(t, r, "ww_add")
		res := r.Run(context.Background(), wasmrun.Spec{Module: h, Input: ptr(int64(i)), Difficulty: ptr(1)})
		checkResult(t, res, wasmrun.Result{OK: true, Output: []string{"1", "2"}[i]}, "")
	}
}
