package worker

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/pkg/internal/wasmrun"
)

// When a session ends with its gateway gone, the outcomes of the long
// runs answered in the last answerWindow are held, ended, for the next
// gateway (their answers may not have reached the last); short runs'
// are not kept, and the next gateway can take a held one (keep) or
// turn it down.
func TestAnswersBeforeALossAreHeld(t *testing.T) {
	w := newWorker(DefaultConfig(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	lost := make(chan struct{})
	s := &server{w: w, lost: lost, silenced: make(chan struct{})}
	long := task.RunRef{Task: "long", Index: 3, Attempt: 1}
	s.answered(long, outcome{Result: wasmrun.Result{OK: true, Output: "42", Run: 300 * time.Millisecond}})
	s.answered(task.RunRef{Task: "short"}, outcome{Result: wasmrun.Result{OK: true, Run: time.Millisecond}})
	if s.gone() {
		t.Fatal("gone before the connection was lost")
	}
	close(lost)
	if !s.gone() {
		t.Fatal("not gone once lost")
	}
	s.holdAnswers()
	if refs := w.held.refs(); len(refs) != 1 || refs[0] != long {
		t.Fatalf("held %v, want only %v", refs, long)
	}
	h := w.held.take(long, true)
	select {
	case <-h.done:
	default:
		t.Fatal("a held answer is not ended")
	}
	if h.out.Output != "42" || !h.out.OK {
		t.Fatalf("held outcome %+v", h.out)
	}
	w.held.ended(long, h)
	if n := w.held.count(); n != 0 {
		t.Fatalf("%d still held after it was adopted and ended", n)
	}
}
