package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// IdentityFile is the name of the key file inside a node's data directory.
const IdentityFile = "identity.key"

// LoadIdentity returns the node's Ed25519 key from dataDir/identity.key,
// creating the directory (0700) and the key (0600) on first use, so that the
// peer ID stays the same across restarts.
func LoadIdentity(dataDir string) (crypto.PrivKey, error) {
	if dataDir == "" {
		return nil, errors.New("load identity: data directory is empty")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("load identity: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, IdentityFile)
	key, err := readIdentity(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createIdentity(path)
	}
	if err != nil {
		return nil, fmt.Errorf("load identity: %w", err)
	}
	return key, nil
}

func readIdentity(path string) (crypto.PrivKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not a libp2p private key: %w", path, err)
	}
	if key.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%s holds a %s key, want Ed25519", path, key.Type())
	}
	return key, nil
}

// createIdentity writes a new key to a temporary file and hard-links it into
// place, so that a reader never sees a half-written key and two nodes started
// at once on the same directory end up with the same identity.
func createIdentity(path string) (crypto.PrivKey, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), IdentityFile+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; say so, since the key depends on it.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readIdentity(path) // another process won the race
		}
		return nil, fmt.Errorf("install key file: %w", err)
	}
	return key, nil
}
