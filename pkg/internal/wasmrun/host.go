package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/shoalmesh/shoal/pkg/internal/preempt"
)

// The shoal host module holds what Shoal itself offers guests: yield,
// which instrumented modules call when their fuel budget is spent (see
// package preempt; the run's meter decides whether they go on), and the
// process functions (process.go).

// How much fuel yield grants. A fuel unit is one instruction counted
// statically (per call and per loop iteration), so how long a unit takes
// depends on the code: measured on this machine (BenchmarkPreemptHashC,
// BenchmarkPreemptGojq, fuel/ns), a C loop runs about 6-9 units a
// nanosecond, while Go code, whose large functions are charged whole at
// entry, runs about 90-120. No one constant grant gives both a check about every
// checkInterval and few enough yields: 1 Mi units is 0.17 ms of the C loop
// but 11 us of Go, whose yields (each a trip out of native code, a context
// check and a Gosched, about 1 us) then cost a tenth of its time. So the
// grant adapts, within [minGrant, maxGrant]: doubled when the last one
// lasted under half of checkInterval, halved when it lasted over it. The
// fuel counted does not depend on the grants, only when checks happen.
const (
	// checkInterval is how often, in guest time, a run's limits should be
	// checked: what a time limit or runtime.GC may wait.
	checkInterval = time.Millisecond
	firstGrant    = 1 << 20
	minGrant      = 1 << 14
	// maxGrant bounds how late a check may come when a run turns from code
	// that uses fuel fast to code that uses it slowly: 16 Mi units at the
	// slowest rate measured (2.3 units a nanosecond, testdata/spin.wat's
	// loop of four instructions) is 7 ms, once; the next grant is smaller.
	maxGrant = 1 << 24
)

// errYieldOutsideRun: an instrumented module called yield without a meter
// in its context. The runner passes one to every call, so this is a bug.
var errYieldOutsideRun = errors.New("shoal.yield called outside a run")

// instantiateHost instantiates the shoal host module in rt. Every Runner
// has it, whatever its preempt mode, so that modules importing the process
// functions link; only instrumented modules import yield.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(preempt.ImportModule)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(yield), []api.ValueType{api.ValueTypeI64}, []api.ValueType{api.ValueTypeI64}).
		WithParameterNames("budget").
		Export(preempt.ImportName)
	for _, f := range processFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(f.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate %s: %w", preempt.ImportModule, err)
	}
	return nil
}

// meterKey is the context key of a run's *meter.
type meterKey struct{}

// forcedBudget is what force writes into a run's budget when its context
// ends, so that the next charge yields at once however much was granted:
// a loop of slow host calls (random_get of a large buffer, say) spends a
// grant of fuel far more slowly than checkInterval. The charges that
// follow only lower it, so yield tells a forced budget by its size.
const forcedBudget = math.MinInt64 / 2

// forceRetry is how often force writes the budget again until the run
// ends: a guest between its charge's read and write of the budget
// overwrites one write.
const forceRetry = time.Millisecond

// meter counts a run's fuel and says when it must stop. The run's
// goroutine uses it; force, started when the run's context ends, shares
// global, done and forced under mu.
type meter struct {
	limit   uint64 // fuel limit, 0 for none
	granted int64  // the sum of the budgets yield granted
	used    int64  // the fuel used as of the last yield
	stopped string // why yield ended the run; "" while it goes on

	grant int64     // the next grant, adapted to checkInterval
	last  time.Time // when the last grant was made

	mu     sync.Mutex
	global api.MutableGlobal // the instance's budget, from its first yield
	done   bool              // the run has ended: force writes no more
	forced bool              // force wrote the budget: its value is no count
}

// force makes the run's next charge yield, and yield then ends the run:
// it is called when the run's context ends, and writes forcedBudget into
// the budget every forceRetry until the run is over.
func (m *meter) force() {
	for {
		m.mu.Lock()
		if m.done {
			m.mu.Unlock()
			return
		}
		if m.global != nil {
			m.global.Set(api.EncodeI64(forcedBudget))
			m.forced = true
		}
		m.mu.Unlock()
		time.Sleep(forceRetry)
	}
}

// yield is shoal.yield(budget) -> budget: it is called when the budget
// went below zero, and grants the next one, or ends the run the way WASI's
// proc_exit does (the instance is closed and the call unwinds with an
// ExitError), having recorded why.
func yield(ctx context.Context, mod api.Module, stack []uint64) {
	m, _ := ctx.Value(meterKey{}).(*meter)
	if m == nil {
		panic(errYieldOutsideRun)
	}
	if m.global == nil {
		if g, ok := mod.ExportedGlobal(preempt.BudgetExport).(api.MutableGlobal); ok {
			m.mu.Lock()
			m.global = g
			m.mu.Unlock()
		}
	}
	next, ok := m.yield(ctx, int64(stack[0]))
	if !ok {
		stopRun(ctx, mod)
	}
	stack[0] = uint64(next)
}

// stopRun ends a run from a host function, the way WASI's proc_exit does:
// the instance is closed and the call unwinds with an ExitError. The run's
// Result then says why (settle: the meter's reason, or stopReason).
func stopRun(ctx context.Context, mod api.Module) {
	_ = mod.CloseWithExitCode(ctx, sys.ExitCodeDeadlineExceeded)
	panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
}

// yield accounts for the budget left (below zero: overspent since the last
// grant) and returns the next grant, or false when the run must stop.
func (m *meter) yield(ctx context.Context, budget int64) (int64, bool) {
	if budget > forcedBudget/2 { // else forced: the run is ending, and used stays as of the last yield
		m.used = m.granted - budget
	}
	if ctx.Err() != nil {
		m.stopped = stopReason(ctx)
		return 0, false
	}
	now := time.Now()
	switch elapsed := now.Sub(m.last); {
	case m.grant == 0:
		m.grant = firstGrant
	case elapsed < checkInterval/2 && m.grant < maxGrant:
		m.grant *= 2
	case elapsed > checkInterval && m.grant > minGrant:
		m.grant /= 2
	}
	m.last = now
	grant := m.grant
	if m.limit > 0 {
		if uint64(m.used) > m.limit {
			m.stopped = fmt.Sprintf("fuel exhausted (limit %d)", m.limit)
			return 0, false
		}
		if left := m.limit - uint64(m.used); left < uint64(grant) {
			grant = int64(left)
		}
	}
	// Let other goroutines on this thread run (and the GC stop the world)
	// even if the scheduler's preemption signal found us in guest code.
	runtime.Gosched()
	m.granted = m.used + grant
	return grant, true
}

// fuel is the fuel used by a run whose instance is mod (nil if it was
// never created): the grants less the budget left.
// It ends force's writes first. A run whose budget was forced reports its
// fuel as of its last yield.
func (m *meter) fuel(mod api.Module) uint64 {
	m.mu.Lock()
	m.done = true
	forced := m.forced
	m.mu.Unlock()
	if m.stopped == "" && mod != nil && !forced {
		if g := mod.ExportedGlobal(preempt.BudgetExport); g != nil {
			m.used = m.granted - int64(g.Get())
		}
	}
	return uint64(max(m.used, 0))
}
