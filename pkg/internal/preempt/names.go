package preempt

import (
	"errors"
	"fmt"
	"strconv"
)

// Subsections of the name section keyed by function index; the others
// (module, types, tables, memories, globals, ...) are copied.
const (
	nameFunctions = 1 // name map: function -> name
	nameLocals    = 2 // indirect name map: function -> local -> name
	nameLabels    = 3 // indirect name map: function -> label -> name
)

// names rewrites the name section's payload after its name (head is the
// custom section's name, kept as is). Function names are completed as
// functionNames says.
func (b *bodies) names(head, p []byte) ([]byte, error) {
	out := append(make([]byte, 0, len(head)+len(p)+8), head...)
	r := reader{b: p}
	var sub []byte
	wroteFunctions := false
	for !r.done() {
		id := r.byte()
		payload := r.bytes(r.u32())
		if r.err != nil {
			return nil, fmt.Errorf("name subsection %d: %w", id, r.err)
		}
		if id > nameFunctions && !wroteFunctions {
			out = appendSection(out, nameFunctions, b.functionNames(nil))
			wroteFunctions = true
		}
		var err error
		switch id {
		case nameFunctions:
			if sub, err = b.nameMap(sub[:0], payload, false); err == nil {
				sub, err = b.completeNames(sub)
			}
			wroteFunctions = true
		case nameLabels:
			// Label indices count blocks, and every charge adds an if
			// block: the old names would name the wrong labels.
			continue
		case nameLocals:
			sub, err = b.nameMap(sub[:0], payload, true)
		default:
			sub = append(sub[:0], payload...)
		}
		if err != nil {
			return nil, fmt.Errorf("name subsection %d: %w", id, err)
		}
		out = appendSection(out, id, sub)
	}
	if !wroteFunctions {
		out = appendSection(out, nameFunctions, b.functionNames(nil))
	}
	return out, r.err
}

// nameSection is a name section holding only function names, for a module
// that had none (or a malformed one).
func (b *bodies) nameSection() []byte {
	return appendSection(appendName(nil, "name"), nameFunctions, b.functionNames(nil))
}

// functionNames returns a function name map holding named (a shifted name
// map, sorted by index) and, for each defined function it does not name,
// "$N", N being the function's index in the original module. wazero names
// such a function "$N" with its index in stack traces, so traps read the
// same instrumented or not.
func (b *bodies) functionNames(named []nameEntry) []byte {
	var entries []nameEntry
	i := 0
	for _, e := range named {
		if e.idx > b.yield {
			break
		}
		entries = append(entries, e)
		i++
	}
	for fn := b.yield; fn < b.yield+b.defined; fn++ {
		if i < len(named) && named[i].idx == fn+1 {
			entries = append(entries, named[i])
			i++
			continue
		}
		entries = append(entries, nameEntry{fn + 1, []byte("$" + strconv.FormatUint(uint64(fn), 10))})
	}
	entries = append(entries, named[i:]...) // past the defined functions: invalid, kept
	out := appendU32(nil, uint32(len(entries)))
	for _, e := range entries {
		out = appendU32(out, e.idx)
		out = append(appendU32(out, uint32(len(e.name))), e.name...)
	}
	return out
}

// nameEntry is one entry of a name map.
type nameEntry struct {
	idx  uint32
	name []byte
}

// completeNames adds the names functionNames makes to a shifted name map.
func (b *bodies) completeNames(sub []byte) ([]byte, error) {
	r := reader{b: sub}
	n := r.u32()
	named := make([]nameEntry, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		e := nameEntry{r.u32(), r.name()}
		if len(named) > 0 && e.idx <= named[len(named)-1].idx {
			return nil, errors.New("function names out of order")
		}
		named = append(named, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	return b.functionNames(named), nil
}

// nameMap shifts the function indices of a name map, or of an indirect
// name map (whose inner indices are locals or labels, kept).
func (b *bodies) nameMap(out, p []byte, indirect bool) ([]byte, error) {
	r := reader{b: p}
	n := r.u32()
	out = appendU32(out, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		out = appendU32(out, b.shift(r.u32()))
		start := r.pos
		if indirect {
			k := r.u32()
			for j := uint32(0); j < k && r.err == nil; j++ {
				r.skipLEB(5)
				r.name()
			}
		} else {
			r.name()
		}
		out = append(out, p[start:r.pos]...)
	}
	if r.err == nil && r.pos != len(p) {
		r.fail(errors.New("trailing bytes"))
	}
	return out, r.err
}
