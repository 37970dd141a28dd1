package wasmrun

import (
	"github.com/tetratelabs/wazero/experimental"
)

// Why an allocator: wazero limits memory per runtime (WithMemoryLimitPages),
// and the Runner has one runtime for all runs. The runtime limit is
// Config.MemoryLimit, a ceiling no run can pass: wazero refuses growth past
// it (or past the module's own declared maximum) without asking anyone. A
// run's own, lower limit is enforced by a runMemory passed to the
// instantiation through experimental.WithMemoryAllocator: wazero asks it for
// every other memory.grow, and a refusal makes memory.grow return -1, as the
// spec allows. Memories are never shared (the threads feature is off), so
// the buffer may move when it grows.

// runMemory backs the linear memory of one run's instance. The instance uses
// it from the run's goroutine only; the Runner reads it after the run.
type runMemory struct {
	limit   uint64 // bytes, whole pages
	buf     []byte
	size    uint64 // the memory's length, kept after Free
	refused bool   // a growth past limit was refused
}

var (
	_ experimental.MemoryAllocator = (*runMemory)(nil)
	_ experimental.LinearMemory    = (*runMemory)(nil)
)

func newRunMemory(limit uint64) *runMemory {
	return &runMemory{limit: limit / pageSize * pageSize}
}

// Allocate implements experimental.MemoryAllocator. A module has at most one
// memory, so the allocator is also the memory.
func (m *runMemory) Allocate(capacity, _ uint64) experimental.LinearMemory {
	m.buf = getBuffer(0, min(capacity, m.limit))
	return m
}

// Reallocate implements experimental.LinearMemory. It returns nil, which
// wazero turns into memory.grow's -1, when size is over the limit. The Run
// checks the initial size against the limit before instantiating, since
// wazero cannot refuse that one.
func (m *runMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	m.size = size
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // never written beyond the old length: still zero
		return m.buf
	}
	// Grow by half at least, as append would: modules growing a page at a
	// time must not copy their whole memory at every page.
	capacity := min(max(size, uint64(cap(m.buf))*3/2), m.limit)
	buf := getBuffer(size, capacity)
	copy(buf, m.buf)
	putBuffer(m.buf)
	m.buf = buf
	return buf
}

// Free implements experimental.LinearMemory. wazero calls it when the
// instance closes, once no call into the instance is running.
func (m *runMemory) Free() {
	putBuffer(m.buf)
	m.buf = nil
}

// exhausted reports whether the run plausibly failed for lack of memory: a
// growth was refused here, or the memory is too full for one more page (then
// wazero itself refused the growth at the runtime-wide limit, without asking).
func (m *runMemory) exhausted() bool {
	return m.refused || (m.size > 0 && m.size+pageSize > m.limit)
}
