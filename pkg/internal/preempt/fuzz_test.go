package preempt

import (
	"context"
	"maps"
	"slices"
	"testing"
)

// FuzzInstrument: for any module wazero accepts with the runner's features,
// but one that exports the budget's name itself, Instrument succeeds and
// its output compiles, with the same exports (plus
// the budget) of the same types, and the same imports plus shoal.yield.
// Without -fuzz, this runs on every module of the repository.
func FuzzInstrument(f *testing.F) {
	for _, b := range repoModules(f) {
		f.Add(b)
	}
	for _, name := range testdataModules {
		f.Add(mustTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		checkInstrument(t, wasm)
	})
}

// checkInstrument checks Instrument's promise on wasm; nothing is asked of
// bytes that wazero refuses.
func checkInstrument(t *testing.T, wasm []byte) {
	if !plausible(wasm) {
		return
	}
	ctx := context.Background()
	cm, err := compile(wasm)
	if err != nil {
		return
	}
	defer cm.Close(ctx)
	out, err := Instrument(wasm)
	if slices.Contains(exportNames(t, wasm), BudgetExport) {
		if err == nil {
			t.Fatalf("Instrument took a module that exports %s itself", BudgetExport)
		}
		return // the one valid module it refuses (the runner's Inspect says so at upload)
	}
	if err != nil {
		t.Fatalf("Instrument of a valid module: %v", err)
	}
	icm, err := compile(out)
	if err != nil {
		t.Fatalf("the instrumented module does not compile: %v", err)
	}
	defer icm.Close(ctx)
	if got, want := signatures(icm.ExportedFunctions()), signatures(cm.ExportedFunctions()); !maps.Equal(got, want) {
		t.Errorf("exported functions %v; want %v", got, want)
	}
	want := append(exportNames(t, wasm), BudgetExport)
	slices.Sort(want)
	if got := exportNames(t, out); !slices.Equal(got, want) {
		t.Errorf("exports %v; want %v", got, want)
	}
	wantImports := append(imports(cm), ImportModule+"."+ImportName+" i64 -> i64")
	if got := imports(icm); !slices.Equal(got, wantImports) {
		t.Errorf("imports %v; want %v", got, wantImports)
	}
}
