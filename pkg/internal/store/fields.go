package store

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// The field encodings of the records in codec.go: append functions and the
// decoder that reads them back.

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendOptInt writes nil as 0, else 1 and the value.
func appendOptInt(b []byte, v *int64) []byte {
	if v == nil {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), *v)
}

// appendStrings writes nil as 0, else the length+1 and the strings, so nil
// and empty stay apart (nil Args means the default argv).
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ss))+1)
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// appendBytes writes nil as 0, else the length+1 and the bytes.
func appendBytes(b []byte, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	return append(binary.AppendUvarint(b, uint64(len(p))+1), p...)
}

// appendHash writes a lowercase hex sha256 as 1 and its 32 bytes, anything
// else as 0 and the string.
func appendHash(b []byte, h string) []byte {
	if raw, err := hex.DecodeString(h); err == nil && len(raw) == 32 && hex.EncodeToString(raw) == h {
		return append(append(b, 1), raw...)
	}
	return appendString(append(b, 0), h)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendTime writes the zero time as one 0 byte, any other as nanoseconds+1
// then Unix seconds: every time.Time instant round-trips (not its location).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(binary.AppendUvarint(b, uint64(t.Nanosecond())+1), t.Unix())
}

func appendStatus(b []byte, s task.Status) []byte {
	for i, c := range statusCodes[1:] {
		if s == c {
			return append(b, byte(i+1))
		}
	}
	return appendString(append(b, 0), string(s))
}

var errShort = errors.New("record is truncated")

// decoder reads what the append functions wrote; the first error sticks
// and later reads return zero values. Its errors wrap ErrCorrupt.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if d.err != nil || n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if d.err != nil || n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// string copies: bbolt's memory is only valid inside the transaction.
func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail(errShort)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) optInt() *int64 {
	if d.byte() == 0 || d.err != nil {
		return nil
	}
	return ptr(d.varint())
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	if n-1 > uint64(len(d.b)) { // each string takes a byte at least
		d.fail(errShort)
		return nil
	}
	ss := make([]string, n-1)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

// bytes copies, as string does.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n == 0 || d.err != nil {
		return nil
	}
	if n-1 > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := append([]byte{}, d.b[:n-1]...)
	d.b = d.b[n-1:]
	return p
}

func (d *decoder) hash() string {
	if d.byte() == 0 {
		return d.string()
	}
	if d.err != nil || len(d.b) < 32 {
		d.fail(errShort)
		return ""
	}
	h := hex.EncodeToString(d.b[:32])
	d.b = d.b[32:]
	return h
}

func (d *decoder) time() time.Time {
	ns := d.uvarint()
	if ns == 0 || d.err != nil {
		return time.Time{}
	}
	return time.Unix(d.varint(), int64(ns-1))
}

func (d *decoder) status() task.Status {
	c := d.byte()
	switch {
	case c == 0:
		return task.Status(d.string())
	case int(c) < len(statusCodes):
		return statusCodes[c]
	default:
		d.fail(fmt.Errorf("unknown status code %d", c))
		return ""
	}
}

func (d *decoder) version(want byte) {
	if v := d.byte(); v != want && d.err == nil {
		d.fail(fmt.Errorf("unknown record encoding %d", v))
	}
}

// more reports whether the record goes on: fields added to a record after
// its first release are read only when it does.
func (d *decoder) more() bool { return d.err == nil && len(d.b) > 0 }

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, d.err)
	}
	return nil
}
