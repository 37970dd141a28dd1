package preempt

import (
	"errors"
	"fmt"
)

// Subsections of the name section keyed by function index; the others
// (module, types, tables, memories, globals, ...) are copied.
const (
	nameFunctions = 1 // name map: function -> name
	nameLocals    = 2 // indirect name map: function -> local -> name
	nameLabels    = 3 // indirect name map: function -> label -> name
)

// names rewrites the name section's payload after its name (head is the
// custom section's name, kept as is).
func (b *bodies) names(head, p []byte) ([]byte, error) {
	out := append(make([]byte, 0, len(head)+len(p)+8), head...)
	r := reader{b: p}
	var sub []byte
	for !r.done() {
		id := r.byte()
		payload := r.bytes(r.u32())
		if r.err != nil {
			return nil, fmt.Errorf("name subsection %d: %w", id, r.err)
		}
		switch id {
		case nameFunctions, nameLocals, nameLabels:
			var err error
			if sub, err = b.nameMap(sub[:0], payload, id != nameFunctions); err != nil {
				return nil, fmt.Errorf("name subsection %d: %w", id, err)
			}
			out = appendSection(out, id, sub)
		default:
			out = appendSection(out, id, payload)
		}
	}
	return out, r.err
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
