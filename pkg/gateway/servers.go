package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/rpc"
	"github.com/shoalmesh/shoal/pkg/sched"
	"github.com/shoalmesh/shoal/pkg/store"
)

// gatewayServer is the bootstrap capability exported to one peer.
type gatewayServer struct {
	g      *Gateway
	peer   peer.ID
	ctx    context.Context // ends with the connection
	hangup func()
}

var _ wire.Gateway_Server = (*gatewayServer)(nil)

// Workers hands out the send-only side of the workers channel: the Chan
// interface has no receive or close, so a peer can only offer.
func (s *gatewayServer) Workers(_ context.Context, call wire.Gateway_workers) error {
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
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
	offer, err := decodeOffer(o)
	if err != nil {
		return err
	}
	if !o.HasWorker() {
		return errors.New("offer carries no worker capability")
	}
	id := sched.WorkerID(s.peer.String())
	if err := s.g.addWorker(s.ctx, id, o.Worker().AddRef(), offer, s.hangup); err != nil {
		return err
	}
	if offer.Slots == 0 {
		return s.g.waitDrained(ctx, id) // a worker shutting down: see waitDrained
	}
	return nil
}

func decodeOffer(o wire.Offer) (sched.Offer, error) {
	free, err := o.Free()
	if err != nil {
		return sched.Offer{}, err
	}
	labels, err := o.Labels()
	if err != nil {
		return sched.Offer{}, err
	}
	cached, err := o.Cached()
	if err != nil {
		return sched.Offer{}, err
	}
	out := sched.Offer{Slots: int(free.Slots()), Memory: free.Memory()}
	for i := range labels.Len() {
		l, err := labels.At(i)
		if err != nil {
			return sched.Offer{}, err
		}
		out.Labels = append(out.Labels, l)
	}
	for i := range cached.Len() {
		h, err := cached.At(i)
		if err != nil {
			return sched.Offer{}, err
		}
		out.Cached = append(out.Cached, hex.EncodeToString(h))
	}
	return out, nil
}

// moduleSource serves module bytes to workers that lack them.
type moduleSource struct{ st *store.Store }

var _ wire.ModuleSource_Server = moduleSource{}

func (m moduleSource) Get(_ context.Context, call wire.ModuleSource_get) error {
	call.Go()
	h, err := call.Args().Sha256()
	if err != nil {
		return err
	}
	b, err := m.st.Module(hex.EncodeToString(h))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoModule, err)
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetWasm(b)
}

// logSink appends one run attempt's output to the task's log.
type logSink struct {
	logs         *logbook
	task         string
	run, attempt int
}

var _ wire.LogSink_Server = logSink{}

func (l logSink) Write(_ context.Context, call wire.LogSink_write) error {
	data, err := call.Args().Data()
	if err != nil {
		return err
	}
	stream := "stdout"
	if call.Args().Stream() == wire.Stream_stderr {
		stream = "stderr"
	}
	return l.logs.append(l.task, l.run, l.attempt, stream, data)
}

// Ping answers at once; workers use it to notice a gateway that is gone.
func (s *gatewayServer) Ping(context.Context, wire.Gateway_ping) error { return nil }
