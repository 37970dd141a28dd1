package p2p

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
)

// DefaultNamespace is the discovery namespace of nodes not told otherwise.
const DefaultNamespace = "shoal"

var (
	// ErrDisabled is returned by Survey and FindPeer when the group is
	// "none".
	ErrDisabled = errors.New("discovery is off")
	// ErrStopped is returned by Survey and FindPeer once Run has returned.
	ErrStopped = errors.New("discovery stopped")
)

// Reasons a received packet is ignored, logged at debug level.
var (
	errNotEnvelope    = errors.New("not a signed envelope")
	errUnknownRecord  = errors.New("unknown record type")
	errBadRecord      = errors.New("malformed record")
	errOtherNamespace = errors.New("other namespace")
	errOwnPacket      = errors.New("own packet")
	errBadSignature   = errors.New("bad signature")
	errWrongSigner    = errors.New("signed by a key other than the sender's")
	errNotSurveying   = errors.New("response while not surveying")
	errSurveyOnly     = errors.New("survey-only node")
	errTooFar         = errors.New("surveyor is beyond the requested distance")
	errNoAddrs        = errors.New("no addresses to announce")
)

// freshness is how far a packet's timestamp may be from the local clock;
// replayWindowPeers bounds how many senders the replay guard tracks.
const (
	freshness         = time.Minute
	replayWindowPeers = 4096
)

// Keys of the attributes Discovery logs.
const (
	logComponent = "component"
	logGroup     = "group"
	logNamespace = "namespace"
	logPeer      = "peer"
	logFrom      = "from"
	logReason    = "reason"
)

// Config configures a Discovery.
type Config struct {
	// Group is the multicast group; the zero Group turns discovery off.
	Group Group
	// Namespace separates clusters: packets of another namespace are
	// ignored. Required; see DefaultNamespace.
	Namespace string
	// Key signs outgoing packets and names this node. Required.
	Key crypto.PrivKey
	// Addrs returns the addresses to announce in responses, typically
	// host.Host.Addrs. Nil means survey only: never answer a survey.
	Addrs func() []ma.Multiaddr
	// Logger receives debug logs about ignored packets; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first field of c that is unusable.
func (c Config) Validate() error {
	switch {
	case c.Key == nil:
		return errors.New("discovery config: Key is required")
	case c.Namespace == "":
		return errors.New("discovery config: Namespace is empty")
	case len(c.Namespace) > maxNamespace:
		return fmt.Errorf("discovery config: Namespace is %d bytes, at most %d allowed", len(c.Namespace), maxNamespace)
	}
	if c.Group.Enabled() {
		if _, err := lookupInterface(c.Group.Interface); err != nil {
			return fmt.Errorf("discovery config: Group: %w", err)
		}
	}
	return nil
}

// Discovery finds peers of one namespace on a UDP multicast group: it
// surveys the group (Survey, FindPeer) and answers the surveys of others
// with this node's addresses (when Config.Addrs is set). Run drives it.
type Discovery struct {
	group Group
	ns    string
	key   crypto.PrivKey
	self  peer.ID
	addrs func() []ma.Multiaddr
	log   *slog.Logger

	started atomic.Bool
	ready   chan struct{} // closed once the group is first joined
	done    chan struct{} // closed when Run returns
	// conn is the socket on the group, replaced when the interface changes
	// (see rejoin.go); nil while the interface is away.
	conn atomic.Pointer[groupConn]
	// lookup finds the group's interface; checkEvery is how often Run
	// checks that it is still the one joined. Tests replace both.
	lookup     func(name string) (*net.Interface, error)
	checkEvery time.Duration

	// Used by the read loop only.
	surveys   *replayGuard
	responses *replayGuard

	mu       sync.Mutex
	watchers map[*watcher]struct{}
}

// watcher receives every verified response while a survey runs. It is
// called with Discovery.mu held and must not block.
type watcher struct{ fn func(peer.AddrInfo) }

// New returns a Discovery for cfg. It opens nothing until Run.
func New(cfg Config) (*Discovery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("discovery: peer id of key: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Discovery{
		group:     cfg.Group,
		ns:        cfg.Namespace,
		key:       cfg.Key,
		self:      self,
		addrs:     cfg.Addrs,
		log:       log.With(logComponent, "discovery", logGroup, cfg.Group.String(), logNamespace, cfg.Namespace),
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
		surveys:   newReplayGuard(freshness, replayWindowPeers),
		responses: newReplayGuard(freshness, replayWindowPeers),
		watchers:  make(map[*watcher]struct{}),
	}
	d.lookup, d.checkEvery = lookupInterface, time.Second
	return d, nil
}

// Run joins the group and answers surveys until ctx is done, then closes
// the socket and returns nil. It returns an error if the group cannot be
// joined at start or the socket fails. When the group's interface goes
// away or is replaced, Run joins again on the interface the group names
// once there is one (see rejoin.go). With discovery off it just waits for
// ctx. Run may be called once.
func (d *Discovery) Run(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("discovery: Run called more than once")
	}
	defer close(d.done)
	if !d.group.Enabled() {
		<-ctx.Done()
		return nil
	}
	ifi, err := d.lookup(d.group.Interface)
	if err != nil {
		return fmt.Errorf("discovery: listen on %s: %w", d.group, err)
	}
	conn, err := listenOn(ctx, d.group, ifi)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	for {
		d.conn.Store(conn)
		if conn == nil {
			return nil // ctx ended while the interface was away
		}
		select {
		case <-d.ready:
		default:
			close(d.ready)
		}
		if d.addrs != nil {
			// Announce once, unasked: a peer already surveying for this
			// node (a worker waiting for its restarted gateway) hears it
			// at once instead of at its next survey.
			d.announce()
		}
		err := d.serve(ctx, conn)
		d.conn.Store(nil)
		switch {
		case ctx.Err() != nil:
			return nil
		case !errors.Is(err, errInterfaceChanged):
			return fmt.Errorf("discovery: %w", err)
		}
		conn = d.rejoin(ctx)
	}
}

