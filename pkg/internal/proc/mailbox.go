package proc

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The bounds of channels (docs/PROCESSES.md).
const (
	// MailboxMessages and MailboxBytes bound what a receiving end holds
	// from one sender: a send blocks while either is reached. A message
	// larger than MailboxBytes is taken alone, when the mailbox is empty.
	MailboxMessages = 64
	MailboxBytes    = 1 << 20
	// MaxMessage is the largest message a channel carries.
	MaxMessage = 4 << 20
	// MaxRequest bounds a spawn request record, stdin included: a child
	// waits in the gateway's memory until it is placed, and its request
	// travels in one call.
	MaxRequest = 1 << 20
)

// Mailbox is the receiving end of one channel: a bounded FIFO of the
// messages of one sender to one receiver. A full mailbox blocks its sender
// (backpressure), so a slow receiver bounds its senders' memory. It needs
// no goroutine: waiters sleep on a channel that the next change closes.
// Its methods are safe for concurrent use.
type Mailbox struct {
	mu      sync.Mutex
	queue   [][]byte
	size    int           // the bytes in queue
	closed  bool          // the sender closed its side
	failure error         // the sender failed (ErrFailed and why); wins over closed
	ended   error         // the receiver ended: every Put fails with this
	wake    chan struct{} // closed at the next change; nil when no one waits
}

// NewMailbox returns an empty, open mailbox.
func NewMailbox() *Mailbox { return &Mailbox{} }

// Put appends msg, which the mailbox keeps (the caller must not change it
// afterwards), waiting while the mailbox is full until it has room or ctx
// ends. It fails with ErrInvalid for a message over MaxMessage, with the
// receiver's end (ErrClosed or ErrFailed) once the receiver has ended, and
// with ErrClosed after the sender's own Close or Fail.
func (m *Mailbox) Put(ctx context.Context, msg []byte) error {
	if len(msg) > MaxMessage {
		return fmt.Errorf("%w: message of %d bytes is over the limit of %d", ErrInvalid, len(msg), MaxMessage)
	}
	m.mu.Lock()
	for {
		switch {
		case m.ended != nil:
			m.mu.Unlock()
			return m.ended
		case m.closed || m.failure != nil:
			m.mu.Unlock()
			return fmt.Errorf("%w: the sender closed this channel", ErrClosed)
		case m.fits(len(msg)):
			m.queue = append(m.queue, msg)
			m.size += len(msg)
			m.signal()
			m.mu.Unlock()
			return nil
		}
		wake := m.waiter()
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("send blocked on a full mailbox: %w", context.Cause(ctx))
		}
		m.mu.Lock()
	}
}

// fits says whether a message of n bytes may be queued now.
func (m *Mailbox) fits(n int) bool {
	return len(m.queue) == 0 || len(m.queue) < MailboxMessages && m.size+n <= MailboxBytes
}

// Get takes the next message, waiting up to timeout for one (< 0: until
// ctx ends; 0: not at all). With none there, it fails with ErrTimeout when
// the timeout passed, with the sender's failure (ErrFailed) or ErrClosed
// once the sender has failed or closed its side, and ErrClosed once the
// receiver has ended.
func (m *Mailbox) Get(ctx context.Context, timeout time.Duration) ([]byte, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	m.mu.Lock()
	for {
		if len(m.queue) > 0 {
			msg := m.queue[0]
			m.queue[0] = nil
			m.queue = m.queue[1:]
			m.size -= len(msg)
			m.signal()
			m.mu.Unlock()
			return msg, nil
		}
		var err error
		switch {
		case m.failure != nil:
			err = m.failure
		case m.closed:
			err = fmt.Errorf("%w: the sender closed this channel", ErrClosed)
		case m.ended != nil:
			err = fmt.Errorf("%w: the receiver has ended", ErrClosed)
		case timeout == 0:
			err = fmt.Errorf("%w: no message", ErrTimeout)
		}
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		wake := m.waiter()
		m.mu.Unlock()
		select {
		case <-wake:
		case <-expired:
			return nil, fmt.Errorf("%w: no message in %s", ErrTimeout, timeout)
		case <-ctx.Done():
			return nil, fmt.Errorf("receive: %w", context.Cause(ctx))
		}
		m.mu.Lock()
	}
}

// Close records that the sender closed its side: Get returns ErrClosed
// once the mailbox is drained.
func (m *Mailbox) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.signal()
}

// Fail records that the sender failed, for reason: Get returns ErrFailed
// with reason once the mailbox is drained. The first failure is kept.
func (m *Mailbox) Fail(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failure == nil {
		m.failure = fmt.Errorf("%w: %s", ErrFailed, reason)
	}
	m.signal()
}

// End records that the receiver ended: its messages are dropped, and
// Put, blocked or not, fails with err.
func (m *Mailbox) End(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended == nil {
		m.ended = err
	}
	m.queue, m.size = nil, 0
	m.signal()
}

// waiter returns the channel the next change closes. m.mu is held.
func (m *Mailbox) waiter() <-chan struct{} {
	if m.wake == nil {
		m.wake = make(chan struct{})
	}
	return m.wake
}

// signal wakes the waiters. m.mu is held.
func (m *Mailbox) signal() {
	if m.wake != nil {
		close(m.wake)
		m.wake = nil
	}
}
