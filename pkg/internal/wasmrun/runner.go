package wasmrun

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
)

// ErrClosed is returned by a Runner's methods after Close.
var ErrClosed = errors.New("runner closed")

// ErrNotCompiled: Run was asked for a module the runner does not hold (see
// Result.NotCompiled).
var ErrNotCompiled = errors.New("module not compiled")

// Runner compiles modules once and runs them many times, concurrently. It
// owns one wazero runtime, with WASI instantiated once; each run is a fresh
// anonymous instance of a compiled module.
type Runner struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache // nil without Config.CacheDir
	base  wazero.ModuleConfig     // see baseModuleConfig

	// stop ends every run when the Runner closes.
	stop     context.Context
	stopRuns context.CancelCauseFunc

	mu       sync.Mutex
	closed   bool
	active   sync.WaitGroup   // calls in flight, added to under mu while open
	modules  map[Hash]*module // the compiled modules held, each also in lru
	lru      *list.List       // of *module, most recently used first
	held     int64            // the summed cost of modules
	inflight map[Hash]*compileCall

	compiles atomic.Int64 // modules compiled, for tests

	evicted chan struct{} // see Evicted
}

// module is a compiled module and what runs need to know about it.
type module struct {
	compiled wazero.CompiledModule
	shape
	hash Hash
	cost int64         // see moduleCost
	elem *list.Element // in Runner.lru
	runs int           // runs using it now; it is not evicted while any are
}

// compileCall is a compilation in progress; concurrent Compile calls of the
// same module wait for it instead of compiling again.
type compileCall struct {
	done chan struct{}
	err  error
}

// New returns a Runner for cfg, which must be valid.
func New(ctx context.Context, cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := wasiSignatures(); err != nil {
		return nil, err
	}
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(cfg.Preempt == PreemptWazero).
		// DWARF is parsed on every trap and exit when enabled: milliseconds a run.
		WithDebugInfoEnabled(false).
		WithMemoryLimitPages(cfg.limitPages())
	r := &Runner{
		cfg:      cfg,
		base:     baseModuleConfig(),
		modules:  make(map[Hash]*module),
		lru:      list.New(),
		inflight: make(map[Hash]*compileCall),
		evicted:  make(chan struct{}, 1),
	}
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := instantiateWASI(ctx, r.rt); err != nil {
		_ = r.closeRuntime(ctx)
		return nil, err
	}
	if err := instantiateHost(ctx, r.rt); err != nil {
		_ = r.closeRuntime(ctx)
		return nil, err
	}
	r.stop, r.stopRuns = context.WithCancelCause(context.Background())
	return r, nil
}

// Close ends the runs in progress (their Result says "runner closed"), waits
// for them, and releases the runtime and all compiled modules. If ctx ends
// first, Close returns its cause and the release happens when the runs have
// ended. Later calls return nil.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()

	r.stopRuns(ErrClosed)
	idle := make(chan struct{})
	go func() {
		r.active.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		// The runs are ending; release the runtime once they have.
		go func() {
			<-idle
			_ = r.closeRuntime(context.Background())
		}()
		return fmt.Errorf("close runner: runs still ending: %w", context.Cause(ctx))
	}
	return r.closeRuntime(ctx)
}

// instrument says whether the Runner instruments modules (Config.Preempt).
func (r *Runner) instrument() bool { return r.cfg.Preempt == PreemptInstrument }

func (r *Runner) closeRuntime(ctx context.Context) error {
	err := r.rt.Close(ctx)
	if r.cache != nil {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}

// enter registers a call in flight; the caller must call r.active.Done.
func (r *Runner) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.active.Add(1)
	return nil
}

