package preempt

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// testdataModules are the modules of testdata, seeds of FuzzInstrument.
var testdataModules = []string{"shift", "multivalue", "simd", "bulk", "count"}

// host is a runtime with the functions the test modules import: env.add,
// and shoal.yield granting grant units at a time and counting its calls.
type host struct {
	rt     wazero.Runtime
	grant  int64
	yields int
	// granted is the sum of grants; granted - budget is the fuel used.
	granted int64
}

func newHost(t *testing.T, grant int64) *host {
	ctx := context.Background()
	h := &host{rt: wazero.NewRuntime(ctx), grant: grant}
	t.Cleanup(func() { h.rt.Close(ctx) })
	_, err := h.rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func(a, b int32) int32 { return a + b }).Export("add").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rt.NewHostModuleBuilder(ImportModule).NewFunctionBuilder().
		WithFunc(func(budget int64) int64 {
			h.yields++
			h.granted += h.grant
			return budget + h.grant
		}).Export(ImportName).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// run instantiates wasm and calls run with args.
func (h *host) run(t *testing.T, wasm []byte, args ...uint64) (uint64, api.Module) {
	t.Helper()
	ctx := context.Background()
	mod, err := h.rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	out, err := mod.ExportedFunction("run").Call(ctx, args...)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out[0], mod
}

// fuel is what the instrumented instance mod used.
func (h *host) fuel(t *testing.T, mod api.Module) int64 {
	t.Helper()
	g := mod.ExportedGlobal(BudgetExport)
	if g == nil {
		t.Fatalf("no %s export", BudgetExport)
	}
	return h.granted - int64(g.Get())
}

func TestInstrumentRuns(t *testing.T) {
	tests := []struct {
		module string
		args   []uint64
		want   uint64
	}{
		{"shift", []uint64{5}, 1 + 2 + 3 + 4 + 5 + 100},
		{"multivalue", []uint64{3, 4}, 4003 + 5050 + 30 + 12},
		{"multivalue", []uint64{1, 2}, 2001 + 5050 + 20 + 2},
		{"simd", []uint64{10, 0}, 0},
		{"bulk", []uint64{5, 0}, 0x7fffffff + 0 + '!'},
		{"count", []uint64{10, 0}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			wasm := mustTestdata(t, tt.module)
			inst, err := Instrument(wasm)
			if err != nil {
				t.Fatal(err)
			}
			h := newHost(t, 3) // a small grant: yield runs often
			want, _ := h.run(t, wasm, tt.args...)
			if tt.want != 0 && uint32(want) != uint32(tt.want) {
				t.Fatalf("the original module returns %d; the test expects %d", want, tt.want)
			}
			got, mod := h.run(t, inst, tt.args...)
			if got != want {
				t.Errorf("instrumented run returns %d; the original %d", got, want)
			}
			if h.yields == 0 {
				t.Error("yield never called")
			}
			if used := h.fuel(t, mod); used <= 0 {
				t.Errorf("fuel used %d", used)
			}
		})
	}
}

// TestFuel checks the unit: count's run(n) executes 3 instructions outside
// its loop and 9 per iteration, whatever the grant.
func TestFuel(t *testing.T) {
	inst, err := Instrument(mustTestdata(t, "count"))
	if err != nil {
		t.Fatal(err)
	}
	for _, grant := range []int64{1, 7, 1 << 30} {
		for _, n := range []uint64{1, 10, 1000} {
			h := newHost(t, grant)
			_, mod := h.run(t, inst, n, 0)
			if got, want := h.fuel(t, mod), int64(3+9*n); got != want {
				t.Errorf("grant %d, run(%d): fuel %d; want %d", grant, n, got, want)
			}
		}
	}
}

