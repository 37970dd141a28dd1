package wasmrun

import (
	"bytes"
	"errors"
	"fmt"
)

// wazero's CompiledModule does not say how large a module's memory starts,
// unless the memory is exported, nor whether it imports tables or globals.
// The runner needs both (the first to refuse a run whose module cannot fit
// its memory limit before wazero allocates anything), so it reads them from
// the binary itself. scanBinary runs only on bytes wazero has accepted.

var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

const (
	sectionImport = 2
	sectionMemory = 5
)

// importKind is the kind of an import, as encoded in the binary.
type importKind byte

const (
	kindFunc importKind = iota
	kindTable
	kindMemory
	kindGlobal
	kindTag
)

func (k importKind) String() string {
	switch k {
	case kindFunc:
		return "function"
	case kindTable:
		return "table"
	case kindMemory:
		return "memory"
	case kindGlobal:
		return "global"
	case kindTag:
		return "tag"
	default:
		return fmt.Sprintf("kind %d", byte(k))
	}
}

type importEntry struct {
	module, name string
	kind         importKind
}

// binaryInfo is what scanBinary reads.
type binaryInfo struct {
	imports []importEntry
	// memoryMinPages is the initial size of the module's own memory (0 if none).
	memoryMinPages uint32
}

var errTruncated = errors.New("truncated")

// checkHeader gives the user-facing reason why wasm is not a module at all.
func checkHeader(wasm []byte) error {
	if !bytes.HasPrefix(wasm, wasmHeader[:4]) {
		return fmt.Errorf("%w: missing \\0asm magic", ErrNotWasm)
	}
	if !bytes.HasPrefix(wasm, wasmHeader) {
		return fmt.Errorf("%w: unsupported binary version (want 1)", ErrNotWasm)
	}
	return nil
}

// scanBinary reads the import and memory sections of a module binary.
func scanBinary(wasm []byte) (binaryInfo, error) {
	var info binaryInfo
	if err := checkHeader(wasm); err != nil {
		return info, err
	}
	r := reader{b: wasm[len(wasmHeader):]}
	for len(r.b) > 0 {
		id := r.byte()
		size := r.u32()
		payload := r.bytes(int(size))
		if r.err != nil {
			break
		}
		sr := reader{b: payload}
		switch id {
		case sectionImport:
			info.imports = sr.imports()
		case sectionMemory:
			if sr.u32() > 0 {
				info.memoryMinPages, _ = sr.limits()
			}
		}
		if sr.err != nil {
			return info, fmt.Errorf("%w: section %d: %w", ErrNotWasm, id, sr.err)
		}
	}
	if r.err != nil {
		return info, fmt.Errorf("%w: %w", ErrNotWasm, r.err)
	}
	return info, nil
}

// reader decodes the binary format; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errTruncated
	}
	r.b = nil
}

// u64 reads an unsigned LEB128 number.
func (r *reader) u64() uint64 {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("LEB128 number too long")
	return 0
}

func (r *reader) u32() uint32 { return uint32(r.u64()) }

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

// limits reads a limits type and returns its minimum and whether it has a maximum.
func (r *reader) limits() (uint32, bool) {
	flags := r.byte()
	minimum := r.u64()
	hasMax := flags&1 != 0
	if hasMax {
		r.u64()
	}
	return uint32(min(minimum, maxPages)), hasMax
}

func (r *reader) imports() []importEntry {
	n := r.u32()
	var out []importEntry
	for i := uint32(0); i < n && r.err == nil; i++ {
		e := importEntry{module: r.name(), name: r.name(), kind: importKind(r.byte())}
		switch e.kind {
		case kindFunc:
			r.u32()
		case kindTable:
			r.byte() // reference type
			r.limits()
		case kindMemory:
			r.limits()
		case kindGlobal:
			r.byte() // value type
			r.byte() // mutability
		case kindTag:
			r.byte() // attribute
			r.u32()
		default:
			r.err = fmt.Errorf("import %s.%s has unknown kind %d", e.module, e.name, e.kind)
		}
		out = append(out, e)
	}
	return out
}
