// Package runtime runs WebAssembly tasks with wazero: it is the only package
// of Shoal that imports wazero.
//
// A worker creates one Runner (New) for its lifetime. Modules are content
// addressed by Hash, the SHA-256 of their bytes; Compile compiles a module
// once (concurrent calls share one compilation, Config.ModuleCacheBytes
// bounds the compiled modules held in memory, least recently used evicted
// first but never while a run uses it, and Config.CacheDir keeps native code
// on disk across restarts), and Run runs it any number of times,
// concurrently, each run in a fresh anonymous instance that is closed
// afterwards.
//
// Two ABIs are supported (see ABI). A ww module exports run(i32, i32) -> i32:
// the Runner instantiates it, calls _initialize or _start if exported (a
// proc_exit(0) from _start is tolerated), then run(input, difficulty), whose
// integer is the result. A WASI command exports _start: it gets argv, env and
// stdin, and its stdout (bounded) and exit code are the result.
//
// A run sees no filesystem, network or host environment: only its argv, the
// Env it is given, a finite stdin, real clocks and crypto/rand, and the host
// directories its Spec.Dirs grant, each at /NAME (read-only if asked). A
// granted directory is jailed: the guest cannot create symbolic links, nor
// reach past the directory with "..", an absolute path or a link. Each run has
// a time limit (Spec.Timeout), an optional fuel limit (Spec.Fuel) and a
// memory limit (Spec.Memory, at most Config.MemoryLimit). Whatever a module
// does (loop forever, grow memory, flood stdout, recurse, trap, sleep), Run
// returns a Result that says why it failed and the Runner stays usable.
//
// Time and fuel limits: by default (Config.Preempt "instrument") each module
// is rewritten once by package preempt, before it is compiled, so that it
// charges a fuel budget at every function entry and loop header and calls
// the shoal host module's yield (host.go) when the budget is spent, about
// every millisecond of guest time. yield checks the run's context and fuel
// limit, lets the Go scheduler and GC in, and ends the run when a limit is
// reached. The instrumented bytes are kept on disk with the compiled code
// (instrumented.go). Config.Preempt "wazero" uses wazero's
// WithCloseOnContextDone instead: 3.5-7x slower guest code, and no fuel.
//
// Memory limits: the runtime is limited to Config.MemoryLimit, and each run
// gets its own allocator (wazero's experimental.WithMemoryAllocator) that
// refuses growth past the run's limit, so one runtime serves runs with
// different limits. A refused memory.grow returns -1 to the module; when the
// run then fails, its Result.Error starts "memory limit of N exceeded". The
// limit covers linear memory only: wazero's own per-call structures, notably
// the wasm call stack (up to about 100 MB before "stack overflow"), are
// outside it.
//
// Inspect is the cheap check for the gateway at upload time: it validates a
// module and returns its ABI without compiling it to native code.
package wasmrun
