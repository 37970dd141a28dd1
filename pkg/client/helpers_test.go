package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/gateway"
	"github.com/shoalmesh/shoal/pkg/httpapi"
	"github.com/shoalmesh/shoal/pkg/p2p"
	"github.com/shoalmesh/shoal/pkg/worker"
)

// testTimeout bounds every wait; tests normally finish far sooner.
const testTimeout = 30 * time.Second

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// MustHost starts a libp2p host on loopback, closed when the test ends.
func MustHost(tb testing.TB) host.Host {
	tb.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		tb.Fatal(err)
	}
	h, err := p2p.NewHost(p2p.HostConfig{Key: key, Listen: p2p.DefaultListen()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// MustGateway runs a real gateway and its HTTP API in an httptest server
// until the test ends, and returns a client of it and the gateway's host.
func MustGateway(tb testing.TB) (*client.Client, host.Host) {
	tb.Helper()
	h := MustHost(tb)
	g, err := gateway.New(gateway.DefaultConfig(), h, discard())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("gateway Run: %v", err)
		}
	})
	srv := httptest.NewServer(httpapi.New(httpapi.DefaultConfig(), g, discard()))
	tb.Cleanup(srv.Close)
	c, err := client.New(srv.URL, srv.Client())
	if err != nil {
		tb.Fatal(err)
	}
	return c, h
}

// MustWorker runs a real worker with one slot, dialing the gateway on gw,
// until the test ends.
func MustWorker(tb testing.TB, gw host.Host) {
	tb.Helper()
	h := MustHost(tb)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := worker.DefaultConfig()
	cfg.Slots = 1
	w, err := worker.New(ctx, cfg, h, discard())
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(context.Context) (peer.AddrInfo, error) {
			return peer.AddrInfo{ID: gw.ID(), Addrs: gw.Addrs()}, nil
		})
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("worker Run: %v", err)
		}
		_ = w.Close(context.Background())
	})
}

func ptr[T any](v T) *T { return &v }
