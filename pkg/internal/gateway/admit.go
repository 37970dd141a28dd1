package gateway

import (
	"context"
	"errors"
	"fmt"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
)

// Why a peer is refused the workers channel. Each wraps rpc.ErrNotAdmitted,
// whose text the worker recognizes across the wire.
var (
	errNoProof     = fmt.Errorf("%w: this gateway admits only workers that present its join token", rpc.ErrNotAdmitted)
	errBadProof    = fmt.Errorf("%w: the join proof does not match this gateway's join token", rpc.ErrNotAdmitted)
	errNoChallenge = fmt.Errorf("%w: a join proof must answer a challenge of this connection", rpc.ErrNotAdmitted)
	errNoSecret    = fmt.Errorf("%w: this gateway has no join secret and admits no worker", rpc.ErrNotAdmitted)
)

// Challenge gives the peer a fresh nonce to prove it holds the join token
// with; it replaces any earlier nonce of this connection.
func (s *gatewayServer) Challenge(_ context.Context, call wire.Gateway_challenge) error {
	nonce, err := join.NewNonce()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nonce = nonce
	s.mu.Unlock()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetNonce(nonce)
}

// admit checks a peer's proof that it belongs, spending the connection's
// nonce: one proof per challenge. A proof, when given, must hold even where
// the network admits (a token of another cluster is a mistake worth
// hearing of); none is needed only there.
func (s *gatewayServer) admit(proof []byte) error {
	s.mu.Lock()
	nonce := s.nonce
	s.nonce = nil
	s.mu.Unlock()
	cfg := s.g.cfg
	switch {
	case len(proof) == 0 && cfg.JoinByNetwork:
		return nil
	case len(proof) == 0:
		return errNoProof
	case cfg.JoinSecret == nil:
		return errNoSecret
	case nonce == nil:
		return errNoChallenge
	case !join.Verify(cfg.JoinSecret, nonce, s.g.host.ID(), s.peer, proof):
		return errBadProof
	}
	return nil
}

// refused logs a peer the gateway did not admit, and says so to the peer.
func (s *gatewayServer) refused(err error) error {
	if errors.Is(err, errNoProof) {
		s.g.log.Warn("refused a worker that presented no join token", "peer", s.peer)
	} else {
		s.g.log.Warn("refused a worker", "peer", s.peer, "why", err)
	}
	s.g.metrics.joinsRefused.Inc()
	return err
}
