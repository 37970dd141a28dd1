package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"

	bolt "go.etcd.io/bbolt"
)

var hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// PutModule stores wasm under hash, the lowercase hex sha256 of wasm, and
// returns when it is durable. Storing a module again does nothing: each
// module is stored once however many tasks use it.
func (s *Store) PutModule(hash string, wasm []byte) error {
	if !hashPattern.MatchString(hash) {
		return fmt.Errorf("put module %q: not a lowercase hex sha256", hash)
	}
	if s.HasModule(hash) {
		return nil
	}
	// The content address is the store's invariant: check it here, once.
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != hash {
		return fmt.Errorf("put module %s: the bytes have sha256 %x", hash, sum)
	}
	err := s.commit.do(&putModuleCmd{Hash: hash, Wasm: wasm})
	if err != nil {
		return fmt.Errorf("put module %s: %w", hash, err)
	}
	return nil
}

// Module returns a copy of the module stored under hash, or ErrNotFound.
func (s *Store) Module(hash string) ([]byte, error) {
	var wasm []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketModules).Get([]byte(hash))
		if v == nil {
			return ErrNotFound
		}
		// bbolt's memory is valid only inside the transaction.
		wasm = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", hash, err)
	}
	return wasm, nil
}

// HasModule reports whether a module is stored under hash.
func (s *Store) HasModule(hash string) bool {
	found := false
	_ = s.view(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketModules).Get([]byte(hash)) != nil
		return nil
	})
	return found
}