// TestInstrumentKeepsNames: the name section follows the shifted indices.
func TestInstrumentKeepsNames(t *testing.T) {
	ctx := context.Background()
	wasm := mustTestdata(t, "shift")
	inst, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := interp().CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	icm, err := interp().CompileModule(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range cm.ExportedFunctions() {
		id := icm.ExportedFunctions()[name]
		if d.Name() == "" || id.Name() != d.Name() || id.Index() != d.Index()+1 {
			t.Errorf("export %s: function %d %q became %d %q", name, d.Index(), d.Name(), id.Index(), id.Name())
		}
	}
}

// TestInstrumentNamesUnnamed: a function without a name gets "$N", N its
// original index, which is how wazero shows it in a stack trace, so traps
// read the same instrumented or not.
func TestInstrumentNamesUnnamed(t *testing.T) {
	for _, module := range []string{"count", "shift"} {
		inst, err := Instrument(mustTestdata(t, module))
		if err != nil {
			t.Fatal(err)
		}
		icm, err := compile(inst)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"count": "$0", "shift": "run"}[module]
		if got := icm.ExportedFunctions()["run"].Name(); got != want {
			t.Errorf("%s: run is named %q; want %q", module, got, want)
		}
	}
	// No name section at all: one is added.
	m := appendSection(bytes.Clone(header), secType, []byte{1, 0x60, 0, 0})
	m = appendSection(m, secFunc, []byte{2, 0, 0})
	m = appendSection(m, secExport, append(appendName([]byte{1}, "f"), 0, 1))
	m = appendSection(m, secCode, []byte{2, 2, 0, 0x0b, 2, 0, 0x0b})
	inst, err := Instrument(m)
	if err != nil {
		t.Fatal(err)
	}
	icm, err := compile(inst)
	if err != nil {
		t.Fatal(err)
	}
	if got := icm.ExportedFunctions()["f"].Name(); got != "$1" {
		t.Errorf("f is named %q; want $1", got)
	}
}

// TestInstrumentSections: DWARF is dropped, other custom sections kept.
func TestInstrumentSections(t *testing.T) {
	wasm := mustTestdata(t, "count")
	custom := func(name, payload string) []byte {
		return appendSection(nil, secCustom, append(appendName(nil, name), payload...))
	}
	wasm = append(append(bytes.Clone(wasm), custom(".debug_info", "dwarf")...), custom("producers", "keep")...)
	inst, err := Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(inst, []byte(".debug_info")) || !bytes.Contains(inst, []byte("producers")) {
		t.Error("want .debug_info dropped and producers kept")
	}
}

// TestInstrumentSmallest instruments a module with no sections at all.
func TestInstrumentSmallest(t *testing.T) {
	inst, err := Instrument(header)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := interp().CompileModule(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	if got := exportNames(t, inst); len(got) != 1 || got[0] != BudgetExport {
		t.Errorf("exports %v", got)
	}
}

func TestInstrumentErrors(t *testing.T) {
	// A module with one function of type () -> () whose body is code.
	module := func(code ...byte) []byte {
		m := appendSection(bytes.Clone(header), secType, []byte{1, 0x60, 0, 0})
		m = appendSection(m, secFunc, []byte{1, 0})
		body := append([]byte{0}, code...)
		return appendSection(m, secCode, append(appendU32([]byte{1}, uint32(len(body))), body...))
	}
	exportBudget := appendSection(bytes.Clone(header), secExport, append(appendName([]byte{1}, BudgetExport), 0x03, 0))
	tests := []struct {
		name string
		wasm []byte
		err  string
	}{
		{"not wasm", []byte("hello, world"), "not a version 1 wasm module"},
		{"section past the end", append(bytes.Clone(header), secType, 10, 1), "section 1: byte 10: unexpected end"},
		{"exception handling", module(0x06, 0x40, 0x0b, 0x0b), "function body 0: byte 1: unknown opcode 0x06"},
		{"relaxed simd", module(0xfd, 0x80, 0x02, 0x0b), "unknown opcode 0xfd 256"},
		{"no end", module(0x01), "function body ends without end"},
		{"after end", module(0x0b, 0x01), "instructions after the function's end"},
		{"truncated immediate", module(0x41), "unexpected end"},
		{"budget taken", exportBudget, "already exports __shoal_budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Instrument(tt.wasm)
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "instrument: ") {
				t.Errorf("Instrument = %v; want an error with %q", err, tt.err)
			}
		})
	}
}

// TestFuelOfBulkOperations: a bulk operation costs a unit per 8 bytes of
// its length besides its own, so a loop of large fills checks its limits
// as often as any other code.
func TestFuelOfBulkOperations(t *testing.T) {
	inst, err := Instrument(mustTestdata(t, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{0, 7, 8, 4096, 65536} {
		h := newHost(t, 1<<30)
		_, mod := h.run(t, inst, n, 0)
		if got, want := h.fuel(t, mod), int64(6+n>>3); got != want { // 6 instructions, end included
			t.Errorf("fill of %d bytes: fuel %d; want %d", n, got, want)
		}
	}
}

// TestInstrumentRefusesTheBudgetsIndex: a module that uses a global index
// past its own globals is invalid, and must not become valid (and free of
// its limits, the budget being that global) by being instrumented.
func TestInstrumentRefusesTheBudgetsIndex(t *testing.T) {
	if _, err := Instrument(mustTestdata(t, "badglobal")); err == nil || !strings.Contains(err.Error(), "global index 0 out of range") {
		t.Fatalf("Instrument of a module setting a global it lacks: %v", err)
	}
}
