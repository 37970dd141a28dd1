package proc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/proc"
)

// expired returns a context that has already ended.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestMailboxOrderAndBounds(t *testing.T) {
	tests := []struct {
		name string
		size int // of each message
		fits int // messages taken before Put blocks
	}{
		{"count bound", 1, proc.MailboxMessages},
		{"byte bound", proc.MailboxBytes / 4, 4},
		{"one large message alone", proc.MailboxBytes + 1, 1},
		{"largest message alone", proc.MaxMessage, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := proc.NewMailbox()
			for i := range tt.fits {
				msg := make([]byte, tt.size)
				msg[0] = byte(i)
				if err := m.Put(ctx, msg); err != nil {
					t.Fatalf("Put %d: %v", i, err)
				}
			}
			// Full: Put waits until its context ends, and the caller's memory
			// is all it holds.
			if err := m.Put(expired(), make([]byte, tt.size)); !errors.Is(err, context.Canceled) {
				t.Fatalf("Put into a full mailbox = %v, want it blocked until canceled", err)
			}
			done := make(chan error, 1)
			go func() { done <- m.Put(ctx, []byte{0xff}) }()
			for i := range tt.fits {
				msg, err := m.Get(ctx, -1)
				if err != nil || msg[0] != byte(i) {
					t.Fatalf("Get %d = %v, %v", i, msg[:1], err)
				}
			}
			if err := <-done; err != nil {
				t.Fatalf("blocked Put: %v", err)
			}
			if msg, err := m.Get(ctx, 0); err != nil || msg[0] != 0xff {
				t.Fatalf("Get = %v, %v; want the message that waited", msg, err)
			}
		})
	}
}

func TestMailboxEnds(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		end     func(m *proc.Mailbox)
		getErr  error  // of Get once drained
		putErr  error  // of Put afterwards
		reason  string // in Get's error
		drained bool   // the queued message is still received
	}{
		{"close", func(m *proc.Mailbox) { m.Close() }, proc.ErrClosed, proc.ErrClosed, "", true},
		{"fail", func(m *proc.Mailbox) { m.Fail("trap: unreachable") }, proc.ErrFailed, proc.ErrClosed, "trap: unreachable", true},
		{"fail after close", func(m *proc.Mailbox) { m.Close(); m.Fail("worker lost") }, proc.ErrFailed, proc.ErrClosed, "worker lost", true},
		{"receiver ended", func(m *proc.Mailbox) { m.End(fmt.Errorf("%w: gone", proc.ErrFailed)) }, proc.ErrClosed, proc.ErrFailed, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := proc.NewMailbox()
			if err := m.Put(ctx, []byte("last")); err != nil {
				t.Fatal(err)
			}
			tt.end(m)
			if tt.drained {
				if msg, err := m.Get(ctx, 0); err != nil || string(msg) != "last" {
					t.Fatalf("Get = %q, %v; want the message sent before the end", msg, err)
				}
			}
			_, err := m.Get(ctx, -1)
			if !errors.Is(err, tt.getErr) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Get after the end = %v, want %v with %q", err, tt.getErr, tt.reason)
			}
			if err := m.Put(ctx, []byte("x")); !errors.Is(err, tt.putErr) {
				t.Fatalf("Put after the end = %v, want %v", err, tt.putErr)
			}
		})
	}
}

func TestMailboxWakes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		call func(m *proc.Mailbox) error // blocks on m
		end  func(m *proc.Mailbox)
		want error
	}{
		{
			name: "Get woken by Close",
			call: func(m *proc.Mailbox) error { _, err := m.Get(ctx, -1); return err },
			end:  (*proc.Mailbox).Close, want: proc.ErrClosed,
		},
		{
			name: "Get woken by Fail",
			call: func(m *proc.Mailbox) error { _, err := m.Get(ctx, -1); return err },
			end:  func(m *proc.Mailbox) { m.Fail("limit") }, want: proc.ErrFailed,
		},
		{
			name: "Put woken by End",
			call: func(m *proc.Mailbox) error {
				for {
					if err := m.Put(ctx, []byte("x")); err != nil {
						return err
					}
				}
			},
			end: func(m *proc.Mailbox) { m.End(proc.ErrClosed) }, want: proc.ErrClosed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := proc.NewMailbox()
			done := make(chan error, 1)
			go func() { done <- tt.call(m) }()
			tt.end(m)
			if err := <-done; !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMailboxGetTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		ctx     context.Context
		timeout time.Duration
		want    error
	}{
		{"no wait", context.Background(), 0, proc.ErrTimeout},
		{"short wait", context.Background(), time.Millisecond, proc.ErrTimeout},
		{"context ends", expired(), -1, context.Canceled},
		{"context ends before the timeout", expired(), time.Hour, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := proc.NewMailbox().Get(tt.ctx, tt.timeout); !errors.Is(err, tt.want) {
				t.Fatalf("Get = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMailboxTooLarge(t *testing.T) {
	err := proc.NewMailbox().Put(context.Background(), make([]byte, proc.MaxMessage+1))
	if !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("Put of %d bytes = %v, want ErrInvalid", proc.MaxMessage+1, err)
	}
}
