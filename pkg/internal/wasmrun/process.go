package wasmrun

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// The process functions of the shoal host module (docs/PROCESSES.md):
// spawn, send, recv, close, wait, last_error and self. Each finds its
// run's processes (Spec.Processes) and state in the call's context; a run
// without processes gets ERR_UNSUPPORTED. A blocking call that ends
// because the run's context ended (its time limit, a cancel) ends the
// run the way yield does, so the run reports why.

// processFuncs are the process functions and their signatures, as
// analyze checks a module's imports of the shoal module.
var processFuncs = map[string]struct {
	params  []api.ValueType
	results []api.ValueType
	fn      api.GoModuleFunc
}{
	"spawn":      {i32s(2), i32s(1), hostSpawn},
	"send":       {i32s(3), i32s(1), hostSend},
	"recv":       {[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeI32}, i32s(1), hostRecv},
	"close":      {i32s(1), i32s(1), hostClose},
	"wait":       {i32s(2), i32s(1), hostWait},
	"last_error": {i32s(2), i32s(1), hostLastError},
	"self":       {i32s(2), i32s(1), hostSelf},
}

func i32s(n int) []api.ValueType {
	ts := make([]api.ValueType, n)
	for i := range ts {
		ts[i] = api.ValueTypeI32
	}
	return ts
}

// exportProcessFuncs adds the process functions to the shoal host module.
func exportProcessFuncs(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
	for name, f := range processFuncs {
		b = b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(name)
	}
	return b
}

// processSignature is the signature a module must import name with, and
// whether name is a process function.
func processSignature(name string) (string, bool) {
	f, ok := processFuncs[name]
	if !ok {
		return "", false
	}
	return "(" + typeList(f.params) + ")->" + results(f.results), true
}

// procsKey is the context key of a run's *procState.
type procsKey struct{}

// procState is what the process functions keep of one run.
type procState struct {
	host    proc.Host // nil: the run cannot use processes
	lives   []*live   // the run's live output copies: see settle
	lastErr string
	// stash holds, by handle, a message recv took that was too big for
	// the guest's buffer, for its next recv from that handle.
	stash map[int32][]byte
}

// withProcs puts a run's process state in its context.
func withProcs(ctx context.Context, h proc.Host, lives []*live) context.Context {
	return context.WithValue(ctx, procsKey{}, &procState{host: h, lives: lives})
}

// settle hands the run's output written so far to its live writers
// before a call that other processes see (a message, a spawn, a wait):
// then output comes to the log in the order the messages impose.
func (c procCall) settle() {
	for _, l := range c.lives {
		l.sync()
	}
}

// procCall is one process function call: its run's state, its context
// and its module.
type procCall struct {
	*procState
	ctx context.Context
	mod api.Module
}

// call finds the state of the run that made this call; a call from a
// context without one (never the runner's) is unsupported.
func call(ctx context.Context, mod api.Module) procCall {
	st, _ := ctx.Value(procsKey{}).(*procState)
	if st == nil {
		st = &procState{}
	}
	return procCall{procState: st, ctx: ctx, mod: mod}
}

// fail records err as the last error and returns its code; when the
// run's context has ended, it ends the run instead.
func (c procCall) fail(err error) int32 {
	if c.ctx.Err() != nil {
		_ = c.mod.CloseWithExitCode(c.ctx, sys.ExitCodeDeadlineExceeded)
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
	c.lastErr = err.Error()
	return proc.Code(err)
}

// errNoHost: the run was given no process host.
var errNoHost = fmt.Errorf("%w: this run cannot use processes", proc.ErrUnsupported)

// read returns the guest's n bytes at ptr.
func (c procCall) read(ptr, n uint32, what string) ([]byte, error) {
	b, ok := c.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("%w: %s (%d bytes at %#x) is outside memory", proc.ErrInvalid, what, n, ptr)
	}
	return b, nil
}

// writeU32 writes v at ptr.
func (c procCall) writeU32(ptr, v uint32, what string) error {
	if !c.mod.Memory().WriteUint32Le(ptr, v) {
		return fmt.Errorf("%w: %s at %#x is outside memory", proc.ErrInvalid, what, ptr)
	}
	return nil
}

func hostSpawn(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	stack[0] = api.EncodeI32(c.spawn(api.DecodeU32(stack[0]), api.DecodeU32(stack[1])))
}

