package join_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/join"
)

func mustID(tb testing.TB) peer.ID {
	tb.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func mustToken(tb testing.TB, gw peer.ID) join.Token {
	tb.Helper()
	t, err := join.New(gw)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestTokenRoundTrip(t *testing.T) {
	tok := mustToken(t, mustID(t))
	s := tok.String()
	if !strings.HasPrefix(s, "SHOAL1."+tok.Gateway.String()+".") {
		t.Fatalf("token %q does not start with SHOAL1.<gateway>.", s)
	}
	got, err := join.Parse("  " + s + "\n")
	if err != nil || !got.Equal(tok) {
		t.Fatalf("Parse(%q) = %v, %v; want the token back", s, got, err)
	}
	if other := mustToken(t, tok.Gateway); other.Equal(tok) {
		t.Fatal("two new tokens share a secret")
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	good := mustToken(t, mustID(t)).String()
	for name, c := range map[string]struct{ in, want string }{
		"empty":        {"", `starts with "SHOAL1"`},
		"api token":    {"3f9c0b8d3f9c0b8d3f9c0b8d", `starts with "SHOAL1"`},
		"no secret":    {"SHOAL1." + mustID(t).String(), "GATEWAY_PEER_ID.SECRET"},
		"bad peer":     {"SHOAL1.nope.AAAA", `"nope" is not a peer ID`},
		"cut short":    {good[:len(good)-4], "cut short"},
		"not base64":   {good[:len(good)-1] + "*", "not 32 bytes"},
		"extra secret": {good + "AAAA", "not 32 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := join.Parse(c.in)
			if !errors.Is(err, join.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse(%q) = %v, want ErrMalformed saying %q", c.in, err, c.want)
			}
		})
	}
}

// A proof holds for its own nonce, secret, gateway and worker only.
func TestProofBindsEverything(t *testing.T) {
	gw, w := mustID(t), mustID(t)
	tok := mustToken(t, gw)
	nonce, err := join.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	proof := join.Proof(tok.Secret, nonce, gw, w)
	if !join.Verify(tok.Secret, nonce, gw, w, proof) {
		t.Fatal("a proof made with the token does not verify")
	}
	other, _ := join.NewNonce()
	for name, ok := range map[string]bool{
		"another nonce":   join.Verify(tok.Secret, other, gw, w, proof),
		"another secret":  join.Verify(mustToken(t, gw).Secret, nonce, gw, w, proof),
		"another worker":  join.Verify(tok.Secret, nonce, gw, mustID(t), proof),
		"another gateway": join.Verify(tok.Secret, nonce, mustID(t), w, proof),
		"swapped peers":   join.Verify(tok.Secret, nonce, w, gw, proof),
		"no proof":        join.Verify(tok.Secret, nonce, gw, w, nil),
		"no nonce":        join.Verify(tok.Secret, nil, gw, w, join.Proof(tok.Secret, nil, gw, w)),
		"no secret":       join.Verify(nil, nonce, gw, w, join.Proof(nil, nonce, gw, w)),
	} {
		if ok {
			t.Errorf("%s: the proof verifies, want refused", name)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir, self := t.TempDir(), mustID(t)
	first, created, err := join.LoadOrCreate(dir, self)
	if err != nil || !created || first.Gateway != self {
		t.Fatalf("first start: %v created=%v %v", first, created, err)
	}
	path := filepath.Join(dir, join.File)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", path, fi.Mode(), err)
	}
	again, created, err := join.LoadOrCreate(dir, self)
	if err != nil || created || !again.Equal(first) {
		t.Fatalf("second start: %v created=%v %v, want the same token kept", again, created, err)
	}
	b, _ := os.ReadFile(path)
	if string(bytes.TrimSpace(b)) != first.String() {
		t.Fatalf("%s holds %q, want the token", path, b)
	}
	if _, _, err := join.LoadOrCreate(dir, mustID(t)); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("another gateway's token: %v, want refused with what to do", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := join.LoadOrCreate(dir, self); !errors.Is(err, join.ErrMalformed) || !strings.Contains(err.Error(), path) {
		t.Fatalf("a damaged file: %v, want ErrMalformed naming %s", err, path)
	}
}

func TestExport(t *testing.T) {
	tok := mustToken(t, mustID(t))
	path := filepath.Join(t.TempDir(), "token")
	for range 2 { // the second replaces the first
		if err := join.Export(path, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := join.ReadFile(path)
	if err != nil || !got.Equal(tok) {
		t.Fatalf("ReadFile after Export: %v %v", got, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported token has mode %v, want 0600", fi.Mode())
	}
	if _, err := join.ReadFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v, want ErrNotExist", err)
	}
}
