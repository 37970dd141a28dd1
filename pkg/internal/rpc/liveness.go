package rpc

import (
	"sync/atomic"
	"time"
)

// Liveness decides when to ping a peer that also shows it is alive by
// other traffic. A peer is pinged only after it has given no sign of life
// (Heard) for the interval, so while calls flow there are no pings, and a
// peer that dies is pinged one interval after its last sign of life.
type Liveness struct {
	interval time.Duration
	heard    atomic.Int64 // Unix nanoseconds of the last sign of life
	timer    *time.Timer
}

// NewLiveness starts counting silence now. Stop releases its timer.
func NewLiveness(interval time.Duration) *Liveness {
	l := &Liveness{interval: interval, timer: time.NewTimer(interval)}
	l.Heard()
	return l
}

// Heard records a sign of life now: an answer, or a call from the peer.
func (l *Liveness) Heard() { l.heard.Store(time.Now().UnixNano()) }

// C fires when a ping may be due; then call Due.
func (l *Liveness) C() <-chan time.Time { return l.timer.C }

// Due, called when C has fired, reports whether the peer has been silent
// for the interval, and sets C to fire when a ping may next be due.
func (l *Liveness) Due() bool {
	since := time.Since(time.Unix(0, l.heard.Load()))
	if since < l.interval {
		l.timer.Reset(l.interval - since)
		return false
	}
	l.timer.Reset(l.interval)
	return true
}

// Stop releases the timer.
func (l *Liveness) Stop() { l.timer.Stop() }