func (c procCall) spawn(ptr, n uint32) int32 {
	if c.host == nil {
		return c.fail(errNoHost)
	}
	rec, err := c.read(ptr, n, "the spawn record")
	if err != nil {
		return c.fail(err)
	}
	req, err := proc.DecodeRequest(rec)
	if err != nil {
		return c.fail(err)
	}
	c.settle()
	h, err := c.host.Spawn(c.ctx, req)
	if err != nil {
		return c.fail(err)
	}
	return h
}

func hostSend(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	stack[0] = api.EncodeI32(c.send(api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])))
}

func (c procCall) send(h int32, ptr, n uint32) int32 {
	if c.host == nil {
		return c.fail(errNoHost)
	}
	msg, err := c.read(ptr, n, "the message")
	if err != nil {
		return c.fail(err)
	}
	// The view is the guest's memory: the Table keeps its own copy only
	// where it must, so copy here once.
	c.settle()
	if err := c.host.Send(c.ctx, h, append([]byte(nil), msg...)); err != nil {
		return c.fail(err)
	}
	return 0
}

func hostRecv(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	timeout := time.Duration(int64(stack[3])) * time.Millisecond
	if int64(stack[3]) < 0 {
		timeout = -1
	}
	stack[0] = api.EncodeI32(c.recv(api.DecodeI32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), timeout, api.DecodeU32(stack[4])))
}

func (c procCall) recv(h int32, ptr, capacity uint32, timeout time.Duration, lenPtr uint32) int32 {
	if c.host == nil {
		return c.fail(errNoHost)
	}
	if _, err := c.read(ptr, capacity, "the receive buffer"); err != nil {
		return c.fail(err)
	}
	if _, err := c.read(lenPtr, 4, "the length"); err != nil {
		return c.fail(err)
	}
	msg, ok := c.stash[h]
	if ok {
		delete(c.stash, h)
	} else {
		var err error
		if msg, err = c.host.Recv(c.ctx, h, timeout); err != nil {
			return c.fail(err)
		}
	}
	_ = c.writeU32(lenPtr, uint32(len(msg)), "the length") // checked above
	if uint32(len(msg)) > capacity {
		if c.stash == nil {
			c.stash = make(map[int32][]byte)
		}
		c.stash[h] = msg
		return c.fail(fmt.Errorf("%w: a message of %d bytes, the buffer holds %d", proc.ErrTooBig, len(msg), capacity))
	}
	c.mod.Memory().Write(ptr, msg)
	return 0
}

func hostClose(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	stack[0] = api.EncodeI32(c.close(api.DecodeI32(stack[0])))
}

func (c procCall) close(h int32) int32 {
	if c.host == nil {
		return c.fail(errNoHost)
	}
	c.settle()
	if err := c.host.Close(c.ctx, h); err != nil {
		return c.fail(err)
	}
	return 0
}

func hostWait(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	stack[0] = api.EncodeI32(c.wait(api.DecodeI32(stack[0]), api.DecodeU32(stack[1])))
}

func (c procCall) wait(h int32, codePtr uint32) int32 {
	if c.host == nil {
		return c.fail(errNoHost)
	}
	if _, err := c.read(codePtr, 4, "the exit code"); err != nil {
		return c.fail(err)
	}
	c.settle()
	code, err := c.host.Wait(c.ctx, h)
	if err != nil {
		return c.fail(err)
	}
	_ = c.writeU32(codePtr, uint32(code), "the exit code")
	return 0
}

func hostLastError(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	stack[0] = api.EncodeI32(c.copyOut(c.lastErr, api.DecodeU32(stack[0]), api.DecodeU32(stack[1])))
}

func hostSelf(ctx context.Context, mod api.Module, stack []uint64) {
	c := call(ctx, mod)
	if c.host == nil {
		stack[0] = api.EncodeI32(c.fail(errNoHost))
		return
	}
	stack[0] = api.EncodeI32(c.copyOut(string(c.host.Self()), api.DecodeU32(stack[0]), api.DecodeU32(stack[1])))
}

// copyOut copies as much of s as fits in the guest's buffer and returns
// its whole length.
func (c procCall) copyOut(s string, ptr, capacity uint32) int32 {
	n := min(uint32(len(s)), capacity)
	if !c.mod.Memory().WriteString(ptr, s[:n]) {
		return c.fail(fmt.Errorf("%w: the buffer (%d bytes at %#x) is outside memory", proc.ErrInvalid, capacity, ptr))
	}
	return int32(len(s))
}
