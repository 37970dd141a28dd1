package runtime_test

import (
	"context"
	"testing"

	"github.com/shoalmesh/shoal/pkg/runtime"
)

// BenchmarkRun is the cost of a run of a tiny ww module: a fresh instance
// and one call, the mesh's floor per task.
func BenchmarkRun(b *testing.B) {
	r := MustRunner(b, runtime.DefaultConfig())
	spec := runtime.Spec{Module: MustCompile(b, r, "ww_add"), Input: ptr(1), Difficulty: ptr(2)}
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
	r := MustRunner(b, runtime.DefaultConfig())
	spec := runtime.Spec{Module: MustCompile(b, r, "echo"), Name: "task", Env: []string{"K=V"}, Stdin: []byte("hello")}
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
		if _, err := runtime.Inspect(context.Background(), wasm); err != nil {
			b.Fatal(err)
		}
	}
}
