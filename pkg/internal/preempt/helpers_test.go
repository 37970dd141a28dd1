package preempt

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

//go:generate make -C testdata

// interp is one interpreter runtime per test binary, with the runner's
// features (wazero's defaults): compiling there validates without the cost
// of native code.
var interp = sync.OnceValue(func() wazero.Runtime {
	return wazero.NewRuntimeWithConfig(context.Background(), wazero.NewRuntimeConfigInterpreter())
})

// repoModules returns every .wasm file tracked in the repository, by path
// relative to its root.
func repoModules(tb testing.TB) map[string][]byte {
	tb.Helper()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		tb.Skipf("not in a git work tree: %v", err)
	}
	dir := strings.TrimSpace(string(root))
	list, err := exec.Command("git", "-C", dir, "ls-files", "*.wasm").Output()
	if err != nil {
		tb.Fatalf("git ls-files: %v", err)
	}
	mods := map[string][]byte{}
	for _, p := range strings.Fields(string(list)) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			tb.Fatal(err)
		}
		mods[p] = b
	}
	return mods
}

// mustTestdata returns testdata/name.wasm.
func mustTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		tb.Fatalf("read module: %v (rebuild with go generate)", err)
	}
	return b
}

// signatures renders function definitions by name, for comparison.
func signatures(defs map[string]api.FunctionDefinition) map[string]string {
	out := map[string]string{}
	for name, d := range defs {
		out[name] = sig(d)
	}
	return out
}

func sig(d api.FunctionDefinition) string {
	var b strings.Builder
	for _, t := range d.ParamTypes() {
		b.WriteString(api.ValueTypeName(t) + " ")
	}
	b.WriteString("->")
	for _, t := range d.ResultTypes() {
		b.WriteString(" " + api.ValueTypeName(t))
	}
	return b.String()
}

// imports renders a compiled module's function imports in order.
func imports(cm wazero.CompiledModule) []string {
	var out []string
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		out = append(out, mod+"."+name+" "+sig(d))
	}
	return out
}

// exportNames lists the names of every export of a module, of any kind.
func exportNames(tb testing.TB, wasm []byte) []string {
	tb.Helper()
	secs, err := split(wasm)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, s := range secs {
		if s.id != secExport {
			continue
		}
		r := reader{b: s.payload}
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			names = append(names, string(r.name()))
			r.byte()
			r.u32()
		}
		if r.err != nil {
			tb.Fatal(r.err)
		}
	}
	slices.Sort(names)
	return names
}

// plausible is a cheap version of the runner's checkBounds: wazero sizes
// its tables from the counts a module declares before reading the entries,
// so a few bytes declaring billions of imports or locals exhaust memory
// before it refuses them. The runner never hands it such bytes; neither do
// the tests.
func plausible(wasm []byte) bool {
	secs, err := split(wasm)
	if err != nil {
		return false // wazero may decode a truncated section's huge count
	}
	for _, s := range secs {
		if s.id == secCustom || s.id == secStart || s.id == secDCount {
			continue
		}
		r := reader{b: s.payload}
		n := r.u32()
		if r.err != nil || uint64(n) > uint64(len(s.payload)) {
			return false
		}
		if s.id == secCode && !plausibleLocals(&r, n) {
			return false
		}
		if s.id == secType && (len(s.payload) > 1_000_000 || !plausibleTypes(&r, n)) {
			return false
		}
	}
	return true
}

// plausibleTypes bounds the parameters and results of n function types by
// the bytes left, as the runner does before wazero (wasmrun's bounds.go):
// wazero allocates a declared count before it reads the values.
func plausibleTypes(r *reader, n uint32) bool {
	for i := uint32(0); i < n && r.err == nil; i++ {
		if r.byte() != 0x60 {
			return true // not a function type: wazero refuses it
		}
		for range 2 { // parameters, results
			k := r.u32()
			if int(k) > len(r.b)-r.pos {
				return false
			}
			r.bytes(k)
		}
	}
	return r.err == nil
}

// plausibleLocals bounds the locals of n function bodies.
func plausibleLocals(r *reader, n uint32) bool {
	for i := uint32(0); i < n && r.err == nil; i++ {
		body := reader{b: r.bytes(r.u32())}
		var locals uint64
		for g := body.u32(); g > 0 && body.err == nil; g-- {
			locals += uint64(body.u32())
			body.byte()
			if locals > 50_000 {
				return false
			}
		}
	}
	return true
}

// compile compiles wasm in the interpreter; a panic of wazero (it has a few
// on hostile bytes, which the runner recovers from too) is an error.
func compile(wasm []byte) (cm wazero.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			cm, err = nil, fmt.Errorf("wazero panicked: %v", p)
		}
	}()
	return interp().CompileModule(context.Background(), wasm)
}
