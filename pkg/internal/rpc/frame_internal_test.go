package rpc

import (
	"bytes"
	"io"
	"testing"

	"capnproto.org/go/capnp/v3"
)

// pipeEnd is one side of a connection that counts its writes.
type pipeEnd struct {
	io.Reader
	out    bytes.Buffer
	writes int
}

func (p *pipeEnd) Write(b []byte) (int, error) { p.writes++; return p.out.Write(b) }
func (p *pipeEnd) Close() error                { return nil }

// The codec writes each message, header and segments, in one Write, and
// what it writes is capnp's stream framing: the standard decoder reads it.
func TestFrameCodecOneWriteAMessage(t *testing.T) {
	end := &pipeEnd{Reader: bytes.NewReader(nil)}
	c := newTransport(end)
	for i := range 3 {
		msg, err := c.NewMessage()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := msg.Message().NewBootstrap(); err != nil {
			t.Fatal(err)
		}
		if err := msg.Send(); err != nil {
			t.Fatal(err)
		}
		msg.Release()
		if end.writes != i+1 {
			t.Fatalf("%d messages took %d writes", i+1, end.writes)
		}
	}
	dec := capnp.NewDecoder(&end.out)
	for i := range 3 {
		if _, err := dec.Decode(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := dec.Decode(); err != io.EOF {
		t.Fatalf("after 3 messages: %v, want EOF", err)
	}
}
