package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/sched"
)

// procServer is the Processes capability of one worker connection: what
// the processes running there ask of the gateway. It acts only for
// processes that run on its peer (actorLocked).
type procServer struct {
	g      *Gateway
	worker sched.WorkerID
}

var _ wire.Processes_Server = procServer{}

// Spawn places a child of a process running on this worker.
func (s procServer) Spawn(_ context.Context, call wire.Processes_spawn) error {
	args := call.Args()
	parent, err := args.Parent()
	if err != nil {
		return err
	}
	rec, err := args.Request()
	if err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	r, err := proc.DecodeRequest(rec)
	if err != nil {
		return rpc.EncodeError(res, err)
	}
	child, err := s.g.spawn(s.worker, proc.Key(parent), r)
	if err != nil {
		return rpc.EncodeError(res, err)
	}
	return res.SetChild(string(child))
}

// Send relays a message to a process on another worker, and returns when
// that worker's mailbox has it.
func (s procServer) Send(ctx context.Context, call wire.Processes_send) error {
	call.Go() // a full mailbox holds this call, not the others
	args := call.Args()
	from, to, err := rpc.DecodeKeys(args.From, args.To)
	if err != nil {
		return err
	}
	data, err := args.Data()
	if err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	dst, at, err := s.g.route(ctx, s.worker, from, to)
	if err != nil {
		return rpc.EncodeError(res, err)
	}
	defer dst.Release()
	if at != "" && at != s.worker {
		// The sender's worker may deliver there itself from now on.
		if err := s.g.peerAt(res, at); err != nil {
			return err
		}
	}
	f, release := dst.Deliver(ctx, func(p wire.Worker_deliver_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		if err := p.SetTo(string(to)); err != nil {
			return err
		}
		return p.SetData(data)
	})
	defer release()
	got, err := f.Struct()
	if err != nil {
		return rpc.EncodeError(res, fmt.Errorf("%w: the worker of %s: %v", proc.ErrFailed, to, err))
	}
	return copyAnswer(res, got.Code(), got.Reason)
}

// Close tells a process on another worker that from closed its side.
func (s procServer) Close(ctx context.Context, call wire.Processes_close) error {
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
	dst, _, err := s.g.route(ctx, s.worker, from, to)
	if err != nil {
		if errors.Is(err, proc.ErrClosed) || errors.Is(err, proc.ErrFailed) {
			return nil // it has ended: nothing to tell
		}
		return rpc.EncodeError(res, err)
	}
	defer dst.Release()
	f, release := dst.Closed(ctx, func(p wire.Worker_closed_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		return p.SetTo(string(to))
	})
	defer release()
	if _, err := f.Struct(); err != nil {
		return rpc.EncodeError(res, fmt.Errorf("%w: the worker of %s: %v", proc.ErrFailed, to, err))
	}
	return nil
}

// copyAnswer passes a worker's answer on.
func copyAnswer(res rpc.Coded, code int32, reason func() (string, error)) error {
	if code == 0 {
		return nil
	}
	why, err := reason()
	if err != nil {
		return err
	}
	res.SetCode(code)
	return res.SetReason(why)
}

// route finds where a message from process from (on worker id) to its
// parent or child to goes, waiting for to to be placed; the caller
// releases the client it returns.
func (g *Gateway) route(ctx context.Context, id sched.WorkerID, from, to proc.Key) (wire.Worker, sched.WorkerID, error) {
	g.mu.Lock()
	src, err := g.actorLocked(id, from)
	if err != nil {
		g.mu.Unlock()
		return wire.Worker{}, "", err
	}
	dst := g.procs.live[to]
	if dst == nil {
		dst = src.peer(to)
	}
	if dst == nil {
		// An ended child of src's is no longer listed: its key says so.
		if root, pid, ok := parseChildKey(to); ok && root == src.tree.root.ref && pid <= src.tree.next {
			g.mu.Unlock()
			return wire.Worker{}, "", fmt.Errorf("%w: %s has ended", proc.ErrClosed, to)
		}
	}
	g.mu.Unlock()
	if dst == nil || (dst != src.parent && dst.parent != src) {
		return wire.Worker{}, "", fmt.Errorf("%w: %s is neither the parent nor a child of %s", proc.ErrInvalid, to, from)
	}
	select {
	case <-dst.placed:
	case <-ctx.Done():
		return wire.Worker{}, "", fmt.Errorf("%w: %v", proc.ErrFailed, context.Cause(ctx))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if dst.done {
		return wire.Worker{}, "", exitErr(to, dst.exit)
	}
	if !g.connectedLocked(dst) {
		return wire.Worker{}, "", fmt.Errorf("%w: %s: worker lost", proc.ErrFailed, to)
	}
	return dst.conn.client.AddRef(), dst.worker, nil
}

// peerAt writes where worker id can be dialed into a send's answer.
func (g *Gateway) peerAt(res wire.Processes_send_Results, id sched.WorkerID) error {
	pid, err := peer.Decode(string(id))
	if err != nil {
		return nil // not a peer ID (tests name workers freely): no direct path
	}
	addrs := g.host.Peerstore().Addrs(pid)
	if len(addrs) == 0 {
		return nil
	}
	at, err := res.NewAt()
	if err != nil {
		return err
	}
	if err := at.SetId(string(id)); err != nil {
		return err
	}
	l, err := at.NewAddrs(int32(len(addrs)))
	if err != nil {
		return err
	}
	for i, a := range addrs {
		if err := l.Set(i, a.String()); err != nil {
			return err
		}
	}
	return nil
}

// peer finds to among p's parent and children, ended ones included.
func (p *process) peer(to proc.Key) *process {
	if p.parent != nil && p.parent.key == to {
		return p.parent
	}
	for _, c := range p.children {
		if c.key == to {
			return c
		}
	}
	return nil
}

// tellEnded returns the call that tells the worker of par that its child
// c ended with exit.
func (g *Gateway) tellEnded(par, c *process, exit proc.Exit) func() {
	client := par.conn.client.AddRef()
	parent, child := par.key, c.key
	g.tasks.Add(1)
	return func() {
		defer g.tasks.Done()
		defer client.Release()
		f, release := client.Ended(context.Background(), func(p wire.Worker_ended_Params) error {
			if err := p.SetChild(string(child)); err != nil {
				return err
			}
			if err := p.SetParent(string(parent)); err != nil {
				return err
			}
			p.SetCode(exit.Code)
			return p.SetError(exit.Err)
		})
		defer release()
		if _, err := f.Struct(); err != nil {
			g.log.Debug("tell a parent its child ended", "parent", parent, "child", child, "err", err)
		}
	}
}

// exitErr is why a message to process k, which ended with e, cannot be
// delivered.
func exitErr(k proc.Key, e proc.Exit) error {
	if e.Err == "" {
		return fmt.Errorf("%w: %s exited with code %d", proc.ErrClosed, k, e.Code)
	}
	return fmt.Errorf("%w: %s: %s", proc.ErrFailed, k, e.Err)
}
