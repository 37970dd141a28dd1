package p2p_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/shoalmesh/shoal/pkg/internal/p2p"
)

func TestFindPeerConnects(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	hosts := make([]host.Host, 3)
	nodes := make([]*p2p.Discovery, 3)
	for i := range nodes {
		hosts[i], nodes[i] = MustNode(t, g, "shoal")
	}
	// Every node finds every other and dials what it found.
	for i, d := range nodes {
		for j, target := range hosts {
			if i == j {
				continue
			}
			info, err := d.FindPeer(testContext(t), target.ID())
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			if info.ID != target.ID() || len(info.Addrs) == 0 {
				t.Fatalf("node %d: FindPeer(%s) = %v", i, target.ID(), info)
			}
			for _, a := range info.Addrs {
				if !isLoopback(a) {
					t.Errorf("node %d: found address %s, want loopback only", i, a)
				}
			}
			if err := hosts[i].Connect(testContext(t), info); err != nil {
				t.Fatalf("node %d: connect to %v: %v", i, info, err)
			}
			if hosts[i].Network().Connectedness(target.ID()) != network.Connected {
				t.Fatalf("node %d: not connected to node %d", i, j)
			}
		}
	}
}

func TestFindPeerGivesUp(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	MustNode(t, g, "shoal")
	d := MustSurveyor(t, g, "shoal")
	absent := MustHost(t).ID() // a real peer that never joins the group
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := d.FindPeer(ctx, absent); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FindPeer(absent) = %v, want deadline exceeded", err)
	}
}

// TestSurveyNamespaces runs two clusters on one group, both surveying at
// once, so that each hears the other's responses on the wire.
func TestSurveyNamespaces(t *testing.T) {
	t.Parallel()
	g := MustGroup(t)
	var want, others []peer.ID
	for range 3 {
		h, _ := MustNode(t, g, "alpha")
		want = append(want, h.ID())
	}
	for range 2 {
		h, _ := MustNode(t, g, "beta")
		others = append(others, h.ID())
	}
	slices.Sort(want)
	alpha, beta := MustSurveyor(t, g, "alpha"), MustSurveyor(t, g, "beta")

	ctx := testContext(t)
	betaCtx, stopBeta := context.WithCancel(ctx)
	betaDone := make(chan struct{})
	go func() { // keep beta's nodes answering while alpha surveys
		defer close(betaDone)
		for betaCtx.Err() == nil {
			beta.Survey(betaCtx, 100*time.Millisecond)
		}
	}()
	defer func() { stopBeta(); <-betaDone }()
	var got []peer.ID
	for !slices.Equal(got, want) {
		if ctx.Err() != nil {
			t.Fatalf("survey of alpha lists %v, want %v", got, want)
		}
		infos, err := alpha.Survey(ctx, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got = ids(infos)
		for _, id := range got {
			if slices.Contains(others, id) {
				t.Fatalf("survey of alpha lists %s of beta", id)
			}
		}
		if !slices.IsSorted(got) {
			t.Fatalf("survey not sorted by ID: %v", got)
		}
	}
}

func TestDiscoveryNone(t *testing.T) {
	t.Parallel()
	g, err := p2p.ParseGroup("none")
	if err != nil {
		t.Fatal(err)
	}
	d, err := p2p.New(p2p.Config{Group: g, Namespace: "shoal", Key: MustKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	if _, err := d.Survey(testContext(t), time.Second); !errors.Is(err, p2p.ErrDisabled) {
		t.Errorf("Survey = %v, want ErrDisabled", err)
	}
	if _, err := d.FindPeer(testContext(t), MustHost(t).ID()); !errors.Is(err, p2p.ErrDisabled) {
		t.Errorf("FindPeer = %v, want ErrDisabled", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

func TestRunStops(t *testing.T) {
	t.Parallel()
	d, err := p2p.New(p2p.Config{Group: MustGroup(t), Namespace: "shoal", Key: MustKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx) }()
	// A survey started before Run has opened the socket waits for it.
	if _, err := d.Survey(testContext(t), 50*time.Millisecond); err != nil {
		t.Fatalf("Survey = %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if _, err := d.Survey(testContext(t), time.Second); !errors.Is(err, p2p.ErrStopped) {
		t.Errorf("Survey after Run = %v, want ErrStopped", err)
	}
	if err := d.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestNewRejects(t *testing.T) {
	g := MustGroup(t)
	for _, tc := range []struct {
		name string
		cfg  p2p.Config
	}{
		{"no key", p2p.Config{Group: g, Namespace: "shoal"}},
		{"no namespace", p2p.Config{Group: g, Key: MustKey(t)}},
		{"long namespace", p2p.Config{Group: g, Namespace: string(make([]byte, 65)), Key: MustKey(t)}},
		{"unknown interface", p2p.Config{Group: p2p.Group{Addr: g.Addr, Interface: "nosuchif0"}, Namespace: "shoal", Key: MustKey(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p2p.New(tc.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
