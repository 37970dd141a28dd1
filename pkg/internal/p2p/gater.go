package p2p

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Allowlist is a connection gater that accepts inbound connections only
// from the peers it lists, after the security handshake has proven who they
// are. Outbound dials are not restricted: a node chooses whom it dials.
// The list may grow while the host runs (Allow): a worker that chooses its
// gateway through discovery admits it once chosen, and nobody before.
type Allowlist struct {
	mu      sync.RWMutex
	allowed map[peer.ID]bool
}

var _ connmgr.ConnectionGater = (*Allowlist)(nil)

// NewAllowlist returns a gater admitting the given peers.
func NewAllowlist(ids ...peer.ID) *Allowlist {
	a := &Allowlist{allowed: make(map[peer.ID]bool, len(ids))}
	for _, id := range ids {
		a.allowed[id] = true
	}
	return a
}

// Allow adds peers to the list; connections they open from now on are
// admitted.
func (a *Allowlist) Allow(ids ...peer.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		a.allowed[id] = true
	}
}

// Allows reports whether id may connect.
func (a *Allowlist) Allows(id peer.ID) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.allowed[id]
}

// InterceptPeerDial allows every outbound dial.
func (a *Allowlist) InterceptPeerDial(peer.ID) bool { return true }

// InterceptAddrDial allows every outbound dial.
func (a *Allowlist) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

// InterceptAccept lets the handshake start: the peer is not known before it.
func (a *Allowlist) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured admits an inbound connection only from a listed peer.
func (a *Allowlist) InterceptSecured(dir network.Direction, id peer.ID, _ network.ConnMultiaddrs) bool {
	return dir == network.DirOutbound || a.Allows(id)
}

// InterceptUpgraded allows what InterceptSecured admitted.
func (a *Allowlist) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return true, 0
}

// ParsePeers reads peer IDs: one a line, blank lines and # comments
// ignored. name says where they come from, for errors.
func ParsePeers(name, text string) ([]peer.ID, error) {
	var ids []peer.ID
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		id, err := peer.Decode(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q is not a peer ID", name, n, line)
		}
		ids = append(ids, id)
	}
	return ids, sc.Err()
}

// LoadPeers reads a peer ID file (see ParsePeers).
func LoadPeers(path string) ([]peer.ID, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read peer list: %w", err)
	}
	return ParsePeers(path, string(b))
}
