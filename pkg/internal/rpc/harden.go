package rpc

import (
	"context"
	"errors"
	"strings"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/server"
)

// Export returns a client of srv that answers methods it does not know with
// an "unimplemented" error from a real method call.
//
// Why: in go-capnp v3.1.0-alpha.2 a server rejects an unknown method by
// returning a nil pipeline caller, and if that call was pipelined on an
// answer still being computed, draining the answer's queue dereferences the
// nil and panics, killing the process (fixed upstream in go-capnp #617, not
// yet released). A peer could do that on purpose. Every capability Shoal
// exports goes through Export.
func Export(srv *server.Server) capnp.Client {
	srv.HandleUnknownMethod = func(m capnp.Method) *server.Method {
		return &server.Method{
			Method: m,
			Impl: func(context.Context, *server.Call) error {
				return capnp.Unimplemented("unimplemented: " + m.String())
			},
		}
	}
	return capnp.NewClient(srv)
}

// ErrNotAdmitted: the gateway refused to take this peer as a worker (no
// join proof, or a wrong one). A gateway's refusal wraps it; across the
// wire only its text survives, which NotAdmitted recognizes.
var ErrNotAdmitted = errors.New("not admitted")

// NotAdmitted reports whether err, from a call to the gateway, is its
// refusal to admit this peer; it then returns the gateway's reason.
func NotAdmitted(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	if errors.Is(err, ErrNotAdmitted) {
		return err.Error(), true
	}
	msg := err.Error()
	i := strings.Index(msg, ErrNotAdmitted.Error()+": ")
	if i < 0 {
		return "", false
	}
	return msg[i:], true
}
