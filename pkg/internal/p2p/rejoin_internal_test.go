package p2p

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestRejoin takes the group's interface away from a running node, then
// gives it a new index, then gives the real one back, as a container's
// network is disconnected and connected again (the interface comes back
// under a new index, and under docker as eth1). The node stops answering
// while its interface is away and answers again once it is back. Only the
// interface lookup is the test's; sockets and packets are real, on lo.
func TestRejoin(t *testing.T) {
	t.Parallel()
	g := mustTestGroup(t)
	const (
		present = iota
		away
		replaced // an interface of that name with another index, which cannot be joined
	)
	var state atomic.Int32
	key, id := mustKey(t)
	d, err := New(Config{Group: g, Namespace: "shoal", Key: key, Addrs: testAddrs})
	if err != nil {
		t.Fatal(err)
	}
	d.checkEvery = 10 * time.Millisecond
	d.lookup = func(name string) (*net.Interface, error) {
		ifi, err := lookupInterface(name)
		switch state.Load() {
		case away:
			return nil, errors.New("no such interface (test)")
		case replaced:
			moved := *ifi
			moved.Index += 1000
			return &moved, err
		}
		return ifi, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run := func(d *Discovery) {
		runCtx, stop := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() { errc <- d.Run(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	run(d)
	surveyorKey, _ := mustKey(t)
	surveyor, err := New(Config{Group: g, Namespace: "shoal", Key: surveyorKey})
	if err != nil {
		t.Fatal(err)
	}
	run(surveyor)
	answers := func(within time.Duration) bool {
		fctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		_, err := surveyor.FindPeer(fctx, id)
		return err == nil
	}
	waitConn := func(want func(*groupConn) bool, what string) {
		t.Helper()
		for !want(d.conn.Load()) {
			if ctx.Err() != nil {
				t.Fatalf("the node's socket never %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	if !answers(10 * time.Second) {
		t.Fatal("the node does not answer before its interface goes away")
	}
	first := d.conn.Load()
	for _, s := range []int32{away, replaced} {
		state.Store(s)
		waitConn(func(c *groupConn) bool { return c == nil }, "closed")
		if answers(300 * time.Millisecond) {
			t.Fatalf("state %d: the node answered without its interface", s)
		}
		state.Store(present)
		waitConn(func(c *groupConn) bool { return c != nil && c != first }, "reopened")
		if !answers(10 * time.Second) {
			t.Fatalf("state %d: the node does not answer after its interface came back", s)
		}
		first = d.conn.Load()
	}
}
