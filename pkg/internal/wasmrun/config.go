package wasmrun

import (
	"errors"
	"fmt"
)

const (
	// pageSize is the size of a WebAssembly memory page.
	pageSize = 64 << 10
	// maxPages is the most pages a 32-bit WebAssembly memory can have (4 GiB).
	maxPages = 1 << 16
)

// Config configures a Runner. Start from DefaultConfig.
type Config struct {
	// MemoryLimit is the most linear memory, in bytes, that one run may use.
	// It is rounded down to whole 64 KiB pages and must be between 64 KiB and
	// 4 GiB. A run's Spec.Memory can only lower it.
	MemoryLimit uint64
	// MaxOutput is how many bytes of stdout a run keeps as its result when
	// the Spec does not say; the rest is discarded.
	MaxOutput int
	// CacheDir is wazero's on-disk compilation cache; "" keeps compiled code
	// in memory only. Several runners may share one directory.
	CacheDir string
	// Preempt is how runs are stopped at their time limit: PreemptInstrument
	// (the default) or PreemptWazero. See "Why instrumentation instead of
	// WithCloseOnContextDone" in docs/RATIONALE.md.
	Preempt string
	// ModuleCacheBytes bounds the compiled modules a Runner keeps in memory,
	// as estimated by moduleCost; past it, the least recently used modules
	// not running now are dropped (they compile again, from CacheDir when
	// set). 0 is no bound.
	ModuleCacheBytes int64
}

// DefaultConfig returns a Config with a 256 MiB memory limit, 1 MiB of kept
// output, instrumented modules, no on-disk cache and no bound on the
// compiled modules.
func DefaultConfig() Config {
	return Config{
		MemoryLimit: 256 << 20,
		MaxOutput:   1 << 20,
		Preempt:     PreemptInstrument,
	}
}

// preemptModes are the valid values of Config.Preempt.
var preemptModes = map[string]bool{PreemptInstrument: true, PreemptWazero: true, PreemptNone: true}

// The ways a Runner can stop runaway guest code (Config.Preempt).
const (
	// PreemptInstrument rewrites each module (package preempt) so that it
	// calls the host every ~1 ms of guest time, where the run's time limit,
	// cancellation and fuel limit are checked. Guest code runs at nearly
	// full speed, and runs count their fuel (Result.Fuel).
	PreemptInstrument = "instrument"
	// PreemptWazero uses wazero's WithCloseOnContextDone, which checks at
	// every loop back-edge and call: 3.5-7x slower. Fuel is not counted.
	PreemptWazero = "wazero"
	// PreemptNone is for benchmarks only: neither instrumentation nor
	// wazero's checks, so a run cannot be stopped (it is the speed of guest
	// code with no time limit at all, the baseline of issue 11's figures).
	// A worker refuses it (worker.Config.Validate).
	PreemptNone = "none"
)

// Validate reports each invalid field of c, by name.
func (c Config) Validate() error {
	var errs []error
	if c.MemoryLimit < pageSize || c.MemoryLimit > maxPages*pageSize {
		errs = append(errs, fmt.Errorf("MemoryLimit: %d bytes is outside [64 KiB, 4 GiB]", c.MemoryLimit))
	}
	if c.MaxOutput <= 0 {
		errs = append(errs, fmt.Errorf("MaxOutput: must be positive, got %d", c.MaxOutput))
	}
	if !preemptModes[c.Preempt] {
		errs = append(errs, fmt.Errorf("Preempt: %q is neither %q nor %q", c.Preempt, PreemptInstrument, PreemptWazero))
	}
	if c.ModuleCacheBytes < 0 {
		errs = append(errs, fmt.Errorf("ModuleCacheBytes: must not be negative, got %d", c.ModuleCacheBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runtime config: %w", err)
	}
	return nil
}

// limitPages is the memory limit in whole pages.
func (c Config) limitPages() uint32 { return uint32(c.MemoryLimit / pageSize) }
