package wasmrun

import "fmt"

// Limits on what a module may declare, from the WebAssembly JS API, which
// every browser enforces. wazero sizes its tables from the counts a module
// declares before it reads the entries, so a 15-byte module declaring four
// billion imports would make it allocate until the process dies (an out of
// memory error that no recover catches). checkBounds turns such modules
// away before wazero sees them.
const (
	maxTypes      = 1_000_000
	maxParams     = 1_000
	maxImports    = 100_000
	maxFunctions  = 1_000_000
	maxTables     = 100_000
	maxMemories   = 100
	maxGlobals    = 1_000_000
	maxExports    = 100_000
	maxElements   = 10_000_000
	maxDataSegs   = 100_000
	maxLocals     = 50_000
	maxTags       = 1_000_000
	sectionType   = 1
	sectionFunc   = 3
	sectionTable  = 4
	sectionGlobal = 6
	sectionExport = 7
	sectionElem   = 9
	sectionCode   = 10
	sectionData   = 11
	sectionDCount = 12
	sectionTag    = 13
)

// vectorLimits is the largest count each vector section may declare.
var vectorLimits = map[byte]uint64{
	sectionType: maxTypes, sectionImport: maxImports, sectionFunc: maxFunctions,
	sectionTable: maxTables, sectionMemory: maxMemories, sectionGlobal: maxGlobals,
	sectionExport: maxExports, sectionElem: maxElements, sectionCode: maxFunctions,
	sectionData: maxDataSegs, sectionTag: maxTags,
}

// checkBounds checks that every section fits in the module, that every
// vector section declares no more entries than it has bytes (each entry
// takes at least one) nor more than the limits above, and that function
// types and bodies declare bounded parameters and locals.
func checkBounds(wasm []byte) error {
	if err := checkHeader(wasm); err != nil {
		return err
	}
	r := reader{b: wasm[len(wasmHeader):]}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		payload := r.bytes(int(r.u32()))
		if r.err != nil {
			return fmt.Errorf("%w: section %d runs past the end of the module", ErrNotWasm, id)
		}
		if id == sectionDCount {
			if n := (&reader{b: payload}).u64(); n > maxDataSegs {
				return fmt.Errorf("%w: declares %d data segments, more than %d", ErrNotWasm, n, maxDataSegs)
			}
			continue
		}
		limit, ok := vectorLimits[id]
		if !ok {
			continue // custom, start: no vector
		}
		sr := reader{b: payload}
		n := sr.u64()
		switch {
		case sr.err != nil:
			return fmt.Errorf("%w: section %d: %w", ErrNotWasm, id, sr.err)
		case n > uint64(len(sr.b)):
			return fmt.Errorf("%w: section %d declares %d entries in %d bytes", ErrNotWasm, id, n, len(sr.b))
		case n > limit:
			return fmt.Errorf("%w: section %d declares %d entries, more than %d", ErrNotWasm, id, n, limit)
		}
		var err error
		switch id {
		case sectionType:
			err = checkTypes(&sr, n)
		case sectionCode:
			err = checkBodies(&sr, n)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotWasm, err)
		}
	}
	return nil
}

// checkTypes bounds the parameters and results of n function types.
func checkTypes(r *reader, n uint64) error {
	for i := uint64(0); i < n; i++ {
		if form := r.byte(); r.err == nil && form != 0x60 {
			return nil // not a plain function type: wazero reports it
		}
		for _, what := range []string{"parameters", "results"} {
			k := r.u64()
			if k > maxParams || k > uint64(len(r.b)) {
				return fmt.Errorf("type %d declares %d %s", i, k, what)
			}
			r.bytes(int(k))
		}
		if r.err != nil {
			return fmt.Errorf("type %d: %w", i, r.err)
		}
	}
	return nil
}

// checkBodies bounds the locals of n function bodies.
func checkBodies(r *reader, n uint64) error {
	for i := uint64(0); i < n; i++ {
		body := reader{b: r.bytes(int(r.u32()))}
		if r.err != nil {
			return fmt.Errorf("function body %d runs past its section", i)
		}
		groups := body.u64()
		if groups > uint64(len(body.b)) {
			return fmt.Errorf("function body %d declares %d groups of locals in %d bytes", i, groups, len(body.b))
		}
		var locals uint64
		for g := uint64(0); g < groups && body.err == nil; g++ {
			locals += body.u64()
			body.byte() // value type
			if locals > maxLocals {
				return fmt.Errorf("function body %d declares more than %d locals", i, maxLocals)
			}
		}
	}
	return nil
}