// Compile compiles wasm, once per Hash: a module already compiled (and not
// evicted since, see Config.ModuleCacheBytes) returns at once with a zero
// duration, and concurrent calls for the same bytes share
// one compilation. The duration is the time this call spent compiling or
// waiting for the shared compilation. It fails, with the same errors as
// Inspect, for a module the Runner could not run, and with ErrMemoryLimit
// for one whose memory starts over Config.MemoryLimit; failures are not
// cached.
func (r *Runner) Compile(ctx context.Context, wasm []byte) (Hash, time.Duration, error) {
	h := HashOf(wasm)
	if err := r.enter(); err != nil {
		return h, 0, err
	}
	defer r.active.Done()

	start := time.Now()
	r.mu.Lock()
	if m, ok := r.modules[h]; ok {
		r.use(m)
		r.mu.Unlock()
		return h, 0, nil
	}
	if c, ok := r.inflight[h]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return h, time.Since(start), c.err
		case <-ctx.Done():
			return h, time.Since(start), context.Cause(ctx)
		}
	}
	c := &compileCall{done: make(chan struct{})}
	r.inflight[h] = c
	r.mu.Unlock()

	m, err := r.compile(ctx, h, wasm)
	elapsed := time.Since(start)

	var drop []wazero.CompiledModule
	r.mu.Lock()
	delete(r.inflight, h)
	if err == nil {
		drop = r.hold(h, m)
	}
	r.mu.Unlock()
	closeModules(drop)
	c.err = err
	close(c.done)
	return h, elapsed, err
}

func (r *Runner) compile(ctx context.Context, h Hash, wasm []byte) (*module, error) {
	if err := checkBounds(wasm); err != nil {
		return nil, err
	}
	code := wasm
	if r.instrument() {
		var err error
		if code, err = r.instrumented(h, wasm); err != nil {
			return nil, r.whyNot(ctx, wasm, err)
		}
	} else {
		// The compiled module may keep slices of its bytes; the caller may reuse them.
		code = bytes.Clone(wasm)
	}
	cm, err := compileModule(ctx, r.rt, code)
	r.compiles.Add(1)
	if err != nil {
		if r.instrument() {
			return nil, r.whyNot(ctx, wasm, err)
		}
		return nil, r.explain(wasm, err)
	}
	s, err := check(cm, wasm, r.instrument())
	if err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	return &module{compiled: cm, shape: s, cost: moduleCost(wasm)}, nil
}

// whyNot explains why an instrumented module could not be compiled, err
// being what went wrong: wazero's error about the module as its author
// wrote it (instrumentation does not validate; its indices and offsets
// differ), or err if wazero accepts the original.
func (r *Runner) whyNot(ctx context.Context, wasm []byte, err error) error {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithDebugInfoEnabled(false).
		WithMemoryLimitPages(r.cfg.limitPages()))
	defer rt.Close(context.WithoutCancel(ctx))
	cm, origErr := compileModule(ctx, rt, wasm)
	if origErr != nil {
		return r.explain(wasm, origErr)
	}
	_ = cm.Close(ctx)
	return fmt.Errorf("%w: instrumented module: %w", ErrNotWasm, err)
}

// explain turns wazero's refusal of a memory that starts over the runtime's
// limit into ErrMemoryLimit; other errors are returned as they are.
func (r *Runner) explain(wasm []byte, err error) error {
	limit := uint64(r.cfg.limitPages()) * pageSize
	if info, scanErr := scanBinary(wasm); scanErr == nil && uint64(info.memoryMinPages)*pageSize > limit {
		return memoryLimitError(uint64(info.memoryMinPages)*pageSize, limit)
	}
	return err
}

// Has reports whether the module h is compiled and held in memory.
func (r *Runner) Has(h Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.modules[h]
	return ok
}

// Standalone reports whether module h is compiled and held, and imports
// none of the process host functions: a run of it needs nothing more of
// anyone once it has started (its worker may go on with it after losing
// its gateway).
func (r *Runner) Standalone(h Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.modules[h]
	return ok && !m.processes
}

// Cached returns the hashes of the compiled modules held in memory, sorted.
func (r *Runner) Cached() []Hash {
	r.mu.Lock()
	hs := make([]Hash, 0, len(r.modules))
	for h := range r.modules {
		hs = append(hs, h)
	}
	r.mu.Unlock()
	slices.SortFunc(hs, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
	return hs
}
