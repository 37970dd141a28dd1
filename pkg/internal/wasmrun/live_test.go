package wasmrun_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stuckWriter blocks every Write until released, then records.
type stuckWriter struct {
	release chan struct{}
	syncBuffer
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.syncBuffer.Write(p)
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("writer broke") }

func TestRunLiveOutput(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	echo := MustCompile(t, r, "echo")
	var stdout, stderr syncBuffer
	res := r.Run(context.Background(), wasmrun.Spec{Module: echo, Name: "t", Stdin: []byte("in"), Stdout: &stdout, Stderr: &stderr})
	checkResult(t, res, wasmrun.Result{OK: true, Output: "t\nin"}, "")
	if got := stdout.String(); got != "t\nin" {
		t.Errorf("live stdout = %q; want %q", got, "t\nin")
	}
	if got := stderr.String(); got != "" {
		t.Errorf("live stderr = %q; want nothing", got)
	}
}

// TestRunStuckLiveWriter floods stdout into a writer that does not move: the
// run still ends, and once the writer moves it gets the start of the output
// and a notice of what was dropped.
func TestRunStuckLiveWriter(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	flood := MustCompile(t, r, "flood")
	w := &stuckWriter{release: make(chan struct{})}
	res := r.Run(context.Background(), wasmrun.Spec{Module: flood, MaxOutput: 10, Stdout: w})
	checkResult(t, res, wasmrun.Result{OK: true, Output: strings.Repeat("y", 10), Truncated: true}, "")

	close(w.release)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.String(), "bytes dropped: log reader too slow]") {
		if time.Now().After(deadline) {
			t.Fatalf("no drop notice in %d bytes of live output", len(w.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(w.String(), "yyyy") {
		t.Errorf("live output starts with %.20q", w.String())
	}
}

func TestRunPanickingLiveWriter(t *testing.T) {
	r := MustRunner(t, wasmrun.DefaultConfig())
	echo := MustCompile(t, r, "echo")
	res := r.Run(context.Background(), wasmrun.Spec{Module: echo, Name: "t", Stdout: panicWriter{}})
	checkResult(t, res, wasmrun.Result{OK: true, Output: "t\n"}, "")
}
