package wasmrun

import (
	"context"

	"github.com/tetratelabs/wazero"
)

// costFactor estimates what a compiled module holds in memory from the size
// of its wasm. wazero does not report the size of its native code, so the
// factor is measured: the Go hash module (2.4 MB of wasm) compiles to 9.0 MB
// of native code (the size of its entry in the on-disk cache) plus 4.7 MB of
// Go heap, 5.7 times its size. Tiny modules cost less than this, but they
// are not what fills a cache.
const costFactor = 6

// moduleCost is what a module of wasm counts against
// Config.ModuleCacheBytes.
func moduleCost(wasm []byte) int64 { return int64(len(wasm)) * costFactor }

// The methods below keep Runner.modules, Runner.lru and Runner.held
// consistent; the caller holds Runner.mu.

// hold adds m, compiled from h, as the most recently used module, and
// returns the compiled code of the modules it evicted, for the caller to
// close after unlocking.
func (r *Runner) hold(h Hash, m *module) []wazero.CompiledModule {
	m.hash = h
	m.elem = r.lru.PushFront(m)
	r.modules[h] = m
	r.held += m.cost
	return r.evict()
}

// use marks m as just used.
func (r *Runner) use(m *module) { r.lru.MoveToFront(m.elem) }

// acquire returns the module h, marked as used and pinned by one more run
// until release; nil if it is not held.
func (r *Runner) acquire(h Hash) *module {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.modules[h]
	if m != nil {
		m.runs++
		r.use(m)
	}
	return m
}

// release unpins m after a run, which may let it, or others pinned while
// over the bound, be evicted now.
func (r *Runner) release(m *module) {
	r.mu.Lock()
	m.runs--
	drop := r.evict()
	r.mu.Unlock()
	closeModules(drop)
}

// evict drops least recently used modules while the held modules cost more
// than the bound. It skips modules that runs are using (release evicts them
// later) and never drops the most recently used one, so that a module over
// the bound on its own can still be compiled and run.
func (r *Runner) evict() []wazero.CompiledModule {
	limit := r.cfg.ModuleCacheBytes
	if limit == 0 {
		return nil
	}
	var drop []wazero.CompiledModule
	for e := r.lru.Back(); e != nil && e != r.lru.Front() && r.held > limit; {
		m := e.Value.(*module)
		e = e.Prev()
		if m.runs > 0 {
			continue
		}
		r.lru.Remove(m.elem)
		delete(r.modules, m.hash)
		r.held -= m.cost
		drop = append(drop, m.compiled)
	}
	if len(drop) > 0 {
		select {
		case r.evicted <- struct{}{}:
		default: // a signal is already pending
		}
	}
	return drop
}

// Evicted is signaled (at most one signal pending) when the cache drops a
// module: Cached has changed, and a worker tells its gateway.
func (r *Runner) Evicted() <-chan struct{} { return r.evicted }

// closeModules releases the native code of evicted modules, which no run
// uses.
func closeModules(cms []wazero.CompiledModule) {
	for _, cm := range cms {
		// Closing compiled code only unmaps it; it does not fail or block.
		_ = cm.Close(context.Background())
	}
}
