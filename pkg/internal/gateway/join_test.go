package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/gateway"
	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
	"github.com/shoalmesh/shoal/wasm"
)

// refusedWith waits for a worker's Run to end and returns its refusal.
func refusedWith(t *testing.T, ended <-chan error) *worker.NotAdmittedError {
	t.Helper()
	select {
	case err := <-ended:
		var na *worker.NotAdmittedError
		if !errors.As(err, &na) {
			t.Fatalf("the worker ended with %v, want a NotAdmittedError", err)
		}
		return na
	case <-time.After(20 * time.Second):
		t.Fatal("the worker was not refused: it is still trying after 20s")
	}
	return nil
}

// Only a worker holding the gateway's join token is admitted: workers with
// none, with a wrong secret or with another gateway's token are refused,
// stop with an error saying why, and are never given a run.
func TestJoinTokenDecidesWhoWorks(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	g := startGateway(t, gw)
	mod, err := g.PutModule(context.Background(), wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	in, diff := int64(0), int64(1)
	if _, err := g.Submit(task.Spec{ID: "work", Module: mod, Input: &in, Difficulty: &diff}); err != nil {
		t.Fatal(err)
	}
	other := mustHost(t, p2p.HostConfig{})
	wrong, err := join.New(gw.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		token    *join.Token
		hadToken bool
		want     string
	}{
		{"no token", nil, false, "admits only workers that present its join token"},
		{"wrong secret", &wrong, true, "does not match this gateway's join token"},
		{"another gateway's token", testToken(other), true, "the join token is for gateway " + other.ID().String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			wh := mustHost(t, p2p.HostConfig{})
			na := refusedWith(t, startWorkerWith(t, wh, gw, c.token))
			if na.HadToken != c.hadToken || na.Gateway != gw.ID() || !strings.Contains(na.Reason, c.want) {
				t.Fatalf("refused with %+v, want a reason with %q", na, c.want)
			}
		})
	}
	if n := len(g.Workers()); n != 0 {
		t.Fatalf("the pool has %d workers after the refusals, want none", n)
	}
	if st, _ := g.Task("work"); st.Status.Done() || len(st.Runs) != 1 || st.Runs[0].Worker != "" {
		t.Fatalf("task before a worker joined: %s %+v, want its run waiting for a worker", st.Status, st.Runs)
	}

	good := mustHost(t, p2p.HostConfig{})
	startWorker(t, good, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done, err := g.Wait(ctx, "work")
	if err != nil || done.Status != task.Succeeded || string(done.Runs[0].Worker) != good.ID().String() {
		t.Fatalf("task with a joined worker: %v %s %+v, want succeeded on %s", err, done.Status, done.Runs, good.ID())
	}
}

// workersCall asks boot for the workers channel with proof and returns
// the gateway's answer.
func workersCall(ctx context.Context, boot wire.Gateway, proof []byte) error {
	f, release := boot.Workers(ctx, func(p wire.Gateway_workers_Params) error { return p.SetProof(proof) })
	defer release()
	_, err := f.Struct()
	return err
}

// A proof answers one challenge of one connection for one peer: it cannot
// be used twice, by another peer, or without a challenge.
func TestJoinProofIsBoundToItsConnection(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	startGateway(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	boot, me := dialGateway(ctx, t, gw)
	proof := proveJoin(ctx, t, boot, gw.ID(), me, testSecret)
	if err := workersCall(ctx, boot, proof); err != nil {
		t.Fatalf("a fresh proof: %v, want the channel", err)
	}
	refused := func(what string, err error, want string) {
		t.Helper()
		if _, ok := rpc.NotAdmitted(err); !ok || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want not admitted: ...%s", what, err, want)
		}
	}
	refused("the same proof again", workersCall(ctx, boot, proof), "must answer a challenge")

	thief, _ := dialGateway(ctx, t, gw)
	proveJoin(ctx, t, thief, gw.ID(), me, testSecret) // a challenge of its own
	refused("another peer's proof", workersCall(ctx, thief, proof), "does not match")

	unasked, other := dialGateway(ctx, t, gw)
	// Right secret, no challenge asked on this connection: a nonce from
	// elsewhere does not count.
	refused("no challenge", workersCall(ctx, unasked, join.Proof(testSecret, make([]byte, join.NonceLen), gw.ID(), other)), "must answer a challenge")

	anon, _ := dialGateway(ctx, t, gw)
	refused("no proof", workersCall(ctx, anon, nil), "join token")
}

// A gateway that admits by network (a swarm key) takes workers without a
// token, but still refuses a wrong one.
func TestJoinByNetworkChecksTokensGiven(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	cfg := gateway.DefaultConfig()
	cfg.JoinSecret, cfg.JoinByNetwork = testSecret, true
	g := startGatewayWith(t, gw, cfg)
	wrong, err := join.New(gw.ID())
	if err != nil {
		t.Fatal(err)
	}
	na := refusedWith(t, startWorkerWith(t, mustHost(t, p2p.HostConfig{}), gw, &wrong))
	if !strings.Contains(na.Reason, "does not match") {
		t.Fatalf("a wrong token: %+v", na)
	}
	startWorkerWith(t, mustHost(t, p2p.HostConfig{}), gw, nil)
	startWorker(t, mustHost(t, p2p.HostConfig{}), gw)
	if n := poolAfter(g, 2, 10*time.Second); n != 2 {
		t.Fatalf("pool has %d workers, want the one without a token and the one with the right token", n)
	}
}

// snoop is a joined worker that, given a run, asks the module source for
// another module too, and keeps the source to ask again later.
type snoop struct {
	noProcesses
	other   []byte // sha256 of a module it was not given
	fetched chan fetchReport
	kept    chan wire.ModuleSource
}

type fetchReport struct {
	own   []byte
	err   error // of its own module
	other error // of the other
}

func fetch(ctx context.Context, src wire.ModuleSource, h []byte) ([]byte, error) {
	f, release := src.Get(ctx, func(p wire.ModuleSource_get_Params) error { return p.SetSha256(h) })
	defer release()
	res, err := f.Struct()
	if err != nil {
		return nil, err
	}
	b, err := res.Wasm()
	return append([]byte(nil), b...), err
}

func (s *snoop) Ping(context.Context, wire.Worker_ping) error { return nil }

func (s *snoop) Runs(context.Context, wire.Worker_runs) error {
	return errors.New("snoop: runs not expected")
}

func (s *snoop) Job(context.Context, wire.Worker_job) error {
	return errors.New("snoop: jobs not expected")
}

func (s *snoop) Warm(context.Context, wire.Worker_warm) error {
	return errors.New("snoop: warming not expected")
}

func (s *snoop) Adopt(context.Context, wire.Worker_adopt) error {
	return errors.New("snoop: adoption not expected")
}

func (s *snoop) Run(ctx context.Context, call wire.Worker_run) error {
	args := call.Args()
	spec, err := args.Spec()
	if err != nil {
		return err
	}
	own, err := spec.Module()
	if err != nil {
		return err
	}
	var r fetchReport
	r.own, r.err = fetch(ctx, args.Modules(), own)
	_, r.other = fetch(ctx, args.Modules(), s.other)
	s.kept <- args.Modules().AddRef()
	s.fetched <- r
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	out, err := res.NewResult()
	if err != nil {
		return err
	}
	out.SetOk(true)
	return out.SetResult("done")
}

// offerSnoop joins the gateway on gw as a peer would and offers s.
func offerSnoop(ctx context.Context, t *testing.T, gw host.Host, s *snoop) {
	t.Helper()
	boot, me := dialGateway(ctx, t, gw)
	proof := proveJoin(ctx, t, boot, gw.ID(), me, testSecret)
	f, release := boot.Workers(ctx, func(p wire.Gateway_workers_Params) error { return p.SetProof(proof) })
	t.Cleanup(release)
	res, err := f.Struct()
	if err != nil {
		t.Fatal(err)
	}
	self := wire.Worker(rpc.Export(wire.Worker_NewServer(s)))
	t.Cleanup(self.Release)
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
	defer srel()
	if _, err := sf.Struct(); err != nil {
		t.Fatal(err)
	}
}

// A worker gets from the module source only the module of a run it was
// given, and only while it holds that run: not another module the gateway
// stores, and not its own once the run is answered.
func TestModuleSourceServesOnlyGivenRuns(t *testing.T) {
	gw := mustHost(t, p2p.HostConfig{})
	g := startGateway(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mine, err := g.PutModule(ctx, wasm.HashC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.PutModule(ctx, wasm.Hello); err != nil { // someone else's
		t.Fatal(err)
	}
	hello := wasmrun.HashOf(wasm.Hello)
	s := &snoop{other: hello[:], fetched: make(chan fetchReport, 1), kept: make(chan wire.ModuleSource, 1)}
	offerSnoop(ctx, t, gw, s)
	if _, err := g.Submit(task.Spec{ID: "given", Module: mine}); err != nil {
		t.Fatal(err)
	}
	var r fetchReport
	select {
	case r = <-s.fetched:
	case <-ctx.Done():
		t.Fatal("the run never reached the worker")
	}
	if r.err != nil || string(r.own) != string(wasm.HashC) {
		t.Errorf("the module of its run: %d bytes, %v; want it", len(r.own), r.err)
	}
	if r.other == nil || !strings.Contains(r.other.Error(), "not the module of a run this worker holds") {
		t.Errorf("another module: %v, want refused", r.other)
	}
	src := <-s.kept
	defer src.Release()
	if done, err := g.Wait(ctx, "given"); err != nil || done.Status != task.Succeeded {
		t.Fatalf("given: %v %+v", err, done)
	}
	own := wasmrun.HashOf(wasm.HashC)
	if _, err := fetch(ctx, src, own[:]); err == nil || !strings.Contains(err.Error(), "not the module of a run") {
		t.Errorf("its own module after the run was answered: %v, want refused", err)
	}
}
