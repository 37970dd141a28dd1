package wasmrun

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Hash identifies a module by the SHA-256 of its bytes (content addressing).
type Hash [32]byte

// HashOf returns the Hash of the module bytes wasm.
func HashOf(wasm []byte) Hash { return sha256.Sum256(wasm) }

// String returns the hash as 64 lowercase hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash parses 64 hex digits (either case), optionally prefixed by
// "sha256:" as in the HTTP API's module=sha256:HEX.
func ParseHash(s string) (Hash, error) {
	var h Hash
	hexText := strings.TrimPrefix(s, "sha256:")
	if len(hexText) != 2*len(h) {
		return Hash{}, fmt.Errorf("parse hash %q: want %d hex digits, got %d", s, 2*len(h), len(hexText))
	}
	if _, err := hex.Decode(h[:], []byte(hexText)); err != nil {
		return Hash{}, fmt.Errorf("parse hash %q: %w", s, err)
	}
	return h, nil
}
