package preempt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Names the instrumented module uses to talk to its host.
const (
	// ImportModule and ImportName name the host function a module calls when
	// its budget goes below zero: yield(budget i64) -> (new budget i64).
	ImportModule = "shoal"
	ImportName   = "yield"
	// BudgetExport names the exported mutable i64 global holding the budget
	// left; the host reads it at the end of a run to count the fuel used.
	BudgetExport = "__shoal_budget"
)

// Section ids of the binary format.
const (
	secCustom = 0
	secType   = 1
	secImport = 2
	secFunc   = 3
	secTable  = 4
	secMemory = 5
	secGlobal = 6
	secExport = 7
	secStart  = 8
	secElem   = 9
	secCode   = 10
	secData   = 11
	secDCount = 12
	secTag    = 13
)

// order is the rank of each known section in a module; custom sections may
// be anywhere.
var order = map[byte]int{
	secType: 1, secImport: 2, secFunc: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElem: 10, secDCount: 11, secCode: 12, secData: 13,
}

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

type section struct {
	id      byte
	payload []byte
}

// Version numbers what Instrument writes: raise it whenever its output for
// the same input changes, so that copies kept on disk by an older version
// are made again. 2: bulk operations are charged by their length, and
// label names are dropped.
const Version = 2

// Instrument returns a copy of the module wasm in which every function entry
// and every loop header charges a budget, and calls the host when the budget
// goes below zero (see the package documentation). It fails, saying where,
// on bytes that are not a module it can decode, including instructions it
// does not know; it does not validate the module otherwise (wazero does).
func Instrument(wasm []byte) ([]byte, error) {
	secs, err := split(wasm)
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	out, err := instrument(secs, len(wasm))
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return out, nil
}

// split checks the header and cuts wasm into its sections; on an error, it
// returns the sections before it.
func split(wasm []byte) ([]section, error) {
	if !bytes.HasPrefix(wasm, header) {
		return nil, errors.New("not a version 1 wasm module")
	}
	r := reader{b: wasm, pos: len(header)}
	var secs []section
	for !r.done() {
		id := r.byte()
		payload := r.bytes(r.u32())
		if r.err != nil {
			return secs, fmt.Errorf("section %d: %w", id, r.err)
		}
		secs = append(secs, section{id, payload})
	}
	return secs, r.err
}

// instrument rewrites the sections of a module of size bytes.
func instrument(secs []section, size int) ([]byte, error) {
	find := func(id byte) []byte {
		for _, s := range secs {
			if s.id == id {
				return s.payload
			}
		}
		return nil
	}
	typ, yieldType, typeParams, err := addYieldType(find(secType))
	if err != nil {
		return nil, fmt.Errorf("type section: %w", err)
	}
	imp, yield, globalImports, err := addYieldImport(find(secImport), yieldType)
	if err != nil {
		return nil, fmt.Errorf("import section: %w", err)
	}
	// The budget global's index is known before the bodies that use it are
	// rewritten, and globals are rewritten with the same index shift.
	definedGlobals, err := vectorLen(find(secGlobal))
	if err != nil {
		return nil, fmt.Errorf("global section: %w", err)
	}
	params, err := functionParams(find(secFunc), typeParams)
	if err != nil {
		return nil, fmt.Errorf("function section: %w", err)
	}
	b := newBodies(yield, uint32(len(params)), globalImports+definedGlobals, params)
	glob, err := b.addBudgetGlobal(find(secGlobal))
	if err != nil {
		return nil, fmt.Errorf("global section: %w", err)
	}
	exp, err := b.exports(find(secExport), globalImports+definedGlobals)
	if err != nil {
		return nil, fmt.Errorf("export section: %w", err)
	}
	added := map[byte][]byte{secType: typ, secImport: imp, secGlobal: glob, secExport: exp}

	out := make([]byte, 0, size+size/4+64)
	out = append(out, header...)
	// emit writes the added sections that rank before id, then clears them.
	emit := func(rank int) {
		for _, id := range []byte{secType, secImport, secGlobal, secExport} {
			if p, ok := added[id]; ok && order[id] < rank {
				out = appendSection(out, id, p)
				delete(added, id)
			}
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			emit(order[s.id])
		}
		if p, ok := added[s.id]; ok {
			out = appendSection(out, s.id, p)
			delete(added, s.id)
			continue
		}
		p, keep, err := b.section(s)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		if keep {
			out = appendSection(out, s.id, p)
		}
	}
	emit(len(order) + 1)
	if !b.named {
		out = appendSection(out, secCustom, b.nameSection())
	}
	return out, nil
}

