package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Ping reports whether the store is open and readable, for readiness
// checks: nil, or why not. It costs one read transaction.
func (s *Store) Ping() error {
	if err := s.view(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
