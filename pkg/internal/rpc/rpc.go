// Package rpc carries Cap'n Proto RPC over libp2p streams: one capnp
// connection per stream of the Shoal protocol. The side that accepts the
// stream exports a bootstrap capability made for the remote peer, so the
// capability itself knows who it serves (the gateway uses that to name the
// worker behind an offer, and later to check it is allowed).
//
// It is also the wire's only codec: every message of capnp/shoal.capnp is
// encoded and decoded here, for both ends (codec_*.go), between the capnp
// struct and one plain Go type: task.RunSpec, task.Outcome, task.RunRef and
// Offer.
package rpc

import (
	"context"
	"fmt"
	"log/slog"

	"capnproto.org/go/capnp/v3"
	capnprpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol is the libp2p protocol ID of Shoal's capnp RPC streams.
const Protocol = protocol.ID("/shoal/rpc/1")

// Bootstrap makes the capability exported to a peer on a new connection.
// ctx is canceled when that connection ends; hangup ends it from this side
// (the peer sees its connection close and can start again).
type Bootstrap func(ctx context.Context, remote peer.ID, hangup func()) capnp.Client

// Serve accepts Shoal RPC streams on h until the host closes. Each stream
// becomes a capnp connection exporting boot(remote).
func Serve(h host.Host, boot Bootstrap, logger *slog.Logger) {
	h.SetStreamHandler(Protocol, func(s network.Stream) {
		remote := s.Conn().RemotePeer()
		ctx, cancel := context.WithCancel(context.Background())
		conn := capnprpc.NewConn(newTransport(s), &capnprpc.Options{
			BootstrapClient: boot(ctx, remote, func() {
				// Close the whole libp2p connection, not only this stream: a
				// dead QUIC session would otherwise linger and be reused.
				_ = s.Reset()
				_ = h.Network().ClosePeer(remote)
			}),
			Logger: quiet(logger.With("peer", remote.String())),
		})
		go func() {
			<-conn.Done()
			cancel()
		}()
	})
}

// Conn is a Shoal RPC connection this side dialed.
type Conn struct {
	*capnprpc.Conn
	lost chan struct{}
}

// Lost is closed when a read of the connection's stream fails: the peer
// died or the network between went away. It is closed before the calls
// the peer made are canceled, so a call's handler can tell, when its
// context ends, a lost connection (Lost is closed) from the caller's
// cancel or its orderly hang-up (it is not, yet).
func (c *Conn) Lost() <-chan struct{} { return c.lost }

// Dial opens a Shoal RPC connection to p. The caller closes the
// connection.
func Dial(ctx context.Context, h host.Host, p peer.ID, logger *slog.Logger) (*Conn, error) {
	s, err := h.NewStream(ctx, p, Protocol)
	if err != nil {
		return nil, fmt.Errorf("open rpc stream to %s: %w", p, err)
	}
	codec := newFrameCodec(s)
	codec.lost = make(chan struct{})
	conn := capnprpc.NewConn(transport.New(codec), &capnprpc.Options{
		Logger: quiet(logger.With("peer", p.String())),
	})
	return &Conn{Conn: conn, lost: codec.lost}, nil
}

// quietLogger demotes capnp's connection chatter (aborts, peers going away)
// to debug: a worker restarting is routine, not an error of this node.
type quietLogger struct{ l *slog.Logger }

func quiet(l *slog.Logger) capnprpc.Logger { return quietLogger{l} }

func (q quietLogger) Debug(msg string, args ...any) { q.l.Debug(msg, args...) }
func (q quietLogger) Info(msg string, args ...any)  { q.l.Debug(msg, args...) }
func (q quietLogger) Warn(msg string, args ...any)  { q.l.Debug(msg, args...) }
func (q quietLogger) Error(msg string, args ...any) { q.l.Debug(msg, args...) }
