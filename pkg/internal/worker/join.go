package worker

import (
	"context"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
)

// NotAdmittedError is why a gateway will not take this worker: it presented
// no join token where one is needed, a wrong one, or one of another
// gateway. Trying again cannot help, so Run returns it.
type NotAdmittedError struct {
	Gateway  peer.ID
	Reason   string // the gateway's, or why the worker did not try
	HadToken bool   // the worker holds a join token
}

func (e *NotAdmittedError) Error() string {
	return fmt.Sprintf("gateway %s did not admit this worker: %s", e.Gateway, e.Reason)
}

// proof answers a fresh challenge of the gateway gw, at peer ID id, with
// the worker's join token; without a token there is none to give (a gateway
// on a private network admits without one).
func (w *Worker) proof(ctx context.Context, gw wire.Gateway, id peer.ID) ([]byte, error) {
	t := w.cfg.JoinToken
	if t == nil {
		return nil, nil
	}
	if t.Gateway != id && !slices.Contains(w.cfg.Gateways, id) {
		// A token names its gateway, which the connection's handshake
		// proves: a worker offers itself to no other.
		return nil, &NotAdmittedError{Gateway: id, HadToken: true,
			Reason: fmt.Sprintf("the join token is for gateway %s", t.Gateway)}
	}
	f, release := gw.Challenge(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: join challenge: %w", id, err)
	}
	nonce, err := res.Nonce()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: join challenge: %w", id, err)
	}
	return join.Proof(t.Secret, nonce, id, w.host.ID()), nil
}

// refusal turns the gateway's refusal to hand out its channel into a
// NotAdmittedError, and returns other errors as they are.
func (w *Worker) refusal(id peer.ID, err error) error {
	if why, ok := rpc.NotAdmitted(err); ok {
		return &NotAdmittedError{Gateway: id, Reason: why, HadToken: w.cfg.JoinToken != nil}
	}
	return fmt.Errorf("gateway %s: %w", id, err)
}
