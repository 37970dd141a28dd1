package wasmrun_test

import (
	"context"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// BenchmarkRun is the cost of a run of a tiny ww module: a fresh instance
// and one call, the mesh's floor per task.
func BenchmarkRun(b *testing.B) {
	r := MustRunner(b, wasmrun.DefaultConfig())
	spec := wasmrun.Spec{Module: MustCompile(b, r, "ww_add"), Input: ptr(1), Difficulty: ptr(2)}
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if res := r.Run(ctx, spec); !res.OK {
				b.Fatal(res.Error)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if res := r.Run(ctx, spec); !res.OK {
					b.Fatal(res.Error)
				}
			}
		})
	})
	b.Run("timeout", func(b *testing.B) {
		spec := spec
		spec.Timeout = 5e9
		for b.Loop() {
			if res := r.Run(ctx, spec); !res.OK {
				b.Fatal(res.Error)
			}
		}
	})
}

// BenchmarkRunCommand is a run of a small WASI command: argv, env, stdin
// and stdout through WASI.
func BenchmarkRunCommand(b *testing.B) {
	r := MustRunner(b, wasmrun.DefaultConfig())
	spec := wasmrun.Spec{Module: MustCompile(b, r, "echo"), Name: "task", Env: []string{"K=V"}, Stdin: []byte("hello")}
	for b.Loop() {
		if res := r.Run(context.Background(), spec); !res.OK {
			b.Fatal(res.Error)
		}
	}
}

// BenchmarkInspect is the gateway's check of an upload.
func BenchmarkInspect(b *testing.B) {
	wasm := MustModule(b, "echo")
	for b.Loop() {
		if _, err := wasmrun.Inspect(context.Background(), wasm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCached is what the on-disk compilation cache saves a
// restarted worker: each iteration compiles the Go hash module (2.4 MB) in
// a fresh Runner on an empty cache directory, then in another fresh Runner
// on the same directory. It reports both compile times and their ratio.
func BenchmarkCompileCached(b *testing.B) {
	var cold, cached time.Duration
	n := 0
	for b.Loop() {
		cfg := wasmrun.DefaultConfig()
		cfg.CacheDir = b.TempDir()
		cold += compileIn(b, cfg, wasm.HashGo)
		cached += compileIn(b, cfg, wasm.HashGo)
		n++
	}
	b.ReportMetric(float64(cold.Milliseconds())/float64(n), "cold-ms/op")
	b.ReportMetric(float64(cached.Microseconds())/1e3/float64(n), "cached-ms/op")
	b.ReportMetric(float64(cold)/float64(cached), "cold/cached")
}

// compileIn compiles wasm in a new Runner for cfg and returns how long
// Compile took.
func compileIn(b *testing.B, cfg wasmrun.Config, wasm []byte) time.Duration {
	b.Helper()
	ctx := context.Background()
	r, err := wasmrun.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	_, d, err := r.Compile(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	return d
}
