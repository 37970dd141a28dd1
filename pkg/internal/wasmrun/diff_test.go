package wasmrun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/wasm"
)

// gojqInput is a small JSON document for gojq's differential runs.
const gojqInput = `{"items": [{"name": "a", "n": 3}, {"name": "b", "n": 10}, {"name": "c", "n": 6}], "meta": {"v": 1.5}}`

// TestInstrumentedRunsAsOriginal: every module of the repository that runs
// to its end gives the same result, byte for byte, instrumented as not
// (preempt "wazero" runs the original bytes): output, exit code, error.
func TestInstrumentedRunsAsOriginal(t *testing.T) {
	cases := []struct {
		name string
		wasm []byte
		spec wasmrun.Spec
	}{
		{"hash C ww", wasm.HashC, wasmrun.Spec{Input: ptr(7), Difficulty: ptr(2)}},
		{"hash C ww bad difficulty", wasm.HashC, wasmrun.Spec{Input: ptr(7), Difficulty: ptr(65)}},
		{"hash C command", wasm.HashCCommand, wasmrun.Spec{Name: "t", Args: []string{"7", "2"}}},
		{"hash C command usage", wasm.HashCCommand, wasmrun.Spec{Name: "t", Args: []string{"x"}}},
		{"hash Go command", wasm.HashGo, wasmrun.Spec{Name: "t", Args: []string{"7", "2"}}},
		{"hash Go ww", wasm.HashGoWW, wasmrun.Spec{Input: ptr(7), Difficulty: ptr(2)}},
		{"hello", wasm.Hello, wasmrun.Spec{Name: "t", Args: []string{"a", "b c"}, Stdin: []byte("stdin\n")}},
		{"gojq", mustFile(t, "testdata/gojq/gojq.wasm"), wasmrun.Spec{Name: "gojq",
			Args:  []string{`[.items[] | select(.n > 4) | {name, double: (.n * 2)}] + [.meta.v * 3, (.items | length)]`},
			Stdin: []byte(gojqInput)}},
		{"gojq error", mustFile(t, "testdata/gojq/gojq.wasm"), wasmrun.Spec{Name: "gojq", Args: []string{`.items | error`}, Stdin: []byte(gojqInput)}},
		{"ww_add", MustModule(t, "ww_add"), wasmrun.Spec{Input: ptr(2), Difficulty: ptr(3)}},
		{"initialize", MustModule(t, "initialize"), wasmrun.Spec{Input: ptr(2), Difficulty: ptr(3)}},
		{"start_exit", MustModule(t, "start_exit"), wasmrun.Spec{Input: ptr(2), Difficulty: ptr(3)}},
		{"leak", MustModule(t, "leak"), wasmrun.Spec{Input: ptr(3), Difficulty: ptr(2)}},
		{"echo", MustModule(t, "echo"), wasmrun.Spec{Name: "t", Args: []string{"a"}, Env: []string{"K=V"}, Stdin: []byte("in")}},
		{"exit3", MustModule(t, "exit3"), wasmrun.Spec{}},
		{"stdin_drain", MustModule(t, "stdin_drain"), wasmrun.Spec{Stdin: []byte("12345")}},
		{"flood", MustModule(t, "flood"), wasmrun.Spec{MaxOutput: 1000}},
		{"membomb", MustModule(t, "membomb"), wasmrun.Spec{Memory: 1 << 20}},
		{"unreachable", MustModule(t, "unreachable"), wasmrun.Spec{}}, // the stack trace too
	}
	inst := sharedRunner(t, wasmrun.PreemptInstrument)
	orig := sharedRunner(t, wasmrun.PreemptWazero)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Module = mustCompileBytes(t, inst, c.wasm)
			got := inst.Run(context.Background(), spec)
			mustCompileBytes(t, orig, c.wasm)
			want := orig.Run(context.Background(), spec)
			if g, w := outcome(got), outcome(want); g != w {
				t.Errorf("instrumented: %s\noriginal:     %s", g, w)
			}
			if c.name == "gojq" && !strings.Contains(got.Output, `"double":20`) {
				t.Errorf("gojq printed %q", got.Output)
			}
		})
	}
}

// TestInstrumentedCompileErrors: a module the runner refuses is refused
// with the same words in both modes (they are about the module as its
// author wrote it, not as instrumented).
func TestInstrumentedCompileErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inst := MustRunner(t, wasmrun.DefaultConfig())
	cfg := wasmrun.DefaultConfig()
	cfg.Preempt = wasmrun.PreemptWazero
	orig := MustRunner(t, cfg)
	refused := 0
	for _, p := range paths {
		if filepath.Base(p) == "exports_budget.wasm" {
			continue // only instrumentation refuses it (and Inspect, at upload): TestInspect
		}
		b := mustFile(t, p)
		_, _, errInst := inst.Compile(context.Background(), b)
		_, _, errOrig := orig.Compile(context.Background(), b)
		if fmt.Sprint(errInst) != fmt.Sprint(errOrig) {
			t.Errorf("%s: instrumented: %v; original: %v", p, errInst, errOrig)
		}
		if errOrig != nil {
			refused++
		}
	}
	if refused == 0 {
		t.Error("no module of testdata was refused: the test tests nothing")
	}
}

// outcome renders what a run's caller sees, without timings and fuel.
func outcome(r wasmrun.Result) string {
	return fmt.Sprintf("OK=%v exit=%d truncated=%v error=%q output=%q", r.OK, r.ExitCode, r.Truncated, r.Error, r.Output)
}

func mustFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
