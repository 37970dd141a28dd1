package worker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/p2p"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// A worker is ready only while its gateway has its offer: not while it
// cannot reach one, not while it drains, not after it stopped. Its
// connected gauge says the same.
func TestReadyFollowsTheGateway(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cfg := worker.DefaultConfig()
	cfg.Slots = 1
	cfg.Grace = time.Minute // the run below ends by being canceled
	tok := m.JoinToken()
	cfg.JoinToken = &tok
	w, err := worker.New(context.Background(), cfg, h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	var reachable atomic.Bool
	resolve := func(context.Context) (peer.AddrInfo, error) {
		if !reachable.Load() {
			return peer.AddrInfo{}, errors.New("no gateway in sight")
		}
		return peer.AddrInfo{ID: m.Host.ID(), Addrs: m.Host.Addrs()}, nil
	}
	connected := func() float64 { return meshtest.Gather(t, w.Registry()).Value("shoal_worker_connected") }
	if err := w.Ready(); err == nil || connected() != 0 {
		t.Fatalf("before Run: ready %v, connected %v", err, connected())
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx, resolve)
	}()
	defer func() { stop(); <-done }()
	meshtest.Eventually(t, "a failed attempt is reported", func() bool {
		err := w.Ready()
		return err != nil && strings.Contains(err.Error(), "connecting to the gateway; the last attempt: find gateway: no gateway in sight")
	})
	if connected() != 0 {
		t.Fatal("connected while connecting")
	}
	reachable.Store(true)
	meshtest.Eventually(t, "ready once the offer is taken", func() bool { return w.Ready() == nil })
	if connected() != 1 {
		t.Fatal("ready, but not connected")
	}

	// A run that goes on until it is canceled keeps the worker draining.
	loop, err := os.ReadFile("../wasmrun/testdata/loop.wasm")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := m.Gateway.PutModule(context.Background(), loop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Gateway.Submit(task.Spec{ID: "forever", Module: mod, Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "the run starts", func() bool { tk, _ := m.Gateway.Task("forever"); return tk.Status == task.Running })
	stop()
	meshtest.Eventually(t, "draining", func() bool { err := w.Ready(); return err != nil && strings.Contains(err.Error(), "draining") })
	if connected() != 1 {
		t.Fatal("draining, but not connected: the gateway still waits for its runs")
	}
	if _, err := m.Gateway.Cancel("forever"); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := w.Ready(); err == nil || err.Error() != "stopped" || connected() != 0 {
		t.Fatalf("after Run: ready %v, connected %v", err, connected())
	}
}
