package shoal

import (
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// Process is a handle on a process this one knows: its parent or a child
// it spawned. Its methods may be called from several goroutines.
type Process struct {
	handle int32

	mu  sync.Mutex // guards buf
	buf []byte     // Recv's scratch buffer, for messages up to recvBuf bytes
}

// recvBuf is the size of a Process's scratch buffer: a message that fits
// is copied out at its own size, a longer one gets a buffer of its own.
const recvBuf = 4 << 10

var parent = &Process{handle: 0}

// Parent returns the handle on the process that spawned this one. A task's
// run, the root of its process tree, has no parent: its calls fail with
// ErrInvalid.
func Parent() *Process { return parent }

// Spawn asks the gateway for a child described by opts and returns a
// handle on it at once: the request leaves in order while this process
// goes on, the child may still be waiting for a worker with room, and
// messages sent to it wait for it to start. A spawn the gateway refuses
// (no such module, a requirement no worker can meet) fails the first
// Send, Recv, Close or Wait on the handle with ErrSpawn. Spawn itself
// fails with ErrInvalid for a record the host does not understand, and
// ErrUnsupported outside a process host.
func Spawn(opts SpawnOptions) (*Process, error) {
	req, err := opts.MarshalBinary()
	if err != nil {
		return nil, &Error{Op: "spawn", Err: ErrInvalid, Detail: err.Error()}
	}
	h := hostSpawn(bytesPtr(req), uint32(len(req)))
	if h < 0 {
		return nil, hostError("spawn", h)
	}
	return &Process{handle: h}, nil
}

// Handle returns p's handle: 0 for the parent, 1, 2, ... for the children
// in the order this process spawned them.
func (p *Process) Handle() int { return int(p.handle) }

// Send sends msg (at most 4 MiB) to p and returns once p's buffer has
// taken it: it blocks while p is behind. It fails with ErrClosed once p
// has ended, or ErrFailed when p failed.
func (p *Process) Send(msg []byte) error {
	if code := hostSend(p.handle, bytesPtr(msg), uint32(len(msg))); code < 0 {
		return hostError("send to "+p.name(), code)
	}
	return nil
}

// Recv waits for the next message from p, as long as the run may. See
// RecvTimeout.
func (p *Process) Recv() ([]byte, error) { return p.RecvTimeout(-1) }

// RecvTimeout waits up to d for the next message from p and returns it;
// d < 0 waits as long as the run may and d == 0 only takes a message that
// is already there. Messages come in the order p sent them. It fails with
// ErrTimeout when d passes, ErrClosed once p has closed its side (or
// exited) and every message it sent has been received, and ErrFailed once
// p has failed and its earlier messages have been received.
//
// A wait blocks the whole module, every goroutine with it: Go's wasip1
// port runs them all on one thread.
func (p *Process) RecvTimeout(d time.Duration) ([]byte, error) {
	ms := timeoutMillis(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf == nil {
		p.buf = make([]byte, recvBuf)
	}
	buf, own := p.buf, false
	for {
		var n uint32
		code := hostRecv(p.handle, bytesPtr(buf), uint32(len(buf)), ms, unsafe.Pointer(&n))
		switch {
		case code >= 0 && int64(n) <= int64(len(buf)):
			if own {
				return buf[:n], nil
			}
			return append([]byte{}, buf[:n]...), nil
		case code == codeTooBig && int64(n) > int64(len(buf)):
			// The host kept the message: take it with room enough.
			buf, own = make([]byte, n), true
		case code >= 0 || code == codeTooBig:
			return nil, &Error{Op: "recv from " + p.name(), Err: ErrInvalid,
				Detail: "the host reported a message of " + strconv.FormatUint(uint64(n), 10) + " bytes for a buffer of " + strconv.Itoa(len(buf))}
		default:
			return nil, hostError("recv from "+p.name(), code)
		}
	}
}

// timeoutMillis converts d to recv's timeout_ms, rounding up so that a
// short wait does not become a poll.
func timeoutMillis(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// Close closes this process's sending side of the channel to p: p's
// Recv fails with ErrClosed once it has every message sent before.
func (p *Process) Close() error {
	if code := hostClose(p.handle); code < 0 {
		return hostError("close "+p.name(), code)
	}
	return nil
}

// Wait waits until child p ends and returns its exit code. It fails with
// ErrFailed when p trapped, hit a time or memory limit, or was lost with
// its worker; the error says which. Waiting on the parent is ErrInvalid.
func (p *Process) Wait() (exitCode int, err error) {
	var code int32
	if rc := hostWait(p.handle, unsafe.Pointer(&code)); rc < 0 {
		return 0, hostError("wait for "+p.name(), rc)
	}
	return int(code), nil
}

// name is how errors name p.
func (p *Process) name() string {
	if p.handle == 0 {
		return "parent"
	}
	return "child " + strconv.Itoa(int(p.handle))
}

// Self returns this process's key, its name in the cluster:
// "task/RUN#ATTEMPT" for a task's run, followed by ".PID" for a spawned
// process ("hello/0#1.3"). It returns "" outside a process host.
func Self() string {
	return hostText(hostSelf)
}

// lastError returns the text of this process's last error.
func lastError() string {
	return hostText(hostLastError)
}

// hostText calls a host function that copies text of any length into a
// buffer and returns the whole length, growing the buffer until it fits.
func hostText(f func(ptr unsafe.Pointer, capacity uint32) int32) string {
	buf := make([]byte, 128)
	for {
		n := f(bytesPtr(buf), uint32(len(buf)))
		switch {
		case n < 0:
			return ""
		case int(n) <= len(buf):
			return string(buf[:n])
		}
		buf = make([]byte, n)
	}
}

// bytesPtr is the address of b's first byte in linear memory, nil for an
// empty b. Go's garbage collector does not move objects, and the host reads
// or writes b only during the call, while the argument keeps it alive.
func bytesPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
