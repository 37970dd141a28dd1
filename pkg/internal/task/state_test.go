package task

import (
	"math/rand/v2"
	"testing"
	"time"
)

// SetRunStatus keeps the task's status what Refresh, which looks at every
// run, derives: checked over random changes of a task's runs.
func TestSetRunStatusMatchesRefresh(t *testing.T) {
	statuses := []Status{Scheduled, Queued, Running, Succeeded, Failed}
	rng := rand.New(rand.NewPCG(1, 2))
	tk := New(Spec{ID: "t", Repeats: 50}, time.Unix(0, 0))
	for step := range 5000 {
		tk.SetRunStatus(rng.IntN(len(tk.Runs)), statuses[rng.IntN(len(statuses))])
		fast := tk.Status
		full := tk.Clone()
		full.Refresh()
		if fast != full.Status {
			t.Fatalf("step %d: SetRunStatus gives %s, Refresh %s", step, fast, full.Status)
		}
	}
}
