package p2p_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

func TestNewHostDefaults(t *testing.T) {
	h := MustHost(t)
	var tcp, quic bool
	for _, a := range h.Addrs() {
		if !isLoopback(a) {
			t.Errorf("listening on %s, want 127.0.0.1 only", a)
		}
		_, err := a.ValueForProtocol(ma.P_TCP)
		tcp = tcp || err == nil
		_, err = a.ValueForProtocol(ma.P_QUIC_V1)
		quic = quic || err == nil
	}
	if !tcp || !quic {
		t.Errorf("addrs %v: want TCP and QUIC", h.Addrs())
	}
}

func TestNewHostRejects(t *testing.T) {
	key := MustKey(t)
	for _, tc := range []struct {
		name string
		cfg  p2p.HostConfig
		want string
	}{
		{"bad multiaddr", p2p.HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/notaport"}}, "/ip4/127.0.0.1/tcp/notaport"},
		{"not a multiaddr", p2p.HostConfig{Key: key, Listen: []string{"127.0.0.1:4001"}}, "127.0.0.1:4001"},
		{"unsupported transport", p2p.HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0/ws"}}, "/ip4/127.0.0.1/tcp/0/ws"},
		{"quic with psk", p2p.HostConfig{Key: key, PSK: make([]byte, 32), Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}}, "TCP only"},
		{"short psk", p2p.HostConfig{Key: key, PSK: []byte("short")}, "want 32"},
		{"no key", p2p.HostConfig{}, "no identity key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := p2p.NewHost(tc.cfg)
			if err == nil {
				h.Close()
				t.Fatal("NewHost succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestNewHostPrivateNetwork(t *testing.T) {
	t.Parallel()
	psk := make([]byte, 32)
	rand.Read(psk)
	newHost := func(psk []byte) peer.AddrInfo {
		h, err := p2p.NewHost(p2p.HostConfig{Key: MustKey(t), PSK: psk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
	}
	a, err := p2p.NewHost(p2p.HostConfig{Key: MustKey(t), PSK: psk})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, addr := range a.Addrs() {
		if _, err := addr.ValueForProtocol(ma.P_TCP); err != nil {
			t.Errorf("private host listens on %s, want TCP only", addr)
		}
	}
	member := newHost(psk)
	if err := a.Connect(testContext(t), member); err != nil {
		t.Fatalf("connect within the private network: %v", err)
	}
	outsider := make([]byte, 32)
	rand.Read(outsider)
	// The handshake with an outsider stalls instead of failing, so bound
	// it: a member connects within milliseconds.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.Connect(ctx, newHost(outsider)); err == nil {
		t.Fatal("connected to a host with another private network key")
	}
	if a.Network().Connectedness(member.ID) != network.Connected {
		t.Error("not connected to the member")
	}
}
