package p2p_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

func TestLoadIdentityPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node", "data")
	first, err := p2p.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p2p.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(first)
	id2, _ := peer.IDFromPrivateKey(second)
	if id1 != id2 {
		t.Fatalf("peer ID changed across loads: %s then %s", id1, id2)
	}
	if first.Type() != crypto.Ed25519 {
		t.Errorf("key type %s, want Ed25519", first.Type())
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, p2p.IdentityFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s", len(entries), p2p.IdentityFile)
	}
}

func TestLoadIdentityRejects(t *testing.T) {
	secp, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.MarshalPrivateKey(secp)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		content    []byte
	}{
		{"garbage", "not a libp2p private key", []byte("hello")},
		{"other key type", "want Ed25519", other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, p2p.IdentityFile), tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := p2p.LoadIdentity(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("LoadIdentity = %v, want an error naming the file and saying %q", err, tc.want)
			}
		})
	}
	if _, err := p2p.LoadIdentity(""); err == nil {
		t.Error("LoadIdentity(\"\") succeeded")
	}
}
