package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// modules holds uploaded wasm modules by the hex sha256 of their bytes, so
// a module is stored once however many tasks use it.
type modules struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func newModules() *modules { return &modules{m: make(map[string][]byte)} }

// Hash is the content address of wasm.
func Hash(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return hex.EncodeToString(sum[:])
}

func (s *modules) put(wasm []byte) string {
	h := Hash(wasm)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[h]; !ok {
		s.m[h] = wasm
	}
	return h
}

func (s *modules) get(h string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.m[h]
	return b, ok
}
