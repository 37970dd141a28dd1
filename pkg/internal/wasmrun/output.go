package wasmrun

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

const (
	// liveBuffer is how many bytes of a stream wait for a slow live writer
	// before more are dropped.
	liveBuffer = 256 << 10
	// liveDrainGrace is how long a finished run waits for its live writers
	// to take what is buffered.
	liveDrainGrace = 500 * time.Millisecond
)

// capture keeps the first max bytes written to it and counts the rest away.
// It never fails, so a module flooding stdout keeps running at the cost of a
// copy per fd_write, bounded by the run's timeout.
type capture struct {
	max       int
	buf       []byte
	truncated bool
}

func (c *capture) Write(p []byte) (int, error) {
	if room := c.max - len(c.buf); room < len(p) {
		c.truncated = true
		c.buf = append(c.buf, p[:max(room, 0)]...)
	} else {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

// live copies a stream to a caller's writer (log streaming) without ever
// blocking the module: writes go to a buffer of liveBuffer bytes that a
// goroutine hands to the writer; when the writer falls behind and the buffer
// is full, further bytes are dropped and a notice saying how many is written
// in their place. After a write error or panic the writer gets nothing more.
type live struct {
	w    io.Writer
	done chan struct{}

	mu      sync.Mutex
	wake    *sync.Cond
	buf     []byte
	dropped int
	closed  bool
	// written counts the bytes taken, handed those the writer has had
	// (or that were dropped); settled is signaled when handed grows.
	written, handed int
	settled         *sync.Cond
}

func startLive(w io.Writer) *live {
	l := &live{w: w, done: make(chan struct{})}
	l.wake = sync.NewCond(&l.mu)
	l.settled = sync.NewCond(&l.mu)
	go l.pump()
	return l
}

func (l *live) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	n := min(len(p), liveBuffer-len(l.buf))
	l.buf = append(l.buf, p[:n]...)
	l.dropped += len(p) - n
	l.written += len(p)
	l.wake.Signal()
	return len(p), nil
}

func (l *live) pump() {
	defer close(l.done)
	var out []byte
	failed := false
	for {
		l.mu.Lock()
		for len(l.buf) == 0 && l.dropped == 0 && !l.closed {
			l.wake.Wait()
		}
		out, l.buf = l.buf, out[:0]
		dropped, closed := l.dropped, l.closed
		l.dropped = 0
		l.mu.Unlock()

		if len(out) > 0 && !failed {
			failed = l.send(out) != nil
		}
		if dropped > 0 && !failed {
			failed = l.send(fmt.Appendf(nil, "\n[shoal: %d bytes dropped: log reader too slow]\n", dropped)) != nil
		}
		l.mu.Lock()
		l.handed += len(out) + dropped
		l.settled.Broadcast()
		l.mu.Unlock()
		if closed {
			return
		}
	}
}

// send writes p to the caller's writer; a panic there is the writer's
// failure, not the process's.
func (l *live) send(p []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("live writer panicked: %v", v)
		}
	}()
	_, err = l.w.Write(p)
	return err
}

// sync waits until the writer has had everything written so far, or the
// pump has ended; the process functions call it before a message leaves,
// so that output written before it reaches the log before the message
// reaches its receiver.
func (l *live) sync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for target := l.written; l.handed < target && !l.closed; {
		l.settled.Wait()
	}
}

// close stops taking writes and waits until the writer has what was
// buffered, ctx ends or liveDrainGrace passes. A writer still blocked then
// keeps the pump goroutine until its Write returns: the caller owns the
// writer and must make it return (close the stream behind it).
func (l *live) close(ctx context.Context) {
	l.mu.Lock()
	l.closed = true
	l.wake.Signal()
	l.mu.Unlock()
	t := time.NewTimer(liveDrainGrace)
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
	case <-ctx.Done():
	}
}
