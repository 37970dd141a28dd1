package wasmrun

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// The shoal host module's process functions (docs/PROCESSES.md): each
// checks the guest's pointers, calls the run's proc.Host and returns 0 or
// more, or one of proc's codes, whose text last_error gives. Without a
// host (Spec.Processes nil) they return ERR_UNSUPPORTED.

// processState is a run's part of the process functions.
type processState struct {
	host    proc.Host // nil: processes are unsupported
	lastErr string
	// kept holds, per handle, the message recv found longer than the
	// guest's buffer: the next recv from that handle gets it.
	kept map[int32][]byte
	// lives are the run's live output copies: see settle.
	lives []*live
}

// settle hands the run's output written so far to its live writers
// before a call that other processes see (a spawn, a message, a close, a
// wait): then output comes to the log in the order the messages impose.
func (s *processState) settle() {
	for _, l := range s.lives {
		l.sync()
	}
}

// processKey is the context key of a run's *processState.
type processKey struct{}

// hostFunc is one function of the shoal host module.
type hostFunc struct {
	name    string
	fn      api.GoModuleFunc
	params  []api.ValueType
	results []api.ValueType
}

const vI32, vI64 = api.ValueTypeI32, api.ValueTypeI64

// processFuncs are the process functions, with their signatures.
var processFuncs = []hostFunc{
	{"spawn", processCall(spawn), []api.ValueType{vI32, vI32}, []api.ValueType{vI32}},
	{"send", processCall(send), []api.ValueType{vI32, vI32, vI32}, []api.ValueType{vI32}},
	{"recv", processCall(recv), []api.ValueType{vI32, vI32, vI32, vI64, vI32}, []api.ValueType{vI32}},
	{"close", processCall(closeHandle), []api.ValueType{vI32}, []api.ValueType{vI32}},
	{"wait", processCall(wait), []api.ValueType{vI32, vI32}, []api.ValueType{vI32}},
	{"last_error", lastError, []api.ValueType{vI32, vI32}, []api.ValueType{vI32}},
	{"self", processCall(self), []api.ValueType{vI32, vI32}, []api.ValueType{vI32}},
}

// processSignatures maps each process function to its signature, as
// analyze compares imports.
func processSignatures() map[string]string {
	sigs := make(map[string]string, len(processFuncs))
	for _, f := range processFuncs {
		sigs[f.name] = "(" + typeList(f.params) + ")->" + results(f.results)
	}
	return sigs
}

// processCall wraps one process function: it answers ERR_UNSUPPORTED
// without a host, turns an error into its code and keeps its text for
// last_error, and ends the run when the run's context ended during the
// call, as yield does.
func processCall(f func(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error)) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		s, _ := ctx.Value(processKey{}).(*processState)
		var n int32
		var err error
		if s == nil || s.host == nil {
			err = fmt.Errorf("%w: this run has no process host", proc.ErrUnsupported)
		} else {
			n, err = f(ctx, mod.Memory(), s, stack)
		}
		if err != nil {
			if ctx.Err() != nil {
				stopRun(ctx, mod)
			}
			if s != nil {
				s.lastErr = err.Error()
			}
			n = proc.Code(err)
		}
		stack[0] = api.EncodeI32(n)
	}
}

// spawn is shoal.spawn(req_ptr, req_len) -> handle.
func spawn(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	if n := api.DecodeU32(stack[1]); n > proc.MaxRequest {
		return 0, fmt.Errorf("%w: a spawn request of %d bytes is over the limit of %d (send the child large data as messages)", proc.ErrInvalid, n, proc.MaxRequest)
	}
	b, err := view(mem, "request", stack[0], stack[1])
	if err != nil {
		return 0, err
	}
	req, err := proc.DecodeRequest(b)
	if err != nil {
		return 0, err
	}
	s.settle()
	return s.host.Spawn(ctx, req)
}

