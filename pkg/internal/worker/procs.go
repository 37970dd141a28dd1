package worker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"capnproto.org/go/capnp/v3"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/proc"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// The worker's half of processes (docs/PROCESSES.md): every run is a
// process in the worker's proc.Table, which delivers messages between
// processes here itself and reaches the others through the gateway's
// Processes capability of the current connection (gatewayProcs); the
// gateway's calls (Worker.deliver, closed, ended) feed the Table.

// errNoGateway: a process call needs the gateway, and the worker has no
// connection to one right now.
var errNoGateway = fmt.Errorf("%w: no connection to the gateway", proc.ErrFailed)

// gatewayProcs is the proc.Transport of a worker: the Processes
// capability of its current gateway connection.
type gatewayProcs struct {
	mesh *mesh // tried first for messages to processes on other workers
	// direct and relayed count the messages sent straight to another
	// worker and through the gateway.
	direct, relayed atomic.Int64

	mu sync.Mutex
	c  wire.Processes // zero while not connected
}

var _ proc.Transport = (*gatewayProcs)(nil)

// set makes c, of a new connection, the one calls go through; the zero
// value when the connection ends.
func (g *gatewayProcs) set(c wire.Processes) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.c.Release()
	g.c = c
}

// client returns a reference to the current capability.
func (g *gatewayProcs) client() (wire.Processes, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.c.IsValid() {
		return wire.Processes{}, errNoGateway
	}
	return g.c.AddRef(), nil
}

var _ proc.Spawner = (*gatewayProcs)(nil)

// Spawn asks the gateway for a child of parent.
func (g *gatewayProcs) Spawn(ctx context.Context, parent proc.Key, req proc.Request) (proc.Key, error) {
	return g.StartSpawn(ctx, parent, req)()
}

// StartSpawn sends the gateway a spawn request and returns what waits for
// its answer: spawns of one process leave in order, and several may be
// under way on the connection at once.
func (g *gatewayProcs) StartSpawn(ctx context.Context, parent proc.Key, req proc.Request) func() (proc.Key, error) {
	c, err := g.client()
	if err != nil {
		return func() (proc.Key, error) { return "", err }
	}
	defer c.Release()
	f, release := c.Spawn(ctx, func(p wire.Processes_spawn_Params) error {
		if err := p.SetParent(string(parent)); err != nil {
			return err
		}
		return p.SetRequest(proc.EncodeRequest(req))
	})
	return func() (proc.Key, error) {
		var child string
		_, err := await(ctx, f.Done(), release, f.Struct, "the gateway", func(res wire.Processes_spawn_Results) {
			child, _ = res.Child()
		})
		if err != nil {
			return "", err
		}
		return proc.Key(child), nil
	}
}

// Send delivers msg to a process on another worker: directly when this
// worker has a path there, else through the gateway, which says where
// to runs for the next time.
func (g *gatewayProcs) Send(ctx context.Context, from, to proc.Key, msg []byte) error {
	if sent, err := g.mesh.send(ctx, from, to, msg); sent {
		g.direct.Add(1)
		return err
	}
	g.relayed.Add(1)
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Release()
	f, release := c.Send(ctx, func(p wire.Processes_send_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		if err := p.SetTo(string(to)); err != nil {
			return err
		}
		return p.SetData(msg)
	})
	_, err = await(ctx, f.Done(), release, f.Struct, "the gateway", func(res wire.Processes_send_Results) {
		if at, err := res.At(); err == nil && res.HasAt() {
			g.mesh.learn(to, at)
		}
	})
	return err
}

// Close tells to that from closed its side: directly, or through the
// gateway.
func (g *gatewayProcs) Close(ctx context.Context, from, to proc.Key) error {
	if sent, err := g.mesh.close(ctx, from, to); sent {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Release()
	f, release := c.Close(ctx, func(p wire.Processes_close_Params) error {
		if err := p.SetFrom(string(from)); err != nil {
			return err
		}
		return p.SetTo(string(to))
	})
	_, err = await(ctx, f.Done(), release, f.Struct, "the gateway", nil)
	return err
}

// answered waits for a call's answer (done) or for the run's end (ctx);
// on the run's end it leaves release, which waits for the answer, to a
// goroutine. go-capnp v3.1.0-alpha.2 fails a call whose ctx ended only
// once it has sent the Finish, and a closing Conn cancels the calls it
// serves (the runs), then waits for them before it fails the calls they
// made: a process call waiting on its answer alone held the worker's
// shutdown until the run's time limit (TestMeshStopsUnderTree).
func answered(ctx context.Context, done <-chan struct{}, release capnp.ReleaseFunc) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		go release() // returns when the Conn, closing, fails the call
		return context.Cause(ctx)
	}
}

// codedAnswer is a process call's answer: a code of the host module and
// its reason.
type codedAnswer interface {
	Code() int32
	Reason() (string, error)
}

// await waits for a process call's answer as answered does, lets read
// (when not nil) take what else it needs of it, and returns its code and
// error: the code's (rpc.DecodeError), or the call's own failure, the
// run's end or peer's.
func await[R codedAnswer](ctx context.Context, done <-chan struct{}, release capnp.ReleaseFunc, get func() (R, error), peer string, read func(R)) (int32, error) {
	if err := answered(ctx, done, release); err != nil {
		return 0, err
	}
	defer release()
	res, err := get()
	if err != nil {
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		return 0, fmt.Errorf("%w: %s: %v", proc.ErrFailed, peer, err)
	}
	if read != nil {
		read(res)
	}
	return res.Code(), rpc.DecodeError(res.Code(), res.Reason)
}

// exitOf is how a run that ended with o ended as a process.
// An exit code other than 0 is an exit; 0 is one only without an error
// (a fetch or compile that failed leaves 0 and says why).
func exitOf(o task.Outcome) proc.Exit {
	if o.OK || (!o.Lost && (o.ExitCode > 0 || o.ExitCode == 0 && o.Error == "")) {
		return proc.Exit{Code: o.ExitCode}
	}
	return proc.Exit{Code: -1, Err: o.Error}
}

// syncedHost is a run's proc.Host whose calls that others see wait first
// for the run's output so far to reach the gateway: a line printed before
// a message is in the log before the line its receiver prints on it.
type syncedHost struct {
	proc.Host
	logs *forwarder
}

func (h syncedHost) Spawn(ctx context.Context, req proc.Request) (int32, error) {
	h.logs.sync(ctx)
	return h.Host.Spawn(ctx, req)
}

func (h syncedHost) Send(ctx context.Context, handle int32, msg []byte) error {
	h.logs.sync(ctx)
	return h.Host.Send(ctx, handle, msg)
}

func (h syncedHost) Close(ctx context.Context, handle int32) error {
	h.logs.sync(ctx)
	return h.Host.Close(ctx, handle)
}
