package p2p_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

func mustHost(tb testing.TB, cfg p2p.HostConfig) host.Host {
	tb.Helper()
	if cfg.Key == nil {
		cfg.Key = MustKey(tb)
	}
	h, err := p2p.NewHost(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

func info(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// connects reports whether a reaches b within a second: a member of the
// same network connects in milliseconds, a refused handshake may stall.
func connects(a, b host.Host) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return a.Connect(ctx, info(b)) == nil
}

func TestSwarmKeyFile(t *testing.T) {
	k, err := p2p.NewSwarmKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "swarm.key")
	os.WriteFile(path, k, 0o600)
	psk, err := p2p.LoadSwarmKey(path)
	if err != nil || len(psk) != 32 {
		t.Fatalf("load: %d bytes, %v", len(psk), err)
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, err := p2p.LoadSwarmKey(path); err == nil {
		t.Fatal("a garbage key file was accepted")
	}
	// A node without the key cannot reach a private one, nor the reverse.
	private := mustHost(t, p2p.HostConfig{PSK: psk})
	public := mustHost(t, p2p.HostConfig{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if connects(public, private) || connects(private, public) {
		t.Fatal("a node without the swarm key connected to one with it")
	}
	if !connects(mustHost(t, p2p.HostConfig{PSK: psk}), private) {
		t.Fatal("two nodes with the same key did not connect")
	}
}

// served reports whether a can open a stream to b and get an answer: the
// dialer may finish its handshake before b's gater refuses the connection,
// so only a round trip shows that b serves a.
func served(a, b host.Host) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if a.Connect(ctx, info(b)) != nil {
		return false
	}
	s, err := a.NewStream(ctx, b.ID(), echo)
	if err != nil {
		return false
	}
	defer s.Close()
	var one [1]byte
	n, _ := s.Read(one[:]) // the answer may come with io.EOF
	return n == 1
}

const echo = "/shoal-test/hello"

func TestAllowlist(t *testing.T) {
	friend := mustHost(t, p2p.HostConfig{})
	stranger := mustHost(t, p2p.HostConfig{})
	gated := mustHost(t, p2p.HostConfig{Gater: p2p.NewAllowlist(friend.ID())})
	gated.SetStreamHandler(echo, func(s network.Stream) { s.Write([]byte{1}); s.Close() })
	if !served(friend, gated) {
		t.Fatal("an allowed peer was not served")
	}
	if served(stranger, gated) {
		t.Fatal("a peer not on the list was served")
	}
	if !connects(gated, stranger) {
		t.Fatal("the gated host must still dial whom it chooses")
	}
}

func TestParsePeers(t *testing.T) {
	id, err := peer.IDFromPrivateKey(MustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := p2p.ParsePeers("allow", "# workers\n"+id.String()+"  # w1\n\n")
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("ParsePeers = %v, %v", ids, err)
	}
	if _, err := p2p.ParsePeers("allow", "nonsense\n"); err == nil || err.Error() != `allow:1: "nonsense" is not a peer ID` {
		t.Fatalf("bad line: %v", err)
	}
}