// send is shoal.send(handle, ptr, len).
func send(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	if n := api.DecodeU32(stack[2]); n > proc.MaxMessage {
		return 0, fmt.Errorf("%w: message of %d bytes is over the limit of %d", proc.ErrInvalid, n, proc.MaxMessage)
	}
	b, err := view(mem, "message", stack[1], stack[2])
	if err != nil {
		return 0, err
	}
	// The receiver keeps the message; the guest's memory changes.
	s.settle()
	return 0, s.host.Send(ctx, api.DecodeI32(stack[0]), bytes.Clone(b))
}

// recv is shoal.recv(handle, ptr, cap, timeout_ms, len_ptr).
func recv(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	handle := api.DecodeI32(stack[0])
	buf, err := view(mem, "buffer", stack[1], stack[2])
	if err != nil {
		return 0, err
	}
	lenAt := api.DecodeU32(stack[4])
	if _, err := view(mem, "length", uint64(lenAt), 4); err != nil {
		return 0, err
	}
	msg, ok := s.kept[handle]
	if ok {
		delete(s.kept, handle)
	} else if msg, err = s.host.Recv(ctx, handle, timeoutOf(int64(stack[3]))); err != nil {
		return 0, err
	}
	mem.WriteUint32Le(lenAt, uint32(len(msg)))
	if len(msg) > len(buf) {
		if s.kept == nil {
			s.kept = make(map[int32][]byte)
		}
		s.kept[handle] = msg
		return 0, fmt.Errorf("%w: the message from handle %d has %d bytes, the buffer %d", proc.ErrTooBig, handle, len(msg), len(buf))
	}
	copy(buf, msg)
	return 0, nil
}

// timeoutOf reads recv's timeout_ms: < 0 is as long as the run may.
func timeoutOf(ms int64) time.Duration {
	if ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// closeHandle is shoal.close(handle).
func closeHandle(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	s.settle()
	return 0, s.host.Close(ctx, api.DecodeI32(stack[0]))
}

// wait is shoal.wait(handle, code_ptr).
func wait(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	codeAt := api.DecodeU32(stack[1])
	if _, err := view(mem, "exit code", uint64(codeAt), 4); err != nil {
		return 0, err
	}
	s.settle()
	code, err := s.host.Wait(ctx, api.DecodeI32(stack[0]))
	if err != nil {
		return 0, err
	}
	mem.WriteUint32Le(codeAt, uint32(code))
	return 0, nil
}

// self is shoal.self(ptr, cap) -> length of the key.
func self(ctx context.Context, mem api.Memory, s *processState, stack []uint64) (int32, error) {
	return copyOut(mem, stack, string(s.host.Self()))
}

// lastError is shoal.last_error(ptr, cap) -> length of the text. It works
// without a process host: it then explains ERR_UNSUPPORTED.
func lastError(ctx context.Context, mod api.Module, stack []uint64) {
	s, _ := ctx.Value(processKey{}).(*processState)
	text := ""
	if s != nil {
		text = s.lastErr
	}
	n, err := copyOut(mod.Memory(), stack, text)
	if err != nil {
		n = proc.Code(err)
	}
	stack[0] = api.EncodeI32(n)
}

// copyOut copies at most cap (stack[1]) bytes of text to ptr (stack[0])
// and returns the length of text.
func copyOut(mem api.Memory, stack []uint64, text string) (int32, error) {
	n := min(uint64(len(text)), uint64(api.DecodeU32(stack[1])))
	buf, err := view(mem, "buffer", stack[0], n)
	if err != nil {
		return 0, err
	}
	copy(buf, text)
	return int32(min(len(text), math.MaxInt32)), nil
}

// view returns the n bytes of guest memory at ptr (both i32s read as
// unsigned), or ErrInvalid naming what when they are not all in memory.
func view(mem api.Memory, what string, ptr, n uint64) ([]byte, error) {
	p, l := api.DecodeU32(ptr), api.DecodeU32(n)
	if mem == nil {
		return nil, fmt.Errorf("%w: %s: the module has no memory", proc.ErrInvalid, what)
	}
	b, ok := mem.Read(p, l)
	if !ok {
		return nil, fmt.Errorf("%w: %s: %d bytes at %d are outside memory (%d bytes)", proc.ErrInvalid, what, l, p, mem.Size())
	}
	return b, nil
}
