package p2p

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestReplayGuard(t *testing.T) {
	_, a := mustKey(t)
	_, b := mustKey(t)
	_, c := mustKey(t)
	now := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) uint64 { return uint64(now.Add(d).UnixNano()) }
	g := newReplayGuard(time.Minute, 2)
	for _, step := range []struct {
		name string
		from string
		seq  uint64
		now  time.Time
		want error
	}{
		{"first", "a", at(0), now, nil},
		{"newer", "a", at(time.Second), now, nil},
		{"replayed", "a", at(time.Second), now, errReplay},
		{"older", "a", at(0), now, errReplay},
		{"too old", "b", at(-2 * time.Minute), now, errStale},
		{"from the future", "b", at(2 * time.Minute), now, errStale},
		{"overflowing", "b", math.MaxUint64, now, errStale},
		{"second peer", "b", at(0), now, nil},
		{"full", "c", at(0), now, errBusy},
		{"full, old entries pruned", "c", at(3 * time.Minute), now.Add(3 * time.Minute), nil},
		{"pruned peer replay is stale", "a", at(time.Second), now.Add(3 * time.Minute), errStale},
	} {
		id := map[string]peer.ID{"a": a, "b": b, "c": c}[step.from]
		if err := g.check(id, step.seq, step.now); !errors.Is(err, step.want) {
			t.Fatalf("%s: check = %v, want %v", step.name, err, step.want)
		}
	}
}

func TestWithinDistance(t *testing.T) {
	_, a := mustKey(t)
	_, b := mustKey(t)
	if !withinDistance(a, b, distanceAll) || !withinDistance(a, b, 64) {
		t.Error("distance >= 64 must include everyone")
	}
	if withinDistance(a, b, 0) {
		t.Error("distance 0 includes another peer")
	}
	if !withinDistance(a, a, 0) {
		t.Error("a peer is not within distance 0 of itself")
	}
	// The radius only grows with the distance.
	in := false
	for d := range uint8(65) {
		now := withinDistance(a, b, d)
		if in && !now {
			t.Fatalf("within distance %d but not %d", d-1, d)
		}
		in = now
	}
}
