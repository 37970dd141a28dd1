package p2p

import (
	"errors"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Reasons a verified packet is dropped by the replay guard.
var (
	errStale  = errors.New("sequence number outside the freshness window")
	errReplay = errors.New("sequence number not newer than the last one seen")
	errBusy   = errors.New("too many peers to track")
)

// replayGuard accepts a sender's sequence number (a Unix-nanosecond
// timestamp) only if it lies within window of the local clock and is newer
// than the last one accepted from that sender. Together the two rules drop
// any packet replayed later: an old one fails the window, a recent one the
// order. Entries older than the window are pruned since the window alone
// rejects their replays, which bounds memory by the number of senders seen
// within one window; past max the guard fails closed.
//
// It is used from a single goroutine and is not safe for concurrent use.
type replayGuard struct {
	window time.Duration
	max    int
	last   map[peer.ID]uint64
}

func newReplayGuard(window time.Duration, max int) *replayGuard {
	return &replayGuard{window: window, max: max, last: make(map[peer.ID]uint64)}
}

// check records seq for id if it is acceptable at now.
func (g *replayGuard) check(id peer.ID, seq uint64, now time.Time) error {
	if seq > math.MaxInt64 {
		return errStale
	}
	if d := now.Sub(time.Unix(0, int64(seq))); d > g.window || d < -g.window {
		return errStale
	}
	if last, ok := g.last[id]; ok {
		if seq <= last {
			return errReplay
		}
	} else if len(g.last) >= g.max {
		g.prune(now)
		if len(g.last) >= g.max {
			return errBusy
		}
	}
	g.last[id] = seq
	return nil
}

func (g *replayGuard) prune(now time.Time) {
	oldest := uint64(now.Add(-g.window).UnixNano())
	for id, seq := range g.last {
		if seq < oldest {
			delete(g.last, id)
		}
	}
}
