package rpc

import (
	"bufio"
	"bytes"
	"io"
	"sync"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
)

// frameCodec is capnp's stream encoding with each message written in one
// Write. capnp's own stream codec writes a message's header and segments
// as separate writes, and on a libp2p stream every write is a muxer frame,
// a TLS record and a system call of its own: one write per message halves
// them (the mesh's own cost per run is mostly such writes).
type frameCodec struct {
	rwc io.ReadWriteCloser
	dec *capnp.Decoder

	mu  sync.Mutex // Encode may be called from more than one goroutine
	buf bytes.Buffer
	enc *capnp.Encoder

	// lost, if not nil, is closed when a read fails: the peer went away
	// or the stream was cut, as opposed to a connection that ends by
	// the peer's abort message (see Conn.Lost).
	lost     chan struct{}
	lostOnce sync.Once
}

// maxKeptBuffer bounds the encode buffer kept between messages, so that one
// large message (a module) does not pin its size for the connection's life.
const maxKeptBuffer = 64 << 10

func newTransport(rwc io.ReadWriteCloser) transport.Transport {
	return transport.New(newFrameCodec(rwc))
}

func newFrameCodec(rwc io.ReadWriteCloser) *frameCodec {
	c := &frameCodec{rwc: rwc, dec: capnp.NewDecoder(bufio.NewReader(rwc))}
	c.enc = capnp.NewEncoder(&c.buf)
	return c
}

func (c *frameCodec) Encode(m *capnp.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
	if err := c.enc.Encode(m); err != nil {
		return err
	}
	_, err := c.rwc.Write(c.buf.Bytes())
	if c.buf.Cap() > maxKeptBuffer {
		c.buf = bytes.Buffer{}
	}
	return err
}

func (c *frameCodec) Decode() (*capnp.Message, error) {
	m, err := c.dec.Decode()
	if err != nil && c.lost != nil {
		c.lostOnce.Do(func() { close(c.lost) })
	}
	return m, err
}

func (c *frameCodec) Close() error { return c.rwc.Close() }
