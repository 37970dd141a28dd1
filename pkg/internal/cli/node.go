package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

// nodeFlags are the flags every node role has.
type nodeFlags struct {
	data       string
	swarmKey   string
	allowPeer  stringList
	allowPeers string
	listen     stringList
	discover   string
	ns         string
	logLevel   string
	logFormat  string
	pprof      string
	config     string
	// gated keeps an allowlist even while it is empty: a worker that
	// chooses its gateway through discovery admits nobody until then.
	gated bool
	// peers sizes the host for that many connections (a gateway's: see
	// p2p.GatewayPeers); 0 keeps libp2p's defaults.
	peers int
}

func (n *nodeFlags) register(fs *flag.FlagSet, dataDefault string) {
	fs.StringVar(&n.data, "data", dataDefault, "data directory: the node's identity key and state (empty: a new identity each start)")
	fs.Var(&n.listen, "listen", "libp2p listen multiaddr, repeatable (default /ip4/127.0.0.1/tcp/0 and /ip4/127.0.0.1/udp/0/quic-v1)")
	fs.StringVar(&n.discover, "discover", p2p.DefaultGroup, "multicast group and interface for discovery (the interface may be a pattern one interface matches, e.g. eth*), or none")
	fs.StringVar(&n.ns, "ns", p2p.DefaultNamespace, "cluster namespace: nodes answer discovery only within it")
	fs.StringVar(&n.swarmKey, "swarm-key", "", "private network key file (`shoal keygen` writes one): only nodes with the same key connect; TCP only")
	fs.Var(&n.allowPeer, "allow-peer", "peer ID allowed to connect to this node, repeatable (default: anyone; a worker always allows its gateway)")
	fs.StringVar(&n.allowPeers, "allow-peers", "", "file of peer IDs allowed to connect, one a line")
	fs.StringVar(&n.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&n.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&n.pprof, "pprof", "", "serve Go's profiler (/debug/pprof/) on this address (host:port), for finding where time and memory go; off by default")
	fs.StringVar(&n.config, configFlag, "", "read flags from this TOML `FILE`: each key is a flag's name (see below)")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), configHelp)
	}
}

// parse parses a node role's command line, then sets the flags it left
// alone from --config. A bad file is reported here, as the flag package
// reports a bad flag.
func (n *nodeFlags) parse(fs *flag.FlagSet, args []string) error {
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if n.config == "" {
		return nil
	}
	if err := applyConfig(fs, n.config); err != nil {
		fmt.Fprintf(fs.Output(), "shoal: %s: %v\n", fs.Name(), err)
		return err
	}
	return nil
}

// node is a started libp2p host with its discovery.
type node struct {
	host    host.Host
	disc    *p2p.Discovery // nil when discovery is off
	log     *slog.Logger
	private bool           // on a private network (swarm key): TCP only
	allow   *p2p.Allowlist // who may connect in; nil: anyone
	pprof   string         // the start line's field for --pprof, if on
}

func (n *nodeFlags) logger(e *env) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(n.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", n.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch n.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", n.logFormat)
}

// start creates the host and starts discovery, which answers surveys with
// the host's addresses until ctx ends. With an allowlist (flags, or trusted
// peers such as a worker's gateway) only those peers may connect in.
func (n *nodeFlags) start(ctx context.Context, e *env, trusted ...peer.ID) (*node, error) {
	log, err := n.logger(e)
	if err != nil {
		return nil, err
	}
	group, err := p2p.ParseGroup(n.discover)
	if err != nil {
		return nil, fmt.Errorf("--discover: %w", err)
	}
	key, err := n.identity()
	if err != nil {
		return nil, err
	}
	cfg := p2p.HostConfig{Key: key, Listen: n.listen, Peers: n.peers}
	if n.swarmKey != "" {
		if cfg.PSK, err = p2p.LoadSwarmKey(n.swarmKey); err != nil {
			return nil, fmt.Errorf("--swarm-key: %w", err)
		}
	}
	allowed, err := n.allowed()
	if err != nil {
		return nil, err
	}
	var allow *p2p.Allowlist
	if len(allowed)+len(trusted) > 0 || n.gated {
		allow = p2p.NewAllowlist(append(allowed, trusted...)...)
		cfg.Gater = allow
	}
	h, err := p2p.NewHost(cfg)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	nd := &node{host: h, log: log, private: cfg.PSK != nil, allow: allow}
	if n.pprof != "" {
		if nd.pprof, err = servePprof(ctx, n.pprof, log); err != nil {
			h.Close()
			return nil, fmt.Errorf("--pprof %s: %w", n.pprof, err)
		}
	}
	if n.discover == p2p.NoGroup {
		return nd, nil
	}
	nd.disc, err = p2p.New(p2p.Config{Group: group, Namespace: n.ns, Key: key, Addrs: h.Addrs, Logger: log})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("--discover: %w", err)
	}
	go func() {
		if err := nd.disc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("discovery stopped", "err", err)
		}
	}()
	return nd, nil
}

// allowed collects --allow-peer and --allow-peers.
func (n *nodeFlags) allowed() ([]peer.ID, error) {
	var ids []peer.ID
	for _, s := range n.allowPeer {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("--allow-peer %q: not a peer ID", s)
		}
		ids = append(ids, id)
	}
	if n.allowPeers != "" {
		more, err := p2p.LoadPeers(n.allowPeers)
		if err != nil {
			return nil, fmt.Errorf("--allow-peers: %w", err)
		}
		ids = append(ids, more...)
	}
	return ids, nil
}

func (n *nodeFlags) identity() (crypto.PrivKey, error) {
	if n.data == "" {
		k, _, err := crypto.GenerateEd25519Key(nil)
		return k, err
	}
	k, err := p2p.LoadIdentity(n.data)
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", n.data, err)
	}
	return k, nil
}

// startLine is the one line a node prints when it is up.
func startLine(role string, nd *node, extra ...string) string {
	h := nd.host
	addrs := make([]string, 0, len(h.Addrs()))
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String())
	}
	line := fmt.Sprintf("shoal %s peer=%s addrs=%s", role, h.ID(), strings.Join(addrs, ","))
	if nd.private {
		line += " network=private(tcp-only)"
	}
	for _, x := range append(extra, nd.pprof) {
		if x != "" { // a field of a feature that is off
			line += " " + x
		}
	}
	return line
}

func defaultDataDir(role string) string {
	if d, err := os.UserHomeDir(); err == nil {
		return d + "/.local/share/shoal/" + role
	}
	return ""
}