// section rewrites a section that the instrumentation does not add to; it
// returns false for a section to drop.
func (b *bodies) section(s section) ([]byte, bool, error) {
	var err error
	p := s.payload
	switch s.id {
	case secStart:
		r := reader{b: p}
		fn := r.u32()
		if r.err == nil && r.pos != len(p) {
			r.fail(errors.New("trailing bytes"))
		}
		p, err = appendU32(nil, b.shift(fn)), r.err
	case secElem:
		p, err = b.elements(p)
	case secCode:
		p, err = b.code(p)
	case secCustom:
		return b.custom(p)
	}
	return p, true, err
}

// vectorLen reads the length of a vector section (0 when absent).
func vectorLen(p []byte) (uint32, error) {
	if p == nil {
		return 0, nil
	}
	r := reader{b: p}
	n := r.u32()
	return n, r.err
}

// addYieldType returns the type section with (i64) -> (i64), reused if the
// module has it, else appended, that type's index, and the number of
// parameters of every type.
func addYieldType(p []byte) ([]byte, uint32, []uint32, error) {
	want := []byte{0x60, 0x01, 0x7e, 0x01, 0x7e}
	r := reader{b: p}
	n := uint32(0)
	if p != nil {
		n = r.u32()
	}
	first := r.pos
	params := make([]uint32, 0, min(n, uint32(len(p))))
	found := int64(-1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		if form := r.byte(); form != 0x60 && r.err == nil {
			return nil, 0, nil, fmt.Errorf("type %d: form 0x%02x is not a function type", i, form)
		}
		k := r.u32()
		r.bytes(k)       // parameters: one byte each without typed references
		r.bytes(r.u32()) // results
		params = append(params, k)
		if found < 0 && r.err == nil && bytes.Equal(p[start:r.pos], want) {
			found = int64(i)
		}
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	if r.err != nil {
		return nil, 0, nil, r.err
	}
	if found >= 0 {
		return p, uint32(found), params, nil
	}
	out := appendU32(nil, n+1)
	out = append(out, p[first:]...)
	return append(out, want...), n, params, nil
}

// functionParams returns the number of parameters of each defined
// function, from the function section and those of the types.
func functionParams(p []byte, typeParams []uint32) ([]uint32, error) {
	r := reader{b: p}
	n := uint32(0)
	if p != nil {
		n = r.u32()
	}
	params := make([]uint32, 0, min(n, uint32(len(p))))
	for i := uint32(0); i < n && r.err == nil; i++ {
		t := r.u32()
		if r.err != nil {
			break
		}
		if t >= uint32(len(typeParams)) {
			return nil, fmt.Errorf("function %d has type %d of %d", i, t, len(typeParams))
		}
		params = append(params, typeParams[t])
	}
	return params, r.err
}

// lenU32 is the length of the LEB128 number at the start of p.
func lenU32(p []byte) int {
	r := reader{b: p}
	r.u32()
	return r.pos
}

// addYieldImport appends the yield import to the import section and returns
// it with yield's function index (the number of function imports) and the
// number of imported globals.
func addYieldImport(p []byte, yieldType uint32) ([]byte, uint32, uint32, error) {
	r := reader{b: p}
	n := uint32(0)
	if p != nil {
		n = r.u32()
	}
	first := r.pos
	var funcs, globals uint32
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // function
			r.skipLEB(5)
			funcs++
		case 0x01: // table
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag
			r.byte()
			r.skipLEB(5)
		default:
			r.fail(fmt.Errorf("import %d has unknown kind %d", i, kind))
		}
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	if r.err != nil {
		return nil, 0, 0, r.err
	}
	out := appendU32(nil, n+1)
	out = append(out, p[first:]...)
	out = appendName(out, ImportModule)
	out = appendName(out, ImportName)
	out = append(out, 0x00)
	return appendU32(out, yieldType), funcs, globals, nil
}

// limits skips a table's or memory's limits (flags: maximum, shared, 64-bit).
func (r *reader) limits() {
	flags := r.byte()
	r.skipLEB(10)
	if flags&1 != 0 {
		r.skipLEB(10)
	}
}

