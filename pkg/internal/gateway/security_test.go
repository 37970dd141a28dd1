package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/store"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustHost(tb testing.TB, cfg p2p.HostConfig) host.Host {
	tb.Helper()
	if cfg.Key == nil {
		cfg.Key, _, _ = crypto.GenerateEd25519Key(nil)
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	}
	h, err := p2p.NewHost(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// testSecret is the join secret of the gateways startGateway starts.
var testSecret = []byte("shoal test join secret, 32 bytes")

// testToken is the join token of a gateway startGateway started on gw.
func testToken(gw host.Host) *join.Token {
	return &join.Token{Gateway: gw.ID(), Secret: testSecret}
}

// startGateway runs a gateway on h, with testSecret, until the test ends.
func startGateway(tb testing.TB, h host.Host) *gateway.Gateway {
	tb.Helper()
	cfg := gateway.DefaultConfig()
	cfg.JoinSecret = testSecret
	return startGatewayWith(tb, h, cfg)
}

// startGatewayWith runs a gateway of cfg on h until the test ends.
func startGatewayWith(tb testing.TB, h host.Host, cfg gateway.Config) *gateway.Gateway {
	tb.Helper()
	st, err := store.Open(filepath.Join(tb.TempDir(), "gw.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	g, err := gateway.New(cfg, h, st, quiet)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); st.Close(); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return g
}

// startWorker runs a worker on h that dials the gateway on gw with that
// gateway's test token.
func startWorker(tb testing.TB, h host.Host, gw host.Host) {
	tb.Helper()
	startWorkerWith(tb, h, gw, testToken(gw))
}

// startWorkerWith runs a worker on h holding token (nil: none) that dials
// the gateway on gw; the channel gets what its Run returns.
func startWorkerWith(tb testing.TB, h host.Host, gw host.Host, token *join.Token) <-chan error {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := worker.DefaultConfig()
	cfg.JoinToken = token
	w, err := worker.New(ctx, cfg, h, quiet)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	ended := make(chan error, 1)
	go func() {
		ended <- w.Run(ctx, func(context.Context) (peer.AddrInfo, error) {
			return peer.AddrInfo{ID: gw.ID(), Addrs: gw.Addrs()}, nil
		})
		w.Close(context.Background())
		close(done)
	}()
	tb.Cleanup(func() { cancel(); <-done })
	return ended
}

// poolAfter returns the gateway's pool once it has want workers, or after
// wait when it never does.
func poolAfter(g *gateway.Gateway, want int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for len(g.Workers()) != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return len(g.Workers())
}

// The gateway takes offers only from allowed workers: others are refused
// at the connection, after the handshake proves who they are.
func TestGatewayAllowlist(t *testing.T) {
	allowed := mustHost(t, p2p.HostConfig{})
	stranger := mustHost(t, p2p.HostConfig{})
	gw := mustHost(t, p2p.HostConfig{Gater: p2p.NewAllowlist(allowed.ID())})
	g := startGateway(t, gw)
	startWorker(t, stranger, gw)
	startWorker(t, allowed, gw)
	if n := poolAfter(g, 1, 10*time.Second); n != 1 {
		t.Fatalf("pool has %d workers, want the allowed one only", n)
	}
	if n := poolAfter(g, 2, time.Second); n != 1 || string(g.Workers()[0].ID) != allowed.ID().String() {
		t.Fatalf("pool = %+v, want only %s", g.Workers(), allowed.ID())
	}
}

// With a swarm key, only nodes holding the same key join, and they need no
// join token: the private network admits only members.
func TestSwarmKeySeparatesClusters(t *testing.T) {
	mustPSK := func() []byte {
		k, _ := p2p.NewSwarmKey()
		path := filepath.Join(t.TempDir(), "swarm.key")
		if err := writeFile(path, k); err != nil {
			t.Fatal(err)
		}
		psk, err := p2p.LoadSwarmKey(path)
		if err != nil {
			t.Fatal(err)
		}
		return psk
	}
	ours, theirs := mustPSK(), mustPSK()
	gw := mustHost(t, p2p.HostConfig{PSK: ours})
	cfg := gateway.DefaultConfig()
	cfg.JoinByNetwork = true // the key proves membership: no join token
	g := startGatewayWith(t, gw, cfg)
	startWorkerWith(t, mustHost(t, p2p.HostConfig{PSK: theirs}), gw, nil)
	startWorkerWith(t, mustHost(t, p2p.HostConfig{}), gw, nil)
	startWorkerWith(t, mustHost(t, p2p.HostConfig{PSK: ours}), gw, nil)
	if n := poolAfter(g, 1, 10*time.Second); n != 1 {
		t.Fatalf("pool has %d workers, want 1", n)
	}
	if n := poolAfter(g, 2, time.Second); n != 1 {
		t.Fatalf("a worker with another key or none joined: %d workers", n)
	}
}

// Over the wire, the channel a peer gets is send-only: there is no method
// to receive other workers' offers or to close it, and the gateway answers
// any other method number with "unimplemented". The calls are pipelined on
// the workers() answer, as a hostile peer would: with go-capnp
// v3.1.0-alpha.2 that used to panic the gateway (see rpc.Export).
func TestChannelIsSendOnlyOverTheWire(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	startGateway(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	boot, self := dialGateway(ctx, t, gw)
	proof := proveJoin(ctx, t, boot, gw.ID(), self, testSecret)
	f, release := boot.Workers(ctx, func(p wire.Gateway_workers_Params) error { return p.SetProof(proof) })
	defer release()
	ch := f.Chan()
	for _, c := range []struct {
		what   string
		client capnp.Client
		method capnp.Method
	}{
		{"receive from the channel", capnp.Client(ch), capnp.Method{InterfaceID: wire.Chan_TypeID, MethodID: 1}},
		{"close the channel", capnp.Client(ch), capnp.Method{InterfaceID: wire.Chan_TypeID, MethodID: 2}},
		{"an unknown gateway method", capnp.Client(boot), capnp.Method{InterfaceID: wire.Gateway_TypeID, MethodID: 7}},
		{"a Worker method on the channel", capnp.Client(ch), capnp.Method{InterfaceID: wire.Worker_TypeID, MethodID: 0}},
	} {
		ans, rel := c.client.SendCall(ctx, capnp.Send{Method: c.method})
		_, err := ans.Struct()
		rel()
		if err == nil || !strings.Contains(err.Error(), "unimplemented") {
			t.Errorf("%s: %v, want unimplemented", c.what, err)
		}
	}
	// Sending is what the channel is for, and an offer without a worker
	// capability is refused.
	sf, srel := ch.Send(ctx, func(p wire.Chan_send_Params) error { _, err := p.NewOffer(); return err })
	_, err := sf.Struct()
	srel()
	if err == nil || !strings.Contains(err.Error(), "no worker capability") {
		t.Errorf("an empty offer: %v", err)
	}
}

// proveJoin asks the gateway boot (at gw) for a challenge and answers it
// for peer self with secret, as a worker does.
func proveJoin(ctx context.Context, tb testing.TB, boot wire.Gateway, gw, self peer.ID, secret []byte) []byte {
	tb.Helper()
	f, release := boot.Challenge(ctx, nil)
	defer release()
	res, err := f.Struct()
	if err != nil {
		tb.Fatal(err)
	}
	nonce, err := res.Nonce()
	if err != nil {
		tb.Fatal(err)
	}
	return join.Proof(secret, nonce, gw, self)
}

// dialGateway connects a new peer to the gateway on gw, as any peer could,
// and returns the gateway's bootstrap capability and the peer's ID; all is
// closed when the test ends.
func dialGateway(ctx context.Context, tb testing.TB, gw host.Host) (wire.Gateway, peer.ID) {
	tb.Helper()
	peerHost := mustHost(tb, p2p.HostConfig{})
	if err := peerHost.Connect(ctx, peer.AddrInfo{ID: gw.ID(), Addrs: gw.Addrs()}); err != nil {
		tb.Fatal(err)
	}
	conn, err := rpc.Dial(ctx, peerHost, gw.ID(), quiet)
	if err != nil {
		tb.Fatal(err)
	}
	boot := wire.Gateway(conn.Bootstrap(ctx))
	tb.Cleanup(func() { boot.Release(); conn.Close() })
	return boot, peerHost.ID()
}

// A worker accepts runs only from the gateway it dialed: no other peer can
// even open a connection to it, let alone reach its Worker capability.
func TestWorkerAcceptsOnlyItsGateway(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	g := startGateway(t, gw)
	wh := mustHost(t, p2p.HostConfig{Gater: p2p.NewAllowlist(gw.ID())})
	startWorker(t, wh, gw)
	if poolAfter(g, 1, 10*time.Second) != 1 {
		t.Fatal("the worker did not join its gateway")
	}
	stranger := mustHost(t, p2p.HostConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stranger.Connect(ctx, peer.AddrInfo{ID: wh.ID(), Addrs: wh.Addrs()})
	if conn, err := rpc.Dial(ctx, stranger, wh.ID(), quiet); err == nil {
		w := wire.Worker(conn.Bootstrap(ctx))
		f, rel := w.Ping(ctx, nil)
		_, err = f.Struct()
		rel()
		conn.Close()
		if err == nil {
			t.Fatal("a stranger reached the worker over RPC")
		}
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

// liar is a worker that, running a run, writes a log line for it and then
// tries one for another task.
type liar struct {
	noProcesses
	foreign chan error
}

// noProcesses is the part of a test's Worker that runs no processes.
type noProcesses struct{}

func (noProcesses) Deliver(context.Context, wire.Worker_deliver) error {
	return capnp.Unimplemented("no processes here")
}
func (noProcesses) Closed(context.Context, wire.Worker_closed) error {
	return capnp.Unimplemented("no processes here")
}
func (noProcesses) Ended(context.Context, wire.Worker_ended) error {
	return capnp.Unimplemented("no processes here")
}

func (l *liar) Ping(context.Context, wire.Worker_ping) error { return nil }

// Runs is never called: the gateway sends runs of a module it has not seen
// run one at a time.
func (l *liar) Runs(context.Context, wire.Worker_runs) error {
	return errors.New("liar: runs not expected")
}

func (l *liar) Job(context.Context, wire.Worker_job) error {
	return errors.New("liar: jobs not expected")
}

func (l *liar) Warm(context.Context, wire.Worker_warm) error {
	return errors.New("liar: warming not expected")
}

func (l *liar) Adopt(context.Context, wire.Worker_adopt) error {
	return errors.New("liar: adoption not expected")
}

func (l *liar) Run(ctx context.Context, call wire.Worker_run) error {
	args := call.Args()
	spec, err := args.Spec()
	if err != nil {
		return err
	}
	id, _ := spec.TaskId()
	write := func(task string) error {
		f, release := args.Logs().Write(ctx, func(p wire.LogSink_write_Params) error {
			p.SetRun(spec.Run())
			p.SetAttempt(spec.Attempt())
			if err := p.SetTaskId(task); err != nil {
				return err
			}
			return p.SetData([]byte("written by the worker of " + id + "\n"))
		})
		defer release()
		_, err := f.Struct()
		return err
	}
	if err := write(id); err != nil {
		return err
	}
	l.foreign <- write("victim")
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	r, err := res.NewResult()
	if err != nil {
		return err
	}
	r.SetOk(true)
	return r.SetResult("done")
}

// The log sink a worker gets takes writes only for the runs it was given:
// a worker cannot write into another task's log.
func TestLogSinkTakesOnlyOwnRuns(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	g := startGateway(t, gw)
	mod, err := g.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Submit(task.Spec{ID: "victim", Module: mod, Start: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Submit(task.Spec{ID: "mine", Module: mod}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	boot, me := dialGateway(ctx, t, gw)
	proof := proveJoin(ctx, t, boot, gw.ID(), me, testSecret)
	f, release := boot.Workers(ctx, func(p wire.Gateway_workers_Params) error { return p.SetProof(proof) })
	defer release()
	res, err := f.Struct()
	if err != nil {
		t.Fatal(err)
	}
	l := &liar{foreign: make(chan error, 1)}
	self := wire.Worker(rpc.Export(wire.Worker_NewServer(l)))
	defer self.Release()
	sf, srel := res.Chan().Send(ctx, func(p wire.Chan_send_Params) error {
		o, err := p.NewOffer()
		if err != nil {
			return err
		}
		free, err := o.NewFree()
		if err != nil {
			return err
		}
		free.SetSlots(1)
		return o.SetWorker(self.AddRef())
	})
	if _, err := sf.Struct(); err != nil {
		t.Fatal(err)
	}
	srel()
	select {
	case err := <-l.foreign:
		if err == nil || !strings.Contains(err.Error(), "not a run of this worker") {
			t.Fatalf("a write into another task's log: %v, want refused", err)
		}
	case <-ctx.Done():
		t.Fatal("the run never reached the worker")
	}
	done, err := g.Wait(ctx, "mine")
	if err != nil || done.Status != task.Succeeded {
		t.Fatalf("mine: %v %+v", err, done)
	}
	if entries, _, _ := g.Logs("mine", 0); len(entries) != 1 || entries[0].Data != "written by the worker of mine\n" {
		t.Errorf("mine's log: %+v, want its own line", entries)
	}
	if entries, _, _ := g.Logs("victim", 0); len(entries) != 0 {
		t.Errorf("victim's log: %+v, want nothing", entries)
	}
}
