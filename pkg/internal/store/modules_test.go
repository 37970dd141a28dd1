package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/internal/store"
)

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestModules(t *testing.T) {
	s, path := MustOpen(t)
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 100_000) // larger than a page
	h := hashOf(wasm)
	if s.HasModule(h) {
		t.Fatal("HasModule before PutModule")
	}
	if _, err := s.Module(h); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Module before PutModule: %v, want ErrNotFound", err)
	}
	for range 2 { // idempotent
		if err := s.PutModule(h, wasm); err != nil {
			t.Fatal(err)
		}
	}
	s = MustReopen(t, s, path)
	if !s.HasModule(h) {
		t.Fatal("module lost on reopen")
	}
	got, err := s.Module(h)
	if err != nil || !bytes.Equal(got, wasm) {
		t.Fatalf("Module: %d bytes, %v", len(got), err)
	}
	got[0] ^= 0xff // the caller's copy, not the store's
	again, _ := s.Module(h)
	if !bytes.Equal(again, wasm) {
		t.Fatal("changing the returned slice changed the stored module")
	}
	if st := s.Stats(); st.Modules != 1 {
		t.Errorf("%d modules, want 1", st.Modules)
	}
}

func TestPutModuleChecksHash(t *testing.T) {
	s, _ := MustOpen(t)
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	for _, h := range []string{"", "xyz", strings.ToUpper(hashOf(wasm)), hashOf([]byte("other"))} {
		if err := s.PutModule(h, wasm); err == nil {
			t.Errorf("PutModule(%q) succeeded", h)
		}
	}
	if st := s.Stats(); st.Modules != 0 {
		t.Errorf("%d modules stored", st.Modules)
	}
}