// addBudgetGlobal rewrites the global section's initializers and appends the
// budget: a mutable i64 starting at 0.
func (b *bodies) addBudgetGlobal(p []byte) ([]byte, error) {
	r := reader{b: p}
	n := uint32(0)
	if p != nil {
		n = r.u32()
	}
	out := appendU32(make([]byte, 0, len(p)+8), n+1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		r.byte() // value type
		r.byte() // mutability
		out = append(out, p[start:r.pos]...)
		var err error
		if out, err = b.expr(out, &r); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	return append(out, 0x7e, 0x01, 0x42, 0x00, 0x0b), r.err
}

// expr copies a constant expression from r to out, shifting ref.func.
func (b *bodies) expr(out []byte, r *reader) ([]byte, error) {
	copied := r.pos
	for !r.done() {
		c, fn, fnAt := decode(r)
		switch c {
		case funcRef:
			out = append(out, r.b[copied:fnAt]...)
			out = appendU32(out, b.shift(fn))
			copied = r.pos
		case end:
			return append(out, r.b[copied:r.pos]...), r.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return nil, errTruncated
}

// exports shifts function exports and appends the budget's.
func (b *bodies) exports(p []byte, budget uint32) ([]byte, error) {
	r := reader{b: p}
	n := uint32(0)
	if p != nil {
		n = r.u32()
	}
	out := appendU32(make([]byte, 0, len(p)+32), n+1)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		name := r.name()
		if string(name) == BudgetExport {
			return nil, fmt.Errorf("the module already exports %s", BudgetExport)
		}
		kind := r.byte()
		out = append(out, p[start:r.pos]...)
		idx := r.u32()
		if kind == 0x00 {
			idx = b.shift(idx)
		}
		out = appendU32(out, idx)
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	out = appendName(out, BudgetExport)
	out = append(out, 0x03)
	return appendU32(out, budget), r.err
}

// elements shifts the function indices of element segments, in index
// vectors and in ref.func expressions.
func (b *bodies) elements(p []byte) ([]byte, error) {
	r := reader{b: p}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(p)+16), n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.pos
		flags := r.u32()
		if flags > 7 {
			return nil, fmt.Errorf("element segment %d: unknown flags %d", i, flags)
		}
		out = append(out, p[start:r.pos]...)
		var err error
		if flags&1 == 0 { // active: an offset, after a table index if explicit
			if flags&2 != 0 {
				tableAt := r.pos
				r.skipLEB(5)
				out = append(out, p[tableAt:r.pos]...)
			}
			if out, err = b.expr(out, &r); err != nil {
				return nil, fmt.Errorf("element segment %d offset: %w", i, err)
			}
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		k := r.u32()
		out = appendU32(out, k)
		for j := uint32(0); j < k && r.err == nil; j++ {
			if flags&4 != 0 {
				if out, err = b.expr(out, &r); err != nil {
					return nil, fmt.Errorf("element segment %d entry %d: %w", i, j, err)
				}
			} else {
				out = appendU32(out, b.shift(r.u32()))
			}
		}
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	return out, r.err
}

// code rewrites every function body.
func (b *bodies) code(p []byte) ([]byte, error) {
	r := reader{b: p}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(p)+len(p)/4+16), n)
	var body []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		src := r.bytes(r.u32())
		if r.err != nil {
			break
		}
		var err error
		if body, err = b.rewrite(body[:0], src, i); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	return out, r.err
}

// custom keeps custom sections but DWARF, whose code offsets the rewriting
// makes untrue, and shifts the function indices of the name section.
func (b *bodies) custom(p []byte) ([]byte, bool, error) {
	r := reader{b: p}
	name := string(r.name())
	if r.err != nil {
		return nil, false, fmt.Errorf("custom section name: %w", r.err)
	}
	switch {
	case strings.HasPrefix(name, ".debug_"):
		return nil, false, nil
	case name == "name" && b.named:
		return nil, false, nil // a second one: engines read the first
	case name == "name":
		out, err := b.names(p[:r.pos], p[r.pos:])
		// Names are only for people: a malformed name section is dropped
		// rather than refused, as engines ignore it (Instrument then adds
		// one of its own).
		b.named = err == nil
		return out, err == nil, nil
	}
	return p, true, nil
}
