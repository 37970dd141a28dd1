package rpc

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	capnprpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

	wire "github.com/shoalmesh/shoal/capnp"
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

// blockingSource holds each call until its context ends, and tells
// whether the connection's lost channel was closed by then.
type blockingSource struct {
	lost    <-chan struct{}
	started chan struct{}
	ended   chan bool
}

func (s blockingSource) Get(ctx context.Context, call wire.ModuleSource_get) error {
	call.Go()
	close(s.started)
	<-ctx.Done()
	select {
	case <-s.lost:
		s.ended <- true
	default:
		s.ended <- false
	}
	return ctx.Err()
}

// A call's handler on a dialed connection (a worker's) can tell, when its
// context ends, a lost connection from its caller's cancel: Lost is
// closed before go-capnp cancels the calls of a connection whose reads
// fail, and not when the caller cancels one (held.go relies on it).
func TestLostBeforeCallsCanceled(t *testing.T) {
	for _, c := range []struct {
		name string
		lost bool
	}{{"peer gone", true}, {"call canceled", false}} {
		t.Run(c.name, func(t *testing.T) {
			here, there := net.Pipe()
			codec := newFrameCodec(here)
			codec.lost = make(chan struct{})
			src := blockingSource{lost: codec.lost, started: make(chan struct{}), ended: make(chan bool, 1)}
			served := capnprpc.NewConn(transport.New(codec), &capnprpc.Options{BootstrapClient: capnp.Client(wire.ModuleSource_ServerToClient(src))})
			defer served.Close()
			caller := capnprpc.NewConn(newTransport(there), nil)
			defer caller.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ms := wire.ModuleSource(caller.Bootstrap(ctx))
			defer ms.Release()
			f, release := ms.Get(ctx, nil)
			defer release()
			select {
			case <-src.started:
			case <-time.After(10 * time.Second):
				t.Fatal("the call never reached its handler")
			}
			if c.lost {
				_ = there.Close() // the peer dies: this side's reads fail
			} else {
				cancel()
			}
			_, _ = f.Struct()
			select {
			case got := <-src.ended:
				if got != c.lost {
					t.Fatalf("Lost closed when the handler's context ended: %v, want %v", got, c.lost)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the handler's context never ended")
			}
		})
	}
}
