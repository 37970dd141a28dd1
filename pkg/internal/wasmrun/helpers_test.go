package wasmrun_test

//go:generate make -C testdata

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// MustRunner returns a Runner for cfg, closed at the end of the test.
func MustRunner(tb testing.TB, cfg wasmrun.Config) *wasmrun.Runner {
	tb.Helper()
	r, err := wasmrun.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r
}

// MustModule returns the bytes of testdata/name.wasm.
func MustModule(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		tb.Fatalf("read module: %v (rebuild with go generate)", err)
	}
	return b
}

// MustCompile compiles testdata/name.wasm in r.
func MustCompile(tb testing.TB, r *wasmrun.Runner, name string) wasmrun.Hash {
	tb.Helper()
	h, _, err := r.Compile(context.Background(), MustModule(tb, name))
	if err != nil {
		tb.Fatalf("Compile %s: %v", name, err)
	}
	return h
}

func ptr(v int64) *int64 { return &v }