func (d *Discovery) readLoop(conn *groupConn) error {
	buf := make([]byte, 64<<10)
	for {
		n, src, err := conn.receive(buf)
		if err != nil {
			return err
		}
		if err := d.handle(buf[:n], time.Now()); err != nil {
			d.log.Debug("ignored packet", logFrom, src, logReason, err)
		}
	}
}

// handle acts on one datagram, or returns why it ignored it. Checks run
// cheapest first, so that packets of other namespaces cost no signature
// verification.
func (d *Discovery) handle(b []byte, now time.Time) error {
	env, err := record.UnmarshalEnvelope(b)
	if err != nil {
		return fmt.Errorf("%w: %v", errNotEnvelope, err)
	}
	switch {
	case bytes.Equal(env.PayloadType, surveyCodec):
		if d.addrs == nil {
			return errSurveyOnly
		}
		var s surveyRecord
		if err := d.verify(b, env, &s, d.surveys, now); err != nil {
			return err
		}
		return d.answer(&s)
	case bytes.Equal(env.PayloadType, responseCodec):
		if !d.surveying() {
			return errNotSurveying
		}
		var r responseRecord
		if err := d.verify(b, env, &r, d.responses, now); err != nil {
			return err
		}
		d.notify(peer.AddrInfo{ID: r.Peer, Addrs: r.Addrs})
		return nil
	default:
		return errUnknownRecord
	}
}

// verify fills rec from the envelope and accepts it only if it is of this
// namespace, from another peer, signed by that peer, fresh and not seen
// before.
func (d *Discovery) verify(b []byte, env *record.Envelope, rec packetRecord, guard *replayGuard, now time.Time) error {
	if err := env.TypedRecord(rec); err != nil {
		return fmt.Errorf("%w: %v", errBadRecord, err)
	}
	id, ns, _ := rec.header()
	if ns != d.ns {
		return errOtherNamespace
	}
	if id == d.self {
		return errOwnPacket
	}
	signed, err := record.ConsumeTypedEnvelope(b, rec)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadSignature, err)
	}
	id, _, seq := rec.header()
	if signer, err := peer.IDFromPublicKey(signed.PublicKey); err != nil || signer != id {
		return errWrongSigner
	}
	return guard.check(id, seq, now)
}

// packetRecord is a record of a discovery packet.
type packetRecord interface {
	record.Record
	// header returns the sender, namespace and sequence number.
	header() (peer.ID, string, uint64)
}

func (s *surveyRecord) header() (peer.ID, string, uint64)   { return s.Peer, s.Namespace, s.Seq }
func (r *responseRecord) header() (peer.ID, string, uint64) { return r.Peer, r.Namespace, r.Seq }

// answer multicasts this node's addresses in reply to s.
func (d *Discovery) answer(s *surveyRecord) error {
	if !withinDistance(d.self, s.Peer, s.Distance) {
		return errTooFar
	}
	return d.announce()
}

// announce multicasts a response with this node's addresses.
func (d *Discovery) announce() error {
	addrs := announceable(d.addrs())
	if len(addrs) == 0 {
		return errNoAddrs
	}
	conn := d.conn.Load()
	if conn == nil {
		return nil // the interface is away; Run announces when it rejoins
	}
	pkt, err := d.seal(&responseRecord{Peer: d.self, Namespace: d.ns, Seq: peer.TimestampSeq(), Addrs: addrs})
	if err == nil {
		err = conn.send(pkt)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) { // closed: Run is returning or rejoining
		d.log.Warn("cannot announce", logReason, err)
	}
	return nil
}

// announceable keeps the addresses that fit in a response.
func announceable(addrs []ma.Multiaddr) []ma.Multiaddr {
	out := make([]ma.Multiaddr, 0, min(len(addrs), maxAddrs))
	for _, a := range addrs {
		if len(out) == maxAddrs {
			break
		}
		if len(a.Bytes()) <= maxAddrLen {
			out = append(out, a)
		}
	}
	return out
}

func (d *Discovery) seal(rec record.Record) ([]byte, error) {
	env, err := record.Seal(rec, d.key)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", rec.Domain(), err)
	}
	return env.Marshal()
}

// withinDistance reports whether the surveyor asked peer self to answer: a
// peer answers if the XOR of the leading 64 bits of the SHA-256 of both
// IDs is below 2^distance. Distance 64 and above (distanceAll) means every
// peer; smaller values sample a large group, as in casm.
func withinDistance(self, surveyor peer.ID, distance uint8) bool {
	if distance >= 64 {
		return true
	}
	a, b := sha256.Sum256([]byte(self)), sha256.Sum256([]byte(surveyor))
	x := binary.BigEndian.Uint64(a[:8]) ^ binary.BigEndian.Uint64(b[:8])
	return x>>distance == 0
}

func (d *Discovery) watch(fn func(peer.AddrInfo)) (unwatch func()) {
	w := &watcher{fn: fn}
	d.mu.Lock()
	d.watchers[w] = struct{}{}
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.watchers, w)
		d.mu.Unlock()
	}
}

func (d *Discovery) surveying() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.watchers) > 0
}

func (d *Discovery) notify(info peer.AddrInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for w := range d.watchers {
		w.fn(info)
	}
}
