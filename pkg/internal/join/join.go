// Package join decides who may join a gateway as a worker, the way k3s and
// Docker Swarm do: the gateway makes a cluster secret on its first start
// and hands it out as a join token; a worker proves it holds the token
// without sending it.
//
// A token is `SHOAL1.<gateway peer ID>.<secret>`, the secret 32 random
// bytes in unpadded base64url. The peer ID tells a worker which gateway
// the token is for, so that it never offers itself to another (libp2p's
// handshake proves the peer ID of the connection).
//
// The proof is an HMAC-SHA256, keyed by the secret, of a nonce the gateway
// issued on this connection and of both peers' IDs: the secret never
// crosses the wire, and a proof seen on one connection is worth nothing on
// another (another nonce) or for another worker (another peer ID).
package join

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// SecretLen is the length of a cluster secret in bytes, and NonceLen that
// of a gateway's challenge.
const (
	SecretLen = 32
	NonceLen  = 32
)

// prefix starts every token; its version number changes with the format.
const prefix = "SHOAL1."

// Token is what a worker needs to join a gateway.
type Token struct {
	Gateway peer.ID // the gateway the token admits to
	Secret  []byte  // SecretLen bytes
}

// New makes a token of a fresh random secret for gateway.
func New(gateway peer.ID) (Token, error) {
	s := make([]byte, SecretLen)
	if _, err := rand.Read(s); err != nil {
		return Token{}, fmt.Errorf("new join secret: %w", err)
	}
	return Token{Gateway: gateway, Secret: s}, nil
}

// String is the token's text, as `shoal worker --join-token` takes it.
func (t Token) String() string {
	return prefix + t.Gateway.String() + "." + base64.RawURLEncoding.EncodeToString(t.Secret)
}

// ErrMalformed: the text is not a join token.
var ErrMalformed = errors.New("not a join token")

// Parse reads a token's text; surrounding white space is ignored.
func Parse(s string) (Token, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return Token{}, fmt.Errorf("%w: it starts with %q (copy it whole from the gateway's join-token file or start line)", ErrMalformed, strings.TrimSuffix(prefix, "."))
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok {
		return Token{}, fmt.Errorf("%w: want %sGATEWAY_PEER_ID.SECRET", ErrMalformed, prefix)
	}
	gw, err := peer.Decode(id)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %q is not a peer ID", ErrMalformed, id)
	}
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != SecretLen {
		return Token{}, fmt.Errorf("%w: its secret is not %d bytes of base64url (was it cut short?)", ErrMalformed, SecretLen)
	}
	return Token{Gateway: gw, Secret: b}, nil
}

// NewNonce returns a fresh challenge.
func NewNonce() ([]byte, error) {
	n := make([]byte, NonceLen)
	if _, err := rand.Read(n); err != nil {
		return nil, fmt.Errorf("new join nonce: %w", err)
	}
	return n, nil
}

// Proof is what worker sends gateway to answer the challenge nonce,
// holding secret.
func Proof(secret, nonce []byte, gateway, worker peer.ID) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("shoal join proof v1"))
	// Each part with its length: no two different tuples read the same.
	for _, part := range [][]byte{nonce, []byte(gateway), []byte(worker)} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		m.Write(n[:])
		m.Write(part)
	}
	return m.Sum(nil)
}

// Verify reports whether proof answers nonce for worker joining gateway
// with secret. It compares in constant time.
func Verify(secret, nonce []byte, gateway, worker peer.ID, proof []byte) bool {
	if len(secret) != SecretLen || len(nonce) != NonceLen {
		return false
	}
	return hmac.Equal(proof, Proof(secret, nonce, gateway, worker))
}

// Equal reports whether two tokens are the same.
func (t Token) Equal(o Token) bool {
	return t.Gateway == o.Gateway && bytes.Equal(t.Secret, o.Secret)
}
