package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
	"github.com/shoalmesh/shoal/pkg/internal/task"
	"github.com/shoalmesh/shoal/wasm"
)

// While every slot of a worker runs guest code that would not end by
// itself, the worker still answers the gateway's pings (250 ms apart, 1 s
// to answer): it is never dropped from the pool, its runs are never
// retried as lost, and each ends at its time limit as a failed run.
func TestWorkerAnswersPingsWhileEverySlotSpins(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Workers: 1, Slots: 2})
	m.WaitWorkers(1)
	for i := range 2 {
		// Difficulty 12 takes far longer than its 2.5 s limit.
		mustPost(t, m.URL, field{name: "id", value: fmt.Sprint("spin", i)}, field{name: "wasm", file: wasm.HashC},
			field{name: "input", value: "1"}, field{name: "difficulty", value: "12"}, field{name: "duration", value: "2.5"})
	}
	waitStatus(t, m.URL, "spin0", task.Running)
	waitStatus(t, m.URL, "spin1", task.Running)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n := len(m.Gateway.Workers()); n != 1 {
			t.Fatalf("the worker left the pool while its slots spun (%d workers)", n)
		}
	}
	for i := range 2 {
		v := waitDone(t, m.URL, fmt.Sprint("spin", i))
		r := v.Runs[0]
		if v.Status != task.Failed || !strings.HasPrefix(r.Error, "time limit") || r.Attempt != 0 {
			t.Fatalf("spin%d: %s, attempt %d, %q; want failed at its time limit on the first attempt", i, v.Status, r.Attempt, r.Error)
		}
	}
}
