package preempt

import (
	"errors"
	"fmt"
)

// The charge (see Instrument) is stack-neutral; it keeps the new budget in
// a local of its own, added to every function, which saves a global read
// (globals live in memory, locals in registers):
//
//	global.get $b  i64.const N  i64.sub  local.tee $t  global.set $b
//	local.get $t  i64.const 0  i64.lt_s
//	if  local.get $t  call $yield  global.set $b  end
//
// chargeHead is everything before N, tail (per function: $t differs)
// everything after it.

// bodies rewrites function bodies for one module.
type bodies struct {
	yield   uint32   // the yield import's function index
	defined uint32   // how many functions the module defines
	budget  uint32   // the budget global's index
	params  []uint32 // per defined function, its number of parameters
	named   bool     // a name section was written

	chargeHead []byte
	tail       []byte   // of the function being rewritten
	bulkHead   []byte   // of the function being rewritten: see bulkCharge
	counts     []uint64 // per body: [0] outside loops, [k] the k-th loop
	frames     []int    // per open frame: its index in counts
}

func newBodies(yield, defined, budget uint32, params []uint32) *bodies {
	b := &bodies{yield: yield, defined: defined, budget: budget, params: params}
	b.chargeHead = appendU32([]byte{0x23}, budget)
	b.chargeHead = append(b.chargeHead, 0x42)
	return b
}

// setTail makes the charge's tail for a function whose scratch locals are
// t (i64) and t+1 (i32), and the head of its bulk charge.
func (b *bodies) setTail(t uint32) {
	h := append(b.bulkHead[:0], 0x22)
	h = appendU32(h, t+1)
	h = append(h, 0x23)
	h = appendU32(h, b.budget)
	h = append(h, 0x20)
	h = appendU32(h, t+1)
	b.bulkHead = append(h, 0xad, 0x42, bulkShift, 0x88) // i64.extend_i32_u, i64.const, i64.shr_u
	x := append(b.tail[:0], 0x7d, 0x22)
	x = appendU32(x, t)
	x = append(x, 0x24)
	x = appendU32(x, b.budget)
	x = append(x, 0x20)
	x = appendU32(x, t)
	x = append(x, 0x42, 0x00, 0x53, 0x04, 0x40, 0x20)
	x = appendU32(x, t)
	x = append(x, 0x10)
	x = appendU32(x, b.yield)
	x = append(x, 0x24)
	x = appendU32(x, b.budget)
	b.tail = append(x, 0x0b)
}

// shift maps a function index of the original module to the instrumented
// one's: yield takes the index of the first defined function.
func (b *bodies) shift(fn uint32) uint32 {
	if fn >= b.yield {
		return fn + 1
	}
	return fn
}

// bulkShift: a bulk operation costs one unit per 2^bulkShift bytes (or
// table elements) of its length, besides its own unit: its work, unlike
// any other instruction's, grows with an operand, and a loop of 64 MiB
// fills must not run for seconds on one grant.
const bulkShift = 3

// bulkCharge charges, before a bulk operation, its length >> bulkShift,
// read from the top of the stack and left there (through the i32 scratch
// local):
//
//	local.tee $n  global.get $b  local.get $n  i64.extend_i32_u
//	i64.const 3  i64.shr_u  (then the charge's tail, from i64.sub)
func (b *bodies) bulkCharge(out []byte) []byte {
	out = append(out, b.bulkHead...)
	return append(out, b.tail...)
}

func (b *bodies) charge(out []byte, n uint64) []byte {
	out = append(out, b.chargeHead...)
	out = appendS64(out, int64(max(n, 1)))
	return append(out, b.tail...)
}

// rewrite appends to out the instrumented form of the i-th defined
// function's body (its locals and instructions, without the size before
// them).
func (b *bodies) rewrite(out, body []byte, i uint32) ([]byte, error) {
	if i >= uint32(len(b.params)) {
		return nil, errors.New("more bodies than functions")
	}
	r := reader{b: body}
	groups := r.u32()
	locals := uint64(b.params[i])
	for g := uint32(0); g < groups && r.err == nil; g++ {
		locals += uint64(r.u32())
		r.byte() // value type
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	if locals >= 1<<32-2 {
		return nil, fmt.Errorf("%d locals", locals)
	}
	b.setTail(uint32(locals))
	out = appendU32(out, groups+2)
	out = append(out, body[lenU32(body):r.pos]...)
	out = append(out, 0x01, 0x7e, 0x01, 0x7f) // the charges' i64 and the bulk charge's i32
	code := r.pos
	if err := b.count(reader{b: body, pos: code}); err != nil {
		return nil, err
	}

	r.pos = code
	out = b.charge(out, b.counts[0])
	copied, loops := code, 1
	for !r.done() {
		at := r.pos
		c, fn, fnAt := decode(&r)
		switch c {
		case globalRef:
			// An index past the module's own globals would be the budget:
			// an invalid module must not become valid, and free of its
			// limits, by being instrumented.
			if fn >= b.budget {
				return nil, fmt.Errorf("byte %d: global index %d out of range (%d globals)", at, fn, b.budget)
			}
		case bulk:
			out = append(out, body[copied:at]...)
			out = b.bulkCharge(out)
			copied = at
		case funcRef:
			out = append(out, body[copied:fnAt]...)
			out = appendU32(out, b.shift(fn))
			copied = r.pos
		case loop:
			out = append(out, body[copied:r.pos]...)
			out = b.charge(out, b.counts[loops])
			loops++
			copied = r.pos
		}
	}
	return append(out, body[copied:]...), r.err
}

// count fills b.counts for the instructions read by r: how many are
// outside any loop, and how many directly in each loop (a nested loop's
// own opcode counts for its parent, its body and end for itself).
func (b *bodies) count(r reader) error {
	b.counts = append(b.counts[:0], 0)
	b.frames = append(b.frames[:0], 0)
	for !r.done() {
		if len(b.frames) == 0 {
			return fmt.Errorf("byte %d: instructions after the function's end", r.pos)
		}
		c, _, _ := decode(&r)
		cur := b.frames[len(b.frames)-1]
		b.counts[cur]++
		switch c {
		case block:
			b.frames = append(b.frames, cur)
		case loop:
			b.counts = append(b.counts, 0)
			b.frames = append(b.frames, len(b.counts)-1)
		case end:
			b.frames = b.frames[:len(b.frames)-1]
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(b.frames) != 0 {
		return errors.New("function body ends without end")
	}
	return nil
}
