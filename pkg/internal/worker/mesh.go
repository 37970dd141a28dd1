package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	capnprpc "capnproto.org/go/capnp/v3/rpc"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
)

// Direct channels (docs/PROCESSES.md): a message between processes on two
// workers goes through the gateway the first time; the gateway's answer
// says where the receiver runs, and from then on the sender's worker
// delivers there itself, over a connection of its own to that worker
// (Mesh, then Mailboxes). A worker it cannot reach, or that no longer
// runs the process, sends it back to the gateway.

// notHere is the Mailboxes code of a process that does not run on the
// worker asked: the sender asks the gateway instead. (The host module's
// codes are negative.)
const notHere = 1

// Bounds of the direct paths.
const (
	meshDial = 2 * time.Second // a worker not reached in this is not reachable
	// meshRetry is how long a worker that could not be reached is left
	// to the gateway's relay before it is tried again.
	meshRetry = 30 * time.Second
	// meshRoutes bounds the routes a worker remembers; past it, the
	// oldest are forgotten (and learned again from the gateway).
	meshRoutes = 1 << 16
)

// errMeshRefused: a worker refused this one's proof.
var errMeshRefused = errors.New("refused by the other worker")

// mesh is a worker's direct paths to the others.
type mesh struct {
	w *Worker

	mu     sync.Mutex
	closed bool                 // the worker stops: no connection is kept
	routes map[proc.Key]peer.ID // where processes run, as the gateway said
	order  []proc.Key           // of routes, oldest first
	peers  map[peer.ID]*meshPeer
}

// meshPeer is the connection to one other worker, being made or made.
type meshPeer struct {
	ready  chan struct{} // closed once the dial ended
	boxes  wire.Mailboxes
	conn   *capnprpc.Conn
	err    error     // why the dial failed
	failed time.Time // when, for meshRetry
}

func newMesh(w *Worker) *mesh {
	return &mesh{w: w, routes: make(map[proc.Key]peer.ID), peers: make(map[peer.ID]*meshPeer)}
}

