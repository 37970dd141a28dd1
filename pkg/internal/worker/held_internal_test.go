package worker

import (
	"io"
	"log/slog"
	"strings"
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

// The answers a connection keeps hold at most maxAnswerBytes of results:
// the oldest go first, and one larger than maxAnswerSize is not kept.
func TestAnswersKeptAreBounded(t *testing.T) {
	w := newWorker(DefaultConfig(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s := &server{w: w, lost: make(chan struct{}), silenced: make(chan struct{})}
	n := maxAnswerBytes/maxAnswerSize + 2
	for i := range n {
		s.answered(task.RunRef{Task: "t", Index: i}, outcome{Result: wasmrun.Result{OK: true, Output: strings.Repeat("x", maxAnswerSize), Run: time.Second}})
	}
	s.answered(task.RunRef{Task: "huge"}, outcome{Result: wasmrun.Result{OK: true, Output: strings.Repeat("x", maxAnswerSize+1), Run: time.Second}})
	kept := maxAnswerBytes / maxAnswerSize
	if len(s.answers) != kept || s.answers[0].ref.Index != n-kept || s.answers[kept-1].ref.Index != n-1 || s.answerBytes != maxAnswerBytes {
		var refs []task.RunRef
		for _, a := range s.answers {
			refs = append(refs, a.ref)
		}
		t.Fatalf("kept %v (%d bytes), want the newest %d of %d (%d bytes)", refs, s.answerBytes, kept, n, maxAnswerBytes)
	}
	s.holdAnswers()
	if s.answerBytes != 0 || len(w.held.refs()) != kept {
		t.Fatalf("after the loss: %d bytes kept, %d held", s.answerBytes, len(w.held.refs()))
	}
}
