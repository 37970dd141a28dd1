package shoal

import (
	"errors"
	"strconv"
)

// The errors of the shoal host module (docs/PROCESSES.md, "Errors"). The
// SDK returns them inside an *Error that adds the operation and the host's
// explanation, so test them with errors.Is.
var (
	// ErrInvalid: a bad handle, pointer or request record; the error's
	// text names which. A root process's Parent is invalid too.
	ErrInvalid = errors.New("invalid")
	// ErrClosed: the peer closed its side or exited (with any exit code,
	// closed or not) and every message it sent has been received; for
	// Send, the peer has exited.
	ErrClosed = errors.New("channel closed")
	// ErrTimeout: RecvTimeout's time passed with no message.
	ErrTimeout = errors.New("timed out")
	// ErrFailed: the peer failed: it trapped, hit a limit, was ended with
	// its parent or lost with its worker.
	ErrFailed = errors.New("process failed")
	// ErrSpawn: the gateway refused the spawn: no such module, a
	// requirement no worker can meet, bad arguments. The first call on
	// the child's handle returns it (spawn itself does not wait).
	ErrSpawn = errors.New("spawn refused")
	// ErrUnsupported: this run cannot use processes: a runner without a
	// process host, or a program built for another GOOS than wasip1.
	ErrUnsupported = errors.New("processes unsupported")

	// errTooBig: the message is longer than the buffer given. Recv grows
	// its buffer instead of returning it.
	errTooBig = errors.New("message too big")
)

// The host functions' return codes.
const (
	codeInvalid     = -1
	codeClosed      = -2
	codeTimeout     = -3
	codeFailed      = -4
	codeTooBig      = -5
	codeSpawn       = -6
	codeUnsupported = -7
)

var codeErrors = map[int32]error{
	codeInvalid:     ErrInvalid,
	codeClosed:      ErrClosed,
	codeTimeout:     ErrTimeout,
	codeFailed:      ErrFailed,
	codeTooBig:      errTooBig,
	codeSpawn:       ErrSpawn,
	codeUnsupported: ErrUnsupported,
}

// Error is a failed call of the shoal host module.
type Error struct {
	Op     string // what was asked: "spawn", "send to 2", "recv from 0", ...
	Err    error  // one of the ErrXxx values, or an error naming an unknown code
	Detail string // why, in the host's words (last_error); may be empty
}

// Error reads "shoal: OP: ERR: DETAIL".
func (e *Error) Error() string {
	s := "shoal: " + e.Op + ": " + e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the ErrXxx value, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// hostError turns a negative return code of op into an *Error carrying
// the host's last_error text.
func hostError(op string, code int32) error {
	err, ok := codeErrors[code]
	if !ok {
		err = errors.New("unknown error code " + strconv.Itoa(int(code)))
	}
	return &Error{Op: op, Err: err, Detail: lastError()}
}