// learn notes that process k runs on the worker at, and starts dialing
// it unless a connection is made or being made.
func (m *mesh) learn(k proc.Key, at wire.PeerAt) {
	ids, err := at.Id()
	if err != nil {
		return
	}
	id, err := peer.Decode(ids)
	if err != nil || id == m.w.host.ID() {
		return
	}
	addrs, err := at.Addrs()
	if err != nil {
		return
	}
	var ai peer.AddrInfo
	ai.ID = id
	for i := range addrs.Len() {
		s, _ := addrs.At(i)
		if a, err := ma.NewMultiaddr(s); err == nil {
			ai.Addrs = append(ai.Addrs, a)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.routes[k]; !ok {
		m.order = append(m.order, k)
		for len(m.order) > meshRoutes {
			delete(m.routes, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.routes[k] = id
	if p, ok := m.peers[id]; ok && (p.err == nil || time.Since(p.failed) < meshRetry) {
		return
	}
	p := &meshPeer{ready: make(chan struct{})}
	m.peers[id] = p
	go m.dial(p, ai)
}

// forget drops the route to k: the gateway will say again.
func (m *mesh) forget(k proc.Key) {
	m.mu.Lock()
	delete(m.routes, k)
	m.mu.Unlock()
}

// dial connects to the worker ai and gets its mailboxes.
func (m *mesh) dial(p *meshPeer, ai peer.AddrInfo) {
	defer close(p.ready)
	ctx, cancel := context.WithTimeout(context.Background(), meshDial)
	defer cancel()
	boxes, conn, err := m.connect(ctx, ai)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil && m.closed {
		boxes.Release()
		_ = conn.Close()
		err = errors.New("the worker is stopping")
	}
	if err != nil {
		p.err, p.failed = err, time.Now()
		m.w.log.Debug("no direct path to a worker; messages go through the gateway", "worker", ai.ID, "err", err)
		return
	}
	p.boxes, p.conn = boxes, conn
	go func() {
		<-conn.Done()
		m.mu.Lock()
		if m.peers[ai.ID] == p {
			delete(m.peers, ai.ID)
		}
		// Under mu, as boxes takes its reference: none is taken from a
		// client being released.
		b := p.boxes
		p.boxes = wire.Mailboxes{}
		m.mu.Unlock()
		b.Release()
	}()
}

// connect dials ai, answers its challenge and returns its mailboxes.
func (m *mesh) connect(ctx context.Context, ai peer.AddrInfo) (wire.Mailboxes, *capnprpc.Conn, error) {
	h := m.w.host
	if err := h.Connect(ctx, ai); err != nil {
		return wire.Mailboxes{}, nil, err
	}
	conn, err := rpc.Dial(ctx, h, ai.ID, m.w.log)
	if err != nil {
		return wire.Mailboxes{}, nil, err
	}
	fail := func(err error) (wire.Mailboxes, *capnprpc.Conn, error) {
		_ = conn.Close()
		return wire.Mailboxes{}, nil, err
	}
	boot := wire.Mesh(conn.Bootstrap(ctx))
	defer boot.Release()
	var proof []byte
	if t := m.w.cfg.JoinToken; t != nil {
		f, release := boot.Challenge(ctx, nil)
		res, err := f.Struct()
		if err != nil {
			release()
			return fail(err)
		}
		nonce, err := res.Nonce()
		if err != nil {
			release()
			return fail(err)
		}
		proof = join.Proof(t.Secret, nonce, ai.ID, h.ID())
		release()
	}
	f, release := boot.Mailboxes(ctx, func(p wire.Mesh_mailboxes_Params) error { return p.SetProof(proof) })
	defer release()
	res, err := f.Struct()
	if err != nil {
		return fail(fmt.Errorf("%w: %v", errMeshRefused, err))
	}
	return res.Boxes().AddRef(), conn.Conn, nil
}

// boxes returns the mailboxes of the worker process k runs on, when the
// gateway said where and that worker is reachable.
func (m *mesh) boxes(ctx context.Context, k proc.Key) (wire.Mailboxes, bool) {
	m.mu.Lock()
	id, ok := m.routes[k]
	p := m.peers[id]
	m.mu.Unlock()
	if !ok || p == nil {
		return wire.Mailboxes{}, false
	}
	select {
	case <-p.ready:
	default:
		return wire.Mailboxes{}, false // still dialing: through the gateway this time
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.err != nil || !p.boxes.IsValid() {
		return wire.Mailboxes{}, false
	}
	return p.boxes.AddRef(), true
}

// send delivers msg from one process to another on a worker it has a
// direct path to. sent is false when the message did not leave (no path,
// or the process is not there): the caller asks the gateway. Once it has
// left, its outcome is final, even a failure: a call that failed may have
// been delivered, and sending it again could deliver it twice.
func (m *mesh) send(ctx context.Context, from, to proc.Key, msg []byte) (sent bool, err error) {
	boxes, ok := m.boxes(ctx, to)
	if !ok {
		return false, nil
	}
	defer boxes.Release()
	f, release := boxes.Deliver(ctx, func(p wire.Mailboxes_deliver_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		if err := p.SetTo(string(to)); err != nil {
			return err
		}
		return p.SetData(msg)
	})
	code, err := await(ctx, f.Done(), release, f.Struct, "the worker of "+string(to), nil)
	return m.sent(to, code, err)
}

// close tells to, on a worker with a direct path, that from closed its
// side; sent as for send.
func (m *mesh) close(ctx context.Context, from, to proc.Key) (sent bool, err error) {
	boxes, ok := m.boxes(ctx, to)
	if !ok {
		return false, nil
	}
	defer boxes.Release()
	f, release := boxes.Closed(ctx, func(p wire.Mailboxes_closed_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		return p.SetTo(string(to))
	})
	code, err := await(ctx, f.Done(), release, f.Struct, "the worker of "+string(to), nil)
	return m.sent(to, code, err)
}

// sent reads a direct call's outcome for send and close: a process that
// is not there (notHere) did not take it, and its route is forgotten.
func (m *mesh) sent(to proc.Key, code int32, err error) (bool, error) {
	if code == notHere {
		m.forget(to)
		return false, nil
	}
	return true, err
}

// closeAll ends every direct connection, when the worker stops.
func (m *mesh) closeAll() {
	m.mu.Lock()
	m.closed = true
	peers := m.peers
	m.peers = make(map[peer.ID]*meshPeer)
	m.mu.Unlock()
	for _, p := range peers {
		select {
		case <-p.ready:
			if p.conn != nil {
				_ = p.conn.Close()
			}
		default:
		}
	}
}

// meshServer is the Mesh capability a worker exports to one peer.
type meshServer struct {
	w      *Worker
	remote peer.ID

	mu    sync.Mutex
	nonce []byte
}

var _ wire.Mesh_Server = (*meshServer)(nil)

// Challenge hands out a nonce for the next mailboxes call.
func (s *meshServer) Challenge(_ context.Context, call wire.Mesh_challenge) error {
	n, err := join.NewNonce()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.nonce = n
	s.mu.Unlock()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetNonce(n)
}

// Mailboxes hands this worker's mailboxes to a peer that proves it
// belongs to the cluster: it holds the join secret, or this worker is
// on a private network, whose swarm key every peer already proved.
func (s *meshServer) Mailboxes(_ context.Context, call wire.Mesh_mailboxes) error {
	proof, err := call.Args().Proof()
	if err != nil {
		return err
	}
	s.mu.Lock()
	nonce := s.nonce
	s.nonce = nil
	s.mu.Unlock()
	switch t := s.w.cfg.JoinToken; {
	case t != nil && nonce != nil && join.Verify(t.Secret, nonce, s.w.host.ID(), s.remote, proof):
	case t == nil && s.w.cfg.PeerByNetwork && len(proof) == 0:
	default:
		return errors.New("not admitted: no valid proof of the cluster's join secret")
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetBoxes(wire.Mailboxes(rpc.Export(wire.Mailboxes_NewServer(mailboxes{s.w}))))
}

// mailboxes delivers messages from processes on another worker.
type mailboxes struct{ w *Worker }

var _ wire.Mailboxes_Server = mailboxes{}

// Deliver puts a message into the mailbox of a process running here, or
// answers notHere.
func (b mailboxes) Deliver(ctx context.Context, call wire.Mailboxes_deliver) error {
	call.Go()
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return b.w.deliver(ctx, call.Args(), res, true)
}

// deliveryArgs are the arguments of both deliver calls.
type deliveryArgs interface {
	From() (string, error)
	To() (string, error)
	Data() ([]byte, error)
}

// deliver takes a message for a process here: from the gateway, for a
// process that may not have started yet; or from another worker (here),
// for one that must be running here, else it answers notHere.
func (w *Worker) deliver(ctx context.Context, args deliveryArgs, res rpc.Coded, here bool) error {
	from, to, err := rpc.DecodeKeys(args.From, args.To)
	if err != nil {
		return err
	}
	data, err := args.Data()
	if err != nil {
		return err
	}
	if here && !w.procs.Running(to) {
		res.SetCode(notHere)
		return nil
	}
	return rpc.EncodeError(res, w.procs.Deliver(ctx, from, to, bytes.Clone(data)))
}

// Closed tells a process running here that a peer closed its side.
func (b mailboxes) Closed(ctx context.Context, call wire.Mailboxes_closed) error {
	call.Go()
	args := call.Args()
	from, to, err := rpc.DecodeKeys(args.From, args.To)
	if err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	if !b.w.procs.Running(to) {
		res.SetCode(notHere)
		return nil
	}
	return rpc.EncodeError(res, b.w.procs.Closed(ctx, from, to))
}

// serveMesh exports the Mesh capability to every peer that opens a Shoal
// RPC stream to this worker.
func (w *Worker) serveMesh() {
	rpc.Serve(w.host, func(_ context.Context, remote peer.ID, _ func()) capnp.Client {
		return rpc.Export(wire.Mesh_NewServer(&meshServer{w: w, remote: remote}))
	}, w.log)
}
