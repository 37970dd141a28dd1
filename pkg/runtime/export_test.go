package runtime

// Compiles returns how many modules r compiled (successfully or not).
func (r *Runner) Compiles() int64 { return r.compiles.Load() }
