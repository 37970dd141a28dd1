package rpc_test

import (
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/rpc"
)

// A peer heard from within the interval is not pinged, and the next check
// comes one interval after it was last heard, not a whole interval after
// the check: a peer that dies after a sign of life is pinged one interval
// later.
func TestLiveness(t *testing.T) {
	const interval = 100 * time.Millisecond
	l := rpc.NewLiveness(interval)
	defer l.Stop()
	<-l.C()
	if !l.Due() {
		t.Fatal("silent for an interval since the start: not due")
	}
	// Signs of life keep it from being due.
	time.Sleep(interval / 2)
	l.Heard()
	heard := time.Now()
	<-l.C() // set to fire one interval after the Due above
	if l.Due() {
		t.Fatalf("heard %v ago: due", time.Since(heard))
	}
	<-l.C()
	if !l.Due() {
		t.Fatal("silent for an interval: not due")
	}
	if since := time.Since(heard); since < interval {
		t.Errorf("due %v after the last sign of life; want at least the interval", since)
	}
}
