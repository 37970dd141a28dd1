package wasmrun

import (
	"math/bits"
	"sync"
)

// Why a pool: most modules start with a few pages of memory, and a fresh
// zeroed allocation per run, with the Go scavenger returning the pages to the
// OS in between, costs more than the rest of a small run. Buffers of up to
// 8 MiB, in power-of-two page classes, are reused. A buffer is zeroed when it
// is returned, before anyone else can get it: no run sees another's memory.

// poolClasses is the number of size classes: 1, 2, 4, ... 128 pages.
const poolClasses = 8

var memoryPools [poolClasses]sync.Pool // of *[]byte with len 0

// poolClass returns the class of buffers with at least capacity bytes.
func poolClass(capacity uint64) (int, bool) {
	pages := max((capacity+pageSize-1)/pageSize, 1)
	c := bits.Len64(pages - 1)
	return c, c < poolClasses
}

// getBuffer returns a zeroed buffer of length size and capacity at least capacity.
func getBuffer(size, capacity uint64) []byte {
	c, ok := poolClass(capacity)
	if !ok {
		return make([]byte, size, capacity)
	}
	if p, _ := memoryPools[c].Get().(*[]byte); p != nil {
		return (*p)[:size]
	}
	return make([]byte, size, pageSize<<c)
}

// putBuffer zeroes buf and keeps it for reuse if it has a class's capacity.
// The caller must not use buf afterwards.
func putBuffer(buf []byte) {
	c, ok := poolClass(uint64(cap(buf)))
	if !ok || cap(buf) != pageSize<<c {
		return
	}
	clear(buf) // beyond len(buf) it was never written
	buf = buf[:0]
	memoryPools[c].Put(&buf)
}
