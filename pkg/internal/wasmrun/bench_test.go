package wasmrun_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/preempt"
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

// The benchmarks of issue 11 compare the ways of stopping runs (see
// "Why instrumentation" in docs/RATIONALE.md) in one process, modes
// interleaved so that the machine's drift hits all alike. With -benchtime
// 1x each prints its figures once.
var preemptModes = []string{wasmrun.PreemptInstrument, wasmrun.PreemptNone, wasmrun.PreemptWazero}

// BenchmarkPreemptHashC is the C hash puzzle at difficulty 3 in process:
// runs a second instrumented, with no time limit mechanism at all, and with
// wazero's WithCloseOnContextDone. Goal: instrument/none >= 0.85.
func BenchmarkPreemptHashC(b *testing.B) {
	spec := wasmrun.Spec{Input: ptr(0), Difficulty: ptr(3)}
	perSecond := comparePreempt(b, wasm.HashC, spec, preemptModes, 6, 40)
	b.ReportMetric(perSecond[wasmrun.PreemptInstrument]/perSecond[wasmrun.PreemptNone], "instrument/none")
	b.ReportMetric(perSecond[wasmrun.PreemptWazero]/perSecond[wasmrun.PreemptNone], "wazero/none")
}

// BenchmarkPreemptGojq is a real Go program (gojq, testdata/gojq) on a 10
// MB JSON document, instrumented and with no limits. Goal: >= 0.8.
func BenchmarkPreemptGojq(b *testing.B) {
	gojq := mustFile(b, "testdata/gojq/gojq.wasm")
	spec := wasmrun.Spec{Name: "gojq", Stdin: jsonDocument(10 << 20), MaxOutput: 1 << 20,
		Args: []string{`[.[] | select(.score % 7 == 0) | {id, tag: .tags[1], total: (.values | add)}] | length, (map(.score) | add)`}}
	modes := []string{wasmrun.PreemptInstrument, wasmrun.PreemptNone}
	perSecond := comparePreempt(b, gojq, spec, modes, 3, 1)
	b.ReportMetric(perSecond[wasmrun.PreemptInstrument]/perSecond[wasmrun.PreemptNone], "instrument/none")
}

// comparePreempt runs spec of wasm in a shared Runner of each mode, rounds
// times batch runs, interleaved, and reports the runs a second of each and
// the fuel units a nanosecond of guest time (instrumented).
func comparePreempt(b *testing.B, wasm []byte, spec wasmrun.Spec, modes []string, rounds, batch int) map[string]float64 {
	elapsed := map[string]time.Duration{}
	var fuel uint64
	var guest time.Duration
	for b.Loop() {
		for range rounds {
			for _, mode := range modes {
				r := sharedRunner(b, mode)
				spec := spec
				spec.Module = mustCompileBytes(b, r, wasm)
				start := time.Now()
				for range batch {
					res := r.Run(context.Background(), spec)
					if !res.OK {
						b.Fatalf("%s: %s", mode, res.Error)
					}
					if mode == wasmrun.PreemptInstrument {
						fuel += res.Fuel
						guest += res.Instantiate + res.Run
					}
				}
				elapsed[mode] += time.Since(start)
			}
		}
	}
	perSecond := map[string]float64{}
	for _, mode := range modes {
		perSecond[mode] = float64(rounds*batch*b.N) / elapsed[mode].Seconds()
		b.ReportMetric(perSecond[mode], mode+"-runs/s")
	}
	b.ReportMetric(float64(fuel)/float64(guest.Nanoseconds()), "fuel/ns")
	return perSecond
}

// jsonDocument is a JSON array of about size bytes, the same every time.
func jsonDocument(size int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	rng := rand.New(rand.NewPCG(uint64(size), 11))
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id":%d,"name":"item-%x","score":%d,"tags":["t%d","u%d","v%d"],"values":[%d,%d,%d,%d],"ratio":%.4f,"ok":%v}`,
			i, rng.Uint64(), rng.IntN(1000), rng.IntN(50), rng.IntN(50), rng.IntN(50),
			rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6), rng.Float64(), rng.IntN(2) == 0)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// BenchmarkPreemptStopLate is how late a loop with no calls stops after
// its 20 ms time limit, over 50 runs: p50 and p99 of (time in Run - 20
// ms), per mode. Goal (instrument): p99 under 20 ms.
func BenchmarkPreemptStopLate(b *testing.B) {
	const limit, runs = 20 * time.Millisecond, 50
	for b.Loop() {
		for _, mode := range []string{wasmrun.PreemptInstrument, wasmrun.PreemptWazero} {
			r := sharedRunner(b, mode)
			spin := mustCompileBytes(b, r, MustModule(b, "spin"))
			late := make([]time.Duration, runs)
			for i := range late {
				start := time.Now()
				res := r.Run(context.Background(), wasmrun.Spec{Module: spin, Timeout: limit})
				late[i] = time.Since(start) - limit
				if !strings.HasPrefix(res.Error, "time limit") {
					b.Fatalf("%s: %+v", mode, res)
				}
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[runs/2].Microseconds())/1e3, mode+"-p50-late-ms")
			b.ReportMetric(float64(late[runs*99/100].Microseconds())/1e3, mode+"-p99-late-ms")
		}
	}
}

// BenchmarkInstrument20MB is the rewriting of a 20 MB module (almost all
// data, see wasm.Padded), done once per module and then kept on disk.
func BenchmarkInstrument20MB(b *testing.B) {
	module := wasm.Padded(20 << 20)
	var total time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if _, err := preempt.Instrument(module); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		n++
	}
	b.ReportMetric(float64(total.Microseconds())/1e3/float64(n), "ms/rewrite")
}
