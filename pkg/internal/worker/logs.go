package worker

import (
	"context"
	"io"
	"sync"
	"time"

	wire "github.com/shoalmesh/shoal/capnp"
	"github.com/shoalmesh/shoal/pkg/internal/rpc"
	"github.com/shoalmesh/shoal/pkg/internal/task"
)

// forwarder streams a run's output to the gateway's LogSink without ever
// making the module wait: writes are queued and a goroutine sends them in
// order, coalesced into chunks. Output past the byte budget, or arriving
// faster than the queue drains, is dropped from the stream (the run's result
// still holds stdout up to its own limit).
type forwarder struct {
	ctx  context.Context
	sink wire.LogSink
	run  task.RunRef // what every write names
	step string      // and the job's step, if the run is one

	mu     sync.Mutex
	budget int
	closed bool
	// queued counts the chunks queued, sent those the gateway has
	// answered (or dropped); progress is closed and replaced when sent
	// grows (see sync).
	queued, sent int
	progress     chan struct{}
	queue        chan chunk    // made, with the sending goroutine, on the first write
	done         chan struct{} // closed when that goroutine has sent everything
}

type chunk struct {
	stream wire.Stream
	data   []byte
	n      int // chunks coalesced into it
}

const (
	forwardQueue = 256
	maxChunk     = 64 << 10
	flushWait    = 5 * time.Second
)

func newForwarder(ctx context.Context, sink wire.LogSink, run task.RunRef, budget int) *forwarder {
	return &forwarder{ctx: ctx, sink: sink, run: run, budget: budget}
}

type streamWriter struct {
	f      *forwarder
	stream wire.Stream
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.f.write(w.stream, p)
	return len(p), nil
}

func (f *forwarder) stream(s wire.Stream) io.Writer { return streamWriter{f, s} }

func (f *forwarder) write(s wire.Stream, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.budget <= 0 || !f.sink.IsValid() {
		return
	}
	n := min(len(p), f.budget)
	if f.queue == nil { // the first output: most runs print nothing
		f.queue, f.done = make(chan chunk, forwardQueue), make(chan struct{})
		go f.loop()
	}
	select {
	case f.queue <- chunk{s, append([]byte(nil), p[:n]...), 1}:
		f.budget -= n
		f.queued++
	default:
	}
}

func (f *forwarder) loop() {
	defer close(f.done)
	for c := range f.queue {
		f.send(f.coalesce(c))
	}
}

// coalesce appends queued chunks of the same stream to c, up to maxChunk.
func (f *forwarder) coalesce(c chunk) chunk {
	for len(c.data) < maxChunk {
		select {
		case next, ok := <-f.queue:
			if !ok {
				return c
			}
			if next.stream != c.stream {
				f.send(c)
				c = next
				continue
			}
			c.data = append(c.data, next.data...)
			c.n += next.n
		default:
			return c
		}
	}
	return c
}

func (f *forwarder) send(c chunk) {
	fut, release := f.sink.Write(f.ctx, func(p wire.LogSink_write_Params) error {
		p.SetStream(c.stream)
		if err := rpc.EncodeRunRef(p, f.run); err != nil {
			return err
		}
		if f.step != "" {
			if err := p.SetStep(f.step); err != nil {
				return err
			}
		}
		return p.SetData(c.data)
	})
	_, _ = fut.Struct() // a lost line of output must not fail the run
	release()
	f.mu.Lock()
	f.sent += c.n
	if f.progress != nil {
		close(f.progress)
		f.progress = nil
	}
	f.mu.Unlock()
}

// sync waits until the gateway has the output queued so far, or ctx
// ends: a process calls it before a message of its leaves, so that its
// output before the message is in the log before the message arrives.
func (f *forwarder) sync(ctx context.Context) {
	f.mu.Lock()
	target := f.queued
	for f.sent < target {
		if f.progress == nil {
			f.progress = make(chan struct{})
		}
		ch := f.progress
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
}

// flush stops taking output and waits, boundedly, until what was queued has
// reached the gateway, so a task's log is complete before its result.
func (f *forwarder) flush() {
	f.mu.Lock()
	f.closed = true
	if f.queue == nil {
		f.mu.Unlock()
		return
	}
	close(f.queue)
	f.mu.Unlock()
	select {
	case <-f.done:
	case <-time.After(flushWait):
	}
}
