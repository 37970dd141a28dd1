package rpc

import (
	"errors"
	"fmt"
	"math"

	"capnproto.org/go/capnp/v3"
)

// The message codec: each capnp struct of the wire is encoded from and
// decoded into one plain Go type, the domain's where the domain has one
// (task.RunSpec, task.Outcome, task.RunRef), so that a gateway and a worker
// convert a run once each; Offer is the wire's own. Decoding checks what a
// peer could send out of range; encoding refuses what cannot travel (a
// negative limit) rather than wrap it into another value.

// ErrMalformed is wrapped by every error about a message that decodes but
// holds a value out of range, or that cannot be encoded for the same
// reason: the peer is broken or lying, never a transient failure.
var ErrMalformed = errors.New("malformed message")

// malformed returns an error wrapping ErrMalformed, about msg's field.
func malformed(msg, field, format string, args ...any) error {
	return fmt.Errorf("%w: %s.%s %s", ErrMalformed, msg, field, fmt.Sprintf(format, args...))
}

// toUint32 checks that v, a field named field of message msg, fits in a
// UInt32 of the wire.
func toUint32(msg, field string, v int) (uint32, error) {
	if v < 0 || uint64(v) > math.MaxUint32 {
		return 0, malformed(msg, field, "%d out of range [0, %d]", v, uint64(math.MaxUint32))
	}
	return uint32(v), nil
}

// setTexts sets a text list allocated by alloc to xs; a nil or empty xs
// leaves the list absent.
func setTexts(alloc func(int32) (capnp.TextList, error), xs []string) error {
	if len(xs) == 0 {
		return nil
	}
	l, err := alloc(int32(len(xs)))
	if err != nil {
		return err
	}
	for i, x := range xs {
		if err := l.Set(i, x); err != nil {
			return err
		}
	}
	return nil
}

// texts reads a text list; an absent or empty one is nil.
func texts(l capnp.TextList, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range l.Len() {
		t, err := l.At(i)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
