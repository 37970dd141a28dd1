package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// gatewayServer is the bootstrap capability exported to one peer.
type gatewayServer struct {
	g      *Gateway
	peer   peer.ID
	ctx    context.Context // ends with the connection
	hangup func()

	mu       sync.Mutex
	nonce    []byte // the challenge a join proof must answer: see admit
	admitted bool   // a workers call took this peer's proof
}

// errNotAdmitted: a peer asked for processes before it was admitted.
var errNotAdmitted = errors.New("not admitted: call workers with a join proof first")

// Processes hands out what a worker's processes ask of the gateway, to a
// peer admitted as a worker on this connection.
func (s *gatewayServer) Processes(_ context.Context, call wire.Gateway_processes) error {
	s.mu.Lock()
	admitted := s.admitted
	s.mu.Unlock()
	if !admitted {
		return errNotAdmitted
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetProcs(wire.Processes(rpc.Export(wire.Processes_NewServer(procServer{g: s.g, worker: sched.WorkerID(s.peer.String())}))))
}

var _ wire.Gateway_Server = (*gatewayServer)(nil)

// Workers hands out the send-only side of the workers channel, to a peer
// that proves it belongs (see admit): the Chan interface has no receive or
// close, so a peer can only offer. Every run, result and module fetch goes
// through a worker offered in this channel, so a peer refused here gets
// none of them.
func (s *gatewayServer) Workers(_ context.Context, call wire.Gateway_workers) error {
	proof, err := call.Args().Proof()
	if err != nil {
		return err
	}
	if err := s.admit(proof); err != nil {
		return s.refused(err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.admitted = true
	s.mu.Unlock()
	res.SetTerm(s.g.cfg.Term)
	return res.SetChan(wire.Chan(rpc.Export(wire.Chan_NewServer(&chanServer{g: s.g, peer: s.peer, ctx: s.ctx, hangup: s.hangup}))))
}

// chanServer takes offers from one peer's connection.
type chanServer struct {
	g      *Gateway
	peer   peer.ID
	ctx    context.Context
	hangup func()
}

var _ wire.Chan_Server = (*chanServer)(nil)

// Send takes an offer into the pool; an offer of no slots returns once every
// run on that worker has been recorded. The worker is named by the peer the
// connection is authenticated as, never by anything inside the offer.
func (s *chanServer) Send(ctx context.Context, call wire.Chan_send) error {
	call.Go() // a draining worker's send waits; other calls go on
	o, err := call.Args().Offer()
	if err != nil {
		return err
	}
	offer, held, err := decodeOffer(o)
	if err != nil {
		return err
	}
	if !o.HasWorker() {
		return errors.New("offer carries no worker capability")
	}
	id := sched.WorkerID(s.peer.String())
	if err := s.g.addWorker(s.ctx, id, o.Worker().AddRef(), offer, held, s.hangup); err != nil {
		return err
	}
	if offer.Slots == 0 {
		return s.g.waitDrained(ctx, id) // a worker shutting down: see waitDrained
	}
	return nil
}

// decodeOffer reads the scheduler's part of an offer, and the runs the
// worker holds.
func decodeOffer(o wire.Offer) (sched.Offer, []task.RunRef, error) {
	d, err := rpc.DecodeOffer(o)
	if err != nil {
		return sched.Offer{}, nil, err
	}
	return sched.Offer{Slots: d.Free.Slots, Memory: d.Free.Memory, Cores: api.Millicores(d.Free.Millicores), Labels: d.Labels, Cached: d.Cached}, d.Held, nil
}

// moduleSource serves module bytes to the worker of one connection, and
// only the modules of runs the gateway has given that connection and not
// yet seen answered (remoteWorker.grants): a worker learns no module but
// those it is asked to run.
type moduleSource struct {
	g       *Gateway
	conn    *remoteWorker
	served  prometheus.Counter // bytes sent
	refused prometheus.Counter
}

var _ wire.ModuleSource_Server = moduleSource{}

func (m moduleSource) Get(_ context.Context, call wire.ModuleSource_get) error {
	call.Go()
	h, err := call.Args().Sha256()
	if err != nil {
		return err
	}
	hash := hex.EncodeToString(h)
	m.g.mu.Lock()
	granted := m.conn.grants[hash] > 0
	m.g.mu.Unlock()
	if !granted {
		m.refused.Inc()
		return fmt.Errorf("%w: %s is not the module of a run this worker holds", ErrNotGranted, hash)
	}
	b, err := m.g.st.Module(hash)
	if errors.Is(err, store.ErrNotFound) {
		b, err = m.g.st.Blob(hash) // a deployed file of the run's working directory
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoModule, err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	if err := res.SetWasm(b); err != nil {
		return err
	}
	m.served.Add(float64(len(b)))
	return nil
}

// logSink appends the output of a worker's runs to their tasks' logs. Each
// worker connection has one, passed with every run; a write names its run
// attempt and is taken only while that attempt runs on this connection, so
// a worker can write to no log but those of its own runs.
type logSink struct {
	g        *Gateway
	conn     *remoteWorker
	received prometheus.Counter // bytes of output
}

var _ wire.LogSink_Server = logSink{}

func (l logSink) Write(_ context.Context, call wire.LogSink_write) error {
	args := call.Args()
	data, err := args.Data()
	if err != nil {
		return err
	}
	ref, err := rpc.DecodeRunRef(args)
	if err != nil {
		return err
	}
	step, err := args.Step()
	if err != nil {
		return err
	}
	stream := "stdout"
	if args.Stream() == wire.Stream_stderr {
		stream = "stderr"
	}
	logs := l.g.logs
	// The check and the append under one hold of g.mu: the run's outcome,
	// which closes the task's log for its followers, is recorded under it
	// too, so an entry is never added to a log already closed. (Output that
	// reaches the gateway after its run's result, which a worker's bounded
	// flush can let happen, is refused: the run is no longer in flight.)
	// The log is read from the store (after a restart, or once evicted)
	// between two such checks, so a refused write never brings back the
	// log of a task that has ended.
	// A spawned process writes to its tree's root's log (procs.go).
	l.g.mu.Lock()
	err = l.checkLocked(ref)
	root, pid, _ := l.g.whose(ref)
	l.g.mu.Unlock()
	if err != nil {
		return err
	}
	logs.load(root.Task, false)
	l.g.mu.Lock()
	if err := l.checkLocked(ref); err != nil {
		done := l.g.sched.Done(root.Task)
		l.g.mu.Unlock()
		if done {
			logs.close(root.Task) // the load above may have opened it again
		}
		return err
	}
	e := logs.add(root.Task, root.Index, root.Attempt, pid, step, stream, data)
	l.g.mu.Unlock()
	l.received.Add(float64(len(data)))
	return logs.save(root.Task, e)
}

// checkLocked refuses output of a run this connection does not hold, or
// of a task that has ended or is gone.
func (l logSink) checkLocked(ref task.RunRef) error {
	f, ok := l.g.inflight[ref]
	if !ok || f.conn != l.conn {
		return fmt.Errorf("log write for %s run %d attempt %d: not a run of this worker", ref.Task, ref.Index, ref.Attempt)
	}
	st, ok := l.g.sched.Status(ref.Task)
	switch {
	case !ok:
		return fmt.Errorf("log write for %s: no such task (purged)", ref.Task)
	case st.Done():
		// Canceled while its run, sharing a call with others, goes on
		// (see inflight.shared): the task's log is closed.
		return fmt.Errorf("log write for %s: the task is %s", ref.Task, st)
	}
	return nil
}

// Ping answers at once; workers use it to notice a gateway that is gone.
func (s *gatewayServer) Ping(context.Context, wire.Gateway_ping) error { return nil }
