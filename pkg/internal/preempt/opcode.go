package preempt

import "fmt"

// The rewriting copies every instruction byte for byte except function
// indices, so it only needs each instruction's length: its opcode, then its
// immediates. The table below covers what wazero v1.12 decodes with the
// features Shoal could enable: the MVP, sign extension, multi-value,
// non-trapping conversions, bulk memory, reference types, SIMD, threads and
// tail calls. Exception handling and typed function references are not
// covered: Shoal does not enable them, and their opcodes are refused.

// class is what the rewriting must know of an instruction beyond its length.
type class uint8

const (
	plain     class = iota
	block           // block or if: opens a frame counted with its parent
	loop            // opens a frame with its own charge
	elseOp          // else: continues the if's frame
	end             // closes a frame
	funcRef         // call, return_call or ref.func: the immediate is a function index
	globalRef       // global.get or global.set: the immediate is a global index
	bulk            // a bulk memory or table operation whose work grows with its length, on top of the stack
)

// imm is the shape of a one-byte opcode's immediates.
type imm uint8

const (
	immInvalid imm = iota
	immNone
	immBlockType
	immU32
	immU32x2
	immBrTable
	immMemarg
	immS32
	immS64
	immF32
	immF64
	immSelectT
	immRefType
	immFunc
	immPrefixFC // misc: saturating truncation, bulk memory, tables
	immPrefixFD // SIMD
	immPrefixFE // threads
)

var opImm = func() (t [256]imm) {
	set := func(from, to byte, i imm) {
		for c := int(from); c <= int(to); c++ {
			t[c] = i
		}
	}
	set(0x00, 0x01, immNone)      // unreachable, nop
	set(0x02, 0x04, immBlockType) // block, loop, if
	set(0x05, 0x05, immNone)      // else
	set(0x0b, 0x0b, immNone)      // end
	set(0x0c, 0x0d, immU32)       // br, br_if
	set(0x0e, 0x0e, immBrTable)
	set(0x0f, 0x0f, immNone)    // return
	set(0x10, 0x10, immFunc)    // call
	set(0x11, 0x11, immU32x2)   // call_indirect: type, table
	set(0x12, 0x12, immFunc)    // return_call
	set(0x13, 0x13, immU32x2)   // return_call_indirect
	set(0x1a, 0x1b, immNone)    // drop, select
	set(0x1c, 0x1c, immSelectT) // select t*
	set(0x20, 0x26, immU32)     // local.*, global.*, table.get, table.set
	set(0x28, 0x3e, immMemarg)  // loads and stores
	set(0x3f, 0x40, immU32)     // memory.size, memory.grow: memory index
	set(0x41, 0x41, immS32)
	set(0x42, 0x42, immS64)
	set(0x43, 0x43, immF32)
	set(0x44, 0x44, immF64)
	set(0x45, 0xc4, immNone) // numeric, sign extension
	set(0xd0, 0xd0, immRefType)
	set(0xd1, 0xd1, immNone) // ref.is_null
	set(0xd2, 0xd2, immFunc) // ref.func
	t[0xfc] = immPrefixFC
	t[0xfd] = immPrefixFD
	t[0xfe] = immPrefixFE
	return t
}()

// simdGaps are the opcodes below 0x100 that the SIMD proposal leaves unassigned.
var simdGaps = map[uint32]bool{
	0x9a: true, 0xa2: true, 0xa5: true, 0xa6: true, 0xaf: true, 0xb0: true,
	0xb2: true, 0xb3: true, 0xb4: true, 0xbb: true, 0xc2: true, 0xc5: true,
	0xc6: true, 0xcf: true, 0xd0: true, 0xd2: true, 0xd3: true, 0xd4: true,
	0xe2: true, 0xee: true,
}

// decode reads the instruction at r.pos. For a funcRef it returns the
// function index and the offset where its LEB128 starts.
func decode(r *reader) (c class, fn uint32, fnAt int) {
	start := r.pos
	op := r.byte()
	switch opImm[op] {
	case immNone:
		switch op {
		case 0x05:
			return elseOp, 0, 0
		case 0x0b:
			return end, 0, 0
		}
	case immBlockType:
		r.skipLEB(5) // 0x40, a value type, or an s33 type index
		if op == 0x03 {
			return loop, 0, 0
		}
		return block, 0, 0
	case immU32:
		if op == 0x23 || op == 0x24 { // global.get, global.set
			return globalRef, r.u32(), 0
		}
		r.skipLEB(5)
	case immU32x2:
		r.skipLEB(5)
		r.skipLEB(5)
	case immBrTable:
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.skipLEB(5)
		}
	case immMemarg:
		r.memarg()
	case immS32:
		r.skipLEB(5)
	case immS64:
		r.skipLEB(10)
	case immF32:
		r.bytes(4)
	case immF64:
		r.bytes(8)
	case immSelectT:
		r.bytes(r.u32())
	case immRefType:
		r.byte()
	case immFunc:
		fnAt = r.pos
		return funcRef, r.u32(), fnAt
	case immPrefixFC:
		if r.prefixFC() {
			return bulk, 0, 0
		}
	case immPrefixFD:
		r.prefixFD()
	case immPrefixFE:
		r.prefixFE()
	default:
		r.pos = start
		r.fail(fmt.Errorf("unknown opcode 0x%02x", op))
	}
	return plain, 0, 0
}

// memarg skips a memory argument: alignment (with a memory index when bit
// 6 is set, as multi-memory encodes it) and offset (64 bits for memory64).
func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.skipLEB(5)
	}
	r.skipLEB(10)
}

// prefixFC skips a 0xFC instruction and reports whether it is one whose
// work grows with its length operand, an i32 on top of the stack: the
// bulk copies, fills and inits of memories and tables, and table.grow.
func (r *reader) prefixFC() (bulk bool) {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncation
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.skipLEB(5)
		r.skipLEB(5)
		return true
	case sub == 11, sub == 15, sub == 17: // memory.fill, table.grow, table.fill
		r.skipLEB(5)
		return true
	case sub <= 17: // data.drop, elem.drop, table.size
		r.skipLEB(5)
	default:
		r.fail(fmt.Errorf("unknown opcode 0xfc %d", sub))
	}
	return false
}

func (r *reader) prefixFD() {
	switch sub := r.u32(); {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads, splats, store, load_zero
		r.memarg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		r.byte()
	case sub >= 0x54 && sub <= 0x5b: // load and store lane
		r.memarg()
		r.byte()
	case sub > 0xff || simdGaps[sub]:
		r.fail(fmt.Errorf("unknown opcode 0xfd %d", sub))
	}
}

func (r *reader) prefixFE() {
	switch sub := r.u32(); {
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4e: // notify, wait, loads, stores, read-modify-writes
		r.memarg()
	case sub == 0x03: // atomic.fence
		r.byte()
	default:
		r.fail(fmt.Errorf("unknown opcode 0xfe %d", sub))
	}
}
