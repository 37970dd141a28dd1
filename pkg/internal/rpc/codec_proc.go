package rpc

import (
	"fmt"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// The process calls' answers (Processes, Worker.deliver, Mailboxes) carry
// the shoal host module's error as a code and its reason: the two ends
// write and read them here.

// Coded is an answer with a code and a reason.
type Coded interface {
	SetCode(int32)
	SetReason(string) error
}

// EncodeError writes err into res as the host module's code and reason;
// nil leaves the code 0.
func EncodeError(res Coded, err error) error {
	if err == nil {
		return nil
	}
	res.SetCode(proc.Code(err))
	return res.SetReason(err.Error())
}

// DecodeError is the error an answer's code and reason stand for: nil for
// 0, else one that is (errors.Is) the code's sentinel and reads as the
// reason, which already names it.
func DecodeError(code int32, reason func() (string, error)) error {
	if code == 0 {
		return nil
	}
	why, _ := reason()
	for _, e := range []error{proc.ErrInvalid, proc.ErrClosed, proc.ErrTimeout, proc.ErrFailed, proc.ErrTooBig, proc.ErrSpawn, proc.ErrUnsupported} {
		if proc.Code(e) == code {
			return &codedError{sentinel: e, why: why}
		}
	}
	return fmt.Errorf("%w: %s", proc.ErrFailed, why)
}

// codedError is an error a peer named by its code.
type codedError struct {
	sentinel error
	why      string
}

func (e *codedError) Error() string { return e.why }
func (e *codedError) Unwrap() error { return e.sentinel }

// DecodeKeys reads a call's from and to process keys.
func DecodeKeys(from, to func() (string, error)) (proc.Key, proc.Key, error) {
	f, err := from()
	if err != nil {
		return "", "", err
	}
	t, err := to()
	if err != nil {
		return "", "", err
	}
	return proc.Key(f), proc.Key(t), nil
}
