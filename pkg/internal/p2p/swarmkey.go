package p2p

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/pnet"
)

// NewSwarmKey returns a new private network key in the file format libp2p
// and IPFS use (/key/swarm/psk/1.0.0/, base16): what `shoal keygen` writes.
func NewSwarmKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new swarm key: %w", err)
	}
	return []byte("/key/swarm/psk/1.0.0/\n/base16/\n" + hex.EncodeToString(k) + "\n"), nil
}

// LoadSwarmKey reads a private network key file.
func LoadSwarmKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read swarm key: %w", err)
	}
	psk, err := pnet.DecodeV1PSK(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("swarm key %s: %w (make one with `shoal keygen`)", path, err)
	}
	return psk, nil
}
