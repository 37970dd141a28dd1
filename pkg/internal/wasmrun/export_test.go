package wasmrun

// Compiles returns how many modules r compiled (successfully or not).
func (r *Runner) Compiles() int64 { return r.compiles.Load() }

// ModuleCost is what a module of wasm counts against ModuleCacheBytes.
func ModuleCost(wasm []byte) int64 { return moduleCost(wasm) }

// Runs returns how many runs use the held module h now.
func (r *Runner) Runs(h Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.modules[h]; m != nil {
		return m.runs
	}
	return 0
}
