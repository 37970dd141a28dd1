package proc

import "errors"

// The errors of the shoal host module's process calls (docs/PROCESSES.md),
// wrapped with a reason, which is the text last_error gives the guest:
// fmt.Errorf("%w: child 3 trapped: ...", ErrFailed). Test with errors.Is;
// Code gives the number a guest sees.
var (
	// ErrInvalid: a bad handle, pointer, message or request record.
	ErrInvalid = errors.New("invalid")
	// ErrClosed: the peer closed its side or exited (with any exit code,
	// closed or not) and every message it sent has been received; for a
	// send, the peer has exited.
	ErrClosed = errors.New("closed")
	// ErrTimeout: a receive's timeout passed with no message.
	ErrTimeout = errors.New("timeout")
	// ErrFailed: the peer failed (trapped, hit a limit, was ended with its
	// parent, was lost).
	ErrFailed = errors.New("failed")
	// ErrTooBig: a message is longer than the guest's buffer.
	ErrTooBig = errors.New("too big")
	// ErrSpawn: the gateway refused a spawn.
	ErrSpawn = errors.New("spawn refused")
	// ErrUnsupported: the run cannot use processes.
	ErrUnsupported = errors.New("processes unsupported")
)

// codes maps each sentinel to its ABI number, in the doc's order.
var codes = []error{ErrInvalid, ErrClosed, ErrTimeout, ErrFailed, ErrTooBig, ErrSpawn, ErrUnsupported}

// Code is the ABI's number for err: 0 for nil, -1 (ErrInvalid) to -7
// (ErrUnsupported) for an error wrapping a sentinel, and ErrFailed's for
// any other error, so that a guest never sees a number it cannot name.
func Code(err error) int32 {
	if err == nil {
		return 0
	}
	for i, s := range codes {
		if errors.Is(err, s) {
			return int32(-1 - i)
		}
	}
	return Code(ErrFailed)
}
